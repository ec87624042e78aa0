//! Ingestion: adding PDFs and removing them, in two phases.
//!
//! 1. **Searchable by words**: each file is extracted (the next one while this one is stored),
//!    chunked and stored with its keyword index in one transaction; from then on searches and
//!    answers find it by its words, and it is reported added.
//! 2. **Searchable by meaning**: the stored chunks that have no vector yet are embedded, the
//!    newest add first ([`embed_waiting`]). Vectors are saved, and their documents marked
//!    embedded, at checkpoints; after a crash or a stop the next run goes on from the last
//!    checkpoint without embedding anything twice.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::chunk::{chunk_pages, ChunkOptions, TokenCounter};
use crate::error::{Error, Result};
use crate::extract::{ExtractError, ExtractedPdf, Extractor, FailureKind};
use crate::runtime::{Embedding, Models};
use crate::storage::Storage;
use crate::store::{DocStatus, FileStamp};

mod plan;

pub use plan::collect_pdfs;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
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
    /// Added, but not all of it: what could not be read (characters of fonts without a
    /// Unicode mapping), in one sentence.
    pub warning: Option<String>,
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
            warning: None,
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
    /// A file being read: pages done of its total; of its pages without text, the one OCR is
    /// reading (`ocr_page` of `ocr_pages`, both 0 when none need OCR).
    Reading {
        #[ts(type = "string")]
        path: PathBuf,
        pages_done: u32,
        pages_total: u32,
        ocr_page: u32,
        ocr_pages: u32,
    },
    /// Vectors being made for a document stored earlier (this run's or an earlier one's).
    Embedding {
        #[ts(type = "string")]
        path: PathBuf,
        chunks_done: usize,
        chunks_total: usize,
    },
    /// Over all documents waiting for vectors: chunks done of the total, and the time left at
    /// this run's pace (none until it is known).
    Vectors {
        chunks_done: usize,
        chunks_total: usize,
        seconds_left: Option<f64>,
    },
    /// Every document of the run is stored and searchable by words; `chunks_waiting` of them
    /// still wait for vectors.
    Searchable {
        documents: usize,
        chunks_waiting: usize,
        seconds: f64,
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
    /// Seconds until every document of the run was searchable by words.
    pub searchable_after: f64,
    /// Chunks made searchable by meaning (embedded) by this run, its own or earlier ones'.
    pub chunks_embedded: u64,
    /// Chunks still waiting for vectors when the run ended (stopped, or another run embeds).
    pub chunks_waiting: u64,
    pub stages: StageTimes,
    pub cancelled: bool,
    /// Documents chunked again from their stored text for a new embedding model.
    pub reindexed: u64,
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
    /// Where it is read from.
    path: PathBuf,
    /// The name it is stored under when not its path (see [`crate::Engine::add_named`]).
    name: Option<String>,
    stamp: FileStamp,
    /// A document at this path was in the library (it is replaced, keeping its id).
    existed: bool,
}

/// One `add` in progress: what it needs and what it has done so far.
struct Run<'a> {
    library: &'a dyn Storage,
    embedding: &'a Embedding,
    options: &'a AddOptions,
    progress: &'a dyn AddProgress,
    report: AddReport,
    /// This run's place in the embedding queue (see [`crate::store::Store::next_queue_number`]).
    queued: i64,
}

pub(crate) fn add(
    library: &dyn Storage,
    models: &Models,
    extractor: &Extractor,
    paths: &[PathBuf],
    named: &[(PathBuf, String)],
    options: &AddOptions,
    progress: &dyn AddProgress,
) -> Result<AddReport> {
    let started = Instant::now();
    let embedding = models.embedder()?;
    let mut run = {
        let _changing = library.begin_change()?;
        library.adopt_model(embedding.thread.info())?;
        library.begin_add()?;
        let queued = library.next_queue_number()?;
        let mut run = Run {
            library,
            embedding: &embedding,
            options,
            progress,
            report: AddReport {
                embedding_device: embedding.thread.device_name().to_string(),
                ..AddReport::default()
            },
            queued,
        };
        run.rechunk_stored()?;
        let work = run.plan(paths, named)?;
        run.index_all(extractor, &work)?;
        run
    };
    run.report.searchable_after = started.elapsed().as_secs_f64();
    let waiting = library.chunks_waiting()?;
    let stored = run
        .report
        .files
        .iter()
        .filter(|f| matches!(f.status, AddStatus::Added | AddStatus::Replaced))
        .count();
    progress.on_event(&AddEvent::Searchable {
        documents: stored,
        chunks_waiting: waiting as usize,
        seconds: run.report.searchable_after,
    });
    if !run.report.cancelled {
        let embedded = embed_waiting(library, &embedding, options, progress)?;
        run.report.chunks_embedded = embedded.chunks;
        run.report.cancelled = embedded.stopped;
        run.report.stages.embed += embedded.embed_seconds;
        run.report.stages.index += embedded.index_seconds;
    }
    run.report.chunks_waiting = library.chunks_waiting()?;
    let mut report = run.report;
    report.elapsed = started.elapsed().as_secs_f64();
    progress.on_event(&AddEvent::Done {
        seconds: report.elapsed,
        failed: report.failed(),
    });
    Ok(report)
}

