//! Where a library stands: its models, device and counts — cheap enough to ask after every
//! file — and, on demand, the consistency check of database against vector index.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::device::select_device;
use crate::engine::LibraryOptions;
use crate::error::Result;
use crate::library::Library;
use crate::runtime::{ModelStatus, Models};
use crate::store::DocStatus;

/// How many documents are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct DocumentCounts {
    pub ready: u64,
    pub indexing: u64,
    pub failed: u64,
    pub interrupted: u64,
    /// Ready documents searchable by words only so far: their vectors are being made.
    pub waiting_for_vectors: u64,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct LibraryStatus {
    #[serde(rename = "library")]
    #[ts(type = "string")]
    pub library_dir: PathBuf,
    #[serde(rename = "models")]
    #[ts(type = "string")]
    pub models_dir: PathBuf,
    pub embedding_model: ModelStatus,
    /// The model that built the stored vectors.
    pub indexed_with: Option<String>,
    /// The stored vectors come from another embedding model than the one chosen: the next add
    /// (the window starts one at once) indexes the library again from its stored text.
    pub model_changed: bool,
    pub answer_model: ModelStatus,
    /// The device embedding runs on: the one in use once the model has loaded, the one found
    /// by the check, or else the choice ("auto").
    pub device: String,
    pub device_warning: Option<String>,
    pub documents: DocumentCounts,
    pub chunks: u64,
    /// Chunks of ready documents still waiting for their vectors.
    pub chunks_waiting: u64,
    pub vectors: u64,
    pub keyword_rows: u64,
    /// False when another process holds the library for writing.
    pub writable: bool,
    /// Whether database and vector index agree; `None` when not checked.
    pub consistent: Option<bool>,
    /// What the check found wrong (empty when consistent or not checked).
    pub problems: Vec<String>,
}

pub(crate) fn status(
    library: &Library,
    models: &Models,
    options: &LibraryOptions,
    check: bool,
) -> Result<LibraryStatus> {
    let (documents, chunks, keyword_rows, indexed_with) = {
        let store = library.store();
        let mut counts = DocumentCounts::default();
        for (status, n) in store.document_counts()? {
            match status {
                DocStatus::Ready => counts.ready = n,
                DocStatus::Indexing => counts.indexing = n,
                DocStatus::Failed => counts.failed = n,
                DocStatus::Interrupted => counts.interrupted = n,
            }
        }
        counts.waiting_for_vectors = store.documents_waiting()?;
        let indexed_with = store.meta("embedding_model")?;
        (
            counts,
            store.chunk_count()?,
            store.keyword_rows()?,
            indexed_with,
        )
    };
    let vectors = library.read_index(|index| Ok(index.map_or(0, |i| i.len() as u64)))?;
    let chunks_waiting = library.passages_waiting()?;
    let (mut device, mut device_warning) = match models.embedding_device() {
        Some(device) => (device, None),
        None => (models.device_choice().to_string(), None),
    };
    let problems = if check {
        if models.embedding_device().is_none() {
            (device, device_warning) = match select_device(options.device) {
                Ok(d) => (d.name, d.warning),
                Err(e) => ("none".to_string(), Some(e.to_string())),
            };
        }
        consistency_problems(library, chunks, keyword_rows)?
    } else {
        Vec::new()
    };
    // Also while the indexing again of a change of model has not finished (a run stopped).
    let model_changed = match (&indexed_with, models.embedding_id()) {
        (Some(stored), Some(chosen)) => *stored != chosen,
        _ => false,
    } || library.rechunk_pending()?;
    Ok(LibraryStatus {
        library_dir: options.dir.clone(),
        models_dir: options.models_dir.clone(),
        embedding_model: models.embedding_status(),
        indexed_with,
        model_changed,
        answer_model: models.answer_status(),
        device,
        device_warning,
        documents,
        chunks,
        chunks_waiting,
        vectors,
        keyword_rows,
        writable: library.is_writable(),
        consistent: check.then_some(problems.is_empty()),
        problems,
    })
}

/// Everything on which database and vector index disagree (reads every chunk id).
fn consistency_problems(library: &Library, chunks: u64, keyword_rows: u64) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let (check, chunk_ids, documents) = {
        let store = library.store();
        (store.quick_check()?, store.chunk_ids()?, store.documents()?)
    };
    if check != "ok" {
        problems.push(format!("database check: {check}"));
    }
    if let Some(problem) = library.vectors_problem()? {
        problems.push(format!(
            "{problem}; it was set aside and the next add embeds the stored passages again"
        ));
    }
    if keyword_rows != chunks {
        problems.push(format!(
            "{chunks} chunks but {keyword_rows} keyword index rows"
        ));
    }
    // Documents still waiting for vectors have chunks without one by design.
    let ready: HashSet<i64> = documents
        .iter()
        .filter(|d| d.status == DocStatus::Ready && d.embedded)
        .map(|d| d.id)
        .collect();
    library.read_index(|index| {
        let Some(index) = index else {
            if chunks > 0 {
                problems.push(format!("{chunks} chunks but no vector index"));
            }
            return Ok(());
        };
        let missing = chunk_ids
            .iter()
            .filter(|(c, d)| ready.contains(d) && !index.contains(*c))
            .count();
        if missing > 0 {
            problems.push(format!(
                "{missing} chunks of embedded documents have no vector"
            ));
        }
        let with_vectors = chunk_ids.iter().filter(|(c, _)| index.contains(*c)).count();
        if index.len() > with_vectors {
            let orphans = index.len() - with_vectors;
            problems.push(format!("{orphans} vectors belong to no chunk"));
        }
        Ok(())
    })?;
    if library.is_writable() {
        let stuck = documents
            .iter()
            .filter(|d| d.status == DocStatus::Indexing)
            .count();
        if stuck > 0 {
            problems.push(format!("{stuck} documents are stuck in indexing"));
        }
    }
    Ok(problems)
}
