//! The window's settings, kept as JSON in the OS config folder.

use std::path::{Path, PathBuf};

use quire_engine::{AddOptions, AskOptions, DeviceChoice, EncoderPrecision, OcrOptions};
use serde::{Deserialize, Serialize};

/// Field names as everywhere in the contract (snake_case); files saved by earlier versions,
/// in camelCase, still read (see [`Settings::read`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(default)]
pub struct Settings {
    #[ts(type = "string")]
    pub library_dir: PathBuf,
    #[ts(type = "string")]
    pub models_dir: PathBuf,
    /// A GGUF file; `None`: the default one in the models folder.
    #[ts(type = "string | null")]
    pub answer_model: Option<PathBuf>,
    /// A BERT-family model folder; `None`: the default one in the models folder.
    #[ts(type = "string | null")]
    pub embedding_model: Option<PathBuf>,
    pub device: DeviceChoice,
    /// Number type of CPU embedding: f32, or int8 (about twice as fast, vectors within cosine
    /// 0.99 of f32's; needs AVX-512 VNNI, else runs as f32).
    pub embedding_precision: EncoderPrecision,
    /// Sources per answer.
    pub k: usize,
    /// Target chunk length in tokens.
    pub chunk_tokens: usize,
    /// `None`: follow the system language.
    pub locale: Option<String>,
    /// Folders of GGUF files to search besides the other apps' (Settings, "Models on this
    /// computer").
    #[ts(type = "string[]")]
    pub model_folders: Vec<PathBuf>,
    /// Tesseract languages that read pages without a text layer (scans), tried together
    /// (`["eng", "chi_sim"]`); `None`: English plus the UI language's where installed; empty:
    /// OCR off (scanned pages are then added without text).
    pub ocr_languages: Option<Vec<String>>,
    /// A team library (`quire serve`) the window uses instead of this computer's library;
    /// `None`: this computer's.
    pub team_library: Option<TeamLibrary>,
}

/// A team library's server, the user's token there, and the collection their uploads go to.
/// The token is kept in the settings file, which only its owner may read (0600).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ts_rs::TS)]
#[serde(default)]
pub struct TeamLibrary {
    /// `http://HOST:PORT` or `https://…`.
    pub url: String,
    pub token: String,
    /// The collection uploads go to (one the user is a member of).
    pub collection: String,
    /// Trust the certificates in this PEM file (the server's own authority's) instead of the
    /// public ones.
    #[ts(type = "string | null")]
    pub ca_cert: Option<PathBuf>,
}

/// The OCR languages Settings offers: those installed, and what `None` (the default) means for
/// the form's UI language.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct OcrLanguages {
    /// Tesseract language data on this computer (`eng`, `chi_sim`), sorted.
    pub installed: Vec<String>,
    /// The languages used when none are chosen.
    pub default: Vec<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            library_dir: env_path("QUIRE_LIBRARY")
                .unwrap_or_else(quire_engine::default_library_dir),
            models_dir: env_path("QUIRE_MODELS").unwrap_or_else(quire_engine::default_models_dir),
            answer_model: None,
            embedding_model: None,
            device: DeviceChoice::Auto,
            embedding_precision: EncoderPrecision::F32,
            k: 5,
            chunk_tokens: 256,
            locale: None,
            model_folders: Vec::new(),
            ocr_languages: None,
            team_library: None,
        }
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The system's language as the environment says it (`zh_CN.UTF-8`), for settings that follow
/// the system.
fn system_locale() -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

/// What OCR reads with for `chosen` languages (`None`: the default for `locale`, or the
/// system's language when that is `None` too).
pub fn ocr_options(chosen: Option<&[String]>, locale: Option<&str>) -> OcrOptions {
    match chosen {
        Some(languages) => OcrOptions {
            languages: languages.to_vec(),
        },
        None => OcrOptions::default_for(Some(
            locale.map_or_else(system_locale, str::to_string).as_str(),
        )),
    }
}

