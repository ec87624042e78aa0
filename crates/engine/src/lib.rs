//! Quire's engine: PDFs in, cited passages out.
//!
//! The pipeline is `extract → chunk → embed → store/index → retrieve → generate`, one module
//! per stage (with `answer` for prompts, citations and quotes, and `conversation`),
//! behind the [`Library`] facade that the `quire` CLI and the desktop app share:
//!
//! ```no_run
//! use quire_engine::{Library, LibraryOptions};
//! # fn main() -> quire_engine::Result<()> {
//! let options = LibraryOptions::new("/tmp/library", quire_engine::default_models_dir());
//! let mut library = Library::open(options)?;
//! library.add(&["paper.pdf".into()], &|_event: quire_engine::AddEvent<'_>| true)?;
//! for hit in library.search("what does the paper measure?", 5, &[])? {
//!     println!("{} p.{}: {}", hit.chunk.title, hit.chunk.page_start, hit.chunk.text);
//! }
//! # Ok(()) }
//! ```
//!
//! Executables that use the default process isolation for PDF extraction must call
//! [`extract::run_worker_if_requested`] first thing in `main`.

pub mod answer;
mod ask;
mod bert;
pub mod chunk;
pub mod conversation;
#[cfg(feature = "cuda")]
mod cuda_kernels;
pub mod device;
pub mod embed;
mod error;
pub mod extract;
pub mod focus;
pub mod generate;
pub mod index;
mod library;
pub mod retrieve;
pub mod store;
pub mod text;
mod worker;

pub use answer::{Citation, Quote, Source};
pub use ask::{Answer, AskEvent, AskOptions, Passages, PromptReport, RELEVANT_SIMILARITY};
pub use conversation::{Conversation, StoredMessage};
pub use device::DeviceChoice;
pub use error::{Error, Result};
pub use extract::{ExtractError, Extractor, FailureKind, Isolation};
pub use generate::{Flow, GenerationStats, GeneratorInfo, Sampling, StopReason};
pub use index::Precision;
pub use library::{
    default_data_dir, default_library_dir, default_models_dir, AddEvent, AddProgress, AddReport,
    AddStatus, FileOutcome, Library, LibraryOptions, LibraryStatus, ModelStatus, SearchHit,
    SearchMode, StageTimes, DEFAULT_ANSWER_MODEL, DEFAULT_EMBEDDING_MODEL,
};
pub use store::{DocStatus, Document, StoredChunk};
