//! Quire's desktop shell: Tauri commands that parse, call the engine on a blocking thread, and
//! stream its events through channels. No logic of its own lives here; what the window shows
//! is the engine's own types (their TypeScript twins are generated: see `tests/types.rs`).

mod commands;
mod error;
mod fetch;
mod launch;
mod settings;
mod team;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use quire_engine::{Engine, LibraryOptions};
use tauri::Manager;

use crate::error::CommandError;
use crate::settings::Settings;
use crate::team::Team;

pub use crate::commands::CancelTarget;
pub use crate::error::CommandError as AppError;
pub use crate::settings::{OcrLanguages, Settings as AppSettings, TeamLibrary};
pub use crate::team::{AddUpdate, JobEvent};

/// One engine for the whole window: it indexes and answers at the same time, each model loaded
/// once. Replaced (after the running work stops) when the settings change its folders or models.
pub struct AppState {
    /// The engine, or why there is none: the library could not be opened (a library from a newer
    /// Quire, an unreadable folder), or it is being opened again. Every command that needs it
    /// answers with that reason, so the window opens and says so instead of the program ending
    /// unseen.
    pub(crate) engine: RwLock<Result<Arc<Engine>, CommandError>>,
    /// The team library the window uses instead, when Settings name one (or why it cannot be
    /// used: an address that is not a URL, an unreadable CA certificate). The library, the
    /// answers, the conversations and the viewer's PDFs are then the server's.
    pub(crate) team: RwLock<Option<Result<Arc<Team>, CommandError>>>,
    pub(crate) settings: Mutex<Settings>,
    pub(crate) cancel_ingest: Arc<AtomicBool>,
    pub(crate) cancel_answer: Arc<AtomicBool>,
}

impl AppState {
    fn open(settings: Settings) -> AppState {
        let engine = Engine::open(settings.library_options()).map(Arc::new);
        if let Err(e) = &engine {
            eprintln!("quire: cannot open the library: {e}");
        }
        let team = settings
            .team_library
            .as_ref()
            .map(|t| Team::connect(t).map(Arc::new));
        AppState {
            engine: RwLock::new(engine.map_err(CommandError::from)),
            team: RwLock::new(team),
            settings: Mutex::new(settings),
            cancel_ingest: Arc::new(AtomicBool::new(false)),
            cancel_answer: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Settings {
    fn library_options(&self) -> LibraryOptions {
        let mut options = LibraryOptions::new(&self.library_dir, &self.models_dir);
        options.answer_model = self.answer_model.clone();
        options.embedding_model = self.embedding_model.clone();
        options.device = self.device;
        options.embedding_precision = self.embedding_precision;
        // Languages whose data went after they were chosen are left out (Settings refuses to
        // save missing ones), so the library still opens.
        let installed = quire_engine::ocr_languages();
        options.extractor.ocr = self.ocr();
        options
            .extractor
            .ocr
            .languages
            .retain(|l| installed.contains(l));
        options
    }
}

pub fn run() {
    let app = tauri::Builder::default()
        // First: a second launch hands its files to this window and exits here, before it
        // opens the library.
        .plugin(tauri_plugin_single_instance::init(launch::opened_again))
        .plugin(tauri_plugin_dialog::init())
        .manage(launch::Opened::new(launch::own_paths()))
        .invoke_handler(tauri::generate_handler![
            // library
            commands::status,
            commands::list_documents,
            commands::add_documents,
            commands::remove_document,
            commands::document_bytes,
            commands::page_ocr,
            // answers
            commands::ask,
            commands::cancel,
            // conversations
            commands::list_conversations,
            commands::conversation_messages,
            commands::rename_conversation,
            commands::delete_conversation,
            // models
            commands::discover_models,
            commands::fetch_models,
            // settings
            commands::get_settings,
            commands::save_settings,
            commands::ocr_languages,
            // files opened with Quire
            commands::take_opened_paths,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|error| launch::failed(error));
    app.manage(AppState::open(Settings::load()));
    app.run(|_, _| {});
}
