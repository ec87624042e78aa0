//! The embedded library: an SQLite database and a usearch vector file in a folder, with an
//! advisory write lock, shared by every job of an [`crate::Engine`] from any thread.
//!
//! The database is the source of truth; the vector index follows it, and a crash between the
//! two is repaired on the next open ([`Embedded::reconcile`]). One connection serves the whole
//! process: every database operation is short, so a lock held for each is never held long.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};

use super::{Locks, Storage};
use crate::chunk::Chunk;
use crate::conversation::{Conversation, Exchange, StoredMessage};
use crate::embed::ModelInfo;
use crate::error::{Error, Result};
use crate::extract::{FailureKind, OcrLayer, Page};
use crate::generate::Message;
use crate::index::{file_checksum, Precision, VectorIndex};
use crate::store::{DocStatus, Document, FileStamp, Pages, Store, StoredChunk};

const DATABASE_FILE: &str = "library.sqlite";
const INDEX_FILE: &str = "vectors.usearch";
const LOCK_FILE: &str = "library.lock";

pub struct Embedded {
    dir: PathBuf,
    precision: Precision,
    store: Mutex<Store>,
    /// `None` until the first vector's dimensions are known (or before its first use).
    index: RwLock<Option<VectorIndex>>,
    /// Holds the advisory write lock for the library's lifetime; `None`: read-only.
    lock: Option<File>,
    locks: Locks,
    /// What was wrong with the vector file when it was opened ("missing", "damaged"): the
    /// index started empty, and the next `add` embeds the stored chunks again.
    vectors_problem: Mutex<Option<String>>,
    /// Opened from storage Quire cannot write to.
    read_only: bool,
}

