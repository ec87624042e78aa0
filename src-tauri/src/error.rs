//! Errors as the UI receives them: `{kind, message}`.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CommandError {
    pub kind: &'static str,
    pub message: String,
}

impl CommandError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
        }
    }
}

impl From<quire_engine::Error> for CommandError {
    fn from(e: quire_engine::Error) -> CommandError {
        use quire_engine::Error as E;
        let kind = match &e {
            E::ModelMissing(_) => "model_missing",
            E::ModelInvalid(_) => "model_invalid",
            E::Device(_) => "device",
            E::Usage(_) => "usage",
            E::Busy(_) => "busy",
            E::ModelMismatch(_) => "model_mismatch",
            E::EmptyLibrary => "empty_library",
            E::Cancelled => "cancelled",
            _ => "internal",
        };
        CommandError::new(kind, e.to_string())
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> CommandError {
        CommandError::new("internal", e.to_string())
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> CommandError {
        CommandError::new("io", e.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
