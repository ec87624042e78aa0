//! The storage seam: everything the engine keeps — documents, their pages and chunks, the
//! keyword index, the vectors, conversations — behind one interface, [`Storage`], with two
//! implementations:
//!
//! - [`Embedded`]: SQLite (text, metadata, FTS5 keyword index) with a usearch HNSW file for the
//!   vectors, in a folder on this machine. The desktop default: no server, offline.
//! - [`Postgres`]: one PostgreSQL database with pgvector (HNSW over the chunks' vectors) and
//!   PostgreSQL's full-text search over Quire's keyword form of each chunk (lower case, CJK as
//!   bigrams, so Chinese and Japanese match as they do in SQLite). A team library that several
//!   processes share.
//!
//! The jobs ([`crate::ingest`], [`crate::retrieve`], [`crate::ask`], [`crate::status`]) see
//! only this trait. Both implementations keep the same guarantees, checked by one test suite
//! run against each (`tests/storage.rs`): a document is stored whole or not at all, chunk ids
//! are never reused, a path is stored once, a crash loses nothing committed, and the same data
//! gives the same results.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use crate::chunk::Chunk;
use crate::conversation::{Conversation, Exchange, StoredMessage};
use crate::embed::ModelInfo;
use crate::error::{Error, Result};
use crate::extract::{FailureKind, OcrLayer, Page};
use crate::generate::Message;
use crate::store::{DocStatus, Document, FileStamp, Pages, StoredChunk};

mod embedded;
mod postgres;

pub use embedded::Embedded;
pub use postgres::{without_password, Postgres};

/// Where a library is kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Backend {
    /// In the library folder: SQLite and a vector file.
    #[default]
    Embedded,
    /// In a PostgreSQL database with pgvector (`postgresql://user@host:port/db`).
    Postgres(String),
}

/// What one process keeps about its own work on a library, whatever the storage: the change
/// lock, the embedding lock, and a count of documents stored (so that the embedding notices
/// new ones and takes them first).
#[derive(Default)]
pub struct Locks {
    changing: Mutex<()>,
    embedding: Mutex<()>,
    stored: AtomicU64,
}

impl Locks {
    /// The change lock. A panic while it was held leaves the storage consistent (every change
    /// is a transaction), so a poisoned lock is still usable.
    pub fn change(&self) -> MutexGuard<'_, ()> {
        self.changing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A library's storage. Every method is safe to call from any thread; each is one short step
/// (one transaction where it writes).
pub trait Storage: Send + Sync {
    // ---- the library as a whole ----

    /// Where the library is, for messages: a folder, or a database URL without its password.
    fn location(&self) -> String;

    /// False when another process holds the (embedded) library for writing.
    fn is_writable(&self) -> bool;

    /// On storage Quire cannot write to at all (nothing can be saved, not even a conversation).
    fn is_read_only(&self) -> bool;

    /// This process's locks on the library.
    fn locks(&self) -> &Locks;

    /// The right to change the library: one change at a time in this process (others wait).
    fn begin_change(&self) -> Result<MutexGuard<'_, ()>> {
        Ok(self.locks().change())
    }

    /// The right to embed waiting chunks; `None` while another thread of this process does.
    fn begin_embedding(&self) -> Option<MutexGuard<'_, ()>> {
        match self.locks().embedding.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// A document was stored (its chunks wait for vectors).
    fn stored_more(&self) {
        self.locks().stored.fetch_add(1, Ordering::SeqCst);
    }

    /// Changes whenever a document is stored (by this process).
    fn stored_generation(&self) -> u64 {
        self.locks().stored.load(Ordering::SeqCst)
    }

    fn meta(&self, key: &str) -> Result<Option<String>>;
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;

    /// Fails when the stored vectors come from another embedding model than `info`'s.
    fn check_model(&self, info: &ModelInfo) -> Result<()> {
        match self.meta("embedding_model")? {
            Some(stored) if stored != info.id() => Err(Error::ModelMismatch {
                stored,
                loaded: info.id(),
            }),
            _ => Ok(()),
        }
    }

    /// Makes sure the stored vectors come from `info`'s model. On a change of model the vectors
    /// go (vectors of two models never mix) and the library is marked for chunking again with
    /// the new model's tokenizer ([`Storage::rechunk_pending`]): its documents stay, searchable
    /// by words, their text stored.
    fn adopt_model(&self, info: &ModelInfo) -> Result<()>;