/// The OCR languages on this computer and the default for `locale`.
pub fn ocr_languages(locale: Option<&str>) -> OcrLanguages {
    OcrLanguages {
        installed: quire_engine::ocr_languages(),
        default: ocr_options(None, locale).languages,
    }
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
        let Some(serde_json::Value::Object(saved)) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
        else {
            return Settings::default();
        };
        // Earlier versions saved camelCase names ("chunkTokens"): read them as snake_case.
        let fields = saved.into_iter().map(|(name, value)| {
            let mut snake = String::new();
            for c in name.chars() {
                if c.is_ascii_uppercase() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            (snake, value)
        });
        serde_json::from_value(serde_json::Value::Object(fields.collect())).unwrap_or_default()
    }

    pub fn save(&self) -> std::io::Result<()> {
        self.write(&file())
    }

    /// Writes atomically: a crash leaves the old file or the new one, never half of one. Only
    /// its owner may read it (it may hold a team library's token).
    fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(tmp, path)
    }

    /// What is wrong with these settings, in one sentence, if anything. The limits on sources
    /// and chunk size are the engine's own.
    pub fn problem(&self) -> Option<String> {
        if self.library_dir.as_os_str().is_empty() {
            return Some("the library folder is empty; choose a folder".into());
        }
        if self.models_dir.as_os_str().is_empty() {
            return Some("the models folder is empty; choose a folder".into());
        }
        let ask = AskOptions {
            k: self.k,
            ..AskOptions::default()
        };
        let add = AddOptions {
            chunk_tokens: self.chunk_tokens,
            ..AddOptions::default()
        };
        if let Err(e) = ask.validate().and_then(|_| add.validate()) {
            return Some(e.to_string());
        }
        if let Some(locale) = &self.locale {
            if locale != "en" && locale != "zh-CN" {
                return Some(format!("unknown language {locale:?}; use en or zh-CN"));
            }
        }
        if self.ocr_languages.is_some() {
            if let Err(e) = self.ocr().check() {
                return Some(e);
            }
        }
        if let Some(team) = &self.team_library {
            return team.problem();
        }
        None
    }

    /// What OCR reads scanned pages with.
    pub fn ocr(&self) -> OcrOptions {
        ocr_options(self.ocr_languages.as_deref(), self.locale.as_deref())
    }

    /// Whether `other` needs the library opened again (folders, models, device, precision, OCR
    /// languages).
    pub fn library_options_differ(&self, other: &Settings) -> bool {
        self.library_dir != other.library_dir
            || self.models_dir != other.models_dir
            || self.answer_model != other.answer_model
            || self.embedding_model != other.embedding_model
            || self.device != other.device
            || self.embedding_precision != other.embedding_precision
            || self.ocr() != other.ocr()
    }
}

