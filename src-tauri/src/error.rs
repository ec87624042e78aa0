//! Errors as the UI receives them: `{kind, message}`, the kind being the engine's.

use serde::Serialize;

use quire_engine::ErrorKind;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(rename = "AppError")]
#[ts(rename = "AppError")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
        }
    }

    /// A failure of the shell itself (a lost thread).
    pub fn internal(message: impl std::fmt::Display) -> CommandError {
        CommandError::new(ErrorKind::Internal, message.to_string())
    }
}

impl From<quire_engine::Error> for CommandError {
    fn from(e: quire_engine::Error) -> CommandError {
        CommandError::new(e.kind(), e.to_string())
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> CommandError {
        CommandError::new(ErrorKind::Io, e.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
