//! The `Library` facade: what the CLI and the desktop app call.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::chunk::{chunk_pages, ChunkOptions};
use crate::device::{select_device, DeviceChoice};
use crate::embed::{EmbedderThread, ModelFiles, ModelInfo, ModelTokens};
use crate::error::{Error, Result};
use crate::extract::{ExtractError, ExtractedPdf, Extractor, FailureKind, Isolation};
use crate::generate::GeneratorThread;
use crate::index::{Precision, VectorIndex};
use crate::retrieve::reciprocal_rank_fusion;
use crate::store::{DocStatus, Document, FileStamp, Store, StoredChunk};
use crate::text::query_terms;

/// Folder name of the default embedding model inside the models directory.
pub const DEFAULT_EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";
/// File name of the default answer model inside the models directory.
pub const DEFAULT_ANSWER_MODEL: &str = "gemma-3-270m-q4_k_m.gguf";

const DATABASE_FILE: &str = "library.sqlite";
const INDEX_FILE: &str = "vectors.usearch";
const LOCK_FILE: &str = "library.lock";
/// Default of [`LibraryOptions::checkpoint_every`].
const CHECKPOINT_EVERY: Duration = Duration::from_secs(15);
/// Chunks sent to the embedder per request (progress granularity).
const EMBED_BATCH: usize = 64;

/// Where Quire keeps libraries by default: the OS data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("quire")
}

/// The default library directory.
pub fn default_library_dir() -> PathBuf {
    default_data_dir().join("library")
}

/// The default models directory (where `models/fetch.py` puts the models).
pub fn default_models_dir() -> PathBuf {
    default_data_dir().join("models")
}

/// How to open a library.
#[derive(Debug, Clone)]
pub struct LibraryOptions {
    pub dir: PathBuf,
    pub models_dir: PathBuf,
    /// A BERT-family model folder; default: `models_dir/all-MiniLM-L6-v2`.
    pub embedding_model: Option<PathBuf>,
    /// A GGUF file; default: `models_dir/gemma-3-270m-q4_k_m.gguf`.
    pub answer_model: Option<PathBuf>,
    pub device: DeviceChoice,
    /// Target chunk length in tokens (capped at the model's maximum).
    pub chunk_tokens: usize,
    pub precision: Precision,
    pub extractor: Extractor,
    /// During `add`, vectors are saved (and their documents marked ready) this often.
    pub checkpoint_every: Duration,
    /// The answer model's context window; `None`: its trained length, capped at 8192 tokens.
    pub context_tokens: Option<u32>,
    /// CPU threads for the answer model; `None`: one per physical core.
    pub generation_threads: Option<usize>,
}

impl LibraryOptions {
    /// Defaults for `dir`, with extraction in child processes of the current executable.
    pub fn new(dir: impl Into<PathBuf>, models_dir: impl Into<PathBuf>) -> LibraryOptions {
        let isolation = Isolation::current_exe().unwrap_or(Isolation::Thread);
        LibraryOptions {
            dir: dir.into(),
            models_dir: models_dir.into(),
            embedding_model: None,
            answer_model: None,
            device: DeviceChoice::Auto,
            chunk_tokens: 256,
            precision: Precision::F32,
            extractor: Extractor::new(isolation),
            checkpoint_every: CHECKPOINT_EVERY,
            context_tokens: None,
            generation_threads: None,
        }
    }

    pub fn embedding_model_dir(&self) -> PathBuf {
        self.embedding_model
            .clone()
            .unwrap_or_else(|| self.models_dir.join(DEFAULT_EMBEDDING_MODEL))
    }

    pub fn answer_model_path(&self) -> PathBuf {
        self.answer_model
            .clone()
            .unwrap_or_else(|| self.models_dir.join(DEFAULT_ANSWER_MODEL))
    }
}

/// What happened to one file in `add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub path: PathBuf,
    pub status: AddStatus,
    pub document_id: Option<i64>,
    pub pages: u32,
    pub chunks: u64,
    pub error_kind: Option<FailureKind>,
    pub error: Option<String>,
}

