//! The commands the window calls: parse, run the engine on a blocking thread, stream progress.
//! Grouped by domain: library, answers, conversations, settings.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Deserialize;
use tauri::ipc::{Channel, Response};
use tauri::State;

use quire_engine::{AskEvent, AskOptions, Flow, Library};

use crate::error::{CommandError, CommandResult};
use crate::settings::Settings;
use crate::views::{
    AnswerEvent, AnswerView, ConversationView, DocumentView, FileOutcomeView, IngestEvent,
    MessageView, StatusView,
};
use crate::AppState;

fn lock(library: &Mutex<Option<Library>>) -> MutexGuard<'_, Option<Library>> {
    // A panic while holding the lock leaves the library itself consistent (the engine is
    // crash-safe), so a poisoned lock is still usable.
    library.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on the library on a blocking thread, off the window's event loop.
async fn with<T, F>(library: &Arc<Mutex<Option<Library>>>, f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Library) -> CommandResult<T> + Send + 'static,
{
    let library = library.clone();
    tauri::async_runtime::spawn_blocking(move || match lock(&library).as_mut() {
        Some(l) => f(l),
        None => Err(CommandError::new(
            "library_closed",
            "the library could not be opened; check the folders in Settings",
        )),
    })
    .await
    .map_err(|e| CommandError::new("internal", e.to_string()))?
}

// ---- library ----

#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> CommandResult<StatusView> {
    with(&state.reader, |l| Ok((&l.status()?).into())).await
}

#[tauri::command]
pub async fn list_documents(state: State<'_, AppState>) -> CommandResult<Vec<DocumentView>> {
    with(&state.reader, |l| {
        Ok(l.documents()?.iter().map(Into::into).collect())
    })
    .await
}

#[tauri::command]
pub async fn add_documents(
    paths: Vec<PathBuf>,
    on_event: Channel<IngestEvent>,
    state: State<'_, AppState>,
) -> CommandResult<Vec<FileOutcomeView>> {
    let cancel = state.cancel_ingest.clone();
    cancel.store(false, Ordering::SeqCst);
    let started = Instant::now();
    let events = on_event.clone();
    let report = with(&state.writer, move |l| {
        let progress = move |event: quire_engine::AddEvent<'_>| {
            let _ = events.send((&event).into());
            !cancel.load(Ordering::SeqCst)
        };
        Ok(l.add(&paths, &progress)?)
    })
    .await?;
    // The reader picks up the new vectors on its next search.
    with(&state.reader, |l| {
        l.reload_index();
        Ok(())
    })
    .await?;
    let _ = on_event.send(IngestEvent::Done {
        seconds: started.elapsed().as_secs_f64(),
        failed: report.failed(),
    });
    Ok(report.files.iter().map(Into::into).collect())
}

#[tauri::command]
pub async fn remove_document(id: i64, state: State<'_, AppState>) -> CommandResult<()> {
    with(&state.writer, move |l| Ok(l.remove(id)?)).await?;
    with(&state.reader, |l| {
        l.reload_index();
        Ok(())
    })
    .await
}

/// The bytes of a library document, for the viewer (only documents in the library are served).
#[tauri::command]
pub async fn document_bytes(id: i64, state: State<'_, AppState>) -> CommandResult<Response> {
    let path = with(&state.reader, move |l| {
        l.find_document(&id.to_string())?
            .map(|d| PathBuf::from(d.path))
            .ok_or_else(|| CommandError::new("usage", format!("there is no document {id}")))
    })
    .await?;
    let bytes = tauri::async_runtime::spawn_blocking(move || {
        std::fs::read(&path)
            .map_err(|e| CommandError::new("io", format!("cannot read {}: {e}", path.display())))
    })
    .await
    .map_err(|e| CommandError::new("internal", e.to_string()))??;
    Ok(Response::new(bytes))
}

// ---- answers ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AskRequest {
    question: String,
    conversation: Option<i64>,
    #[serde(default)]
    docs: Vec<i64>,
}