    /// Whether the documents' chunks were made for an earlier embedding model and must be made
    /// again from their stored pages (set by [`Storage::adopt_model`], cleared once done: a run
    /// stopped half-way does it again).
    fn rechunk_pending(&self) -> Result<bool> {
        Ok(self.meta("rechunk")?.as_deref() == Some("1"))
    }

    fn rechunk_done(&self) -> Result<()> {
        self.set_meta("rechunk", "0")
    }

    /// An `add` begins (with the change lock held): the embedded library marks itself for
    /// repair should the process die, and queues again the vectors of a lost vector file.
    fn begin_add(&self) -> Result<()>;

    /// Every waiting chunk has its vector (with no change lock held).
    fn embedding_finished(&self) -> Result<()>;

    // ---- documents ----

    /// All documents, oldest first.
    fn documents(&self) -> Result<Vec<Document>>;
    fn document(&self, id: i64) -> Result<Option<Document>>;
    fn document_by_path(&self, path: &str) -> Result<Option<Document>>;

    /// Finds a document by id or by path (as given, or made absolute).
    fn find_document(&self, id_or_path: &str) -> Result<Option<Document>> {
        if let Ok(id) = id_or_path.parse::<i64>() {
            if let Some(doc) = self.document(id)? {
                return Ok(Some(doc));
            }
        }
        if let Some(doc) = self.document_by_path(id_or_path)? {
            return Ok(Some(doc));
        }
        match std::fs::canonicalize(id_or_path) {
            Ok(p) => self.document_by_path(&p.to_string_lossy()),
            Err(_) => Ok(None),
        }
    }

    /// How many documents are in each state (states with none are left out).
    fn document_counts(&self) -> Result<Vec<(DocStatus, u64)>>;

    /// Number of documents ready to search.
    fn ready_documents(&self) -> Result<u64>;

    /// Ready documents searchable by words only so far (waiting for their vectors).
    fn documents_waiting(&self) -> Result<u64>;

    /// Stores a freshly extracted document with its pages and chunks in one transaction, ready
    /// to search by words, its vectors queued behind those of `queued` (see
    /// [`Storage::next_queue_number`]); replaces whatever was stored for the same path (the
    /// document keeps its id, the replaced chunks' vectors go). Returns the document id.
    fn put_document(
        &self,
        path: &str,
        title: &str,
        stamp: &FileStamp,
        pages: Pages,
        chunks: &[Chunk],
        queued: i64,
    ) -> Result<i64>;

    /// Records that the file at `path` could not be read; anything stored for it before goes.
    /// Returns the document id.
    fn put_failure(
        &self,
        path: &str,
        title: &str,
        stamp: &FileStamp,
        kind: FailureKind,
        message: &str,
    ) -> Result<i64>;

    /// Replaces a ready document's chunks with `chunks` (made again from its stored pages, for
    /// another embedding model), in one transaction, waiting for vectors at place `queued`.
    fn replace_chunks(&self, id: i64, chunks: &[Chunk], queued: i64) -> Result<()>;

    /// Removes a document with its pages, chunks and vectors.
    fn remove_document(&self, id: i64) -> Result<()>;

    /// A document's stored pages, in order.
    fn pages(&self, document_id: i64) -> Result<Vec<Page>>;

    /// The stored (cleaned) text of one page.
    fn page_text(&self, document_id: i64, page: u32) -> Result<Option<String>>;

    /// What OCR read on a page; `None` for a page with a text layer (or no such page).
    fn page_ocr(&self, document_id: i64, page: u32) -> Result<Option<OcrLayer>>;

    // ---- chunks and the embedding queue ----

    /// The stored chunks with these ids (missing ids are skipped), in the order given.
    fn chunks(&self, ids: &[i64]) -> Result<Vec<StoredChunk>>;

    fn chunk_count(&self) -> Result<u64>;

    /// The number for the documents an `add` stores now: above every earlier one, so that
    /// their vectors are made first.
    fn next_queue_number(&self) -> Result<i64>;

    /// Ready documents still waiting for vectors, in the order they are to be embedded (the
    /// newest add first, then in the order they were stored), with their chunk ids.
    fn embedding_queue(&self) -> Result<Vec<(i64, Vec<i64>)>>;