/// Progress of `add`, reported as it happens (from more than one thread).
#[derive(Debug, Clone, Copy)]
pub enum AddEvent<'a> {
    /// Files found, and how many of them need work.
    Planned {
        files: usize,
        to_index: usize,
    },
    Reading {
        path: &'a Path,
        pages_done: u32,
        pages_total: u32,
    },
    Embedding {
        path: &'a Path,
        chunks_done: usize,
        chunks_total: usize,
    },
    Finished(&'a FileOutcome),
}

/// Receives [`AddEvent`]s; returning `false` stops the run after the current step.
pub trait AddProgress: Sync {
    fn on_event(&self, event: AddEvent<'_>) -> bool;
}

impl<F: Fn(AddEvent<'_>) -> bool + Sync> AddProgress for F {
    fn on_event(&self, event: AddEvent<'_>) -> bool {
        self(event)
    }
}

/// Time spent per stage of an `add`, in seconds (extraction overlaps the others).
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    pub extract: f64,
    pub chunk: f64,
    pub embed: f64,
    pub store: f64,
    pub index: f64,
}

#[derive(Debug, Clone, Default)]
pub struct AddReport {
    pub files: Vec<FileOutcome>,
    pub pages: u64,
    pub chunks: u64,
    pub elapsed: f64,
    pub stages: StageTimes,
    pub cancelled: bool,
}

impl AddReport {
    pub fn failed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| f.status == AddStatus::Failed)
            .count()
    }
}

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    #[default]
    Hybrid,
    Dense,
    Keyword,
}

/// One passage found by a search.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub chunk: StoredChunk,
    /// Reciprocal-rank-fusion score (higher is better).
    pub score: f64,
    /// Cosine similarity of the passage to the query, when the dense search found it.
    pub similarity: Option<f32>,
}

#[derive(Debug, Clone)]
pub struct ModelStatus {
    pub path: PathBuf,
    pub present: bool,
    /// Why it cannot be used, when it cannot.
    pub problem: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LibraryStatus {
    pub library_dir: PathBuf,
    pub models_dir: PathBuf,
    pub embedding_model: ModelStatus,
    /// The model that built the stored vectors.
    pub indexed_with: Option<String>,
    pub answer_model: ModelStatus,
    pub device: String,
    pub device_warning: Option<String>,
    pub documents: HashMap<&'static str, u64>,
    pub chunks: u64,
    pub vectors: u64,
    pub keyword_rows: u64,
    /// Empty when the library is consistent.
    pub problems: Vec<String>,
    /// False when another process holds the library for writing.
    pub writable: bool,
}

/// A library of PDFs: database, vector index and (loaded on first need) the embedding model.
pub struct Library {
    options: LibraryOptions,
    pub(crate) store: Store,
    index: Option<VectorIndex>,
    embedder: Option<EmbedderThread>,
    /// The answer model on its thread, loaded on the first question.
    pub(crate) generator: Option<GeneratorThread>,
    tokens: Option<ModelTokens>,
    /// Why the wanted GPU is not in use, once the embedder has started (until taken).
    device_warning: Option<String>,
    /// Holds the advisory write lock for the library's lifetime.
    lock: Option<File>,
}

impl Library {
    /// Opens (creating if needed) the library in `options.dir`. When another process is
    /// changing it, the library opens read-only: search, list and status work, add and remove
    /// report [`Error::Busy`].
    pub fn open(options: LibraryOptions) -> Result<Library> {
        std::fs::create_dir_all(&options.dir)?;
        let lock = try_lock(&options.dir.join(LOCK_FILE))?;
        let store = Store::open(&options.dir.join(DATABASE_FILE))?;
        let mut library = Library {
            options,
            store,
            index: None,
            embedder: None,
            generator: None,
            tokens: None,
            device_warning: None,
            lock,
        };
        if library.lock.is_some() && library.store.meta("dirty")?.as_deref() == Some("1") {
            library.reconcile()?;
        }
        Ok(library)
    }

    pub fn options(&self) -> &LibraryOptions {
        &self.options
    }

    pub fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    /// Forgets the loaded vector index, so that the next search reads the one last saved: for a
    /// read-only handle while another handle (or process) adds documents.
    pub fn reload_index(&mut self) {
        self.index = None;
    }