#[tauri::command]
pub async fn ask(
    request: AskRequest,
    on_event: Channel<AnswerEvent>,
    state: State<'_, AppState>,
) -> CommandResult<AnswerView> {
    let cancel = state.cancel_answer.clone();
    cancel.store(false, Ordering::SeqCst);
    let k = state.settings.lock().map(|s| s.k).unwrap_or(5);
    let events = on_event.clone();
    let answer = with(&state.reader, move |l| {
        let options = AskOptions {
            k,
            docs: request.docs,
            conversation: request.conversation,
            ..AskOptions::default()
        };
        let answer = l.ask(&request.question, &options, &mut |event| {
            let _ = match event {
                AskEvent::Sources(sources) => {
                    // None is cited yet: the answer has not been written.
                    let given = quire_engine::answer::citations(sources, &[], &[]);
                    events.send(AnswerEvent::Sources(given.iter().map(Into::into).collect()))
                }
                AskEvent::Text(piece) => events.send(AnswerEvent::Text(piece.to_string())),
            };
            if cancel.load(Ordering::SeqCst) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        })?;
        Ok(AnswerView::from(&answer))
    })
    .await?;
    let _ = on_event.send(AnswerEvent::Done(answer.clone()));
    Ok(answer)
}

/// Stops the running ingestion ("ingest") or answer ("answer"); what was done is kept.
#[tauri::command]
pub fn cancel(what: String, state: State<'_, AppState>) -> CommandResult<()> {
    match what.as_str() {
        "ingest" => state.cancel_ingest.store(true, Ordering::SeqCst),
        "answer" => state.cancel_answer.store(true, Ordering::SeqCst),
        other => {
            return Err(CommandError::new(
                "usage",
                format!("nothing called {other:?} to cancel"),
            ))
        }
    }
    Ok(())
}

// ---- conversations ----

#[tauri::command]
pub async fn list_conversations(
    state: State<'_, AppState>,
) -> CommandResult<Vec<ConversationView>> {
    with(&state.reader, |l| {
        Ok(l.conversations()?.iter().map(Into::into).collect())
    })
    .await
}

#[tauri::command]
pub async fn conversation_messages(
    id: i64,
    state: State<'_, AppState>,
) -> CommandResult<Vec<MessageView>> {
    with(&state.reader, move |l| {
        Ok(l.conversation_messages(id)?
            .iter()
            .map(Into::into)
            .collect())
    })
    .await
}

#[tauri::command]
pub async fn rename_conversation(
    id: i64,
    title: String,
    state: State<'_, AppState>,
) -> CommandResult<()> {
    with(&state.reader, move |l| {
        Ok(l.rename_conversation(id, &title)?)
    })
    .await
}

#[tauri::command]
pub async fn delete_conversation(id: i64, state: State<'_, AppState>) -> CommandResult<()> {
    with(&state.reader, move |l| Ok(l.delete_conversation(id)?)).await
}

// ---- settings ----

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    Ok(state
        .settings
        .lock()
        .map_err(|e| CommandError::new("internal", e.to_string()))?
        .clone())
}

/// Saves the settings; folders and models take effect by reopening the library.
#[tauri::command]
pub async fn save_settings(value: Settings, state: State<'_, AppState>) -> CommandResult<Settings> {
    if let Some(problem) = value.problem() {
        return Err(CommandError::new("usage", problem));
    }
    value.save()?;
    let reopen = {
        let mut current = state
            .settings
            .lock()
            .map_err(|e| CommandError::new("internal", e.to_string()))?;
        let reopen = current.library_dir != value.library_dir
            || current.models_dir != value.models_dir
            || current.answer_model != value.answer_model
            || current.embedding_model != value.embedding_model
            || current.device != value.device
            || current.chunk_tokens != value.chunk_tokens;
        *current = value.clone();
        reopen
    };
    if reopen {
        let options = value.library_options();
        let writer = state.writer.clone();
        let reader = state.reader.clone();
        tauri::async_runtime::spawn_blocking(move || -> CommandResult<()> {
            let mut w = lock(&writer);
            let mut r = lock(&reader);
            // Close both handles before opening again, so that the new writer gets the lock.
            *r = None;
            *w = None;
            *w = Some(Library::open(options.clone())?);
            *r = Some(Library::open(options)?);
            Ok(())
        })
        .await
        .map_err(|e| CommandError::new("internal", e.to_string()))??;
    }
    Ok(value)
}
