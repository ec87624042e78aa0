//! The window's settings, kept as JSON in the OS config folder.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub library_dir: PathBuf,
    pub models_dir: PathBuf,
    /// A GGUF file; `None`: the default one in the models folder.
    pub answer_model: Option<PathBuf>,
    /// A BERT-family model folder; `None`: the default one in the models folder.
    pub embedding_model: Option<PathBuf>,
    pub device: String,
    pub k: usize,
    pub chunk_tokens: usize,
    /// `None`: follow the system language.
    pub locale: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            library_dir: env_path("QUIRE_LIBRARY")
                .unwrap_or_else(quire_engine::default_library_dir),
            models_dir: env_path("QUIRE_MODELS").unwrap_or_else(quire_engine::default_models_dir),
            answer_model: None,
            embedding_model: None,
            device: "auto".into(),
            k: 5,
            chunk_tokens: 256,
            locale: None,
        }
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn file() -> PathBuf {
    env_path("QUIRE_SETTINGS").unwrap_or_else(|| {
        dirs::config_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("quire")
            .join("settings.json")
    })
}

impl Settings {
    /// The saved settings, or the defaults (the environment's `QUIRE_LIBRARY`/`QUIRE_MODELS`
    /// win over saved folders, as for the CLI).
    pub fn load() -> Settings {
        let mut settings: Settings = std::fs::read_to_string(file())
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        if let Some(dir) = env_path("QUIRE_LIBRARY") {
            settings.library_dir = dir;
        }
        if let Some(dir) = env_path("QUIRE_MODELS") {
            settings.models_dir = dir;
        }
        settings
    }

    pub fn save(&self) -> std::io::Result<()> {
        let path = file();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }
}
