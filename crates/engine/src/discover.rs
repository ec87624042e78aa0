//! The GGUF models already on this computer: Quire's own, and those other apps downloaded
//! (Ollama, LM Studio, GPT4All, Jan), plus any folders the user names. Read-only: files are
//! looked at, never moved, changed or loaded; each is described from its GGUF header
//! ([`crate::gguf`]).
//!
//! Where each app keeps its models is in [`stores`]; how a folder is searched (bounded depth,
//! symlink loops, hidden folders) in [`walk`]; Ollama's content-addressed store in [`ollama`].
//! A file that cannot be used — damaged, cut short, not GGUF at all, a manifest pointing
//! nowhere — is listed in [`Discovery::skipped`] with the reason, and the search goes on.
//!
//! ```no_run
//! let found = quire_engine::discover_models_on_this_computer(
//!     &quire_engine::default_models_dir(),
//!     &[],
//! );
//! for m in found.models.iter().filter(|m| m.answer_capable) {
//!     println!("{} ({:?}) {}", m.name, m.source, m.path.display());
//! }
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::gguf::{self, GgufError, GgufInfo};

mod ollama;
mod stores;
mod walk;

pub use stores::{Layout, ModelStores, Store};

/// The app a model was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Quire's own models folder.
    Quire,
    Ollama,
    LmStudio,
    #[serde(rename = "gpt4all")]
    Gpt4All,
    Jan,
    /// A folder the user added.
    Folder,
}

impl ModelSource {
    /// The app's name as people write it.
    pub fn label(self) -> &'static str {
        match self {
            ModelSource::Quire => "Quire",
            ModelSource::Ollama => "Ollama",
            ModelSource::LmStudio => "LM Studio",
            ModelSource::Gpt4All => "GPT4All",
            ModelSource::Jan => "Jan",
            ModelSource::Folder => "folder",
        }
    }
}

/// What a model does, from its architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Writes text: can answer questions.
    Text,
    /// Turns text into vectors (BERT-family and other pooling models): cannot write answers.
    Embedding,
    /// A vision or audio projector (`mmproj` files) that goes beside a text model.
    Projector,
    /// Something else llama.cpp reads (an audio decoder).
    Other,
}

/// A GGUF model found on this computer, described from its header ([`FoundModel::answer_capable`]
/// says whether it can write answers).
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct FoundModel {
    /// The file to give as the answer model (the first part, for a model split into parts).
    #[ts(type = "string")]
    pub path: PathBuf,
    /// The name the app shows it by (Ollama: `model:tag`; Jan: the model id; else the file
    /// name without `.gguf`).
    pub name: String,
    pub source: ModelSource,
    /// On disk, all parts together.
    pub size_bytes: u64,
    /// `general.architecture` ("llama", "gemma3", "qwen2", "bert"…).
    pub architecture: Option<String>,
    /// The quantisation ("Q4_K_M", "Q8_0", "F16").
    pub quantisation: Option<String>,
    /// Weights in all tensors.
    pub parameters: Option<u64>,
    /// The context the model was trained for, in tokens.
    pub context_length: Option<u64>,
    /// Whether the file carries a chat template (without one, Quire uses the architecture's
    /// turn format).
    pub chat_template: bool,
    pub kind: ModelKind,
    /// Whether it can write answers (a text model).
    pub answer_capable: bool,
    /// Files the model is split into (1 for most).
    pub parts: u32,
}

/// Why a file was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// A zero-length file.
    Empty,
    /// Not a GGUF model at all (a web page, a Git LFS pointer, an old GGML file…).
    NotGguf,
    /// A GGUF of a version or byte order llama.cpp does not load.
    Unsupported,
    /// Cut short: an unfinished download or copy.
    Truncated,
    /// Values no GGUF writer produces.
    Damaged,
    /// An app's record of a model (an Ollama manifest, a Jan model.yml) that cannot be read.
    BadManifest,
    /// A file a record or a split model needs is not there.
    Missing,
    /// A link that points to itself, or to nothing.
    BrokenLink,
    /// Cannot be read (permissions, I/O).
    Unreadable,
    /// A folder with too many entries to search whole.
    TooManyFiles,
}

/// A file (or folder) that was passed over, with the reason in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SkippedFile {
    #[ts(type = "string")]
    pub path: PathBuf,
    pub source: ModelSource,
    pub kind: SkipKind,
    pub reason: String,
}

/// A place that was searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SearchedFolder {
    #[ts(type = "string")]
    pub path: PathBuf,
    pub source: ModelSource,
    /// Whether the folder exists.
    pub present: bool,
}

/// Everything a search found, usable or not.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct Discovery {
    /// By app (Quire first), then by name (ignoring case).
    pub models: Vec<FoundModel>,
    pub skipped: Vec<SkippedFile>,
    pub searched: Vec<SearchedFolder>,
}

/// The models under `home` (as another user's or a test's home would hold them: every app's
/// default folders for this OS, and the folders their settings files name) and in
/// `extra_folders`.
pub fn discover_models(home: &Path, extra_folders: &[PathBuf]) -> Discovery {
    let mut stores = ModelStores::under_home(home);
    for folder in extra_folders {
        stores.add_folder(folder);
    }
    stores.discover()
}

/// The models on this computer: [`discover_models`] for the user's home, plus what the
/// environment says (`OLLAMA_MODELS`, the Linux Ollama service's store, `JAN_DATA_FOLDER`,
/// the OS's data folders), Quire's models folder `quire_models` and `extra_folders`.
pub fn discover_models_on_this_computer(
    quire_models: &Path,
    extra_folders: &[PathBuf],
) -> Discovery {
    let mut stores = ModelStores::on_this_computer(quire_models);
    for folder in extra_folders {
        stores.add_folder(folder);
    }
    stores.discover()
}

