//! The engine's error type: one variant per kind of failure a caller may act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file or folder is absent.
    #[error("{0}")]
    ModelMissing(String),
    /// A model exists but cannot be used.
    #[error("{0}")]
    ModelInvalid(String),
    /// The requested compute device cannot be used.
    #[error("{0}")]
    Device(String),
    /// A bad request from the caller (unknown device, document, option).
    #[error("{0}")]
    Usage(String),
    /// Another process holds the library for writing.
    #[error(
        "the library {0} is being changed by another Quire process; try again when it has finished"
    )]
    Busy(PathBuf),
    /// The library was built with another embedding model.
    #[error("{0}")]
    ModelMismatch(String),
    #[error("embedding failed: {0}")]
    Embedding(String),
    #[error("answer generation failed: {0}")]
    Generation(String),
    /// There is nothing to ask about yet.
    #[error("the library has no indexed documents yet: add PDFs to it first")]
    EmptyLibrary,
    #[error("library database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("vector index: {0}")]
    Index(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Embedding(candle_message(&e))
    }
}

/// candle's error text without the backtrace candle appends to it when RUST_BACKTRACE is set:
/// people get the message.
pub(crate) fn candle_message(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => candle_message(inner),
        other => other.to_string(),
    }
}
