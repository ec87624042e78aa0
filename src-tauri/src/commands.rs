//! The commands the window calls: parse, run the engine on a blocking thread, stream its
//! events. Grouped by domain: library, answers, conversations, settings. When Settings name a
//! team library, the library, answers and conversations are its server's, through
//! `quire-client`, answered with the same types.

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
use crate::team::{AddUpdate, Team};
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

/// The team library now, if Settings name one (or why it cannot be used).
fn team(state: &AppState) -> Option<CommandResult<Arc<Team>>> {
    state
        .team
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Runs `local` on the engine, or `remote` on the team library when Settings name one, on a
/// blocking thread (network calls too stay off the window's event loop).
async fn either<T, L, R>(state: &AppState, local: L, remote: R) -> CommandResult<T>
where
    T: Send + 'static,
    L: FnOnce(&Engine) -> CommandResult<T> + Send + 'static,
    R: FnOnce(&Team) -> CommandResult<T> + Send + 'static,
{
    match team(state) {
        None => with(state, local).await,
        Some(team) => {
            let team = team?;
            tauri::async_runtime::spawn_blocking(move || remote(&team))
                .await
                .map_err(CommandError::internal)?
        }
    }
}

// ---- library ----

/// This computer's library and models (a team library's are its server's: the window shows
/// its documents instead).
#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> CommandResult<LibraryStatus> {
    with(&state, |e| Ok(e.status(false)?)).await
}

#[tauri::command]
pub async fn list_documents(state: State<'_, AppState>) -> CommandResult<Vec<Document>> {
    either(
        &state,
        |e| Ok(e.documents()?),
        |t| {
            let docs = t.client.documents().map_err(crate::team::error)?;
            Ok(docs.into_iter().map(|d| d.document).collect())
        },
    )
    .await
}

/// Adds PDFs and folders: to this computer's library, or uploaded to the team library's
/// collection and followed to the end of each one's job.
#[tauri::command]
pub async fn add_documents(
    paths: Vec<PathBuf>,
    on_event: Channel<AddUpdate>,
    state: State<'_, AppState>,
) -> CommandResult<Vec<FileOutcome>> {
    let cancel = state.cancel_ingest.clone();
    cancel.store(false, Ordering::SeqCst);
    let options = AddOptions {
        chunk_tokens: settings(&state)?.chunk_tokens,
        ..AddOptions::default()
    };
    let (local_cancel, local_events, local_paths) =
        (cancel.clone(), on_event.clone(), paths.clone());
    either(
        &state,
        move |e| {
            let progress = move |event: &AddEvent| {
                let _ = local_events.send(AddUpdate::Local(event.clone()));
                !local_cancel.load(Ordering::SeqCst)
            };
            Ok(e.add(&local_paths, &options, &progress)?.files)
        },
        move |t| {
            crate::team::add(t, &paths, &cancel, &|update| {
                let _ = on_event.send(update);
            })
        },
    )
    .await
}

#[tauri::command]
pub async fn remove_document(id: i64, state: State<'_, AppState>) -> CommandResult<()> {
    either(
        &state,
        move |e| Ok(e.remove(id)?),
        move |t| t.client.remove(id).map_err(crate::team::error),
    )
    .await
}

/// The bytes of a library document, for the viewer (only documents in the library are served;
/// a team library's come from its server).
#[tauri::command]
pub async fn document_bytes(id: i64, state: State<'_, AppState>) -> CommandResult<Response> {
    either(
        &state,
        move |e| {
            let path = e.document_path(id)?;
            let bytes = std::fs::read(&path).map_err(|err| {
                CommandError::new(
                    ErrorKind::Io,
                    format!("cannot read {}: {err}", path.display()),
                )
            })?;
            Ok(Response::new(bytes))
        },
        move |t| Ok(Response::new(t.client.pdf(id).map_err(crate::team::error)?)),
    )
    .await
}

/// What OCR read on a page of a document (its words' boxes, to draw a cited passage on a
/// scanned page); `null` for a page with a text layer, and on a team library (its server does
/// not send them yet: the viewer then finds the passage by its text).
#[tauri::command]
pub async fn page_ocr(
    document_id: i64,
    page: u32,
    state: State<'_, AppState>,
) -> CommandResult<Option<OcrLayer>> {
    either(
        &state,
        move |e| Ok(e.page_ocr(document_id, page)?),
        |_| Ok(None),
    )
    .await
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
    let question = request.question;
    let mut on_event = move |event: &AskEvent| {
        let _ = on_event.send(event.clone());
        if cancel.load(Ordering::SeqCst) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    };
    let mut remote_events = on_event.clone();
    let remote_question = question.clone();
    let remote = quire_client::AskRequest {
        k: options.k,
        conversation: options.conversation,
        generate: options.generate,
    };
    let only_some = !options.docs.is_empty();
    either(
        &state,
        move |e| Ok(e.ask(&question, &options, &mut on_event)?),
        move |t| {
            if only_some {
                return Err(CommandError::new(
                    ErrorKind::Usage,
                    "a team library answers from all the documents of your collections; \
                     untick the documents to ask",
                ));
            }
            t.client
                .ask(&remote_question, &remote, &mut remote_events)
                .map_err(crate::team::error)
        },
    )
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
    either(
        &state,
        |e| Ok(e.conversations()?),
        |t| t.client.conversations().map_err(crate::team::error),
    )
    .await
}

#[tauri::command]
pub async fn conversation_messages(
    id: i64,
    state: State<'_, AppState>,
) -> CommandResult<Vec<StoredMessage>> {
    either(
        &state,
        move |e| Ok(e.conversation_messages(id)?),
        move |t| {
            let conversation = t.client.conversation(id).map_err(crate::team::error)?;
            Ok(conversation.messages)
        },
    )
    .await
}

#[tauri::command]
pub async fn rename_conversation(
    id: i64,
    title: String,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    let remote_title = title.clone();
    either(
        &state,
        move |e| Ok(e.rename_conversation(id, &title)?),
        move |t| {
            t.client
                .rename_conversation(id, &remote_title)
                .map_err(crate::team::error)
        },
    )
    .await
}

#[tauri::command]
pub async fn delete_conversation(id: i64, state: State<'_, AppState>) -> CommandResult<()> {
    either(
        &state,
        move |e| Ok(e.delete_conversation(id)?),
        move |t| t.client.delete_conversation(id).map_err(crate::team::error),
    )
    .await
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
/// the next question and the next documents added. A team library's server is asked first: a
/// refused token, a collection not the user's or a server that cannot be reached is said, and
/// nothing saved.
#[tauri::command]
pub async fn save_settings(value: Settings, state: State<'_, AppState>) -> CommandResult<Settings> {
    if let Some(problem) = value.problem() {
        return Err(CommandError::new(ErrorKind::Usage, problem));
    }
    let team_changed = settings(&state)?.team_library != value.team_library;
    let team = match (&value.team_library, team_changed) {
        (Some(chosen), true) => {
            let chosen = chosen.clone();
            let team = tauri::async_runtime::spawn_blocking(move || {
                let team = Team::connect(&chosen)?;
                team.check()?;
                Ok::<_, CommandError>(team)
            })
            .await
            .map_err(CommandError::internal)??;
            Some(Some(Ok(Arc::new(team))))
        }
        (None, true) => Some(None),
        (_, false) => None,
    };
    value.save()?;
    if let Some(team) = team {
        // What runs against the library it leaves stops.
        state.cancel_ingest.store(true, Ordering::SeqCst);
        state.cancel_answer.store(true, Ordering::SeqCst);
        *state.team.write().unwrap_or_else(PoisonError::into_inner) = team;
    }
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