    /// Chunks of ready documents still waiting for their vectors (counted by document).
    fn chunks_waiting(&self) -> Result<u64>;

    /// Passages of ready documents without a vector yet: those waiting after an `add`, or all
    /// of them while a vector file found missing or damaged is set aside.
    fn passages_waiting(&self) -> Result<u64> {
        if self.vectors_problem()?.is_some() {
            self.chunk_count()
        } else {
            self.chunks_waiting()
        }
    }

    /// The texts of these chunks, by id (for embedding); chunks gone meanwhile are skipped.
    fn texts_of(&self, ids: &[i64]) -> Result<Vec<(i64, String)>>;

    /// The texts of up to `count` chunks spread over the library.
    fn sample_texts(&self, count: u64) -> Result<Vec<String>>;

    /// Which of these chunks belong to documents written in Chinese, Japanese or Korean (at
    /// least one chunk in five of the document holds those characters).
    fn cjk_chunks(&self, ids: &[i64]) -> Result<HashSet<i64>>;

    // ---- vectors ----

    /// Those of `chunks` that have no vector.
    fn missing_vectors(&self, chunks: &[i64]) -> Result<Vec<i64>>;

    /// Stores the vectors of these chunks (unit length, the adopted model's dimensions).
    fn add_vectors(&self, items: &[(i64, Vec<f32>)]) -> Result<()>;

    /// Makes the vectors added so far durable, then marks the `finished` documents (all their
    /// vectors stored) embedded.
    fn checkpoint(&self, finished: &[i64]) -> Result<()>;

    /// Number of stored vectors.
    fn vector_count(&self) -> Result<u64>;

    /// The chunks of ready documents (all, or those in `docs`) nearest to `vector`, with their
    /// cosine similarity, best first.
    fn nearest(&self, vector: &[f32], count: usize, docs: &[i64]) -> Result<Vec<(i64, f32)>>;

    /// What was found wrong with the stored vectors on opening them (they were set aside and
    /// the stored chunks need embedding again), until they have been.
    fn vectors_problem(&self) -> Result<Option<String>>;

    // ---- keywords ----

    /// Chunk ids of ready documents (all, or those in `docs`) matching any of `terms` (see
    /// [`crate::text::query_terms`]), best first.
    fn keyword_search(&self, terms: &[String], limit: usize, docs: &[i64]) -> Result<Vec<i64>>;

    /// Whether a ready document among `docs` (none: any) has `term` (a word, matched as the
    /// keyword index matches it: lower case, stemmed; several words: next to each other, in
    /// this order).
    fn has_term(&self, term: &str, docs: &[i64]) -> Result<bool>;

    /// Whether a passage of a ready document among `docs` (none: any) holds `text` as written
    /// (ASCII case aside), for names the keyword index's stemming would match too loosely
    /// ("sysusers" is not "sysuser").
    fn has_text(&self, text: &str, docs: &[i64]) -> Result<bool>;

    /// Number of chunks in the keyword index (must equal the number of chunks).
    fn keyword_rows(&self) -> Result<u64>;

    /// Everything found inconsistent (the database's own check, chunks without vectors or
    /// keyword rows, vectors without chunks); reads every chunk id.
    fn consistency_problems(&self) -> Result<Vec<String>>;

    // ---- conversations ----

    fn create_conversation(&self, title: &str) -> Result<i64>;
    fn conversation(&self, id: i64) -> Result<Option<Conversation>>;
    /// All conversations, the most recently active first.
    fn conversations(&self) -> Result<Vec<Conversation>>;
    /// False when there is no such conversation.
    fn rename_conversation(&self, id: i64, title: &str) -> Result<bool>;
    /// False when there is no such conversation.
    fn delete_conversation(&self, id: i64) -> Result<bool>;
    /// The last `limit` messages of a conversation, oldest first (a follow-up's context).
    fn recent_turns(&self, conversation_id: i64, limit: usize) -> Result<Vec<Message>>;
    /// Stores a question and its answer; returns the answer's message id.
    fn put_exchange(&self, conversation_id: i64, exchange: &Exchange) -> Result<i64>;
    /// Every message of a conversation, oldest first.
    fn messages(&self, conversation_id: i64) -> Result<Vec<StoredMessage>>;
}
