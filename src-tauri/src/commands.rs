//! The commands the window calls: parse, run the engine on a blocking thread, stream its
//! events. Grouped by domain: library, answers, conversations, settings.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use tauri::ipc::{Channel, Response};
use tauri::State;

use quire_engine::{
    AddEvent, AddOptions, Answer, AskEvent, AskOptions, Conversation, Discovery, Document, Engine,
    ErrorKind, FileOutcome, Flow, LibraryOptions, LibraryStatus, OcrLayer, StoredMessage,
};

use crate::error::{CommandError, CommandResult};
use crate::settings::{OcrLanguages, Settings};
use crate::AppState;

/// The engine now (it is replaced when the settings change), or why there is none.
fn engine(state: &AppState) -> CommandResult<Arc<Engine>> {
    state
        .engine
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// What commands answer while the library is being opened again after a change of settings.
fn not_open() -> CommandError {
    CommandError::new(
        ErrorKind::Usage,
        "the library could not be opened; check the folders in Settings",
    )
}

/// Runs `f` on the engine on a blocking thread, off the window's event loop.
async fn with<T, F>(state: &AppState, f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> CommandResult<T> + Send + 'static,
{
    let engine = engine(state)?;
    tauri::async_runtime::spawn_blocking(move || f(&engine))
        .await
        .map_err(CommandError::internal)?
}

// ---- library ----

#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> CommandResult<LibraryStatus> {
    with(&state, |e| Ok(e.status(false)?)).await
}

#[tauri::command]
pub async fn list_documents(state: State<'_, AppState>) -> CommandResult<Vec<Document>> {
    with(&state, |e| Ok(e.documents()?)).await
}

#[tauri::command]
pub async fn add_documents(
    paths: Vec<PathBuf>,
    on_event: Channel<AddEvent>,
    state: State<'_, AppState>,
) -> CommandResult<Vec<FileOutcome>> {
    let cancel = state.cancel_ingest.clone();
    cancel.store(false, Ordering::SeqCst);
    let options = AddOptions {
        chunk_tokens: settings(&state)?.chunk_tokens,
        ..AddOptions::default()
    };
    let report = with(&state, move |e| {
        let progress = move |event: &AddEvent| {
            let _ = on_event.send(event.clone());
            !cancel.load(Ordering::SeqCst)
        };
        Ok(e.add(&paths, &options, &progress)?)
    })
    .await?;
    Ok(report.files)
}

#[tauri::command]
pub async fn remove_document(id: i64, state: State<'_, AppState>) -> CommandResult<()> {
    with(&state, move |e| Ok(e.remove(id)?)).await
}

/// The bytes of a library document, for the viewer (only documents in the library are served).
#[tauri::command]
pub async fn document_bytes(id: i64, state: State<'_, AppState>) -> CommandResult<Response> {
    with(&state, move |e| {
        let path = e.document_path(id)?;
        let bytes = std::fs::read(&path).map_err(|err| {
            CommandError::new(
                ErrorKind::Io,
                format!("cannot read {}: {err}", path.display()),
            )
        })?;
        Ok(Response::new(bytes))
    })
    .await
}

/// What OCR read on a page of a document (its words' boxes, to draw a cited passage on a
/// scanned page); `null` for a page with a text layer.
#[tauri::command]
pub async fn page_ocr(
    document_id: i64,
    page: u32,
    state: State<'_, AppState>,
) -> CommandResult<Option<OcrLayer>> {
    with(&state, move |e| Ok(e.page_ocr(document_id, page)?)).await
}

// ---- answers ----

#[derive(Deserialize)]
pub struct AskRequest {
    question: String,
    conversation: Option<i64>,
    #[serde(default)]
    docs: Vec<i64>,
}

#[tauri::command]
pub async fn ask(
    request: AskRequest,
    on_event: Channel<AskEvent>,
    state: State<'_, AppState>,
) -> CommandResult<Answer> {
    let cancel = state.cancel_answer.clone();
    cancel.store(false, Ordering::SeqCst);
    let options = AskOptions {
        k: settings(&state)?.k,
        docs: request.docs,
        conversation: request.conversation,
        ..AskOptions::default()
    };
    with(&state, move |e| {
        Ok(e.ask(&request.question, &options, &mut |event| {
            let _ = on_event.send(event.clone());
            if cancel.load(Ordering::SeqCst) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })?)
    })
    .await
}

/// What `cancel` stops.
#[derive(Debug, Clone, Copy, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CancelTarget {
    /// The running ingestion (documents finished so far are kept).
    Ingest,
    /// The answer being written (what was written so far is kept).
    Answer,
}

#[tauri::command]
pub fn cancel(what: CancelTarget, state: State<'_, AppState>) {
    let flag = match what {
        CancelTarget::Ingest => &state.cancel_ingest,
        CancelTarget::Answer => &state.cancel_answer,
    };
    flag.store(true, Ordering::SeqCst);
}

// ---- conversations ----