    fn require_writable(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::Busy(self.options.dir.clone()));
        }
        Ok(())
    }

    /// Dimensions of the stored vectors, if any were ever stored.
    fn stored_dimensions(&self) -> Result<Option<usize>> {
        Ok(self.store.meta("dimensions")?.and_then(|d| d.parse().ok()))
    }

    fn index_path(&self) -> PathBuf {
        self.options.dir.join(INDEX_FILE)
    }

    /// The vector index, opened with the stored dimensions (None before the first vector).
    fn index(&mut self) -> Result<Option<&mut VectorIndex>> {
        if self.index.is_none() {
            let Some(dims) = self.stored_dimensions()? else {
                return Ok(None);
            };
            self.index = Some(VectorIndex::open(
                &self.index_path(),
                dims,
                self.options.precision,
            )?);
        }
        Ok(self.index.as_mut())
    }

    /// When `--device auto` wanted a GPU that could not start, the reason (the CPU is used
    /// instead); given once, after the embedding model has loaded.
    pub fn take_device_warning(&mut self) -> Option<String> {
        self.device_warning.take()
    }

    /// Which device and kernels embed here ("CUDA GPU 0 (f16, fused kernels)", "CPU (f32)"),
    /// once the embedding model has loaded.
    pub fn embedding_device(&self) -> Option<&str> {
        self.embedder.as_ref().map(|e| e.device_name())
    }

    /// Loads the embedding model (once) on its thread.
    pub(crate) fn embedder(&mut self) -> Result<&EmbedderThread> {
        if self.embedder.is_none() {
            let dir = self.options.embedding_model_dir();
            if !dir.is_dir() {
                return Err(Error::ModelMissing(format!(
                    "the embedding model is missing: no folder {}; fetch the default models with \
                     `python3 models/fetch.py`, or choose a models folder that has it",
                    dir.display()
                )));
            }
            let embedder = EmbedderThread::start(&dir, self.options.device)?;
            self.device_warning = embedder.device_warning().map(str::to_string);
            self.tokens = Some(ModelTokens::new(&ModelFiles::locate(&dir)?)?);
            self.embedder = Some(embedder);
        }
        Ok(self.embedder.as_ref().expect("just loaded"))
    }

    /// Makes sure the stored vectors come from `info`'s model. On a change of model, every
    /// document is queued to be indexed again: vectors of two models never mix.
    fn adopt_model(&mut self, info: &ModelInfo) -> Result<()> {
        let current = self.store.meta("embedding_model")?;
        if current.as_deref() == Some(info.id().as_str()) {
            return Ok(());
        }
        if current.is_some() {
            for doc in self.store.documents()? {
                if doc.status != DocStatus::Failed {
                    self.store.clear_document(doc.id, DocStatus::Interrupted)?;
                }
            }
            self.index = None;
            let _ = std::fs::remove_file(self.index_path());
        }
        self.store.set_meta("embedding_model", &info.id())?;
        self.store
            .set_meta("dimensions", &info.dimensions.to_string())?;
        self.index = Some(VectorIndex::open(
            &self.index_path(),
            info.dimensions,
            self.options.precision,
        )?);
        Ok(())
    }

    /// Brings database and vector index into agreement after a crash: documents whose vectors
    /// were all saved become ready, others are cleared and marked interrupted (the next `add`
    /// redoes them), and vectors without a chunk are removed.
    fn reconcile(&mut self) -> Result<()> {
        let chunk_ids = self.store.chunk_ids()?;
        let documents = self.store.documents()?;
        let max_id = self.store.max_chunk_id()?;
        let Some(index) = self.index()? else {
            for doc in documents.iter().filter(|d| d.status == DocStatus::Indexing) {
                self.store.clear_document(doc.id, DocStatus::Interrupted)?;
            }
            self.store.set_meta("dirty", "0")?;
            return Ok(());
        };
        let mut incomplete: HashSet<i64> = HashSet::new();
        for &(chunk, doc) in &chunk_ids {
            if !index.contains(chunk) {
                incomplete.insert(doc);
            }
        }
        let mut cleared = Vec::new();
        let mut now_ready = Vec::new();
        for doc in &documents {
            if incomplete.contains(&doc.id) {
                cleared.push(doc.id);
            } else if doc.status == DocStatus::Indexing {
                now_ready.push(doc.id);
            }
        }
        let mut stale = Vec::new();
        for id in &cleared {
            stale.extend(self.store.clear_document(*id, DocStatus::Interrupted)?);
        }
        self.store.set_status(&now_ready, DocStatus::Ready)?;
        let index = self.index.as_mut().expect("opened above");
        index.remove(&stale)?;
        let live: HashSet<i64> = self
            .store
            .chunk_ids()?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        if index.len() > live.len() {
            let orphans: Vec<i64> = (1..=max_id)
                .filter(|k| !live.contains(k) && index.contains(*k))
                .collect();
            index.remove(&orphans)?;
        }
        index.save()?;
        self.store.set_meta("dirty", "0")?;
        Ok(())
    }

    /// Adds PDFs and folders of PDFs (recursively). Unchanged files cost nothing, changed ones
    /// are replaced, bad ones are recorded with a classified error; interrupted work from an
    /// earlier run is redone too.
    pub fn add(&mut self, paths: &[PathBuf], progress: &dyn AddProgress) -> Result<AddReport> {
        self.require_writable()?;
        let started = Instant::now();
        let info = self.embedder()?.info().clone();
        self.adopt_model(&info)?;
        self.store.set_meta("dirty", "1")?;

        let mut report = AddReport::default();
        let (files, mut missing) = collect_pdfs(paths);
        let mut work: Vec<(PathBuf, FileStamp, bool)> = Vec::new();
        let mut queued: HashSet<PathBuf> = HashSet::new();
        for path in files {
            if !queued.insert(path.clone()) {
                continue;
            }
            match self.plan(&path) {
                Ok(Plan::Done(outcome)) => report.files.push(outcome),
                Ok(Plan::Index(stamp, existed)) => work.push((path, stamp, existed)),
                Err(e) => missing.push((path, e.to_string())),
            }
        }
        // Documents a previous run did not finish.
        for doc in self.store.documents()? {
            let path = PathBuf::from(&doc.path);
            if doc.status == DocStatus::Interrupted && !queued.contains(&path) {
                match file_stamp(&path) {
                    Ok(stamp) => work.push((path, stamp, false)),
                    Err(e) => {
                        let stamp = FileStamp {
                            sha256: doc.sha256.clone(),
                            size: doc.size,
                            mtime_ns: doc.mtime_ns,
                        };
                        let message = format!("the file can no longer be read: {e}");
                        self.store.put_failure(
                            &doc.path,
                            &doc.title,
                            &stamp,
                            FailureKind::Unreadable,
                            &message,
                        )?;
                    }
                }
            }
        }
        for (path, message) in missing {
            report.files.push(FileOutcome {
                path,
                status: AddStatus::Failed,
                document_id: None,
                pages: 0,
                chunks: 0,
                error_kind: Some(FailureKind::Unreadable),
                error: Some(message),
            });
        }
        if !progress.on_event(AddEvent::Planned {
            files: report.files.len() + work.len(),
            to_index: work.len(),
        }) {
            report.cancelled = true;
        }
        for outcome in &report.files {
            progress.on_event(AddEvent::Finished(outcome));
        }

        let extractor = self.options.extractor.clone();
        let result = std::thread::scope(|scope| -> Result<()> {
            // Extraction of the next file overlaps embedding of this one; the channel holds one
            // extracted file, which bounds memory.
            let (tx, rx) =
                mpsc::sync_channel::<(usize, Result<ExtractedPdf, ExtractError>, f64)>(1);
            let work_ref = &work;
            let cancelled = report.cancelled;
            scope.spawn(move || {
                if cancelled {
                    return;
                }
                for (i, (path, _, _)) in work_ref.iter().enumerate() {
                    let t = Instant::now();
                    let mut keep_going = true;
                    let result = extractor.extract(path, &mut |done, total| {
                        keep_going &= progress.on_event(AddEvent::Reading {
                            path,
                            pages_done: done,
                            pages_total: total,
                        });
                    });
                    if tx.send((i, result, t.elapsed().as_secs_f64())).is_err() || !keep_going {
                        return;
                    }
                }
            });
            let mut last_checkpoint = Instant::now();
            let mut pending: Vec<i64> = Vec::new();
            for (i, extracted, secs) in rx {
                report.stages.extract += secs;
                let (path, stamp, existed) = &work[i];
                let outcome = self.index_file(
                    path,
                    stamp,
                    *existed,
                    extracted,
                    progress,
                    &mut report,
                    &mut pending,
                )?;
                let keep_going = progress.on_event(AddEvent::Finished(&outcome));
                report.files.push(outcome);
                if last_checkpoint.elapsed() >= self.options.checkpoint_every {
                    self.checkpoint(&mut pending, &mut report.stages)?;
                    last_checkpoint = Instant::now();
                }
                if !keep_going {
                    report.cancelled = true;
                    break;
                }
            }
            self.checkpoint(&mut pending, &mut report.stages)
        });
        result?;
        if !report.cancelled {
            self.store.set_meta("dirty", "0")?;
        } else {
            // Files not reached stay as they were; anything half-done is cleaned up on open.
            self.reconcile()?;
        }
        report.elapsed = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Decides whether `path` needs indexing.
    fn plan(&mut self, path: &Path) -> Result<Plan> {
        let key = path.to_string_lossy().into_owned();
        let existing = self.store.document_by_path(&key)?;
        let meta = std::fs::metadata(path)?;
        let size = meta.len();
        let mtime_ns = mtime_ns(&meta);
        if let Some(doc) = &existing {
            // Same size and modification time: trust it without reading the file again.
            if doc.size == size && doc.mtime_ns == mtime_ns {
                if let Some(outcome) = unchanged_outcome(path, doc) {
                    return Ok(Plan::Done(outcome));
                }
            }
        }
        let stamp = file_stamp(path)?;
        if let Some(doc) = &existing {
            if doc.sha256 == stamp.sha256 {
                if let Some(outcome) = unchanged_outcome(path, doc) {
                    return Ok(Plan::Done(outcome));
                }
            }
        }
        // An interrupted document was never (or is no longer) in the library: it is added.
        let existed = existing.is_some_and(|d| d.status != DocStatus::Interrupted);
        Ok(Plan::Index(stamp, existed))
    }

    #[allow(clippy::too_many_arguments)]
    fn index_file(
        &mut self,
        path: &Path,
        stamp: &FileStamp,
        existed: bool,
        extracted: Result<ExtractedPdf, ExtractError>,
        progress: &dyn AddProgress,
        report: &mut AddReport,
        pending: &mut Vec<i64>,
    ) -> Result<FileOutcome> {
        let key = path.to_string_lossy().into_owned();
        let fallback_title = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| key.clone());
        let pdf = match extracted {
            Ok(pdf) => pdf,
            Err(e) => {
                let t = Instant::now();
                let (id, replaced) =
                    self.store
                        .put_failure(&key, &fallback_title, stamp, e.kind, &e.message)?;
                report.stages.store += t.elapsed().as_secs_f64();
                if let Some(index) = self.index()? {
                    index.remove(&replaced)?;
                }
                return Ok(FileOutcome {
                    path: path.to_path_buf(),
                    status: AddStatus::Failed,
                    document_id: Some(id),
                    pages: 0,
                    chunks: 0,
                    error_kind: Some(e.kind),
                    error: Some(e.message),
                });
            }
        };
        let t = Instant::now();
        let embedder_info = self.embedder()?.info().clone();
        let options = ChunkOptions::for_model(self.options.chunk_tokens, embedder_info.max_tokens);
        let chunks = chunk_pages(
            &pdf.pages,
            &options,
            self.tokens.as_ref().expect("loaded with the embedder"),
        );
        report.stages.chunk += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let title = pdf.title.clone().unwrap_or(fallback_title);
        let (id, chunk_ids, replaced) = self
            .store
            .put_document(&key, &title, stamp, &pdf.pages, &chunks)?;
        report.stages.store += t.elapsed().as_secs_f64();
        if let Some(index) = self.index()? {
            index.remove(&replaced)?;
        }

        let mut done = 0;
        for (batch_ids, batch) in chunk_ids
            .chunks(EMBED_BATCH)
            .zip(chunks.chunks(EMBED_BATCH))
        {
            let t = Instant::now();
            let vectors = self
                .embedder()?
                .embed(batch.iter().map(|c| c.text.clone()).collect())?;
            report.stages.embed += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let items: Vec<(i64, Vec<f32>)> = batch_ids.iter().copied().zip(vectors).collect();
            self.index()?.expect("model adopted").add(&items)?;
            report.stages.index += t.elapsed().as_secs_f64();
            done += batch.len();
            progress.on_event(AddEvent::Embedding {
                path,
                chunks_done: done,
                chunks_total: chunks.len(),
            });
        }
        pending.push(id);
        report.pages += pdf.pages.len() as u64;
        report.chunks += chunks.len() as u64;
        Ok(FileOutcome {
            path: path.to_path_buf(),
            status: if existed {
                AddStatus::Replaced
            } else {
                AddStatus::Added
            },
            document_id: Some(id),
            pages: pdf.pages.len() as u32,
            chunks: chunks.len() as u64,
            error_kind: None,
            error: None,
        })
    }

    /// Saves the vector index, then marks the documents whose vectors it now holds as ready.
    fn checkpoint(&mut self, pending: &mut Vec<i64>, stages: &mut StageTimes) -> Result<()> {
        let t = Instant::now();
        if let Some(index) = self.index()? {
            index.save()?;
        }
        stages.index += t.elapsed().as_secs_f64();
        let t = Instant::now();
        self.store.set_status(pending, DocStatus::Ready)?;
        stages.store += t.elapsed().as_secs_f64();
        pending.clear();
        Ok(())
    }

    /// All documents, oldest first.
    pub fn documents(&self) -> Result<Vec<Document>> {
        self.store.documents()
    }

    /// Finds a document by id or by path.
    pub fn find_document(&self, id_or_path: &str) -> Result<Option<Document>> {
        if let Ok(id) = id_or_path.parse::<i64>() {
            if let Some(doc) = self.store.document(id)? {
                return Ok(Some(doc));
            }
        }
        if let Some(doc) = self.store.document_by_path(id_or_path)? {
            return Ok(Some(doc));
        }
        match std::fs::canonicalize(id_or_path) {
            Ok(p) => self.store.document_by_path(&p.to_string_lossy()),
            Err(_) => Ok(None),
        }
    }

    /// Removes a document with its chunks and vectors.
    pub fn remove(&mut self, id: i64) -> Result<()> {
        self.require_writable()?;
        self.store.set_meta("dirty", "1")?;
        let chunks = self.store.remove_document(id)?;
        if let Some(index) = self.index()? {
            index.remove(&chunks)?;
            index.save()?;
        }
        self.store.set_meta("dirty", "0")?;
        Ok(())
    }

    /// Hybrid search: dense and keyword candidates fused by reciprocal rank fusion.
    pub fn search(&mut self, query: &str, k: usize, docs: &[i64]) -> Result<Vec<SearchHit>> {
        self.search_with(query, k, docs, SearchMode::Hybrid)
    }

    pub fn search_with(
        &mut self,
        query: &str,
        k: usize,
        docs: &[i64],
        mode: SearchMode,
    ) -> Result<Vec<SearchHit>> {
        // The question is embedded on the embedding thread while BM25 runs here.
        let pending = match mode {
            SearchMode::Keyword => None,
            _ => Some(self.submit_query(query)?),
        };
        let keyword = self.keyword_candidates(query, k, docs, mode)?;
        let vector = match pending {
            Some(p) => p.wait()?.pop(),
            None => None,
        };
        self.fuse(vector.as_deref(), keyword, k, docs, mode)
    }

    /// Search with the query's vector already made (needed unless `mode` is keyword only).
    pub(crate) fn search_by(
        &mut self,
        query: &str,
        vector: Option<&[f32]>,
        k: usize,
        docs: &[i64],
        mode: SearchMode,
    ) -> Result<Vec<SearchHit>> {
        let keyword = self.keyword_candidates(query, k, docs, mode)?;
        self.fuse(vector, keyword, k, docs, mode)
    }

    /// How many candidates each retriever gives the fusion.
    fn candidates(k: usize) -> usize {
        (k * 5).max(50)
    }

    /// BM25's candidates, best first (none in dense-only mode).
    fn keyword_candidates(
        &self,
        query: &str,
        k: usize,
        docs: &[i64],
        mode: SearchMode,
    ) -> Result<Vec<i64>> {
        if mode == SearchMode::Dense {
            return Ok(Vec::new());
        }
        self.store
            .keyword_search(&query_terms(query), Self::candidates(k), docs)
    }

    /// Dense candidates for `vector`, fused with the keyword candidates by reciprocal rank, and
    /// the passages read back.
    fn fuse(
        &mut self,
        vector: Option<&[f32]>,
        keyword: Vec<i64>,
        k: usize,
        docs: &[i64],
        mode: SearchMode,
    ) -> Result<Vec<SearchHit>> {
        let dense = match vector {
            Some(v) if mode != SearchMode::Keyword => {
                self.dense_search(v, Self::candidates(k), docs)?
            }
            _ => Vec::new(),
        };
        let dense_ids: Vec<i64> = dense.iter().map(|d| d.0).collect();
        let similarity: HashMap<i64, f32> = dense.into_iter().collect();
        let fused = reciprocal_rank_fusion(&[&dense_ids, &keyword], k);
        let scores: HashMap<i64, f64> = fused.iter().copied().collect();
        let ids: Vec<i64> = fused.iter().map(|f| f.0).collect();
        Ok(self
            .store
            .chunks(&ids)?
            .into_iter()
            .map(|chunk| SearchHit {
                score: scores[&chunk.id],
                similarity: similarity.get(&chunk.id).copied(),
                chunk,
            })
            .collect())
    }

    /// Fails when the stored vectors come from another embedding model than the loaded one.
    fn check_query_model(&mut self) -> Result<()> {
        let info = self.embedder()?.info().clone();
        if let Some(stored) = self.store.meta("embedding_model")? {
            if stored != info.id() {
                return Err(Error::ModelMismatch(format!(
                    "this library was indexed with the embedding model {stored}, not {}; run \
                     `quire add` to index it again with the current model",
                    info.id()
                )));
            }
        }
        Ok(())
    }

    /// The query's vector, after checking that the stored vectors come from the same model.
    pub(crate) fn embed_query(&mut self, query: &str) -> Result<Vec<f32>> {
        self.submit_query(query)?
            .wait()?
            .pop()
            .ok_or_else(|| Error::Embedding("no vector for the question".into()))
    }

    /// Starts embedding the query on the embedding thread (model checked first).
    fn submit_query(&mut self, query: &str) -> Result<crate::embed::PendingEmbedding> {
        self.check_query_model()?;
        self.embedder()?.submit(vec![query.to_string()])
    }

    /// Nearest chunks of ready documents (all, or those in `docs`) with their cosine
    /// similarity, best first.
    pub(crate) fn dense_search(
        &mut self,
        vector: &[f32],
        count: usize,
        docs: &[i64],
    ) -> Result<Vec<(i64, f32)>> {
        let allowed = if docs.is_empty() {
            None
        } else {
            Some(self.store.ready_chunk_filter(docs)?)
        };
        let Some(index) = self.index()? else {
            return Ok(Vec::new());
        };
        index.search(vector, count, allowed.as_ref())
    }

    /// Models, device, counts and a consistency check.
    pub fn status(&mut self) -> Result<LibraryStatus> {
        let embedding_dir = self.options.embedding_model_dir();
        let embedding_problem = match ModelFiles::locate(&embedding_dir).and_then(|f| f.info()) {
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        let answer_path = self.options.answer_model_path();
        let answer_problem =
            (!answer_path.is_file()).then(|| format!("no file {}", answer_path.display()));
        let (device, device_warning) = match select_device(self.options.device) {
            Ok(d) => (d.name, d.warning),
            Err(e) => ("none".to_string(), Some(e.to_string())),
        };
        let documents = self.store.documents()?;
        let mut counts: HashMap<&'static str, u64> = HashMap::new();
        for doc in &documents {
            *counts.entry(doc.status.as_str()).or_default() += 1;
        }
        let chunks = self.store.chunk_count()?;
        let keyword_rows = self.store.keyword_rows()?;
        let mut problems = Vec::new();
        let check = self.store.quick_check()?;
        if check != "ok" {
            problems.push(format!("database check: {check}"));
        }
        if keyword_rows != chunks {
            problems.push(format!(
                "{chunks} chunks but {keyword_rows} keyword index rows"
            ));
        }
        let chunk_ids = self.store.chunk_ids()?;
        let ready: HashSet<i64> = documents
            .iter()
            .filter(|d| d.status == DocStatus::Ready)
            .map(|d| d.id)
            .collect();
        let vectors = match self.index()? {
            Some(index) => {
                let missing = chunk_ids
                    .iter()
                    .filter(|(c, d)| ready.contains(d) && !index.contains(*c))
                    .count();
                if missing > 0 {
                    problems.push(format!(
                        "{missing} chunks of ready documents have no vector"
                    ));
                }
                let with_vectors = chunk_ids.iter().filter(|(c, _)| index.contains(*c)).count();
                if index.len() > with_vectors {
                    problems.push(format!(
                        "{} vectors belong to no chunk",
                        index.len() - with_vectors
                    ));
                }
                index.len() as u64
            }
            None => {
                if chunks > 0 {
                    problems.push(format!("{chunks} chunks but no vector index"));
                }
                0
            }
        };
        if self.is_writable() {
            let stuck = counts.get("indexing").copied().unwrap_or(0);
            if stuck > 0 {
                problems.push(format!("{stuck} documents are stuck in indexing"));
            }
        }
        Ok(LibraryStatus {
            library_dir: self.options.dir.clone(),
            models_dir: self.options.models_dir.clone(),
            embedding_model: ModelStatus {
                path: embedding_dir,
                present: embedding_problem.is_none(),
                problem: embedding_problem,
            },
            indexed_with: self.store.meta("embedding_model")?,
            answer_model: ModelStatus {
                path: answer_path,
                present: answer_problem.is_none(),
                problem: answer_problem,
            },
            device,
            device_warning,
            documents: counts,
            chunks,
            vectors,
            keyword_rows,
            problems,
            writable: self.is_writable(),
        })
    }
}

