//! The stored library: the SQLite database, the vector index and the write lock, shared by
//! every job of an [`crate::Engine`] from any thread.
//!
//! The database is the source of truth; the vector index follows it, and a crash between the
//! two is repaired on the next open ([`Library::reconcile`]). One connection serves the whole
//! process: every database operation is short, so a lock held for each is never held long.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, TryLockError};

use crate::embed::ModelInfo;
use crate::error::{Error, Result};
use crate::index::{file_checksum, Precision, VectorIndex};
use crate::store::{DocStatus, Document, Store};

const DATABASE_FILE: &str = "library.sqlite";
const INDEX_FILE: &str = "vectors.usearch";
const LOCK_FILE: &str = "library.lock";

pub(crate) struct Library {
    dir: PathBuf,
    precision: Precision,
    store: Mutex<Store>,
    /// `None` until the first vector's dimensions are known (or before its first use).
    index: RwLock<Option<VectorIndex>>,
    /// Holds the advisory write lock for the library's lifetime; `None`: read-only.
    lock: Option<File>,
    /// Held by the one `add` or `remove` running in this process at a time (and by the
    /// embedding for each batch).
    changing: Mutex<()>,
    /// Held by the one thread of this process that embeds waiting chunks.
    embedding: Mutex<()>,
    /// Counts documents stored, so that the embedding notices new ones (and takes them first).
    stored: AtomicU64,
    /// What was wrong with the vector file when it was opened ("missing", "damaged"): the
    /// index started empty, and the next `add` embeds the stored chunks again.
    vectors_problem: Mutex<Option<String>>,
    /// Opened from storage Quire cannot write to.
    read_only: bool,
}

