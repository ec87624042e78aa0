//! Where each app keeps its models, per OS, and where its settings say it moved them.
//!
//! - **Ollama**: `~/.ollama/models` on every OS (its FAQ, "Where are models stored?"), or
//!   `$OLLAMA_MODELS`; the Linux install script runs a service as the `ollama` user, whose
//!   store is `/usr/share/ollama/.ollama/models`.
//! - **LM Studio**: `~/.lmstudio/models/<publisher>/<repo>/*.gguf` on every OS (its docs,
//!   "Import models"); `~/.cache/lm-studio/models` in older versions; a folder chosen in the
//!   app is `downloadsFolder` in `~/.lmstudio/settings.json`.
//! - **GPT4All**: Qt's `AppLocalDataLocation` for organisation `nomic.ai`, application
//!   `GPT4All` (gpt4all-chat's `main.cpp` and `mysettings.cpp`): `~/.local/share/nomic.ai/GPT4All`,
//!   `~/Library/Application Support/nomic.ai/GPT4All`, `%LOCALAPPDATA%\nomic.ai\GPT4All`; a
//!   folder chosen in the app is `modelPath` in its INI settings (`~/.config/nomic.ai/GPT4All.ini`,
//!   `%APPDATA%\nomic.ai\GPT4All.ini`). Its Python bindings download to `~/.cache/gpt4all`.
//! - **Jan**: a data folder, by default `<OS data dir>/Jan/data` (`~/.local/share/Jan/data`,
//!   `~/Library/Application Support/Jan/data`, `%APPDATA%\Jan\data`; Jan's
//!   `src-tauri/src/core/app/commands.rs`), moved with `data_folder` in
//!   `<OS data dir>/Jan/settings.json` or `$JAN_DATA_FOLDER`; `~/jan` in older versions. Models
//!   are `llamacpp/models/<id>/model.gguf` beside a `model.yml` whose `model_path` may point
//!   elsewhere (an imported file), or, in older versions, `models/<id>/*.gguf`.
//! - **Quire**: its models folder (`<OS data dir>/quire/models`, or the one configured).

use std::path::{Path, PathBuf};

use super::walk::{group_parts, is_gguf, ModelFiles, Walk};
use super::{examine, ollama, Candidate, Discovery, Found, ModelSource, SearchedFolder, SkipKind};

/// How deep to look below each kind of folder.
const QUIRE_DEPTH: usize = 3;
const LMSTUDIO_DEPTH: usize = 4;
const GPT4ALL_DEPTH: usize = 2;
const JAN_DEPTH: usize = 6;
const FOLDER_DEPTH: usize = 8;
/// Settings files are small; a huge one is not read.
const MAX_SETTINGS: u64 = 1024 * 1024;

/// How a store lays out its models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `.gguf` files anywhere below the folder, down to `depth` folders.
    Files { depth: usize },
    /// Ollama's `manifests/` and `blobs/`.
    Ollama,
    /// Jan's data folder.
    Jan,
}

/// One folder to search, and the app it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub source: ModelSource,
    pub layout: Layout,
    pub root: PathBuf,
}

/// The folders a search looks in, in order (the first to reach a file keeps it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelStores {
    stores: Vec<Store>,
}

/// The OS's per-user folders, as found below a home folder.
struct UserDirs {
    /// Application data: XDG data home, Application Support, AppData\Roaming.
    data: PathBuf,
    /// Machine-local application data (AppData\Local on Windows; `data` elsewhere).
    local_data: PathBuf,
    /// Where Qt keeps INI settings (`~/.config` on Linux and macOS, AppData\Roaming).
    qt_config: PathBuf,
}

impl UserDirs {
    fn under(home: &Path) -> UserDirs {
        if cfg!(windows) {
            let app_data = home.join("AppData");
            UserDirs {
                data: app_data.join("Roaming"),
                local_data: app_data.join("Local"),
                qt_config: app_data.join("Roaming"),
            }
        } else if cfg!(target_os = "macos") {
            let support = home.join("Library").join("Application Support");
            UserDirs {
                data: support.clone(),
                local_data: support,
                qt_config: home.join(".config"),
            }
        } else {
            let data = home.join(".local").join("share");
            UserDirs {
                data: data.clone(),
                local_data: data,
                qt_config: home.join(".config"),
            }
        }
    }

    /// What the OS itself reports (`$XDG_DATA_HOME`, Windows' known folders), when it can.
    fn reported(home: &Path) -> UserDirs {
        let under = UserDirs::under(home);
        UserDirs {
            data: dirs::data_dir().unwrap_or(under.data),
            local_data: dirs::data_local_dir().unwrap_or(under.local_data),
            qt_config: dirs::config_dir().unwrap_or(under.qt_config),
        }
    }
}

