//! Where a library stands: its models, device and counts — cheap enough to ask after every
//! file — and, on demand, the consistency check of database against vector index.

use std::path::PathBuf;

use serde::Serialize;

use crate::device::select_device;
use crate::embed::{ModelCard, ModelFiles};
use crate::engine::LibraryOptions;
use crate::error::Result;
use crate::runtime::{ModelStatus, Models};
use crate::storage::Storage;
use crate::store::DocStatus;
use crate::text::is_cjk;

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
    /// A model of the models folder that suits the library's languages better than the one in
    /// use, if any.
    pub suggestion: Option<ModelSuggestion>,
    /// Whether database and vector index agree; `None` when not checked.
    pub consistent: Option<bool>,
    /// What the check found wrong (empty when consistent or not checked).
    pub problems: Vec<String>,
}

/// An embedding model to suggest for a library mostly in Chinese, Japanese or Korean when the one
/// in use is English-only. Measured (`bench/multilingual.sh`): Chinese questions over the CTeX
/// manuals find the right page in the first five 0.98 of the time with multilingual-e5-small,
/// 0.87 with all-MiniLM-L6-v2, and its quotes in Chinese are the right sentences (MiniLM's
/// often are not); over English documents MiniLM stays better (see [`crate::glossary`]).
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ModelSuggestion {
    /// The model folder.
    #[ts(type = "string")]
    pub path: PathBuf,
    pub name: String,
    /// Share of the library's passages (a sample of up to 500) with Chinese, Japanese or Korean
    /// text in them.
    pub cjk_share: f32,
    /// Passages the switch would index again.
    pub chunks: u64,
}

/// At least this share of the passages with Chinese, Japanese or Korean text in them makes a
/// library one for a multilingual model (the CTeX manual: 47 %, the rest of its passages are
/// code listings; the CTeX FAQ 97 %; the English LaTeX manuals 0 %).
const CJK_LIBRARY_SHARE: f32 = 0.3;

fn suggestion(
    library: &dyn Storage,
    options: &LibraryOptions,
    chunks: u64,
) -> Result<Option<ModelSuggestion>> {
    if chunks == 0 {
        return Ok(None);
    }
    let current = options.embedding_model_dir();
    if ModelCard::read(&current).is_ok_and(|c| c.multilingual()) {
        return Ok(None);
    }
    let sample = library.sample_texts(500)?;
    let cjk = sample.iter().filter(|t| t.chars().any(is_cjk)).count();
    let cjk_share = cjk as f32 / sample.len().max(1) as f32;
    if cjk_share < CJK_LIBRARY_SHARE {
        return Ok(None);
    }
    let Ok(entries) = std::fs::read_dir(&options.models_dir) else {
        return Ok(None);
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|dir| *dir != current && ModelFiles::locate(dir).is_ok())
        .filter_map(|dir| {
            let card = ModelCard::read(&dir).ok()?;
            card.multilingual().then(|| {
                let name = card.name.clone().unwrap_or_else(|| {
                    dir.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                });
                (name, dir)
            })
        })
        .collect();
    found.sort();
    Ok(found
        .into_iter()
        .next()
        .map(|(name, path)| ModelSuggestion {
            path,
            name,
            cjk_share,
            chunks,
        }))
}

pub(crate) fn status(
    library: &dyn Storage,
    models: &Models,
    options: &LibraryOptions,
    check: bool,
) -> Result<LibraryStatus> {
    let (documents, chunks, keyword_rows, indexed_with) = {
        let store = library;
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
    let vectors = library.vector_count()?;
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
        library.consistency_problems()?
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
        suggestion: suggestion(library, options, chunks)?,
        consistent: check.then_some(problems.is_empty()),
        problems,
    })
}