impl Library {
    pub fn open(dir: &Path, precision: Precision) -> Result<Library> {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir)?;
        }
        // A library on read-only storage (a mounted archive, a folder shared read-only) is
        // opened for reading: search, list and ask work, changes say why they cannot.
        let (lock, store) = match try_lock(&dir.join(LOCK_FILE)) {
            Ok(lock) => (lock, Store::open(&dir.join(DATABASE_FILE))?),
            Err(Error::Io(e)) if is_read_only(&e) => {
                (None, Store::open_read_only(&dir.join(DATABASE_FILE))?)
            }
            Err(e) => return Err(e),
        };
        let read_only = store.is_read_only();
        let library = Library {
            dir: dir.to_path_buf(),
            precision,
            store: Mutex::new(store),
            index: RwLock::new(None),
            lock,
            changing: Mutex::new(()),
            embedding: Mutex::new(()),
            stored: AtomicU64::new(0),
            vectors_problem: Mutex::new(None),
            read_only,
        };
        if library.is_writable() && library.store().meta("dirty")?.as_deref() == Some("1") {
            // Repairing after a crash writes; on a full disk it cannot, and the library is
            // still readable (documents not repaired are not ready, so never searched). The
            // next open or add tries again.
            if let Err(e) = library.reconcile() {
                if !e.is_disk_full() {
                    return Err(e);
                }
            }
        }
        Ok(library)
    }

    /// The database. A panic while it was held leaves SQLite consistent (every change is a
    /// transaction), so a poisoned lock is still usable.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    /// The library is on storage Quire cannot write to (nothing can be saved, not even a
    /// conversation).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The right to change the library: one change at a time in this process (others wait),
    /// none while another process holds the library.
    pub fn begin_change(&self) -> Result<MutexGuard<'_, ()>> {
        if self.read_only {
            return Err(Error::ReadOnly(self.dir.clone()));
        }
        if self.lock.is_none() {
            return Err(Error::Busy(self.dir.clone()));
        }
        Ok(self.changing.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The right to embed waiting chunks; `None` while another thread of this process does.
    pub fn begin_embedding(&self) -> Option<MutexGuard<'_, ()>> {
        match self.embedding.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Passages of ready documents without a vector yet: those waiting after an `add`, or all
    /// of them while a vector file found missing or damaged is set aside.
    pub fn passages_waiting(&self) -> Result<u64> {
        if self.vectors_problem()?.is_some() {
            self.store().chunk_count()
        } else {
            self.store().chunks_waiting()
        }
    }

    /// A document was stored (its chunks wait for vectors).
    pub fn stored_more(&self) {
        self.stored.fetch_add(1, Ordering::SeqCst);
    }

    /// Changes whenever a document is stored.
    pub fn stored_generation(&self) -> u64 {
        self.stored.load(Ordering::SeqCst)
    }

    /// After the vector file was found missing or damaged (and set aside), every ready
    /// document waits for its vectors again. Call with the change lock held.
    pub fn queue_lost_vectors(&self) -> Result<()> {
        if self.vectors_problem()?.is_none() {
            return Ok(());
        }
        let mut store = self.store();
        let lost: Vec<i64> = store
            .documents()?
            .iter()
            .filter(|d| d.status == DocStatus::Ready && d.embedded)
            .map(|d| d.id)
            .collect();
        store.set_embedded(&lost, false)
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join(INDEX_FILE)
    }

    /// Opens the index file on first use, with the stored dimensions (nothing to open before
    /// the first vector).
    fn ensure_index(&self) -> Result<()> {
        if self
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            return Ok(());
        }
        let Some(dims) = self
            .store()
            .meta("dimensions")?
            .and_then(|d| d.parse().ok())
        else {
            return Ok(());
        };
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let path = self.index_path();
            let (expected, previous) = {
                let store = self.store();
                (
                    store.meta("index_checksum")?.filter(|c| !c.is_empty()),
                    store.meta("index_checksum_previous")?.unwrap_or_default(),
                )
            };
            let problem = match expected {
                None => None,
                // The previous file: a save was cut short after recording the new checksum.
                Some(expected) => match file_checksum(&path) {
                    Ok(actual) if actual == expected || actual == previous => None,
                    Ok(_) => Some("the vector file is damaged"),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        Some("the vector file is missing")
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            *slot = Some(match problem {
                Some(problem) => {
                    *self.problem_slot() = Some(problem.to_string());
                    VectorIndex::empty(&path, dims, self.precision)?
                }
                None => VectorIndex::open(&path, dims, self.precision)?,
            });
        }
        Ok(())
    }

    fn problem_slot(&self) -> MutexGuard<'_, Option<String>> {
        self.vectors_problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// What was found wrong with the vector file on opening it (it was then set aside and the
    /// stored chunks need embedding again), until they have been.
    pub fn vectors_problem(&self) -> Result<Option<String>> {
        self.ensure_index()?;
        Ok(self.problem_slot().clone())
    }

    /// The vector file is whole again.
    pub fn vectors_repaired(&self) {
        *self.problem_slot() = None;
    }

    /// Saves the vector index when it has changed and records the saved file's checksum.
    pub fn save_index(&self) -> Result<()> {
        self.ensure_index()?;
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(index) => save_recorded(index, &self.store()),
            None => Ok(()),
        }
    }

    /// Runs `f` on the vector index (`None` before the first vector), with reading access.
    pub fn read_index<R>(&self, f: impl FnOnce(Option<&VectorIndex>) -> Result<R>) -> Result<R> {
        self.ensure_index()?;
        f(self
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref())
    }

    /// Runs `f` on the vector index when there is one; `None` when there is none yet.
    pub fn write_index<R>(
        &self,
        f: impl FnOnce(&mut VectorIndex) -> Result<R>,
    ) -> Result<Option<R>> {
        self.ensure_index()?;
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        slot.as_mut().map(f).transpose()
    }

    /// Finds a document by id or by path.
    pub fn find_document(&self, id_or_path: &str) -> Result<Option<Document>> {
        let store = self.store();
        if let Ok(id) = id_or_path.parse::<i64>() {
            if let Some(doc) = store.document(id)? {
                return Ok(Some(doc));
            }
        }
        if let Some(doc) = store.document_by_path(id_or_path)? {
            return Ok(Some(doc));
        }
        match std::fs::canonicalize(id_or_path) {
            Ok(p) => store.document_by_path(&p.to_string_lossy()),
            Err(_) => Ok(None),
        }
    }

    /// Fails when the stored vectors come from another embedding model than `info`'s.
    pub fn check_model(&self, info: &ModelInfo) -> Result<()> {
        match self.store().meta("embedding_model")? {
            Some(stored) if stored != info.id() => Err(Error::ModelMismatch {
                stored,
                loaded: info.id(),
            }),
            _ => Ok(()),
        }
    }

    /// Makes sure the stored vectors come from `info`'s model. On a change of model the vectors
    /// go (vectors of two models never mix) and the library is marked for chunking again with
    /// the new model's tokenizer ([`Library::rechunk_pending`]): its documents stay, searchable
    /// by words, their text stored.
    pub fn adopt_model(&self, info: &ModelInfo) -> Result<()> {
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        let store = self.store();
        let current = store.meta("embedding_model")?;
        if current.as_deref() == Some(info.id().as_str()) {
            return Ok(());
        }
        if current.is_some() {
            *slot = None;
            let _ = std::fs::remove_file(self.index_path());
            store.set_meta("index_checksum", "")?;
            store.set_meta("rechunk", "1")?;
        }
        store.set_meta("embedding_model", &info.id())?;
        store.set_meta("dimensions", &info.dimensions.to_string())?;
        *slot = Some(VectorIndex::open(
            &self.index_path(),
            info.dimensions,
            self.precision,
        )?);
        Ok(())
    }

    /// Whether the documents' chunks were made for an earlier embedding model and must be made
    /// again from their stored pages (set by [`Library::adopt_model`], cleared once done: a
    /// run stopped half-way does it again).
    pub fn rechunk_pending(&self) -> Result<bool> {
        Ok(self.store().meta("rechunk")?.as_deref() == Some("1"))
    }

    pub fn rechunk_done(&self) -> Result<()> {
        self.store().set_meta("rechunk", "0")
    }

    /// Brings database and vector index into agreement after a crash: documents a Quire from
    /// before two-phase indexing left half-stored are cleared and marked interrupted (the next
    /// `add` redoes them); ready documents whose vectors were not all saved wait for them again
    /// (the next `add` or the window embeds them), those whose vectors all were are embedded;
    /// vectors without a chunk are removed.
    pub fn reconcile(&self) -> Result<()> {
        self.ensure_index()?;
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        let mut store = self.store();
        let documents = store.documents()?;
        let Some(index) = slot.as_mut() else {
            for doc in documents.iter().filter(|d| d.status == DocStatus::Indexing) {
                store.clear_document(doc.id, DocStatus::Interrupted)?;
            }
            return store.set_meta("dirty", "0");
        };
        let incomplete: HashSet<i64> = store
            .chunk_ids()?
            .into_iter()
            .filter(|&(chunk, _)| !index.contains(chunk))
            .map(|(_, doc)| doc)
            .collect();
        let (mut waiting, mut complete, mut now_ready) = (Vec::new(), Vec::new(), Vec::new());
        for doc in &documents {
            let whole = !incomplete.contains(&doc.id);
            match doc.status {
                DocStatus::Indexing if whole => {
                    now_ready.push(doc.id);
                    complete.push(doc.id);
                }
                DocStatus::Indexing => {
                    let stale = store.clear_document(doc.id, DocStatus::Interrupted)?;
                    index.remove(&stale)?;
                }
                DocStatus::Ready if whole && !doc.embedded => complete.push(doc.id),
                DocStatus::Ready if !whole && doc.embedded => waiting.push(doc.id),
                _ => {}
            }
        }
        store.set_status(&now_ready, DocStatus::Ready)?;
        store.set_embedded(&complete, true)?;
        store.set_embedded(&waiting, false)?;
        let live: HashSet<i64> = store.chunk_ids()?.into_iter().map(|(c, _)| c).collect();
        if index.len() > live.len() {
            let orphans: Vec<i64> = (1..=store.max_chunk_id()?)
                .filter(|k| !live.contains(k) && index.contains(*k))
                .collect();
            index.remove(&orphans)?;
        }
        save_recorded(index, &store)?;
        // Still dirty while chunks wait: the index may then lag the database until they have
        // their vectors.
        let waiting = store.chunks_waiting()?;
        store.set_meta("dirty", if waiting == 0 { "0" } else { "1" })
    }
}

/// Saves `index` when it has changed and records the checksum of the file written, which the
/// next open compares before loading it. The new checksum is recorded before the new file
/// replaces the old one, and the old one is kept as the previous: a process killed at any
/// moment leaves a file whose checksum is one of the two.
fn save_recorded(index: &mut VectorIndex, store: &Store) -> Result<()> {
    let previous = store.meta("index_checksum")?.unwrap_or_default();
    index.save_with(|checksum| {
        store.set_meta("index_checksum_previous", &previous)?;
        store.set_meta("index_checksum", checksum)
    })?;
    Ok(())
}

/// Whether an error opening a file for writing means the storage is read-only to us.
fn is_read_only(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::PermissionDenied
        || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
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
