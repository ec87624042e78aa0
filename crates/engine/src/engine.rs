//! [`Engine`]: the one handle the CLI and the desktop app share.
//!
//! It is `Send + Sync`: one engine serves every thread of a process at once (a window adds
//! documents while it answers a question), with each model loaded once. The jobs themselves live
//! in their own modules — [`crate::ingest`], [`crate::retrieve`], [`crate::ask`],
//! [`crate::conversation`], [`crate::status`] — over two shared parts: the stored library
//! ([`crate::library`]) and the model runtime ([`crate::runtime`]).

use std::path::{Path, PathBuf};

use crate::ask::{self, Answer, AskEvent, AskOptions};
use crate::conversation::{Conversation, StoredMessage};
use crate::device::DeviceChoice;
use crate::embed::EncoderPrecision;
use crate::error::{Error, Result};
use crate::extract::OcrLayer;
use crate::extract::{Extractor, Isolation};
use crate::generate::Flow;
use crate::index::Precision;
use crate::ingest::{self, AddOptions, AddProgress, AddReport};
use crate::retrieve::{self, SearchHit, SearchOptions};
use crate::runtime::{ModelOptions, Models};
use crate::status::{self, LibraryStatus};
use crate::storage::{Backend, Embedded, Postgres, Storage};
use crate::store::Document;

/// Folder name of the default embedding model inside the models directory.
pub const DEFAULT_EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";
/// File name of the default answer model inside the models directory.
pub const DEFAULT_ANSWER_MODEL: &str = "gemma-3-270m-q4_k_m.gguf";

/// Where Quire keeps libraries by default: the OS data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("quire")
}

/// The default library directory.
pub fn default_library_dir() -> PathBuf {
    default_data_dir().join("library")
}

/// The default models directory: the user's own (where the models fetch step puts them) when it
/// holds the default models, else the first system-wide folder that does (where the
/// `quire-models` package installs them, [`system_models_dirs`]), else the user's own (so that a
/// "missing" message names the folder the fetch step fills).
pub fn default_models_dir() -> PathBuf {
    let own = default_data_dir().join("models");
    choose_models_dir(own, &system_models_dirs())
}

/// The folder an installed Quire's packages fill beside the program `exe` in a `bin` folder:
/// `/usr/bin/quire` → `/usr/share/quire` (or under `/usr/local`, `/opt/...`). It holds `models`
/// (the `quire-models` package) and `fetch/fetch.py` (the models fetch step,
/// [`installed_fetch_script`]).
pub fn installed_share_dir(exe: &Path) -> Option<PathBuf> {
    Some(exe.parent()?.parent()?.join("share/quire"))
}

/// The models fetch step an installed Quire carries beside the program `exe`, if there.
pub fn installed_fetch_script(exe: &Path) -> Option<PathBuf> {
    installed_share_dir(exe)
        .map(|share| share.join("fetch/fetch.py"))
        .filter(|script| script.is_file())
}

/// Folders a system-wide model pack may fill, in order: `models` in the running program's
/// [`installed_share_dir`], then `/usr/share/quire/models`.
fn system_models_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(share) = std::env::current_exe()
        .ok()
        .and_then(|exe| installed_share_dir(&exe))
    {
        dirs.push(share.join("models"));
    }
    let usr = PathBuf::from("/usr/share/quire/models");
    if !dirs.contains(&usr) {
        dirs.push(usr);
    }
    dirs
}

/// Whether `dir` holds both default models (their files, not whether they load).
fn holds_default_models(dir: &Path) -> bool {
    dir.join(DEFAULT_EMBEDDING_MODEL)
        .join("config.json")
        .is_file()
        && dir.join(DEFAULT_ANSWER_MODEL).is_file()
}

fn choose_models_dir(own: PathBuf, system: &[PathBuf]) -> PathBuf {
    if holds_default_models(&own) {
        return own;
    }
    system
        .iter()
        .find(|dir| holds_default_models(dir))
        .cloned()
        .unwrap_or(own)
}