impl TeamLibrary {
    /// What is missing or wrong, in one sentence, if anything (before any connection).
    pub fn problem(&self) -> Option<String> {
        let url = self.url.trim();
        if url.is_empty() {
            return Some(
                "the team library's address is empty; give its URL (http://HOST:PORT or https://…)"
                    .into(),
            );
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Some(format!(
                "the team library's address is an http:// or https:// URL, not {url:?}"
            ));
        }
        if self.token.trim().is_empty() {
            return Some("the token for the team library is empty; paste the one the server's administrator gave you".into());
        }
        if self.collection.trim().is_empty() {
            return Some("name the collection your uploads go to (one you are a member of)".into());
        }
        None
    }
}

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
            model_folders: vec![PathBuf::from("/disks/models")],
            embedding_precision: quire_engine::EncoderPrecision::Int8,
            ..Settings::default()
        };
        saved.write(&path).unwrap();
        assert_eq!(Settings::read(&path), saved);
        assert!(!path.with_extension("json.tmp").exists());

        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(Settings::read(&path), Settings::default());
        // Fields missing from an older file take their defaults; camelCase names still read.
        std::fs::write(&path, br#"{"k": 3, "chunkTokens": 128}"#).unwrap();
        let old = Settings::read(&path);
        assert_eq!((old.k, old.chunk_tokens), (3, 128));
        std::fs::write(&path, br#"{"k": 3}"#).unwrap();
        let old = Settings::read(&path);
        assert_eq!(old.k, 3);
        assert_eq!(old.chunk_tokens, Settings::default().chunk_tokens);
        assert_eq!(old.embedding_precision, quire_engine::EncoderPrecision::F32);
        // Files from before OCR: the default languages.
        assert_eq!(old.ocr_languages, None);
        // OCR turned off (no languages) is not the default.
        let off = Settings {
            ocr_languages: Some(vec![]),
            ..Settings::default()
        };
        off.write(&path).unwrap();
        assert_eq!(Settings::read(&path), off);
        assert!(!off.ocr().enabled());
    }

    #[test]
    fn ocr_languages_default_to_english_and_the_ui_language_and_reopen_the_library() {
        let installed = quire_engine::ocr_languages();
        let chinese = Settings {
            locale: Some("zh-CN".into()),
            ..Settings::default()
        };
        let english = Settings {
            locale: Some("en".into()),
            ..Settings::default()
        };
        if installed.iter().any(|l| l == "eng") {
            assert_eq!(english.ocr().languages, ["eng"]);
        }
        if installed.iter().any(|l| l == "eng") && installed.iter().any(|l| l == "chi_sim") {
            assert_eq!(chinese.ocr().languages, ["eng", "chi_sim"]);
            // Another UI language changes the default OCR languages: the library reopens.
            assert!(english.library_options_differ(&chinese));
            // Chosen languages do not follow the UI language.
            let chosen = |s: &Settings| Settings {
                ocr_languages: Some(vec!["eng".into()]),
                ..s.clone()
            };
            assert!(!chosen(&english).library_options_differ(&chosen(&chinese)));
        }
        let off = Settings {
            ocr_languages: Some(vec![]),
            ..english.clone()
        };
        assert!(english.library_options_differ(&off) || english.ocr().languages.is_empty());
        let listed = ocr_languages(Some("en"));
        assert_eq!(listed.installed, installed);
        assert_eq!(listed.default, english.ocr().languages);
    }

    #[test]
    fn a_team_library_is_saved_with_its_token_readable_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let team = Settings {
            team_library: Some(TeamLibrary {
                url: "https://quire.example:8484".into(),
                token: "secret".into(),
                collection: "legal".into(),
                ca_cert: Some(PathBuf::from("/etc/quire/ca.pem")),
            }),
            ..Settings::default()
        };
        // Written before by an older Quire, readable by all: the new file is the owner's only.
        std::fs::write(&path, b"{}").unwrap();
        team.write(&path).unwrap();
        assert_eq!(Settings::read(&path), team);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        // Files from before team libraries: this computer's library.
        std::fs::write(&path, br#"{"k": 3}"#).unwrap();
        assert_eq!(Settings::read(&path).team_library, None);
        assert_eq!(team.problem(), None);
    }

    #[test]
    fn a_team_library_without_address_token_or_collection_is_named() {
        let with = |f: fn(&mut TeamLibrary)| {
            let mut team = TeamLibrary {
                url: "http://127.0.0.1:8484".into(),
                token: "t".into(),
                collection: "legal".into(),
                ca_cert: None,
            };
            f(&mut team);
            Settings {
                team_library: Some(team),
                ..Settings::default()
            }
            .problem()
        };
        assert_eq!(with(|_| {}), None);
        assert!(with(|t| t.url = "quire.example:8484".into())
            .unwrap()
            .contains("http:// or https://"));
        assert!(with(|t| t.url = " ".into())
            .unwrap()
            .contains("address is empty"));
        assert!(with(|t| t.token = "".into()).unwrap().contains("token"));
        assert!(with(|t| t.collection = " ".into())
            .unwrap()
            .contains("collection"));
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
        let unknown = serde_json::from_str::<Settings>(r#"{"device": "tpu"}"#).unwrap_err();
        assert!(unknown.to_string().contains("tpu"), "{unknown}");
        let unknown =
            serde_json::from_str::<Settings>(r#"{"embedding_precision": "int4"}"#).unwrap_err();
        assert!(unknown.to_string().contains("f32 or int8"), "{unknown}");
        assert!(with(|s| s.locale = Some("fr".into())).contains("unknown language"));
        assert!(with(|s| s.library_dir = PathBuf::new()).contains("library folder"));
        assert!(with(|s| s.ocr_languages = Some(vec!["tlh".into()])).contains("tlh"));
        let off = Settings {
            ocr_languages: Some(vec![]),
            ..Settings::default()
        };
        assert_eq!(off.problem(), None);
    }
}
