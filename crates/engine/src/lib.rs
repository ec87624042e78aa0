//! Quire's engine: PDFs in, cited passages out.
//!
//! The pipeline is `extract → chunk → embed → store/index → retrieve → generate`, one module
//! per stage (with `answer` for prompts, citations and quotes, `markers` for citation markers,
//! and `conversation`). The jobs — [`ingest`], [`retrieve`], [`ask`], [`conversation`],
//! [`status`] — run over the stored library and a model runtime that loads each model once,
//! behind one thread-safe handle, [`Engine`], that the `quire` CLI and the desktop app share.
//! Its results are `Serialize` types: the CLI's `--json`, the app's IPC and the UI's
//! TypeScript types (generated from them with `ts-rs`) all come from the same definitions.
//!
//! ```no_run
//! use quire_engine::{AddOptions, Engine, LibraryOptions, SearchOptions};
//! # fn main() -> quire_engine::Result<()> {
//! let options = LibraryOptions::new("/tmp/library", quire_engine::default_models_dir());
//! let engine = Engine::open(options)?;
//! engine.add(&["paper.pdf".into()], &AddOptions::default(), &|_: &quire_engine::AddEvent| true)?;
//! for hit in engine.search("what does the paper measure?", &SearchOptions::default())? {
//!     let p = &hit.chunk.passage;
//!     println!("{} p.{}: {}", p.title, p.page_start, p.text);
//! }
//! # Ok(()) }
//! ```
//!
//! Executables that use the default process isolation for PDF extraction must call
//! [`extract::run_worker_if_requested`] first thing in `main`.

pub mod answer;
pub mod ask;
mod bert;
pub mod chunk;
pub mod conversation;
#[cfg(feature = "cuda")]
mod cuda_kernels;
pub mod device;
mod digest;
pub mod discover;
pub mod embed;
mod engine;
mod error;
pub mod extract;
mod figures;
pub mod focus;
pub mod generate;
pub mod gguf;
pub mod glossary;
pub mod index;
pub mod ingest;
pub mod markers;
pub mod retrieve;
mod runtime;
pub mod status;
pub mod storage;
pub mod store;
pub mod support;
pub mod text;
pub mod verify;
mod worker;

pub use answer::{Citation, Quote, Source};
pub use ask::{
    Answer, AskEvent, AskOptions, Coverage, Passages, PromptReport, RELEVANT_SIMILARITY,
};
pub use conversation::{Conversation, StoredMessage};
pub use device::DeviceChoice;
pub use discover::{
    discover_models, discover_models_on_this_computer, Discovery, FoundModel, ModelKind,
    ModelSource, SearchedFolder, SkipKind, SkippedFile,
};
pub use embed::{EncoderPrecision, ModelCard, Pooling, TextKind};
pub use engine::{
    default_data_dir, default_library_dir, default_models_dir, installed_fetch_script,
    installed_share_dir, Engine, LibraryOptions, DEFAULT_ANSWER_MODEL, DEFAULT_EMBEDDING_MODEL,
};
pub use error::{Error, ErrorKind, Result};
pub use extract::ocr::{installed_languages as ocr_languages, LOW_CONFIDENCE};
pub use extract::{
    ExtractError, ExtractedPdf, Extractor, FailureKind, Isolation, OcrLayer, OcrOptions,
    ReadProgress, WordBox,
};
pub use generate::{Flow, GenerationStats, GeneratorInfo, Sampling, StopReason};
pub use index::Precision;
pub use ingest::{
    AddEvent, AddOptions, AddProgress, AddReport, AddStatus, FileOutcome, StageTimes,
};
pub use markers::Segment;
pub use retrieve::{SearchHit, SearchMode, SearchOptions};
pub use runtime::ModelStatus;
pub use status::{DocumentCounts, LibraryStatus, ModelSuggestion};
pub use store::{DocStatus, Document, Passage, StoredChunk};
pub use verify::{AnswerSentence, Omission, OmitReason, Outcome, Support};