enum Plan {
    Done(FileOutcome),
    Index(FileStamp, bool),
}

/// The outcome for a file whose content is already in the library, or None when it must be
/// indexed again (interrupted, or failed for a reason that may pass, like a time limit).
fn unchanged_outcome(path: &Path, doc: &Document) -> Option<FileOutcome> {
    let (status, error) = match doc.status {
        DocStatus::Ready => (AddStatus::Unchanged, None),
        DocStatus::Failed
            if !matches!(
                doc.error_kind,
                Some(FailureKind::TimedOut | FailureKind::Unreadable)
            ) =>
        {
            (AddStatus::Failed, doc.error.clone())
        }
        _ => return None,
    };
    Some(FileOutcome {
        path: path.to_path_buf(),
        status,
        document_id: Some(doc.id),
        pages: doc.pages,
        chunks: doc.chunks,
        error_kind: doc.error_kind,
        error,
    })
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn file_stamp(path: &Path) -> std::io::Result<FileStamp> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(FileStamp {
        sha256,
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
    })
}

/// Expands folders (recursively, `*.pdf` in any case, sorted) and canonicalises paths. Paths
/// that do not exist come back separately with a sentence saying so.
fn collect_pdfs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for path in paths {
        match std::fs::canonicalize(path) {
            Ok(p) if p.is_dir() => walk(&p, &mut files),
            Ok(p) => files.push(p),
            Err(e) => missing.push((path.clone(), format!("cannot open {}: {e}", path.display()))),
        }
    }
    (files, missing)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            out.push(path);
        }
    }
}

/// Takes an exclusive advisory lock on `path`; None when another process holds it.
fn try_lock(path: &Path) -> Result<Option<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Ok(None);
        }
    }
    Ok(Some(file))
}