impl Embedded {
    pub fn open(dir: &Path, precision: Precision) -> Result<Embedded> {
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
        let library = Embedded {
            dir: dir.to_path_buf(),
            precision,
            store: Mutex::new(store),
            index: RwLock::new(None),
            lock,
            locks: Locks::default(),
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
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After the vector file was found missing or damaged (and set aside), every ready
    /// document waits for its vectors again. Call with the change lock held.
    fn queue_lost_vectors(&self) -> Result<()> {
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

    /// The vector file is whole again.
    fn vectors_repaired(&self) {
        *self.problem_slot() = None;
    }

    /// Saves the vector index when it has changed and records the saved file's checksum.
    fn save_index(&self) -> Result<()> {
        self.ensure_index()?;
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        match slot.as_mut() {
            Some(index) => save_recorded(index, &self.store()),
            None => Ok(()),
        }
    }

    /// Runs `f` on the vector index (`None` before the first vector), with reading access.
    fn read_index<R>(&self, f: impl FnOnce(Option<&VectorIndex>) -> Result<R>) -> Result<R> {
        self.ensure_index()?;
        f(self
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref())
    }

    /// Runs `f` on the vector index when there is one; `None` when there is none yet.
    fn write_index<R>(&self, f: impl FnOnce(&mut VectorIndex) -> Result<R>) -> Result<Option<R>> {
        self.ensure_index()?;
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        slot.as_mut().map(f).transpose()
    }

    /// Brings database and vector index into agreement after a crash: documents a Quire from
    /// before two-phase indexing left half-stored are cleared and marked interrupted (the next
    /// `add` redoes them); ready documents whose vectors were not all saved wait for them again
    /// (the next `add` or the window embeds them), those whose vectors all were are embedded;
    /// vectors without a chunk are removed.
    fn reconcile(&self) -> Result<()> {
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

impl Storage for Embedded {
    fn locks(&self) -> &Locks {
        &self.locks
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// None while another process holds the library.
    fn begin_change(&self) -> Result<MutexGuard<'_, ()>> {
        if self.read_only {
            return Err(Error::ReadOnly(self.dir.clone()));
        }
        if self.lock.is_none() {
            return Err(Error::Busy(self.dir.clone()));
        }
        Ok(self.locks.change())
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.store().meta(key)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.store().set_meta(key, value)
    }

    fn adopt_model(&self, info: &ModelInfo) -> Result<()> {
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

    /// Marks the library dirty (repaired on the next open should this process die before the
    /// vectors are saved) and queues again the vectors of a vector file found lost.
    fn begin_add(&self) -> Result<()> {
        self.store().set_meta("dirty", "1")?;
        self.queue_lost_vectors()
    }

    fn embedding_finished(&self) -> Result<()> {
        if self.store().chunks_waiting()? != 0 {
            return Ok(());
        }
        self.vectors_repaired();
        let _changing = self.begin_change()?;
        self.store().set_meta("dirty", "0")
    }

    fn documents(&self) -> Result<Vec<Document>> {
        self.store().documents()
    }

    fn document(&self, id: i64) -> Result<Option<Document>> {
        self.store().document(id)
    }

    fn document_by_path(&self, path: &str) -> Result<Option<Document>> {
        self.store().document_by_path(path)
    }

    fn document_counts(&self) -> Result<Vec<(DocStatus, u64)>> {
        self.store().document_counts()
    }

    fn ready_documents(&self) -> Result<u64> {
        self.store().ready_documents()
    }

    fn documents_waiting(&self) -> Result<u64> {
        self.store().documents_waiting()
    }

    fn put_document(
        &self,
        path: &str,
        title: &str,
        stamp: &FileStamp,
        pages: Pages,
        chunks: &[Chunk],
        queued: i64,
    ) -> Result<i64> {
        let (id, _, replaced) = self
            .store()
            .put_document(path, title, stamp, pages, chunks, queued)?;
        self.write_index(|index| index.remove(&replaced))?;
        Ok(id)
    }

    fn put_failure(
        &self,
        path: &str,
        title: &str,
        stamp: &FileStamp,
        kind: FailureKind,
        message: &str,
    ) -> Result<i64> {
        let (id, replaced) = self
            .store()
            .put_failure(path, title, stamp, kind, message)?;
        self.write_index(|index| index.remove(&replaced))?;
        Ok(id)
    }

    fn replace_chunks(&self, id: i64, chunks: &[Chunk], queued: i64) -> Result<()> {
        self.store().replace_chunks(id, chunks, queued)
    }

    /// The database first (marked dirty meanwhile), then the vectors, saved.
    fn remove_document(&self, id: i64) -> Result<()> {
        self.store().set_meta("dirty", "1")?;
        let chunks = self.store().remove_document(id)?;
        self.write_index(|index| index.remove(&chunks))?;
        self.save_index()?;
        self.store().set_meta("dirty", "0")
    }

    fn pages(&self, document_id: i64) -> Result<Vec<Page>> {
        self.store().pages(document_id)
    }

    fn page_text(&self, document_id: i64, page: u32) -> Result<Option<String>> {
        self.store().page_text(document_id, page)
    }

    fn page_ocr(&self, document_id: i64, page: u32) -> Result<Option<OcrLayer>> {
        self.store().page_ocr(document_id, page)
    }

    fn chunks(&self, ids: &[i64]) -> Result<Vec<StoredChunk>> {
        self.store().chunks(ids)
    }

    fn chunk_count(&self) -> Result<u64> {
        self.store().chunk_count()
    }

    fn next_queue_number(&self) -> Result<i64> {
        self.store().next_queue_number()
    }

    fn embedding_queue(&self) -> Result<Vec<(i64, Vec<i64>)>> {
        self.store().embedding_queue()
    }

    fn chunks_waiting(&self) -> Result<u64> {
        self.store().chunks_waiting()
    }

    fn texts_of(&self, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        self.store().texts_of(ids)
    }

    fn sample_texts(&self, count: u64) -> Result<Vec<String>> {
        self.store().sample_texts(count)
    }

    fn cjk_chunks(&self, ids: &[i64]) -> Result<HashSet<i64>> {
        self.store().cjk_chunks(ids)
    }

    fn missing_vectors(&self, chunks: &[i64]) -> Result<Vec<i64>> {
        self.read_index(|index| {
            Ok(chunks
                .iter()
                .copied()
                .filter(|&c| !index.is_some_and(|i| i.contains(c)))
                .collect())
        })
    }

    fn add_vectors(&self, items: &[(i64, Vec<f32>)]) -> Result<()> {
        self.write_index(|index| index.add(items))?;
        Ok(())
    }

    /// Saves the vector file, then marks the documents — only those whose chunks all have
    /// their vectors: one replaced meanwhile has new chunks waiting.
    fn checkpoint(&self, finished: &[i64]) -> Result<()> {
        self.save_index()?;
        let chunks = self.store().chunk_ids_of(finished)?;
        let whole: Vec<i64> = self.read_index(|index| {
            Ok(finished
                .iter()
                .copied()
                .filter(|doc| {
                    chunks
                        .iter()
                        .filter(|(_, d)| d == doc)
                        .all(|(c, _)| index.is_some_and(|i| i.contains(*c)))
                })
                .collect())
        })?;
        self.store().set_embedded(&whole, true)
    }

    fn vector_count(&self) -> Result<u64> {
        self.read_index(|index| Ok(index.map_or(0, |i| i.len() as u64)))
    }

    /// Chunks of documents still being added are in the shared index already; they are left
    /// out until their document is ready, as the keyword search does.
    fn nearest(&self, vector: &[f32], count: usize, docs: &[i64]) -> Result<Vec<(i64, f32)>> {
        let allowed = if docs.is_empty() {
            None
        } else {
            Some(self.store().ready_chunk_filter(docs)?)
        };
        let found = self.read_index(|index| match index {
            Some(index) => index.search(vector, count, allowed.as_ref()),
            None => Ok(Vec::new()),
        })?;
        let ids: Vec<i64> = found.iter().map(|f| f.0).collect();
        let ready = self.store().ready_among(&ids)?;
        Ok(found
            .into_iter()
            .filter(|(id, _)| ready.contains(id))
            .collect())
    }

    fn vectors_problem(&self) -> Result<Option<String>> {
        self.ensure_index()?;
        Ok(self.problem_slot().clone())
    }

    fn keyword_search(&self, terms: &[String], limit: usize, docs: &[i64]) -> Result<Vec<i64>> {
        self.store().keyword_search(terms, limit, docs)
    }

    fn has_term(&self, term: &str, docs: &[i64]) -> Result<bool> {
        self.store().has_term(term, docs)
    }

    fn has_text(&self, text: &str, docs: &[i64]) -> Result<bool> {
        self.store().has_text(text, docs)
    }

    fn keyword_rows(&self) -> Result<u64> {
        self.store().keyword_rows()
    }

    fn consistency_problems(&self) -> Result<Vec<String>> {
        let (check, chunk_ids, documents, keyword_rows) = {
            let store = self.store();
            (
                store.quick_check()?,
                store.chunk_ids()?,
                store.documents()?,
                store.keyword_rows()?,
            )
        };
        let mut problems = Vec::new();
        if check != "ok" {
            problems.push(format!("database check: {check}"));
        }
        if let Some(problem) = self.vectors_problem()? {
            problems.push(format!(
                "{problem}; it was set aside and the next add embeds the stored passages again"
            ));
        }
        let chunks = chunk_ids.len() as u64;
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
        self.read_index(|index| {
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
        if self.is_writable() {
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

    fn create_conversation(&self, title: &str) -> Result<i64> {
        self.store().create_conversation(title)
    }

    fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        self.store().conversation(id)
    }

    fn conversations(&self) -> Result<Vec<Conversation>> {
        self.store().conversations()
    }

    fn rename_conversation(&self, id: i64, title: &str) -> Result<bool> {
        self.store().rename_conversation(id, title)
    }

    fn delete_conversation(&self, id: i64) -> Result<bool> {
        self.store().delete_conversation(id)
    }

    fn recent_turns(&self, conversation_id: i64, limit: usize) -> Result<Vec<Message>> {
        self.store().recent_turns(conversation_id, limit)
    }

    fn put_exchange(&self, conversation_id: i64, exchange: &Exchange) -> Result<i64> {
        self.store().put_exchange(conversation_id, exchange)
    }

    fn messages(&self, conversation_id: i64) -> Result<Vec<StoredMessage>> {
        self.store().messages(conversation_id)
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
