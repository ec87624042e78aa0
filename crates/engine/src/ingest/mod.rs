//! Ingestion: adding PDFs and removing them, in two phases.
//!
//! 1. **Searchable by words**: files are extracted and chunked by reader threads (one per core,
//!    a few files ahead) and stored here in the order given, each with its keyword index in
//!    one transaction; from then on searches and answers find it by its words, and it is
//!    reported added.
//! 2. **Searchable by meaning**: the stored chunks that have no vector yet are embedded, the
//!    newest add first ([`embed_waiting`]), with the next batch always in the embedder's hands
//!    while the last one's vectors are stored. Vectors are saved, and their documents marked
//!    embedded, at checkpoints; after a crash or a stop the next run goes on from the last
//!    checkpoint without embedding anything twice.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::chunk::{chunk_pages, Chunk, ChunkOptions, TokenCounter};
use crate::embed::{ModelTokens, PendingEmbedding};
use crate::error::{Error, Result};
use crate::extract::{ExtractError, ExtractedPdf, Extractor, FailureKind};
use crate::runtime::{Embedding, Models};
use crate::storage::Storage;
use crate::store::{DocStatus, FileStamp};

mod plan;

pub use plan::collect_pdfs;

/// Reader threads for the first phase, at most: extraction (with OCR) and chunking are the
/// work there, and each reader keeps a core busy.
const READERS: usize = 2;
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
/// batches, each read under the library's change lock (so that an `add` or `remove` meanwhile
/// waits at most one batch), saving the vectors and marking finished documents embedded at
/// checkpoints. Documents stored meanwhile are taken next. When another thread of this
/// process is already embedding, returns at once: it takes the new chunks first.
///
/// One batch is always in flight: the next batch is read and handed to the embedder before
/// the vectors of the one before are stored, so that the embedder's cores never wait for the
/// library (storing vectors, checkpoints).
pub(crate) fn embed_waiting(
    library: &dyn Storage,
    embedding: &Embedding,
    options: &AddOptions,
    progress: &dyn AddProgress,
) -> Result<Embedded> {
    let Some(_embedding) = library.begin_embedding() else {
        return Ok(Embedded::default());
    };
    let mut run = EmbedRun {
        library,
        progress,
        started: Instant::now(),
        done: Embedded::default(),
        finished: Vec::new(),
        counted: 0,
        total: 0,
    };
    let mut last_checkpoint = Instant::now();
    let mut generation = library.stored_generation();
    let mut queue = library.embedding_queue()?;
    run.total = queue.iter().map(|(_, c)| c.len()).sum();
    let mut position = 0;
    let mut flight: Option<Batch> = None;
    while position < queue.len() {
        let (doc, chunks) = queue[position].clone();
        let path = library
            .document(doc)?
            .map(|d| PathBuf::from(d.path))
            .unwrap_or_default();
        let todo = library.missing_vectors(&chunks)?;
        let mut doc_done = chunks.len() - todo.len();
        run.counted += doc_done;
        let batches: Vec<&[i64]> = todo.chunks(EMBED_BATCH).collect();
        if batches.is_empty() {
            // Its vectors were all stored before (none of its chunks is in flight).
            run.finished.push(doc);
        }
        for (b, ids) in batches.iter().enumerate() {
            let changing = library.begin_change()?;
            // Removed or replaced meanwhile: its chunks are gone.
            let texts = library.texts_of(ids)?;
            let ids: Vec<i64> = texts.iter().map(|(id, _)| *id).collect();
            let pending = embedding
                .thread
                .submit(texts.into_iter().map(|(_, t)| t).collect())?;
            doc_done += ids.len();
            let batch = Batch {
                doc,
                path: path.clone(),
                ids,
                pending,
                doc_done,
                doc_total: chunks.len(),
                last_of_doc: b + 1 == batches.len(),
            };
            let landed = match flight.replace(batch) {
                Some(previous) => Some(run.land(previous)?),
                None => None,
            };
            drop(changing);
            // Progress is told outside the lock: a listener may add or remove meanwhile.
            if landed.is_some_and(|landed| !run.tell(landed)) {
                return run.stop();
            }
            if last_checkpoint.elapsed() >= options.checkpoint_every {
                run.checkpoint()?;
                last_checkpoint = Instant::now();
            }
        }
        position += 1;
        // Documents stored since the queue was read go first.
        let now = library.stored_generation();
        if now != generation {
            generation = now;
            if let Some(batch) = flight.take() {
                let landed = run.land_locked(batch)?;
                if !run.tell(landed) {
                    return run.stop();
                }
            }
            run.checkpoint()?;
            queue = library.embedding_queue()?;
            position = 0;
            run.total = run.counted + queue.iter().map(|(_, c)| c.len()).sum::<usize>();
        }
    }
    if let Some(batch) = flight.take() {
        let landed = run.land_locked(batch)?;
        if !run.tell(landed) {
            return run.stop();
        }
    }
    run.checkpoint()?;
    library.embedding_finished()?;
    Ok(run.done)
}