/// What [`embed_waiting`] did.
#[derive(Debug, Default)]
pub(crate) struct Embedded {
    pub chunks: u64,
    /// Asked to stop before the queue was empty.
    pub stopped: bool,
    pub embed_seconds: f64,
    pub index_seconds: f64,
}

/// Embeds the chunks waiting for vectors until none are left, the newest add's first: in
/// batches, each under the library's change lock (so that an `add` or `remove` meanwhile
/// waits at most one batch), saving the vectors and marking finished documents embedded at
/// checkpoints. Documents stored meanwhile are taken next. When another thread of this
/// process is already embedding, returns at once: it takes the new chunks first.
pub(crate) fn embed_waiting(
    library: &dyn Storage,
    embedding: &Embedding,
    options: &AddOptions,
    progress: &dyn AddProgress,
) -> Result<Embedded> {
    let mut done = Embedded::default();
    let Some(_embedding) = library.begin_embedding() else {
        return Ok(done);
    };
    let started = Instant::now();
    let mut last_checkpoint = Instant::now();
    // Documents whose vectors are all in the index, not yet saved.
    let mut finished: Vec<i64> = Vec::new();
    let mut generation = library.stored_generation();
    let mut queue = library.embedding_queue()?;
    let mut total: usize = queue.iter().map(|(_, c)| c.len()).sum();
    let mut position = 0;
    // Chunks of the queue that have their vectors (from this run, or an earlier checkpoint).
    let mut counted = 0;
    while position < queue.len() {
        let (doc, chunks) = queue[position].clone();
        let path = library
            .document(doc)?
            .map(|d| PathBuf::from(d.path))
            .unwrap_or_default();
        let todo = library.missing_vectors(&chunks)?;
        let mut doc_done = chunks.len() - todo.len();
        counted += doc_done;
        for batch in todo.chunks(EMBED_BATCH) {
            let changing = library.begin_change()?;
            // Removed or replaced meanwhile: its chunks are gone.
            let texts = library.texts_of(batch)?;
            let t = Instant::now();
            let vectors = embedding
                .thread
                .embed(texts.iter().map(|(_, t)| t.clone()).collect())?;
            done.embed_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let items: Vec<(i64, Vec<f32>)> =
                texts.iter().map(|(id, _)| *id).zip(vectors).collect();
            library.add_vectors(&items)?;
            done.index_seconds += t.elapsed().as_secs_f64();
            drop(changing);
            done.chunks += items.len() as u64;
            doc_done += batch.len();
            counted += batch.len();
            let pace = done.chunks as f64 / started.elapsed().as_secs_f64().max(1e-3);
            let mut keep_going = progress.on_event(&AddEvent::Embedding {
                path: path.clone(),
                chunks_done: doc_done,
                chunks_total: chunks.len(),
            });
            keep_going &= progress.on_event(&AddEvent::Vectors {
                chunks_done: counted,
                chunks_total: total,
                seconds_left: (done.chunks >= 2 * EMBED_BATCH as u64)
                    .then(|| total.saturating_sub(counted) as f64 / pace),
            });
            if last_checkpoint.elapsed() >= options.checkpoint_every {
                checkpoint(library, &mut finished, &mut done)?;
                last_checkpoint = Instant::now();
            }
            if !keep_going {
                done.stopped = true;
                checkpoint(library, &mut finished, &mut done)?;
                return Ok(done);
            }
        }
        finished.push(doc);
        position += 1;
        // Documents stored since the queue was read go first.
        let now = library.stored_generation();
        if now != generation {
            generation = now;
            checkpoint(library, &mut finished, &mut done)?;
            queue = library.embedding_queue()?;
            position = 0;
            total = counted + queue.iter().map(|(_, c)| c.len()).sum::<usize>();
        }
    }
    checkpoint(library, &mut finished, &mut done)?;
    library.embedding_finished()?;
    Ok(done)
}

/// Saves the vector index, then marks the `finished` documents (all their vectors in it) as
/// embedded.
fn checkpoint(library: &dyn Storage, finished: &mut Vec<i64>, done: &mut Embedded) -> Result<()> {
    let t = Instant::now();
    let _changing = library.begin_change()?;
    library.checkpoint(finished)?;
    finished.clear();
    done.index_seconds += t.elapsed().as_secs_f64();
    Ok(())
}

/// Removes a document with its chunks and vectors.
pub(crate) fn remove(library: &dyn Storage, id: i64) -> Result<()> {
    let _changing = library.begin_change()?;
    library.remove_document(id)
}