#[tauri::command]
pub async fn list_conversations(state: State<'_, AppState>) -> CommandResult<Vec<Conversation>> {
    with(&state, |e| Ok(e.conversations()?)).await
}

#[tauri::command]
pub async fn conversation_messages(
    id: i64,
    state: State<'_, AppState>,
) -> CommandResult<Vec<StoredMessage>> {
    with(&state, move |e| Ok(e.conversation_messages(id)?)).await
}

#[tauri::command]
pub async fn rename_conversation(
    id: i64,
    title: String,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    with(&state, move |e| Ok(e.rename_conversation(id, &title)?)).await
}

#[tauri::command]
pub async fn delete_conversation(id: i64, state: State<'_, AppState>) -> CommandResult<()> {
    with(&state, move |e| Ok(e.delete_conversation(id)?)).await
}

// ---- models ----

/// The GGUF models on this computer: Quire's models folder `models_dir`, the other apps'
/// stores and `folders` (the Settings form's, saved or not). Reading every header takes a
/// moment, so it runs off the window's thread; it needs no library.
#[tauri::command]
pub async fn discover_models(
    models_dir: PathBuf,
    folders: Vec<PathBuf>,
) -> CommandResult<Discovery> {
    tauri::async_runtime::spawn_blocking(move || {
        quire_engine::discover_models_on_this_computer(&models_dir, &folders)
    })
    .await
    .map_err(CommandError::internal)
}

// ---- settings ----

fn settings(state: &AppState) -> CommandResult<Settings> {
    Ok(state
        .settings
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone())
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    settings(&state)
}

/// The OCR languages installed on this computer, and the default for the UI language `locale`
/// (`None`: the system's).
#[tauri::command]
pub fn ocr_languages(locale: Option<String>) -> OcrLanguages {
    crate::settings::ocr_languages(locale.as_deref())
}

/// Saves the settings; new folders, models, device or OCR languages take effect by opening the
/// library again
/// (after the running ingestion and answer stop). Sources per answer and chunk size apply to
/// the next question and the next documents added.
#[tauri::command]
pub async fn save_settings(value: Settings, state: State<'_, AppState>) -> CommandResult<Settings> {
    if let Some(problem) = value.problem() {
        return Err(CommandError::new(ErrorKind::Usage, problem));
    }
    value.save()?;
    let reopen = {
        let mut current = state
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let reopen = current.library_options_differ(&value);
        *current = value.clone();
        reopen
    };
    if reopen {
        reopen_library(&state, value.library_options()).await?;
    }
    Ok(value)
}

/// Opens the library again with `options`, once the running ingestion and answer have stopped
/// and the old engine is gone.
async fn reopen_library(state: &AppState, options: LibraryOptions) -> CommandResult<()> {
    state.cancel_ingest.store(true, Ordering::SeqCst);
    state.cancel_answer.store(true, Ordering::SeqCst);
    // The engine is taken out; a reason the library could not be opened stays until it opens.
    let old = {
        let mut slot = state.engine.write().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Ok(_) => std::mem::replace(&mut *slot, Err(not_open())).ok(),
            Err(_) => None,
        }
    };
    let engine = tauri::async_runtime::spawn_blocking(move || {
        // The old engine must be gone (its work stopped, its lock released) before the
        // new one opens the library, or the new one would open it read-only.
        if let Some(mut old) = old {
            while let Err(still_shared) = Arc::try_unwrap(old) {
                old = still_shared;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Engine::open(options)
    })
    .await
    .map_err(CommandError::internal)?
    .map(Arc::new)
    .map_err(CommandError::from);
    let opened = engine.as_ref().map(|_| ()).map_err(CommandError::clone);
    *state.engine.write().unwrap_or_else(PoisonError::into_inner) = engine;
    opened
}

/// Fetches the default models into the settings' models folder with the verified fetch script
/// (it needs the network once), each line it writes sent through `on_line`; then opens the
/// library again so that its status shows them.
#[tauri::command]
pub async fn fetch_models(
    on_line: Channel<String>,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    static RUNNING: AtomicBool = AtomicBool::new(false);
    let models_dir = settings(&state)?.models_dir;
    let script = crate::fetch::find_script()?;
    if RUNNING.swap(true, Ordering::SeqCst) {
        return Err(CommandError::new(
            ErrorKind::Busy,
            "the models are already being fetched",
        ));
    }
    let fetched = tauri::async_runtime::spawn_blocking(move || {
        crate::fetch::run(&script, &models_dir, move |line| {
            let _ = on_line.send(line);
        })
    })
    .await
    .map_err(CommandError::internal);
    RUNNING.store(false, Ordering::SeqCst);
    // What was fetched before a failure counts too.
    let reopened = reopen_library(&state, settings(&state)?.library_options()).await;
    fetched??;
    reopened
}

// ---- files opened with Quire ----

/// The files and folders Quire was opened with (its command line, and later launches'), not
/// taken yet; the window adds them as it adds dropped ones.
#[tauri::command]
pub fn take_opened_paths(opened: State<'_, crate::launch::Opened>) -> Vec<PathBuf> {
    opened.take()
}