/// How to open a library: its folder, the models, the device. What varies per call (chunk
/// size, sources per answer) is in the options of that call.
#[derive(Debug, Clone)]
pub struct LibraryOptions {
    /// The library's folder (its database and vector file when embedded).
    pub dir: PathBuf,
    /// Where the library is kept: in `dir` (the default), or in a PostgreSQL database.
    pub backend: Backend,
    pub models_dir: PathBuf,
    /// A BERT-family model folder; default: `models_dir/all-MiniLM-L6-v2`.
    pub embedding_model: Option<PathBuf>,
    /// A GGUF file; default: `models_dir/gemma-3-270m-q4_k_m.gguf`.
    pub answer_model: Option<PathBuf>,
    pub device: DeviceChoice,
    /// The CPU embedding encoder's number type (f32, or int8 for about twice the speed).
    pub embedding_precision: EncoderPrecision,
    pub precision: Precision,
    pub extractor: Extractor,
    /// The answer model's context window; `None`: its trained length, capped at 8192 tokens.
    pub context_tokens: Option<u32>,
    /// CPU threads for the answer model; `None`: one per physical core.
    pub generation_threads: Option<usize>,
}

impl LibraryOptions {
    /// Defaults for `dir`, with extraction in child processes of the current executable.
    pub fn new(dir: impl Into<PathBuf>, models_dir: impl Into<PathBuf>) -> LibraryOptions {
        let isolation = Isolation::current_exe().unwrap_or(Isolation::Thread);
        LibraryOptions {
            dir: dir.into(),
            backend: Backend::Embedded,
            models_dir: models_dir.into(),
            embedding_model: None,
            answer_model: None,
            device: DeviceChoice::Auto,
            embedding_precision: EncoderPrecision::F32,
            precision: Precision::F32,
            extractor: Extractor::new(isolation),
            context_tokens: None,
            generation_threads: None,
        }
    }

    pub fn embedding_model_dir(&self) -> PathBuf {
        self.embedding_model
            .clone()
            .unwrap_or_else(|| self.models_dir.join(DEFAULT_EMBEDDING_MODEL))
    }

    pub fn answer_model_path(&self) -> PathBuf {
        self.answer_model
            .clone()
            .unwrap_or_else(|| self.models_dir.join(DEFAULT_ANSWER_MODEL))
    }

    fn model_options(&self) -> ModelOptions {
        ModelOptions {
            embedding_dir: self.embedding_model_dir(),
            answer_path: self.answer_model_path(),
            device: self.device,
            embedding_precision: self.embedding_precision,
            context_tokens: self.context_tokens,
            generation_threads: self.generation_threads,
            glossary_path: self.models_dir.join(crate::glossary::GLOSSARY_FILE),
        }
    }
}

/// A library of PDFs with the models that index and answer from it. Share it (`&Engine` or
/// `Arc<Engine>`) between threads; each operation takes only the locks it needs for as long as
/// it needs them.
pub struct Engine {
    options: LibraryOptions,
    library: Box<dyn Storage>,
    models: Models,
}

impl Engine {
    /// Opens (creating if needed) the library in `options.dir`. When another process is
    /// changing it, the library opens read-only: search, list and status work, add and remove
    /// report [`Error::Busy`]. Models load on first need.
    pub fn open(options: LibraryOptions) -> Result<Engine> {
        let library: Box<dyn Storage> = match &options.backend {
            Backend::Embedded => Box::new(Embedded::open(&options.dir, options.precision)?),
            Backend::Postgres(url) => Box::new(Postgres::open(url)?),
        };
        let models = Models::new(options.model_options());
        Ok(Engine {
            options,
            library,
            models,
        })
    }

    pub fn options(&self) -> &LibraryOptions {
        &self.options
    }

    /// False when another process holds the library for writing.
    pub fn is_writable(&self) -> bool {
        self.library.is_writable()
    }

    // ---- ingest ----

