//! Quire's desktop shell: Tauri commands that parse, call the engine on a blocking thread, and
//! stream progress through channels. No logic of its own lives here.

mod commands;
mod error;
mod settings;
mod views;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use quire_engine::{Library, LibraryOptions};

use crate::error::CommandError;
use crate::settings::Settings;

/// Two handles on one library: the writer adds and removes documents (minutes at a time); the
/// reader answers everything else meanwhile (lists, questions, conversations), so the window
/// never waits for an ingestion to finish.
pub struct AppState {
    pub(crate) writer: Arc<Mutex<Option<Library>>>,
    pub(crate) reader: Arc<Mutex<Option<Library>>>,
    pub(crate) settings: Mutex<Settings>,
    pub(crate) cancel_ingest: Arc<AtomicBool>,
    pub(crate) cancel_answer: Arc<AtomicBool>,
}

impl AppState {
    fn open(settings: Settings) -> Result<AppState, CommandError> {
        let writer = Library::open(settings.library_options())?;
        // The second handle finds the library locked by the first, so it opens read-only.
        let reader = Library::open(settings.library_options())?;
        Ok(AppState {
            writer: Arc::new(Mutex::new(Some(writer))),
            reader: Arc::new(Mutex::new(Some(reader))),
            settings: Mutex::new(settings),
            cancel_ingest: Arc::new(AtomicBool::new(false)),
            cancel_answer: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Settings {
    fn library_options(&self) -> LibraryOptions {
        let mut options = LibraryOptions::new(&self.library_dir, &self.models_dir);
        options.answer_model = self.answer_model.clone();
        options.embedding_model = self.embedding_model.clone();
        options.device = self.device.parse().unwrap_or_default();
        options.chunk_tokens = self.chunk_tokens;
        options
    }
}

pub fn run() {
    let settings = Settings::load();
    let state = match AppState::open(settings) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("quire: cannot open the library: {}", e.message);
            std::process::exit(1);
        }
    };
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            // library
            commands::status,
            commands::list_documents,
            commands::add_documents,
            commands::remove_document,
            commands::document_bytes,
            // answers
            commands::ask,
            commands::cancel,
            // conversations
            commands::list_conversations,
            commands::conversation_messages,
            commands::rename_conversation,
            commands::delete_conversation,
            // settings
            commands::get_settings,
            commands::save_settings,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("the window opens");
}