impl ModelStores {
    pub fn new() -> ModelStores {
        ModelStores::default()
    }

    pub fn stores(&self) -> &[Store] {
        &self.stores
    }

    /// Adds a store (once: the same store twice is searched once).
    pub fn push(&mut self, source: ModelSource, layout: Layout, root: impl Into<PathBuf>) {
        let store = Store {
            source,
            layout,
            root: root.into(),
        };
        if !store.root.as_os_str().is_empty() && !self.stores.contains(&store) {
            self.stores.push(store);
        }
    }

    /// A folder the user added: every `.gguf` below it.
    pub fn add_folder(&mut self, folder: &Path) {
        let depth = FOLDER_DEPTH;
        self.push(ModelSource::Folder, Layout::Files { depth }, folder);
    }

    /// Every app's default folders under `home` for this OS, and the folders their settings
    /// files (under `home`) name.
    pub fn under_home(home: &Path) -> ModelStores {
        let mut stores = ModelStores::new();
        stores.add_apps(home, &UserDirs::under(home));
        stores
    }

    /// Quire's models folder `quire_models` first, then [`ModelStores::under_home`] for the
    /// user's home, the OS's own data folders where they differ, and what the environment
    /// names (`OLLAMA_MODELS`, `JAN_DATA_FOLDER`, the Linux Ollama service's store).
    pub fn on_this_computer(quire_models: &Path) -> ModelStores {
        let mut stores = ModelStores::new();
        let files = |depth| Layout::Files { depth };
        stores.push(ModelSource::Quire, files(QUIRE_DEPTH), quire_models);
        let home = dirs::home_dir().unwrap_or_default();
        if let Some(dir) = env_path("OLLAMA_MODELS") {
            stores.push(ModelSource::Ollama, Layout::Ollama, dir);
        }
        if let Some(dir) = env_path("JAN_DATA_FOLDER") {
            stores.push(ModelSource::Jan, Layout::Jan, dir);
        }
        if !home.as_os_str().is_empty() {
            stores.add_apps(&home, &UserDirs::under(&home));
            stores.add_apps(&home, &UserDirs::reported(&home));
        }
        if cfg!(target_os = "linux") {
            let service = "/usr/share/ollama/.ollama/models";
            stores.push(ModelSource::Ollama, Layout::Ollama, service);
        }
        stores
    }

    fn add_apps(&mut self, home: &Path, dirs: &UserDirs) {
        let files = |depth| Layout::Files { depth };
        self.push(
            ModelSource::Quire,
            files(QUIRE_DEPTH),
            dirs.data.join("quire").join("models"),
        );
        self.push(
            ModelSource::Ollama,
            Layout::Ollama,
            home.join(".ollama").join("models"),
        );

        let lmstudio = home.join(".lmstudio");
        if let Some(dir) = json_setting(&lmstudio.join("settings.json"), "downloadsFolder") {
            self.push(ModelSource::LmStudio, files(LMSTUDIO_DEPTH), dir);
        }
        self.push(
            ModelSource::LmStudio,
            files(LMSTUDIO_DEPTH),
            lmstudio.join("models"),
        );
        let old_lmstudio = home.join(".cache").join("lm-studio").join("models");
        self.push(ModelSource::LmStudio, files(LMSTUDIO_DEPTH), old_lmstudio);

        let ini = dirs.qt_config.join("nomic.ai").join("GPT4All.ini");
        if let Some(dir) = ini_setting(&ini, "modelPath") {
            self.push(ModelSource::Gpt4All, files(GPT4ALL_DEPTH), dir);
        }
        let gpt4all = dirs.local_data.join("nomic.ai").join("GPT4All");
        self.push(ModelSource::Gpt4All, files(GPT4ALL_DEPTH), gpt4all);
        let bindings = home.join(".cache").join("gpt4all");
        self.push(ModelSource::Gpt4All, files(GPT4ALL_DEPTH), bindings);

        let jan = dirs.data.join("Jan");
        if let Some(dir) = json_setting(&jan.join("settings.json"), "data_folder") {
            self.push(ModelSource::Jan, Layout::Jan, dir);
        }
        self.push(ModelSource::Jan, Layout::Jan, jan.join("data"));
        self.push(ModelSource::Jan, Layout::Jan, home.join("jan"));
    }