/// A batch of one document's chunks handed to the embedder, not yet stored.
struct Batch {
    doc: i64,
    path: PathBuf,
    /// The chunks, in the order of the texts given to the embedder.
    ids: Vec<i64>,
    pending: PendingEmbedding,
    /// The document's chunks with vectors once this batch is stored, of `doc_total`.
    doc_done: usize,
    doc_total: usize,
    /// The document's last batch: once stored, the document has all its vectors.
    last_of_doc: bool,
}

/// A stored batch, for the progress report.
struct Landed {
    path: PathBuf,
    chunks_done: usize,
    chunks_total: usize,
}

/// The state of one [`embed_waiting`] run.
struct EmbedRun<'a> {
    library: &'a dyn Storage,
    progress: &'a dyn AddProgress,
    started: Instant,
    done: Embedded,
    /// Documents whose vectors are all in the index, not yet saved.
    finished: Vec<i64>,
    /// Chunks of the queue that have their vectors (from this run, or an earlier checkpoint).
    counted: usize,
    total: usize,
}

impl EmbedRun<'_> {
    /// Waits for `batch`'s vectors and stores those of its chunks that still exist (the caller
    /// holds the change lock).
    fn land(&mut self, batch: Batch) -> Result<Landed> {
        let t = Instant::now();
        let vectors = batch.pending.wait()?;
        self.done.embed_seconds += t.elapsed().as_secs_f64();
        let t = Instant::now();
        // A document removed or replaced while its batch was in flight has lost these chunks.
        let present: HashSet<i64> = self
            .library
            .texts_of(&batch.ids)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let items: Vec<(i64, Vec<f32>)> = batch
            .ids
            .iter()
            .copied()
            .zip(vectors)
            .filter(|(id, _)| present.contains(id))
            .collect();
        self.library.add_vectors(&items)?;
        self.done.index_seconds += t.elapsed().as_secs_f64();
        self.done.chunks += items.len() as u64;
        self.counted += batch.ids.len();
        if batch.last_of_doc {
            self.finished.push(batch.doc);
        }
        Ok(Landed {
            path: batch.path,
            chunks_done: batch.doc_done,
            chunks_total: batch.doc_total,
        })
    }

    /// [`Self::land`] under the change lock.
    fn land_locked(&mut self, batch: Batch) -> Result<Landed> {
        let _changing = self.library.begin_change()?;
        self.land(batch)
    }

    /// Reports a stored batch; false when asked to stop.
    fn tell(&self, landed: Landed) -> bool {
        let pace = self.done.chunks as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        let mut keep_going = self.progress.on_event(&AddEvent::Embedding {
            path: landed.path,
            chunks_done: landed.chunks_done,
            chunks_total: landed.chunks_total,
        });
        keep_going &= self.progress.on_event(&AddEvent::Vectors {
            chunks_done: self.counted,
            chunks_total: self.total,
            seconds_left: (self.done.chunks >= 2 * EMBED_BATCH as u64)
                .then(|| self.total.saturating_sub(self.counted) as f64 / pace),
        });
        keep_going
    }

    fn checkpoint(&mut self) -> Result<()> {
        checkpoint(self.library, &mut self.finished, &mut self.done)
    }

    /// Stops where asked: what is stored is saved; a batch still in flight is dropped (its
    /// chunks wait for the next run).
    fn stop(mut self) -> Result<Embedded> {
        self.done.stopped = true;
        self.checkpoint()?;
        Ok(self.done)
    }
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
    /// Extracts the files on reader threads (one per core, at most [`READERS`], a few files
    /// ahead) and stores each here in the order given, searchable by words once its
    /// transaction commits.
    fn index_all(&mut self, extractor: &Extractor, work: &[Work]) -> Result<()> {
        let readers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, READERS);
        let gate = Gate::new(readers * 2);
        let next = AtomicUsize::new(0);
        let chunking = self.chunk_options();
        let embedding = self.embedding;
        std::thread::scope(|scope| -> Result<()> {
            // The channel and the gate bound how many extracted files wait in memory.
            let (tx, rx) = mpsc::sync_channel::<Read>(readers);
            if !self.report.cancelled {
                let reader = Reader {
                    extractor,
                    work,
                    next: &next,
                    gate: &gate,
                    progress: self.progress,
                    chunking: &chunking,
                    tokens: &embedding.tokens,
                };
                for _ in 0..readers {
                    let tx = tx.clone();
                    scope.spawn(move || reader.read_all(tx));
                }
            }
            drop(tx);
            // Readers finish out of order; files are stored in the order given.
            let _closed = gate.closes_on_drop();
            let mut waiting = std::collections::BTreeMap::new();
            for read in rx {
                self.report.stages.extract += read.extract_seconds;
                self.report.stages.chunk += read.chunk_seconds;
                waiting.insert(read.index, read.result);
                while let Some(extracted) = waiting.remove(&gate.stored()) {
                    let i = gate.stored();
                    let outcome = match self.index_file(&work[i], extracted) {
                        Ok(outcome) => outcome,
                        Err(e) => {
                            // A write failed (a full disk): this file is not stored, and
                            // nothing more is done.
                            let failed = FileOutcome::not_stored(
                                &work[i].shown(),
                                format!("not stored: {e}"),
                            );
                            self.finish(failed);
                            self.fail_rest(&work[i + 1..], &e);
                            return Err(e);
                        }
                    };
                    gate.advance();
                    if !self.finish(outcome) {
                        self.report.cancelled = true;
                        return Ok(());
                    }
                }
            }
            Ok(())
        })
    }

    fn index_file(
        &mut self,
        work: &Work,
        extracted: Result<(ExtractedPdf, Vec<Chunk>), ExtractError>,
    ) -> Result<FileOutcome> {
        let (pdf, chunks) = match extracted {
            Ok(read) => read,
            Err(e) => return self.record_failure(work, e),
        };
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

/// A file as a reader sends it: extracted and chunked, or why it could not be read.
struct Read {
    index: usize,
    result: Result<(ExtractedPdf, Vec<Chunk>), ExtractError>,
    extract_seconds: f64,
    chunk_seconds: f64,
}

/// What a reader thread needs: the files, the shared place in them, and how to chunk.
#[derive(Clone, Copy)]
struct Reader<'a> {
    extractor: &'a Extractor,
    work: &'a [Work],
    next: &'a AtomicUsize,
    gate: &'a Gate,
    progress: &'a dyn AddProgress,
    chunking: &'a ChunkOptions,
    tokens: &'a ModelTokens,
}

