//! Ingestion: adding PDFs (extract → chunk → store → embed → index) and removing them.
//!
//! Extraction of the next file overlaps embedding of this one. Vectors are saved, and their
//! documents marked ready, at checkpoints; a crash in between is repaired on the next open.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::chunk::{chunk_pages, ChunkOptions};
use crate::error::{Error, Result};
use crate::extract::{ExtractError, ExtractedPdf, Extractor, FailureKind};
use crate::library::Library;
use crate::runtime::{Embedding, Models};
use crate::store::{DocStatus, FileStamp};

mod plan;

/// Chunks sent to the embedder per request: small enough that a question asked meanwhile
/// waits little for the shared embedder, large enough to sort by length.
const EMBED_BATCH: usize = 16;
/// Chunk lengths people may choose, in tokens.
pub const MIN_CHUNK_TOKENS: usize = 32;
pub const MAX_CHUNK_TOKENS: usize = 512;

/// How to add documents.
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// Target chunk length in tokens (capped at the model's maximum).
    pub chunk_tokens: usize,
    /// Vectors are saved (and their documents marked ready) this often.
    pub checkpoint_every: Duration,
}

impl Default for AddOptions {
    fn default() -> AddOptions {
        AddOptions {
            chunk_tokens: 256,
            checkpoint_every: Duration::from_secs(15),
        }
    }
}

impl AddOptions {
    pub fn validate(&self) -> Result<()> {
        if !(MIN_CHUNK_TOKENS..=MAX_CHUNK_TOKENS).contains(&self.chunk_tokens) {
            return Err(Error::Usage(format!(
                "the chunk size must be between {MIN_CHUNK_TOKENS} and {MAX_CHUNK_TOKENS} \
                 tokens, not {}",
                self.chunk_tokens
            )));
        }
        Ok(())
    }
}

/// What happened to one file in `add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AddStatus {
    Added,
    Unchanged,
    Replaced,
    Failed,
}

impl AddStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AddStatus::Added => "added",
            AddStatus::Unchanged => "unchanged",
            AddStatus::Replaced => "replaced",
            AddStatus::Failed => "failed",
        }
    }
}

/// One file's result. Never `added` for something that was not stored.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct FileOutcome {
    #[ts(type = "string")]
    pub path: PathBuf,
    pub status: AddStatus,
    pub document_id: Option<i64>,
    pub pages: u32,
    pub chunks: u64,
    pub error: Option<String>,
    pub error_kind: Option<FailureKind>,
}

impl FileOutcome {
    fn failed(path: &Path, document_id: Option<i64>, kind: FailureKind, error: String) -> Self {
        FileOutcome {
            path: path.to_path_buf(),
            status: AddStatus::Failed,
            document_id,
            pages: 0,
            chunks: 0,
            error: Some(error),
            error_kind: Some(kind),
        }
    }

    /// A file the run could not store (a write failed): not the file's fault, so no kind.
    fn not_stored(path: &Path, error: String) -> Self {
        FileOutcome {
            error_kind: None,
            ..FileOutcome::failed(path, None, FailureKind::Unreadable, error)
        }
    }
}

/// Progress of `add`, reported as it happens (from more than one thread).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum AddEvent {
    /// Files found, and how many of them need work.
    Planned {
        files: usize,
        to_index: usize,
    },
    Reading {
        #[ts(type = "string")]
        path: PathBuf,
        pages_done: u32,
        pages_total: u32,
    },
    Embedding {
        #[ts(type = "string")]
        path: PathBuf,
        chunks_done: usize,
        chunks_total: usize,
    },
    Finished(FileOutcome),
    /// The run is over (also after a cancel).
    Done {
        seconds: f64,
        failed: usize,
    },
}

/// Receives [`AddEvent`]s; returning `false` stops the run after the current step.
pub trait AddProgress: Sync {
    fn on_event(&self, event: &AddEvent) -> bool;
}

impl<F: Fn(&AddEvent) -> bool + Sync> AddProgress for F {
    fn on_event(&self, event: &AddEvent) -> bool {
        self(event)
    }
}