    /// Searches every store and reads the header of every model file found.
    pub fn discover(&self) -> Discovery {
        let mut found = Found::default();
        let mut walk = Walk::new();
        for store in &self.stores {
            let present = store.root.is_dir();
            found.searched.push(SearchedFolder {
                path: store.root.clone(),
                source: store.source,
                present,
            });
            if !present {
                if store.source == ModelSource::Folder {
                    let reason = match store.root.exists() {
                        true => "not a folder",
                        false => "this folder does not exist",
                    };
                    found.skip(&store.root, store.source, SkipKind::Missing, reason.into());
                }
                continue;
            }
            match store.layout {
                Layout::Files { depth } => scan_files(store, depth, &mut walk, &mut found),
                Layout::Ollama => ollama::scan(&store.root, &mut walk, &mut found),
                Layout::Jan => scan_jan(&store.root, &mut walk, &mut found),
            }
        }
        examine(found)
    }
}

fn candidate(files: ModelFiles, name: String) -> Candidate {
    Candidate {
        path: files.first,
        more_parts: files.more,
        name,
        name_in_reason: false,
    }
}

/// Every `.gguf` below the store's folder, named by its file name.
fn scan_files(store: &Store, depth: usize, walk: &mut Walk, found: &mut Found) {
    let files = walk.files(&store.root, depth, &is_gguf, store.source, found);
    for model in group_parts(files, store.source, found) {
        let name = model.stem.clone();
        found
            .candidates
            .push((store.source, candidate(model, name)));
    }
}

/// Jan's data folder: `llamacpp/models` (current) and `models` (older); a model is named
/// by its id, the folder path below `models` (`<id>/model.gguf`).
fn scan_jan(data: &Path, walk: &mut Walk, found: &mut Found) {
    for models in [data.join("llamacpp").join("models"), data.join("models")] {
        let wanted = |name: &str| is_gguf(name) || name == "model.yml";
        let files = walk.files(&models, JAN_DEPTH, &wanted, ModelSource::Jan, found);
        let (records, ggufs): (Vec<PathBuf>, Vec<PathBuf>) =
            files.into_iter().partition(|f| f.ends_with("model.yml"));
        for model in group_parts(ggufs, ModelSource::Jan, found) {
            let id = jan_id(&models, &model.first, &model.stem);
            found
                .candidates
                .push((ModelSource::Jan, candidate(model, id)));
        }
        for record in records {
            jan_record(data, &models, &record, found);
        }
    }
}

/// `<id>` for `<models>/<id>/model.gguf`, `<id>/<stem>` for other files.
fn jan_id(models: &Path, file: &Path, stem: &str) -> String {
    let folder = file.parent().and_then(|p| p.strip_prefix(models).ok());
    let folder = folder.map(|f| f.to_string_lossy().replace('\\', "/"));
    match folder.filter(|f| !f.is_empty()) {
        Some(id) if stem == "model" => id,
        Some(id) => format!("{id}/{stem}"),
        None => stem.to_string(),
    }
}

/// A `model.yml`'s `model_path` (relative to the data folder, or absolute for a file Jan
/// imported in place): the model it names, wherever it lies.
fn jan_record(data: &Path, models: &Path, record: &Path, found: &mut Found) {
    let id = jan_id(models, record, "model");
    let Some(text) = read_small(record) else {
        let reason = format!("{id}: cannot read its model.yml");
        return found.skip(record, ModelSource::Jan, SkipKind::BadManifest, reason);
    };
    let Some(value) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("model_path:"))
    else {
        return;
    };
    let value = unquote(value.trim());
    if value.is_empty() {
        return;
    }
    let path = data.join(value);
    if path.is_file() {
        let c = Candidate {
            path,
            more_parts: Vec::new(),
            name: id,
            name_in_reason: true,
        };
        found.candidates.push((ModelSource::Jan, c));
    } else {
        let reason = format!(
            "{id}: its model.yml names {}, which is missing",
            path.display()
        );
        found.skip(record, ModelSource::Jan, SkipKind::Missing, reason);
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A small text file's contents (settings, records); `None` when missing, unreadable or large.
fn read_small(path: &Path) -> Option<String> {
    let size = std::fs::metadata(path).ok()?.len();
    if size > MAX_SETTINGS {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// A folder named by a string in a JSON settings file.
fn json_setting(path: &Path, key: &str) -> Option<PathBuf> {
    let json: serde_json::Value = serde_json::from_str(&read_small(path)?).ok()?;
    let value = json.get(key)?.as_str()?.trim();
    (!value.is_empty()).then(|| PathBuf::from(value))
}

/// A folder named by `key=value` in a Qt INI settings file.
fn ini_setting(path: &Path, key: &str) -> Option<PathBuf> {
    let text = read_small(path)?;
    let value = text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| unquote(v.trim()).to_string())
    })?;
    (!value.is_empty()).then(|| PathBuf::from(value))
}

fn unquote(value: &str) -> &str {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('"') || quoted('\'') {
        &value[1..value.len() - 1]
    } else {
        value
    }
}