impl Reader<'_> {
    /// Extracts and chunks the next file no other reader has taken, and sends it on, until
    /// none are left; stops when the receiver is gone or the progress callback says stop.
    fn read_all(self, tx: mpsc::SyncSender<Read>) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = self.work.get(index) else {
                return;
            };
            if !self.gate.wait_for_room(index) {
                return;
            }
            let t = Instant::now();
            let mut keep_going = true;
            let extracted = self.extractor.extract(&item.path, &mut |read| {
                keep_going &= self.progress.on_event(&AddEvent::Reading {
                    path: item.shown(),
                    pages_done: read.pages_done,
                    pages_total: read.pages_total,
                    ocr_page: read.ocr_page,
                    ocr_pages: read.ocr_pages,
                });
            });
            let extract_seconds = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let result = extracted.map(|pdf| {
                let chunks = chunk_pages(&pdf.pages, self.chunking, self.tokens);
                (pdf, chunks)
            });
            let read = Read {
                index,
                result,
                extract_seconds,
                chunk_seconds: t.elapsed().as_secs_f64(),
            };
            if tx.send(read).is_err() || !keep_going {
                return;
            }
        }
    }
}

/// How far readers may run ahead of the files stored: file `i` is read only once fewer than
/// `ahead` files before it wait to be stored (a large file on one reader does not let the
/// other fill memory with the files after it).
struct Gate {
    ahead: usize,
    /// Files stored so far (the next to store is this one), and whether storing has ended.
    state: Mutex<(usize, bool)>,
    moved: Condvar,
}

impl Gate {
    fn new(ahead: usize) -> Gate {
        Gate {
            ahead,
            state: Mutex::new((0, false)),
            moved: Condvar::new(),
        }
    }

    fn stored(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    fn advance(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0 += 1;
        self.moved.notify_all();
    }

    /// Waits until file `i` may be read; false when storing has ended (stop reading).
    fn wait_for_room(&self, i: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while i >= state.0 + self.ahead && !state.1 {
            state = self
                .moved
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        !state.1
    }

    /// Ends storing when dropped (readers waiting for room stop), however the storing loop ends.
    fn closes_on_drop(&self) -> impl Drop + '_ {
        struct Close<'a>(&'a Gate);
        impl Drop for Close<'_> {
            fn drop(&mut self) {
                self.0
                    .state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .1 = true;
                self.0.moved.notify_all();
            }
        }
        Close(self)
    }
}

fn fallback_title(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_wait_for_room_and_stop_when_storing_ends() {
        let gate = Gate::new(2);
        // Files 0 and 1 may be read at once; file 2 only once file 0 is stored.
        assert!(gate.wait_for_room(0) && gate.wait_for_room(1));
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| tx.send(gate.wait_for_room(2)).unwrap());
            assert!(
                rx.recv_timeout(Duration::from_millis(200)).is_err(),
                "file 2 waits"
            );
            gate.advance();
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
            assert_eq!(gate.stored(), 1);
            // Storing ends (a stop, a failed write): a reader waiting for room stops reading.
            scope.spawn(|| tx.send(gate.wait_for_room(9)).unwrap());
            assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
            drop(gate.closes_on_drop());
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(false));
        });
        assert!(!gate.wait_for_room(0), "no more reading after the end");
    }
}
