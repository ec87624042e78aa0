//! The window's settings, kept as JSON in the OS config folder.

use std::path::{Path, PathBuf};

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
        let mut settings = Settings::read(&file());
        if let Some(dir) = env_path("QUIRE_LIBRARY") {
            settings.library_dir = dir;
        }
        if let Some(dir) = env_path("QUIRE_MODELS") {
            settings.models_dir = dir;
        }
        settings
    }

    /// The settings saved in `path`; the defaults when it is missing or unreadable (a damaged
    /// settings file must not keep the window from opening).
    fn read(path: &Path) -> Settings {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    pub fn save(&self) -> std::io::Result<()> {
        self.write(&file())
    }

    /// Writes atomically: a crash leaves the old file or the new one, never half of one.
    fn write(&self, path: &Path) -> std::io::Result<()> {
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

    /// What is wrong with these settings, in one sentence, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.library_dir.as_os_str().is_empty() {
            return Some("the library folder is empty; choose a folder".into());
        }
        if self.models_dir.as_os_str().is_empty() {
            return Some("the models folder is empty; choose a folder".into());
        }
        if !(1..=MAX_SOURCES).contains(&self.k) {
            return Some(format!(
                "sources per answer must be between 1 and {MAX_SOURCES}, not {}",
                self.k
            ));
        }
        if !(MIN_CHUNK_TOKENS..=MAX_CHUNK_TOKENS).contains(&self.chunk_tokens) {
            return Some(format!(
                "the chunk size must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS} tokens, not {}",
                self.chunk_tokens
            ));
        }
        if self.device.parse::<quire_engine::DeviceChoice>().is_err() {
            return Some(format!(
                "unknown device {:?}; use auto, cpu, cuda or metal",
                self.device
            ));
        }
        if let Some(locale) = &self.locale {
            if locale != "en" && locale != "zh-CN" {
                return Some(format!("unknown language {locale:?}; use en or zh-CN"));
            }
        }
        None
    }
}

const MAX_SOURCES: usize = 20;
const MIN_CHUNK_TOKENS: usize = 32;
const MAX_CHUNK_TOKENS: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_settings_come_back_and_a_damaged_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("settings.json");
        assert_eq!(Settings::read(&path), Settings::default());

        let saved = Settings {
            answer_model: Some(PathBuf::from("/models/other.gguf")),
            k: 8,
            locale: Some("zh-CN".into()),
            ..Settings::default()
        };
        saved.write(&path).unwrap();
        assert_eq!(Settings::read(&path), saved);
        assert!(!path.with_extension("json.tmp").exists());

        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(Settings::read(&path), Settings::default());
        // Fields missing from an older file take their defaults.
        std::fs::write(&path, br#"{"k": 3}"#).unwrap();
        let old = Settings::read(&path);
        assert_eq!(old.k, 3);
        assert_eq!(old.chunk_tokens, Settings::default().chunk_tokens);
    }

    #[test]
    fn out_of_range_settings_are_named() {
        assert_eq!(Settings::default().problem(), None);
        let with = |f: fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            s.problem().expect("a problem")
        };
        assert!(with(|s| s.k = 0).contains("sources per answer"));
        assert!(with(|s| s.chunk_tokens = 4096).contains("chunk size"));
        assert!(with(|s| s.device = "tpu".into()).contains("unknown device"));
        assert!(with(|s| s.locale = Some("fr".into())).contains("unknown language"));
        assert!(with(|s| s.library_dir = PathBuf::new()).contains("library folder"));
    }
}