/// A file an app's store holds, before its header is read.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The model file (the first part of a split model).
    pub path: PathBuf,
    /// Further parts of a split model, in order.
    pub more_parts: Vec<PathBuf>,
    pub name: String,
    /// Whether reasons name the model (a blob's file name alone says nothing).
    pub name_in_reason: bool,
}

/// What the stores yield, in the order searched.
#[derive(Default)]
pub(crate) struct Found {
    pub candidates: Vec<(ModelSource, Candidate)>,
    pub skipped: Vec<SkippedFile>,
    pub searched: Vec<SearchedFolder>,
}

impl Found {
    pub fn skip(&mut self, path: &Path, source: ModelSource, kind: SkipKind, reason: String) {
        self.skipped.push(SkippedFile {
            path: path.to_path_buf(),
            source,
            kind,
            reason,
        });
    }
}

/// Reads every candidate's header once (a file reached twice, through a link or two
/// overlapping folders, counts once: the first store to reach it keeps it).
pub(crate) fn examine(found: Found) -> Discovery {
    let mut seen = HashSet::new();
    let mut discovery = Discovery {
        searched: found.searched,
        ..Discovery::default()
    };
    let mut skipped_seen = HashSet::new();
    for (source, candidate) in found.candidates {
        let key = std::fs::canonicalize(&candidate.path).unwrap_or(candidate.path.clone());
        if !seen.insert(key) {
            continue;
        }
        match describe(source, &candidate) {
            Ok(model) => discovery.models.push(model),
            Err((kind, reason)) => discovery.skipped.push(SkippedFile {
                path: candidate.path.clone(),
                source,
                kind,
                reason,
            }),
        }
    }
    for skip in found.skipped {
        let key = std::fs::canonicalize(&skip.path).unwrap_or(skip.path.clone());
        if !seen.contains(&key) && skipped_seen.insert(key) {
            discovery.skipped.push(skip);
        }
    }
    discovery
        .models
        .sort_by_cached_key(|m| (m.source, m.name.to_lowercase(), m.path.clone()));
    discovery
        .skipped
        .sort_by(|a, b| (a.source, &a.path).cmp(&(b.source, &b.path)));
    discovery
}

/// A candidate's model, from the header of each of its parts.
fn describe(source: ModelSource, c: &Candidate) -> Result<FoundModel, (SkipKind, String)> {
    let reason = |e: GgufError| {
        let kind = skip_kind(&e);
        if c.name_in_reason {
            (kind, format!("{}: {e}", c.name))
        } else {
            (kind, e.to_string())
        }
    };
    let info = gguf::read(&c.path).map_err(reason)?;
    let mut size_bytes = file_size(&c.path);
    let mut parameters = info.parameters;
    for (i, part) in c.more_parts.iter().enumerate() {
        let part_info = gguf::read(part).map_err(|e| {
            let (kind, why) = reason(e);
            (
                kind,
                format!("part {} of {}: {why}", i + 2, c.more_parts.len() + 1),
            )
        })?;
        size_bytes += file_size(part);
        parameters = parameters.saturating_add(part_info.parameters);
    }
    let kind = model_kind(&info);
    Ok(FoundModel {
        path: c.path.clone(),
        name: c.name.clone(),
        source,
        size_bytes,
        quantisation: quantisation(&info),
        parameters: (parameters > 0).then_some(parameters),
        context_length: info.context_length,
        chat_template: info.chat_template,
        kind,
        answer_capable: kind == ModelKind::Text,
        parts: 1 + c.more_parts.len() as u32,
        architecture: info.architecture,
    })
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn skip_kind(e: &GgufError) -> SkipKind {
    match e {
        GgufError::Empty => SkipKind::Empty,
        GgufError::NotGguf(_) => SkipKind::NotGguf,
        GgufError::Unsupported(_) => SkipKind::Unsupported,
        GgufError::Truncated(_) => SkipKind::Truncated,
        GgufError::Damaged(_) => SkipKind::Damaged,
        GgufError::Unreadable(_) => SkipKind::Unreadable,
    }
}

/// `general.file_type`'s name, else the type of most of the weights ("Q4_K").
fn quantisation(info: &GgufInfo) -> Option<String> {
    let named = info.file_type.and_then(gguf::file_type_name);
    named
        .or_else(|| info.main_tensor_type.and_then(gguf::tensor_type_name))
        .map(String::from)
}

/// llama.cpp's architectures that only embed (`llama-arch.cpp`); other architectures embed
/// when their header sets a pooling type (an embedding conversion of a text model).
const EMBEDDING_ARCHITECTURES: [&str; 10] = [
    "bert",
    "modern-bert",
    "nomic-bert",
    "nomic-bert-moe",
    "neo-bert",
    "jina-bert-v2",
    "jina-bert-v3",
    "eurobert",
    "gemma-embedding",
    "t5encoder",
];

fn model_kind(info: &GgufInfo) -> ModelKind {
    match info.architecture.as_deref() {
        Some(a) if EMBEDDING_ARCHITECTURES.contains(&a) => ModelKind::Embedding,
        Some("clip") => ModelKind::Projector,
        Some("wavtokenizer-dec") => ModelKind::Other,
        _ if info.pooling => ModelKind::Embedding,
        _ => ModelKind::Text,
    }
}
