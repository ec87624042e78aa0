//! The engine's error type: one variant per kind of failure a caller may act on.
//!
//! Messages say what happened, in the user's words; what to do about it (a command to run, a
//! setting to change) is the front end's to say, by [`ErrorKind`].

use std::path::PathBuf;

use serde::Serialize;

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
    /// A bad request from the caller (unknown device, document, option out of range).
    #[error("{0}")]
    Usage(String),
    /// Another process holds the library for writing.
    #[error("the library {0} is being changed by another Quire process")]
    Busy(PathBuf),
    /// The library is on storage Quire cannot write to (or needs updating, which would write).
    #[error(
        "the library {0} is read-only: it can be searched and read, but adding, removing and \
         saving conversations need write access (and a library from an older Quire needs to be \
         opened once with write access)"
    )]
    ReadOnly(PathBuf),
    /// The library was built with another embedding model.
    #[error("this library was indexed with the embedding model {stored}, not {loaded}")]
    ModelMismatch { stored: String, loaded: String },
    #[error("embedding failed: {0}")]
    Embedding(String),
    #[error("answer generation failed: {0}")]
    Generation(String),
    /// There is nothing to search or ask yet.
    #[error("the library has no indexed documents yet")]
    EmptyLibrary,
    #[error("library database: {0}")]
    Database(rusqlite::Error),
    /// From a library kept in PostgreSQL: the server's own words, or why it cannot be reached.
    #[error("library database: {0}")]
    Postgres(String),
    /// The library's format is newer than this Quire reads.
    #[error(
        "this library was made by a newer version of Quire (library format {found}; this \
         version reads formats up to {known}): update Quire to open it"
    )]
    NewerLibrary { found: i64, known: i64 },
    #[error("vector index: {0}")]
    Index(String),
    #[error("{0}")]
    Io(std::io::Error),
    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,
}

/// What kind of failure an [`Error`] is: what front ends decide their advice and exit codes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    ModelMissing,
    ModelInvalid,
    Device,
    Usage,
    Busy,
    ModelMismatch,
    Embedding,
    Generation,
    EmptyLibrary,
    Database,
    Index,
    Io,
    Cancelled,
    /// A failure of the front end itself (a lost thread, a closed window).
    Internal,
}

impl Error {
    /// A write failed because the disk (or the file system's quota) is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io(e) => {
                e.kind() == std::io::ErrorKind::StorageFull
                    || e.kind() == std::io::ErrorKind::QuotaExceeded
            }
            Error::Database(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            _ => false,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ModelMissing(_) => ErrorKind::ModelMissing,
            Error::ModelInvalid(_) => ErrorKind::ModelInvalid,
            Error::Device(_) => ErrorKind::Device,
            Error::Usage(_) => ErrorKind::Usage,
            Error::Busy(_) => ErrorKind::Busy,
            Error::ReadOnly(_) => ErrorKind::Io,
            Error::ModelMismatch { .. } => ErrorKind::ModelMismatch,
            Error::Embedding(_) => ErrorKind::Embedding,
            Error::Generation(_) => ErrorKind::Generation,
            Error::EmptyLibrary => ErrorKind::EmptyLibrary,
            Error::Database(_) | Error::Postgres(_) | Error::NewerLibrary { .. } => {
                ErrorKind::Database
            }
            Error::Index(_) => ErrorKind::Index,
            Error::Io(_) => ErrorKind::Io,
            Error::Cancelled => ErrorKind::Cancelled,
        }
    }
}

// The wrapped errors are not exposed as `source()`: their text is already in the message, and
// a chain printer (`{:#}`) would print it twice ("File exists (os error 17): File exists (os
// error 17)").
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Database(e)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_os_error_is_told_once() {
        // A chain printer (`{:#}`) prints each source after the message.
        let e: Error = std::io::Error::from_raw_os_error(17).into();
        assert!(std::error::Error::source(&e).is_none());
        assert_eq!(e.to_string().matches("os error 17").count(), 1, "{e}");
    }
}