    /// Adds PDFs and folders of PDFs (recursively). Unchanged files cost nothing, changed ones
    /// are replaced, bad ones are recorded with a classified error; interrupted work from an
    /// earlier run is redone too. Each file is searchable by its words as soon as it is stored
    /// (and reported added then); the vectors that make it searchable by meaning follow, for
    /// the whole queue of waiting passages. An add of no paths finishes what an earlier run
    /// left: passages still waiting for vectors, files it did not reach.
    pub fn add(
        &self,
        paths: &[PathBuf],
        options: &AddOptions,
        progress: &dyn AddProgress,
    ) -> Result<AddReport> {
        options.validate()?;
        ingest::add(
            &*self.library,
            &self.models,
            &self.options.extractor,
            paths,
            &[],
            options,
            progress,
        )
    }

    /// [`Engine::add`] for files stored under names of the caller's choosing: each `(file,
    /// name)` is read from `file` and kept, listed and cited as `name` (the library keys
    /// documents by it). For a server that holds uploads in temporary files: the same bytes
    /// under the same name again are unchanged, other bytes replace the document. Files only,
    /// no folders; names are taken as they are.
    pub fn add_named(
        &self,
        files: &[(PathBuf, String)],
        options: &AddOptions,
        progress: &dyn AddProgress,
    ) -> Result<AddReport> {
        options.validate()?;
        ingest::add(
            &*self.library,
            &self.models,
            &self.options.extractor,
            &[],
            files,
            options,
            progress,
        )
    }

    /// Removes a document with its chunks and vectors.
    pub fn remove(&self, id: i64) -> Result<()> {
        ingest::remove(&*self.library, id)
    }

    // ---- documents ----

    /// All documents, oldest first.
    pub fn documents(&self) -> Result<Vec<Document>> {
        self.library.documents()
    }

    /// Finds a document by id or by path.
    pub fn find_document(&self, id_or_path: &str) -> Result<Option<Document>> {
        self.library.find_document(id_or_path)
    }

    /// The ids of documents named by id or path; a name that matches none is a usage error.
    pub fn resolve_documents(&self, names: &[String]) -> Result<Vec<i64>> {
        names
            .iter()
            .map(|name| {
                self.find_document(name)?
                    .map(|d| d.id)
                    .ok_or_else(|| Error::Usage(format!("no document {name:?} in the library")))
            })
            .collect()
    }

    /// The file of a document in the library (only documents in the library are served).
    pub fn document_path(&self, id: i64) -> Result<PathBuf> {
        self.library
            .document(id)?
            .map(|d| PathBuf::from(d.path))
            .ok_or_else(|| Error::Usage(format!("there is no document {id}")))
    }

    /// What OCR read on a page of a document: the boxes of its words (to draw a cited passage
    /// on a scanned page) and how sure it was; `None` for a page with a text layer.
    pub fn page_ocr(&self, document_id: i64, page: u32) -> Result<Option<OcrLayer>> {
        self.library.page_ocr(document_id, page)
    }

    // ---- retrieve ----

    /// Passages for `query`: hybrid by default (meaning and words, fused by rank).
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<SearchHit>> {
        options.validate()?;
        retrieve::search(&*self.library, &self.models, query, options)
    }

    /// Passages of ready documents that have no vector yet: waiting for the embedding after an
    /// `add`, or all of them after the vector file was found missing or damaged (until `add`
    /// or the window embeds them again). Searches find them by their words only.
    pub fn passages_without_vectors(&self) -> Result<usize> {
        Ok(self.library.passages_waiting()? as usize)
    }

    /// What was found wrong with the vector file on opening it ("the vector file is damaged"),
    /// until the passages have their vectors again.
    pub fn vectors_problem(&self) -> Result<Option<String>> {
        self.library.vectors_problem()
    }

    // ---- answer ----

    /// Answers `question` from the library: `on_event` gets the sources, then the answer piece
    /// by piece, then the finished answer; it can stop the answer by returning [`Flow::Stop`]
    /// (what was written so far is kept).
    pub fn ask(
        &self,
        question: &str,
        options: &AskOptions,
        on_event: &mut dyn FnMut(&AskEvent) -> Flow,
    ) -> Result<Answer> {
        options.validate()?;
        ask::ask(&*self.library, &self.models, question, options, on_event)
    }