impl Work {
    /// What the library keys the document by: its name, else its path.
    fn key(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.path.to_string_lossy().into_owned(),
        }
    }

    /// The path reported for it: its name, else its path.
    fn shown(&self) -> PathBuf {
        match &self.name {
            Some(name) => PathBuf::from(name),
            None => self.path.clone(),
        }
    }
}

impl Run<'_> {
    /// Extracts the files on a second thread (one file ahead) and stores each here, searchable
    /// by words once its transaction commits.
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
            for (i, extracted, secs) in rx {
                self.report.stages.extract += secs;
                let outcome = match self.index_file(&work[i], extracted) {
                    Ok(outcome) => outcome,
                    Err(e) => {
                        // A write failed (a full disk): this file is not stored, and nothing
                        // more is done.
                        let failed =
                            FileOutcome::not_stored(&work[i].shown(), format!("not stored: {e}"));
                        self.finish(failed);
                        self.fail_rest(&work[i + 1..], &e);
                        return Err(e);
                    }
                };
                if !self.finish(outcome) {
                    self.report.cancelled = true;
                    break;
                }
            }
            Ok(())
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
        let chunks = chunk_pages(&pdf.pages, &self.chunk_options(), &self.embedding.tokens);
        self.report.stages.chunk += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let key = work.key();
        let title = pdf
            .title
            .clone()
            .unwrap_or_else(|| fallback_title(&work.shown()));
        let id = self.library.put_document(
            &key,
            &title,
            &work.stamp,
            crate::store::Pages {
                text: &pdf.pages,
                ocr: &pdf.ocr,
            },
            &chunks,
            self.queued,
        )?;
        self.library.stored_more();
        self.report.stages.store += t.elapsed().as_secs_f64();
        self.report.pages += pdf.pages.len() as u64;
        self.report.chunks += chunks.len() as u64;
        Ok(FileOutcome {
            path: work.shown(),
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
            warning: pdf.loss(),
        })
    }

    /// How to chunk for the embedding model: the target length, within what the model reads.
    fn chunk_options(&self) -> ChunkOptions {
        let info = self.embedding.thread.info();
        // The model's card may put a prefix ("passage: ") before every chunk.
        let prefix = &info.card.passage_prefix;
        let prefix_tokens = if prefix.is_empty() {
            0
        } else {
            self.embedding.tokens.count(&[prefix.as_str()])[0]
        };
        let room = info.max_tokens.saturating_sub(prefix_tokens);
        ChunkOptions::for_model(self.options.chunk_tokens, room)
    }

    /// After a change of embedding model: each ready document's chunks are made again from its
    /// stored pages with the new model's tokenizer (nothing is read from the PDFs, which may
    /// have moved), searchable by words at once and queued for vectors behind this run's own
    /// files.
    fn rechunk_stored(&mut self) -> Result<()> {
        if !self.library.rechunk_pending()? {
            return Ok(());
        }
        let t = Instant::now();
        let options = self.chunk_options();
        let documents = self.library.documents()?;
        for doc in documents.iter().filter(|d| d.status == DocStatus::Ready) {
            let pages = self.library.pages(doc.id)?;
            let chunks = chunk_pages(&pages, &options, &self.embedding.tokens);
            self.library
                .replace_chunks(doc.id, &chunks, self.queued - 1)?;
            self.library.stored_more();
            self.report.chunks += chunks.len() as u64;
            self.report.reindexed += 1;
        }
        self.library.rechunk_done()?;
        self.report.stages.chunk += t.elapsed().as_secs_f64();
        Ok(())
    }

    /// Stores why a file could not be read (anything stored for it before goes).
    fn record_failure(&mut self, work: &Work, e: ExtractError) -> Result<FileOutcome> {
        let t = Instant::now();
        let key = work.key();
        let id = self.library.put_failure(
            &key,
            &fallback_title(&work.shown()),
            &work.stamp,
            e.kind,
            &e.message,
        )?;
        self.report.stages.store += t.elapsed().as_secs_f64();
        Ok(FileOutcome::failed(
            &work.shown(),
            Some(id),
            e.kind,
            e.message,
        ))
    }

    /// Reports the files the run did not reach because a write failed.
    fn fail_rest(&mut self, rest: &[Work], cause: &Error) {
        for work in rest {
            let message = format!("not added: the run stopped ({cause})");
            self.finish(FileOutcome::not_stored(&work.shown(), message));
        }
    }

    /// Reports a file's outcome and keeps it for the report; false when asked to stop.
    fn finish(&mut self, outcome: FileOutcome) -> bool {
        let go = self.progress.on_event(&AddEvent::Finished(outcome.clone()));
        self.report.files.push(outcome);
        go
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
        let result = extractor.extract(&item.path, &mut |read| {
            keep_going &= progress.on_event(&AddEvent::Reading {
                path: item.shown(),
                pages_done: read.pages_done,
                pages_total: read.pages_total,
                ocr_page: read.ocr_page,
                ocr_pages: read.ocr_pages,
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