/// Time spent per stage of an `add`, in seconds (extraction overlaps the others).
#[derive(Debug, Clone, Default, Serialize, ts_rs::TS)]
pub struct StageTimes {
    pub extract: f64,
    pub chunk: f64,
    pub embed: f64,
    pub store: f64,
    pub index: f64,
}

#[derive(Debug, Clone, Default, Serialize, ts_rs::TS)]
pub struct AddReport {
    pub files: Vec<FileOutcome>,
    pub pages: u64,
    pub chunks: u64,
    pub elapsed: f64,
    pub stages: StageTimes,
    pub cancelled: bool,
    /// Where the vectors were made ("CPU (f32)").
    pub embedding_device: String,
}

impl AddReport {
    pub fn failed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.status == AddStatus::Failed)
            .count()
    }
}

/// A file that needs indexing.
struct Work {
    path: PathBuf,
    stamp: FileStamp,
    /// A document at this path was in the library (it is replaced, keeping its id).
    existed: bool,
}

/// One `add` in progress: what it needs and what it has done so far.
struct Run<'a> {
    library: &'a Library,
    embedding: &'a Embedding,
    options: &'a AddOptions,
    progress: &'a dyn AddProgress,
    report: AddReport,
    /// Documents whose vectors are in the index but not yet saved.
    pending: Vec<i64>,
    /// Their outcomes: reported ("added", "replaced") once the vectors are saved, so that no
    /// file is said to be added that a full disk then kept from being stored.
    unsaved: Vec<FileOutcome>,
    /// Asked to stop while embedding.
    stop: bool,
}

pub(crate) fn add(
    library: &Library,
    models: &Models,
    extractor: &Extractor,
    paths: &[PathBuf],
    options: &AddOptions,
    progress: &dyn AddProgress,
) -> Result<AddReport> {
    let _changing = library.begin_change()?;
    let started = Instant::now();
    let embedding = models.embedder()?;
    library.adopt_model(embedding.thread.info())?;
    library.store().set_meta("dirty", "1")?;
    let mut run = Run {
        library,
        embedding: &embedding,
        options,
        progress,
        report: AddReport {
            embedding_device: embedding.thread.device_name().to_string(),
            ..AddReport::default()
        },
        pending: Vec::new(),
        unsaved: Vec::new(),
        stop: false,
    };
    run.repair_vectors()?;
    let work = if run.report.cancelled {
        Vec::new()
    } else {
        run.plan(paths)?
    };
    run.index_all(extractor, &work)?;
    if !run.report.cancelled {
        library.store().set_meta("dirty", "0")?;
    } else {
        // Files not reached stay as they were; anything half-done is cleaned up.
        library.reconcile()?;
    }
    let mut report = run.report;
    report.elapsed = started.elapsed().as_secs_f64();
    progress.on_event(&AddEvent::Done {
        seconds: report.elapsed,
        failed: report.failed(),
    });
    Ok(report)
}

/// Removes a document with its chunks and vectors.
pub(crate) fn remove(library: &Library, id: i64) -> Result<()> {
    let _changing = library.begin_change()?;
    library.store().set_meta("dirty", "1")?;
    let chunks = library.store().remove_document(id)?;
    library.write_index(|index| index.remove(&chunks))?;
    library.save_index()?;
    library.store().set_meta("dirty", "0")
}