    /// Whether `passage` supports `sentence` (an answer's sentence to `question`), by the rule
    /// the answer's citations are checked with: what a front end or a test uses to check a
    /// citation it shows.
    pub fn supports(&self, question: &str, sentence: &str, passage: &str) -> Result<bool> {
        Ok(ask::support_check(&self.models, question, sentence, passage)?.1)
    }

    /// [`Engine::supports`] with what it measured: the share of the sentence's words in the
    /// passage, its closeness in meaning to the passage's closest sentence, whether the passage
    /// has its numbers, names and commands (for choosing the rule's thresholds on a benchmark);
    /// then the verdict.
    pub fn support_check(
        &self,
        question: &str,
        sentence: &str,
        passage: &str,
    ) -> Result<(crate::verify::Check, bool)> {
        ask::support_check(&self.models, question, sentence, passage)
    }

    // ---- conversations ----

    /// All conversations, the most recently active first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        self.library.conversations()
    }

    /// Every message of a conversation, oldest first.
    pub fn conversation_messages(&self, id: i64) -> Result<Vec<StoredMessage>> {
        crate::conversation::messages(&*self.library, id)
    }

    pub fn rename_conversation(&self, id: i64, title: &str) -> Result<()> {
        crate::conversation::rename(&*self.library, id, title)
    }

    pub fn delete_conversation(&self, id: i64) -> Result<()> {
        crate::conversation::delete(&*self.library, id)
    }

    // ---- status and models ----

    /// Models, device, counts: cheap (counts from the database; no device is started). With
    /// `check`, also the device probe and the consistency check of database and vector index,
    /// which reads every chunk id.
    pub fn status(&self, check: bool) -> Result<LibraryStatus> {
        status::status(&*self.library, &self.models, &self.options, check)
    }

    /// When `auto` wanted a GPU that could not be used, the reason (the CPU is used instead);
    /// given once, after the embedding model has loaded.
    pub fn take_device_warning(&self) -> Option<String> {
        self.models.take_device_warning()
    }

    /// Which device and kernels embed here ("CPU (f32)"), once the embedding model has loaded.
    pub fn embedding_device(&self) -> Option<String> {
        self.models.embedding_device()
    }

    /// The answer model on its thread, loaded if needed (benchmarks run their own jobs on it).
    pub fn generator(&self) -> Result<std::sync::Arc<crate::generate::GeneratorThread>> {
        self.models.generator()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(dir: &Path) {
        std::fs::create_dir_all(dir.join(DEFAULT_EMBEDDING_MODEL)).unwrap();
        std::fs::write(dir.join(DEFAULT_EMBEDDING_MODEL).join("config.json"), "{}").unwrap();
        std::fs::write(dir.join(DEFAULT_ANSWER_MODEL), b"GGUF").unwrap();
    }

    #[test]
    fn models_come_from_the_user_first_then_the_system_pack() {
        let tmp = tempfile::tempdir().unwrap();
        let own = tmp.path().join("own");
        let (pack, other) = (tmp.path().join("pack"), tmp.path().join("other"));
        let system = [other.clone(), pack.clone()];
        // Nothing anywhere: the user's folder, where the fetch step puts them.
        assert_eq!(choose_models_dir(own.clone(), &system), own);
        // The installed pack.
        fill(&pack);
        assert_eq!(choose_models_dir(own.clone(), &system), pack);
        // Half a download in the user's folder does not hide the pack.
        std::fs::create_dir_all(own.join(DEFAULT_EMBEDDING_MODEL)).unwrap();
        std::fs::write(own.join(DEFAULT_EMBEDDING_MODEL).join("config.json"), "{}").unwrap();
        assert_eq!(choose_models_dir(own.clone(), &system), pack);
        // Fetched models of the user's own come first.
        fill(&own);
        assert_eq!(choose_models_dir(own.clone(), &system), own);
    }
}