impl Run<'_> {
    /// Extracts the files on a second thread (one file ahead) and indexes each here.
    fn index_all(&mut self, extractor: &Extractor, work: &[Work]) -> Result<()> {
        std::thread::scope(|scope| -> Result<()> {
            // The channel holds one extracted file, which bounds memory.
            let (tx, rx) =
                mpsc::sync_channel::<(usize, Result<ExtractedPdf, ExtractError>, f64)>(1);
            if self.report.cancelled {
                drop(tx);
            } else {
                let progress = self.progress;
                scope.spawn(move || extract_all(extractor, work, progress, tx));
            }
            let mut last_checkpoint = Instant::now();
            for (i, extracted, secs) in rx {
                self.report.stages.extract += secs;
                let outcome = match self.index_file(&work[i], extracted) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        // A write failed (a full disk): this file and those not yet saved are
                        // not stored, and nothing more is done.
                        let failed =
                            FileOutcome::not_stored(&work[i].path, format!("not stored: {e}"));
                        self.finish(failed);
                        self.fail_unsaved(&e);
                        self.fail_rest(&work[i + 1..], &e);
                        return Err(e);
                    }
                };
                let keep_going = if outcome.status == AddStatus::Failed {
                    let go = self.progress.on_event(&AddEvent::Finished(outcome.clone()));
                    self.report.files.push(outcome);
                    go
                } else {
                    self.unsaved.push(outcome);
                    !self.stop
                };
                if last_checkpoint.elapsed() >= self.options.checkpoint_every {
                    if let Err(e) = self.checkpoint() {
                        self.fail_rest(&work[i + 1..], &e);
                        return Err(e);
                    }
                    last_checkpoint = Instant::now();
                }
                if !keep_going {
                    self.report.cancelled = true;
                    break;
                }
            }
            self.checkpoint()
        })
    }

    fn index_file(
        &mut self,
        work: &Work,
        extracted: Result<ExtractedPdf, ExtractError>,
    ) -> Result<FileOutcome> {
        let pdf = match extracted {
            Ok(pdf) => pdf,
            Err(e) => return self.record_failure(work, e),
        };
        let t = Instant::now();
        let info = self.embedding.thread.info();
        let options = ChunkOptions::for_model(self.options.chunk_tokens, info.max_tokens);
        let chunks = chunk_pages(&pdf.pages, &options, &self.embedding.tokens);
        self.report.stages.chunk += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let key = work.path.to_string_lossy();
        let title = pdf
            .title
            .clone()
            .unwrap_or_else(|| fallback_title(&work.path));
        let (id, chunk_ids, replaced) =
            self.library
                .store()
                .put_document(&key, &title, &work.stamp, &pdf.pages, &chunks)?;
        self.report.stages.store += t.elapsed().as_secs_f64();
        self.library.write_index(|index| index.remove(&replaced))?;
        let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
        self.embed_chunks(&work.path, &chunk_ids, &texts)?;
        self.pending.push(id);
        self.report.pages += pdf.pages.len() as u64;
        self.report.chunks += chunks.len() as u64;
        Ok(FileOutcome {
            path: work.path.clone(),
            status: if work.existed {
                AddStatus::Replaced
            } else {
                AddStatus::Added
            },
            document_id: Some(id),
            pages: pdf.pages.len() as u32,
            chunks: chunks.len() as u64,
            error: None,
            error_kind: None,
        })
    }

    /// Stores why a file could not be read (anything stored for it before goes).
    fn record_failure(&mut self, work: &Work, e: ExtractError) -> Result<FileOutcome> {
        let t = Instant::now();
        let key = work.path.to_string_lossy();
        let (id, replaced) = self.library.store().put_failure(
            &key,
            &fallback_title(&work.path),
            &work.stamp,
            e.kind,
            &e.message,
        )?;
        self.report.stages.store += t.elapsed().as_secs_f64();
        self.library.write_index(|index| index.remove(&replaced))?;
        Ok(FileOutcome::failed(&work.path, Some(id), e.kind, e.message))
    }

    /// Embeds a document's chunks (`texts`) in batches and puts the vectors in the index.
    fn embed_chunks(&mut self, path: &Path, ids: &[i64], chunks: &[String]) -> Result<bool> {
        let mut done = 0;
        for (batch_ids, batch) in ids.chunks(EMBED_BATCH).zip(chunks.chunks(EMBED_BATCH)) {
            let t = Instant::now();
            let vectors = self.embedding.thread.embed(batch.to_vec())?;
            self.report.stages.embed += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let items: Vec<(i64, Vec<f32>)> = batch_ids.iter().copied().zip(vectors).collect();
            self.library.write_index(|index| index.add(&items))?;
            self.report.stages.index += t.elapsed().as_secs_f64();
            done += batch.len();
            let keep_going = self.progress.on_event(&AddEvent::Embedding {
                path: path.to_path_buf(),
                chunks_done: done,
                chunks_total: chunks.len(),
            });
            if !keep_going {
                self.stop = true;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Embeds again the stored chunks of ready documents that have no vector — the vector
    /// file was deleted or found damaged — from their stored text, with the same progress as
    /// indexing. Stops (and leaves the rest for the next run) when asked to.
    fn repair_vectors(&mut self) -> Result<()> {
        let missing = self.library.chunks_without_vectors()?;
        for (doc, ids) in &missing {
            let (path, texts) = {
                let store = self.library.store();
                let path = store
                    .document(*doc)?
                    .map(|d| PathBuf::from(d.path))
                    .unwrap_or_default();
                let wanted: HashSet<i64> = ids.iter().copied().collect();
                let texts: Vec<(i64, String)> = store
                    .chunk_texts(*doc)?
                    .into_iter()
                    .filter(|(id, _)| wanted.contains(id))
                    .collect();
                (path, texts)
            };
            let ids: Vec<i64> = texts.iter().map(|(id, _)| *id).collect();
            let texts: Vec<String> = texts.into_iter().map(|(_, t)| t).collect();
            if !self.embed_chunks(&path, &ids, &texts)? {
                self.report.cancelled = true;
                break;
            }
        }
        if !missing.is_empty() {
            self.library.save_index()?;
        }
        if self.library.chunks_without_vectors()?.is_empty() {
            self.library.vectors_repaired();
        }
        Ok(())
    }

    /// Reports the files the run did not reach because a write failed.
    fn fail_rest(&mut self, rest: &[Work], cause: &Error) {
        for work in rest {
            let message = format!("not added: the run stopped ({cause})");
            self.finish(FileOutcome::not_stored(&work.path, message));
        }
    }

    /// Reports a file's outcome and keeps it for the report.
    fn finish(&mut self, outcome: FileOutcome) {
        self.progress.on_event(&AddEvent::Finished(outcome.clone()));
        self.report.files.push(outcome);
    }

    /// Reports the files whose vectors were not saved as not stored, with the cause.
    fn fail_unsaved(&mut self, cause: &Error) {
        for outcome in std::mem::take(&mut self.unsaved) {
            self.finish(FileOutcome {
                status: AddStatus::Failed,
                document_id: None,
                error: Some(format!("not stored: {cause}")),
                error_kind: None,
                ..outcome
            });
        }
    }

    /// Saves the vector index, then marks the documents whose vectors it now holds as ready
    /// and reports them. When the save fails (a full disk), those documents are reported as not
    /// stored, with the cause, and the run stops: nothing more is embedded for nothing.
    fn checkpoint(&mut self) -> Result<()> {
        let t = Instant::now();
        let saved = self.library.save_index().and_then(|()| {
            self.library
                .store()
                .set_status(&self.pending, DocStatus::Ready)
        });
        self.report.stages.index += t.elapsed().as_secs_f64();
        self.pending.clear();
        if let Err(e) = saved {
            self.fail_unsaved(&e);
            return Err(e);
        }
        for outcome in std::mem::take(&mut self.unsaved) {
            if !self.progress.on_event(&AddEvent::Finished(outcome.clone())) {
                self.stop = true;
            }
            self.report.files.push(outcome);
        }
        Ok(())
    }
}

/// Extracts each file in turn and sends it on; stops when the receiver is gone or the
/// progress callback says stop.
fn extract_all(
    extractor: &Extractor,
    work: &[Work],
    progress: &dyn AddProgress,
    tx: mpsc::SyncSender<(usize, Result<ExtractedPdf, ExtractError>, f64)>,
) {
    for (i, item) in work.iter().enumerate() {
        let t = Instant::now();
        let mut keep_going = true;
        let result = extractor.extract(&item.path, &mut |done, total| {
            keep_going &= progress.on_event(&AddEvent::Reading {
                path: item.path.clone(),
                pages_done: done,
                pages_total: total,
            });
        });
        if tx.send((i, result, t.elapsed().as_secs_f64())).is_err() || !keep_going {
            return;
        }
    }
}

fn fallback_title(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}
