//! SQLite storage: documents, their pages and chunks, and a keyword index over the chunks.
//!
//! The database is the source of truth; the vector index is rebuilt from it where they disagree.
//! Chunk ids come from AUTOINCREMENT and are never reused, so a stale vector can never be
//! mistaken for a newer chunk's.
//!
//! (Over 500 lines on purpose: the schema and every statement on documents, pages, chunks and
//! the keyword index stay in one file, so that storage has one place to read and to replace.)

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::chunk::Chunk;
use crate::error::{Error, Result};
use crate::extract::{FailureKind, OcrLayer, Page, WordBox};
use crate::text::keyword_form;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE documents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    path       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    pages      INTEGER NOT NULL DEFAULT 0,
    size       INTEGER NOT NULL,
    mtime_ns   INTEGER NOT NULL DEFAULT 0,
    status     TEXT NOT NULL CHECK (status IN ('indexing', 'ready', 'failed', 'interrupted')),
    error_kind TEXT,
    error      TEXT,
    added_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE pages (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (document_id, number)
) WITHOUT ROWID;
CREATE TABLE chunks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    page_start  INTEGER NOT NULL,
    page_end    INTEGER NOT NULL,
    char_start  INTEGER NOT NULL,
    char_end    INTEGER NOT NULL,
    tokens      INTEGER NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX chunks_by_document ON chunks(document_id, ordinal);
-- Contentless: the text lives in `chunks`; this holds only the keyword index of its
-- keyword_form (lower case, CJK as bigrams), with Porter stemming for English.
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    body, content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.id;
END;
"#,
    r#"
CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    -- Why an answer ended (end_of_text, max_tokens, cancelled, ...); NULL for questions.
    stop            TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
-- The sources an answer was given, as they were then: the chunk may later go away.
CREATE TABLE citations (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    cited       INTEGER NOT NULL,
    -- Cited by Quire's attribution of an answer sentence, not by the model.
    attributed  INTEGER NOT NULL DEFAULT 0,
    chunk_id    INTEGER REFERENCES chunks(id) ON DELETE SET NULL,
    document_id INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    title       TEXT NOT NULL,
    path        TEXT NOT NULL,
    page_start  INTEGER NOT NULL,
    page_end    INTEGER NOT NULL,
    char_start  INTEGER NOT NULL,
    char_end    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (message_id, n)
) WITHOUT ROWID;
CREATE INDEX citations_by_chunk ON citations(chunk_id);
CREATE INDEX citations_by_document ON citations(document_id);
CREATE TABLE quotes (
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    document_id INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    page        INTEGER NOT NULL,
    char_start  INTEGER NOT NULL,
    char_end    INTEGER NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (message_id, rank)
) WITHOUT ROWID;
CREATE INDEX quotes_by_document ON quotes(document_id);
"#,
    // An answer as checked: its outcome, sentences with their support, and what was left out
    // (JSON); NULL for questions and for answers stored before answers were checked.
    r#"
ALTER TABLE messages ADD COLUMN checked TEXT;
"#,
    // Two-phase indexing: a document is searchable by words once its text is stored, and by
    // meaning once every chunk's vector is saved (`embedded`). Chunks wait for their vectors in
    // the order of `queued` (the add that stored them; the newest first).
    r#"
ALTER TABLE documents ADD COLUMN embedded INTEGER NOT NULL DEFAULT 1;
ALTER TABLE documents ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE citations ADD COLUMN by_words_only INTEGER NOT NULL DEFAULT 0;
"#,
    // Pages read by OCR: how sure it was (0-100, the mean over words) and each word's box on
    // the page (JSON: [[start, end, x, y, w, h], ...], chars into the page's text and fractions
    // of the page's size); NULL for pages with a text layer.
    r#"
ALTER TABLE pages ADD COLUMN ocr_confidence REAL;
ALTER TABLE pages ADD COLUMN ocr_words TEXT;
"#,
];

/// Where a document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// Chunks being stored by a Quire from before two-phase indexing (a crash left it so).
    Indexing,
    /// Text, chunks and keyword index stored: searchable (by meaning too once `embedded`).
    Ready,
    Failed,
    /// A previous run stopped before it was indexed; the next `add` redoes it.
    Interrupted,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Indexing => "indexing",
            DocStatus::Ready => "ready",
            DocStatus::Failed => "failed",
            DocStatus::Interrupted => "interrupted",
        }
    }

    pub(crate) fn parse(s: &str) -> DocStatus {
        match s {
            "ready" => DocStatus::Ready,
            "failed" => DocStatus::Failed,
            "interrupted" => DocStatus::Interrupted,
            _ => DocStatus::Indexing,
        }
    }
}

/// A document as listed to the user.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Document {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub sha256: String,
    pub pages: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub status: DocStatus,
    pub error_kind: Option<FailureKind>,
    pub error: Option<String>,
    pub added_at: String,
    pub chunks: u64,
    /// Every chunk's vector is saved: the document is found by meaning too, not only by words.
    /// (Meaningful for ready documents.)
    pub embedded: bool,
    /// Pages whose text was read by OCR (scanned pages).
    pub ocr_pages: u32,
    /// Of those, the pages OCR was unsure of (mean word confidence under
    /// [`crate::extract::ocr::LOW_CONFIDENCE`]): their text may be wrong in places.
    pub uncertain_pages: u32,
}

/// A document's pages as stored: their text, and the words' boxes of those read by OCR.
#[derive(Debug, Clone, Copy)]
pub struct Pages<'a> {
    pub text: &'a [Page],
    pub ocr: &'a [OcrLayer],
}

impl<'a> Pages<'a> {
    /// Pages that all had a text layer.
    pub fn text(text: &'a [Page]) -> Pages<'a> {
        Pages { text, ocr: &[] }
    }
}

/// What identifies a file's content on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    pub sha256: String,
    pub size: u64,
    pub mtime_ns: i64,
}

/// A passage as people see it: its document's title and path, where it sits (pages, and char
/// offsets into those pages' text, so that it can be highlighted), and its text. The one
/// description of a passage that search hits, sources and citations share.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Passage {
    pub title: String,
    pub path: String,
    pub page_start: u32,
    pub page_end: u32,
    /// Offset (in chars, not UTF-16 units) of the first character in page `page_start`'s text.
    pub char_start: usize,
    /// Offset (in chars) one past the last character in page `page_end`'s text.
    pub char_end: usize,
    pub text: String,
    /// When some of its pages were read by OCR: the lowest confidence (0–100) of those pages.
    pub ocr_confidence: Option<f32>,
}

/// The passage columns of a query, in [`Passage::from_row`]'s order, for rows of `of` (a table
/// or alias with `document_id`, `page_start` and `page_end`).
pub(crate) fn passage_columns(of: &str) -> String {
    format!(
        "title, path, page_start, page_end, char_start, char_end, text,
         (SELECT min(o.ocr_confidence) FROM pages o WHERE o.document_id = {of}.document_id
            AND o.number BETWEEN {of}.page_start AND {of}.page_end)"
    )
}

impl Passage {
    /// Reads [`passage_columns`] from `row`, starting at column `at`.
    pub(crate) fn from_row(row: &rusqlite::Row, at: usize) -> rusqlite::Result<Passage> {
        Ok(Passage {
            title: row.get(at)?,
            path: row.get(at + 1)?,
            page_start: row.get(at + 2)?,
            page_end: row.get(at + 3)?,
            char_start: row.get::<_, i64>(at + 4)? as usize,
            char_end: row.get::<_, i64>(at + 5)? as usize,
            text: row.get(at + 6)?,
            ocr_confidence: row.get::<_, Option<f64>>(at + 7)?.map(|c| c as f32),
        })
    }
}

/// A stored chunk with its document, as returned by searches.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct StoredChunk {
    #[serde(rename = "chunk_id")]
    pub id: i64,
    pub document_id: i64,
    #[serde(flatten)]
    pub passage: Passage,
}

pub struct Store {
    pub(crate) conn: Connection,
}

pub(crate) const DOCUMENT_COLUMNS: &str =
    "d.id, d.path, d.title, d.sha256, d.pages, d.size, d.mtime_ns, \
     d.status, d.error_kind, d.error, d.added_at, \
     (SELECT count(*) FROM chunks c WHERE c.document_id = d.id), d.embedded, \
     (SELECT count(ocr_confidence) FROM pages p WHERE p.document_id = d.id), \
     (SELECT count(*) FROM pages p WHERE p.document_id = d.id AND p.ocr_confidence < 70.0)";
// (70.0: `LOW_CONFIDENCE`, checked by a test.)

fn document_from_row(row: &rusqlite::Row) -> rusqlite::Result<Document> {
    Ok(Document {
        id: row.get(0)?,
        path: row.get(1)?,
        title: row.get(2)?,
        sha256: row.get(3)?,
        pages: row.get(4)?,
        size: row.get::<_, i64>(5)? as u64,
        mtime_ns: row.get(6)?,
        status: DocStatus::parse(&row.get::<_, String>(7)?),
        error_kind: row
            .get::<_, Option<String>>(8)?
            .and_then(|k| FailureKind::parse(&k)),
        error: row.get(9)?,
        added_at: row.get(10)?,
        chunks: row.get::<_, i64>(11)? as u64,
        embedded: row.get::<_, i64>(12)? != 0,
        ocr_pages: row.get(13)?,
        uncertain_pages: row.get(14)?,
    })
}

/// How many migrations the database has had; a library from a newer Quire (more than this one
/// knows) is refused with a sentence saying so.
fn schema_version(conn: &Connection) -> Result<i64> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(Error::NewerLibrary { found, known });
    }
    Ok(found)
}

/// A path as the path part of an SQLite `file:` URI: '%', '?' and '#' escaped.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        // Switching a new database to WAL, or two first openers meeting, can be refused with
        // "database is locked" before the busy timeout applies: try again for a while.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open_once(path) {
                Err(Error::Database(rusqlite::Error::SqliteFailure(e, _)))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// Opens a library on storage that cannot be written: read-only and immutable (SQLite
    /// then needs no lock or WAL files beside it). Its schema must be current.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        use rusqlite::OpenFlags;
        if !path.is_file() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("there is no library database at {}", path.display()),
            )));
        }
        let uri = format!("file:{}?immutable=1", uri_path(path));
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )?;
        if schema_version(&conn)? < MIGRATIONS.len() as i64 {
            return Err(Error::ReadOnly(path.parent().unwrap_or(path).to_path_buf()));
        }
        Ok(Store { conn })
    }

    pub fn is_read_only(&self) -> bool {
        self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false)
    }

    fn open_once(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL survives a killed process (not a power cut) and keeps commits cheap.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Brings the schema up to date. Two processes opening a new library at once both see
    /// version 0: the migrations run in one IMMEDIATE transaction that reads the version again
    /// once it holds SQLite's write lock, so the second waits and then finds nothing to do.
    fn migrate(&mut self) -> Result<()> {
        let known = MIGRATIONS.len() as i64;
        if schema_version(&self.conn)? == known {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found = schema_version(&tx)?;
        for sql in MIGRATIONS.iter().skip(found as usize) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit()?;
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    pub fn documents(&self) -> Result<Vec<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d ORDER BY d.id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], document_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn document(&self, id: i64) -> Result<Option<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [id], document_from_row)
            .optional()?)
    }

    pub fn document_by_path(&self, path: &str) -> Result<Option<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.path = ?1");
        Ok(self
            .conn
            .query_row(&sql, [path], document_from_row)
            .optional()?)
    }

    /// Stores a freshly extracted document with its pages and chunks, ready to search by words,
    /// its vectors queued behind those of `queued` (the run's number, see
    /// [`Store::next_queue_number`]); replaces whatever was stored for the same path (the
    /// document keeps its id). Returns the document id, the new chunks' ids in order, and the
    /// ids of the chunks it replaced.
    pub fn put_document(
        &mut self,
        path: &str,
        title: &str,
        stamp: &FileStamp,
        pages: Pages,
        chunks: &[Chunk],
        queued: i64,
    ) -> Result<(i64, Vec<i64>, Vec<i64>)> {
        let Pages { text: pages, ocr } = pages;
        let tx = self.conn.transaction()?;
        let (id, replaced) =
            upsert_document(&tx, path, title, stamp, pages.len() as u32, "ready", None)?;
        tx.execute(
            "UPDATE documents SET embedded = ?2, queued = ?3 WHERE id = ?1",
            params![id, chunks.is_empty(), queued],
        )?;
        {
            let mut put_page = tx.prepare_cached(
                "INSERT INTO pages(document_id, number, text) VALUES (?1, ?2, ?3)",
            )?;
            for page in pages {
                put_page.execute(params![id, page.number, page.text])?;
            }
            let mut put_ocr = tx.prepare_cached(
                "UPDATE pages SET ocr_confidence = ?3, ocr_words = ?4
                 WHERE document_id = ?1 AND number = ?2",
            )?;
            for layer in ocr {
                put_ocr.execute(params![
                    id,
                    layer.page,
                    layer.confidence as f64,
                    words_json(&layer.words)
                ])?;
            }
        }
        let ids = insert_chunks(&tx, id, chunks)?;
        tx.commit()?;
        Ok((id, ids, replaced))
    }

    /// A document's stored pages, in order.
    pub fn pages(&self, document_id: i64) -> Result<Vec<Page>> {
        let mut stmt = self
            .conn
            .prepare("SELECT number, text FROM pages WHERE document_id = ?1 ORDER BY number")?;
        let rows = stmt.query_map([document_id], |r| {
            Ok(Page {
                number: r.get(0)?,
                text: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces a ready document's chunks with `chunks` (made again from its stored pages, for
    /// another embedding model), in one transaction; they wait for vectors in the embedding
    /// queue at place `queued`. (The vectors of the chunks replaced went with the old model's
    /// index.)
    pub fn replace_chunks(&mut self, id: i64, chunks: &[Chunk], queued: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        delete_chunks(&tx, id)?;
        insert_chunks(&tx, id, chunks)?;
        tx.execute(
            "UPDATE documents SET embedded = ?2, queued = ?3 WHERE id = ?1",
            params![id, chunks.is_empty(), queued],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records that the file at `path` could not be read; anything stored for it before goes.
    /// Returns the document id and the ids of the chunks it replaced.
    pub fn put_failure(
        &mut self,
        path: &str,
        title: &str,
        stamp: &FileStamp,
        kind: FailureKind,
        message: &str,
    ) -> Result<(i64, Vec<i64>)> {
        let tx = self.conn.transaction()?;
        let (id, replaced) =
            upsert_document(&tx, path, title, stamp, 0, "failed", Some((kind, message)))?;
        tx.commit()?;
        Ok((id, replaced))
    }

    pub fn set_status(&mut self, ids: &[i64], status: DocStatus) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE documents SET status = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                 WHERE id = ?1",
            )?;
            for id in ids {
                stmt.execute(params![id, status.as_str()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks documents as having (or, after a lost vector file, not having) all their vectors.
    pub fn set_embedded(&mut self, ids: &[i64], embedded: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("UPDATE documents SET embedded = ?2 WHERE id = ?1")?;
            for id in ids {
                stmt.execute(params![id, embedded])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The number for the documents an `add` stores now: above every earlier one, so that
    /// their vectors are made first.
    pub fn next_queue_number(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(queued), 0) + 1 FROM documents",
            [],
            |r| r.get(0),
        )?)
    }

    /// Ready documents still waiting for vectors, in the order they are to be embedded (the
    /// newest add first, then in the order they were stored), with their chunk ids.
    pub fn embedding_queue(&self) -> Result<Vec<(i64, Vec<i64>)>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, c.id FROM documents d JOIN chunks c ON c.document_id = d.id
             WHERE d.status = 'ready' AND d.embedded = 0
             ORDER BY d.queued DESC, d.id, c.ordinal",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out: Vec<(i64, Vec<i64>)> = Vec::new();
        for row in rows {
            let (doc, chunk) = row?;
            match out.last_mut() {
                Some((d, chunks)) if *d == doc => chunks.push(chunk),
                _ => out.push((doc, vec![chunk])),
            }
        }
        Ok(out)
    }

    /// Chunks of ready documents still waiting for their vectors (counted by document: some
    /// may have theirs already, saved at a checkpoint).
    pub fn chunks_waiting(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE d.status = 'ready' AND d.embedded = 0",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Ready documents searchable by words only so far (waiting for their vectors).
    pub fn documents_waiting(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM documents WHERE status = 'ready' AND embedded = 0",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// The texts of these chunks, by id (for embedding).
    pub fn texts_of(&self, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT text FROM chunks WHERE id = ?1")?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(text) = stmt.query_row([id], |r| r.get(0)).optional()? {
                out.push((id, text));
            }
        }
        Ok(out)
    }

    /// Deletes a document's chunks and pages (keeping the document row) and gives it `status`.
    /// Returns the deleted chunk ids.
    pub fn clear_document(&mut self, id: i64, status: DocStatus) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let ids = delete_contents(&tx, id)?;
        tx.execute(
            "UPDATE documents SET status = ?2, pages = 0 WHERE id = ?1",
            params![id, status.as_str()],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Removes a document entirely; returns its chunk ids.
    pub fn remove_document(&mut self, id: i64) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let ids = delete_contents(&tx, id)?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(ids)
    }

    /// Every chunk id with its document id, in id order.
    pub fn chunk_ids(&self) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, document_id FROM chunks ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The chunk ids of these documents, each with its document id.
    pub fn chunk_ids_of(&self, docs: &[i64]) -> Result<Vec<(i64, i64)>> {
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT c.id, c.document_id FROM chunks c WHERE 1 {}",
            document_filter(docs)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The largest chunk id ever handed out (AUTOINCREMENT's high-water mark).
    pub fn max_chunk_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'chunks'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// The stored chunks with these ids (missing ids are skipped), in the order given.
    pub fn chunks(&self, ids: &[i64]) -> Result<Vec<StoredChunk>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id, document_id, {} FROM (
                 SELECT c.id, c.document_id, d.title, d.path, c.page_start, c.page_end,
                        c.char_start, c.char_end, c.text
                 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1) AS p",
            passage_columns("p")
        ))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = stmt
                .query_row([id], |r| {
                    Ok(StoredChunk {
                        id: r.get(0)?,
                        document_id: r.get(1)?,
                        passage: Passage::from_row(r, 2)?,
                    })
                })
                .optional()?;
            out.extend(row);
        }
        Ok(out)
    }

    /// Which of these chunk ids belong to ready documents.
    pub fn ready_among(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.id = ?1 AND d.status = 'ready'",
        )?;
        let mut out = std::collections::HashSet::new();
        for id in ids {
            if let Some(id) = stmt.query_row([id], |r| r.get(0)).optional()? {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// Chunk ids of ready documents matching any of `terms`, best BM25 first.
    pub fn keyword_search(&self, terms: &[String], limit: usize, docs: &[i64]) -> Result<Vec<i64>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" OR ");
        let filter = document_filter(docs);
        let sql = format!(
            "SELECT c.id FROM chunks_fts f
             JOIN chunks c ON c.id = f.rowid
             JOIN documents d ON d.id = c.document_id
             WHERE chunks_fts MATCH ?1 AND d.status = 'ready' {filter}
             ORDER BY bm25(chunks_fts) LIMIT ?2"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![query, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether a passage of a ready document among `docs` (none: any) holds `text` as written,
    /// ASCII case aside (SQLite's LIKE).
    pub fn has_text(&self, text: &str, docs: &[i64]) -> Result<bool> {
        let filter = document_filter(docs);
        let sql = format!(
            "SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.text LIKE ?1 ESCAPE '\\' AND d.status = 'ready' {filter} LIMIT 1"
        );
        Ok(self
            .conn
            .query_row(&sql, [like_pattern(text)], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Whether a ready document among `docs` (none: any) has `term` (a word, matched as the
    /// keyword index matches it: lower case, stemmed; several words: as a phrase).
    pub fn has_term(&self, term: &str, docs: &[i64]) -> Result<bool> {
        let filter = document_filter(docs);
        let sql = format!(
            "SELECT 1 FROM chunks_fts f
             JOIN chunks c ON c.id = f.rowid
             JOIN documents d ON d.id = c.document_id
             WHERE chunks_fts MATCH ?1 AND d.status = 'ready' {filter} LIMIT 1"
        );
        let query = format!("\"{}\"", term.replace('"', "\"\""));
        Ok(self
            .conn
            .query_row(&sql, [query], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Ids of ready documents' chunks among `ids` (filters dense hits the same way).
    pub fn ready_chunk_filter(&self, docs: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let filter = document_filter(docs);
        let sql = format!(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE d.status = 'ready' {filter}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of rows in the keyword index (must equal the number of chunks).
    pub fn keyword_rows(&self) -> Result<u64> {
        // A contentless table counts through its docsize shadow table.
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM chunks_fts_docsize", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// How many documents are in each state (states with none are left out).
    pub fn document_counts(&self) -> Result<Vec<(DocStatus, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, count(*) FROM documents GROUP BY status")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                DocStatus::parse(&r.get::<_, String>(0)?),
                r.get::<_, i64>(1)? as u64,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn chunk_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM chunks", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Which of these chunks belong to documents written in Chinese, Japanese or Korean: at
    /// least one chunk in five of such a document holds those characters (the CTeX manual: 559
    /// of 1,184, the rest are code listings; the English LaTeX manuals: none).
    pub fn cjk_chunks(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let mut of_document = self
            .conn
            .prepare_cached("SELECT document_id FROM chunks WHERE id = ?1")?;
        let mut document = std::collections::HashMap::new();
        for &id in ids {
            if let Some(doc) = of_document
                .query_row([id], |r| r.get::<_, i64>(0))
                .optional()?
            {
                document.insert(id, doc);
            }
        }
        let mut docs: Vec<i64> = document.values().copied().collect();
        docs.sort_unstable();
        docs.dedup();
        if docs.is_empty() {
            return Ok(Default::default());
        }
        let sql = format!(
            "SELECT c.document_id FROM chunks c WHERE 1 {}
             GROUP BY c.document_id
             HAVING 5 * sum(c.text GLOB '*[\u{3040}-\u{30FF}\u{3400}-\u{9FFF}\u{AC00}-\u{D7AF}]*') >= count(*)",
            document_filter(&docs)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let cjk: std::collections::HashSet<i64> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(document
            .into_iter()
            .filter(|(_, doc)| cjk.contains(doc))
            .map(|(id, _)| id)
            .collect())
    }

    /// The texts of up to `count` chunks spread evenly over the library's chunk ids (a sample:
    /// point lookups, so that it stays cheap on a large library).
    pub fn sample_texts(&self, count: u64) -> Result<Vec<String>> {
        let (low, high): (Option<i64>, Option<i64>) =
            self.conn
                .query_row("SELECT min(id), max(id) FROM chunks", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let (Some(low), Some(high)) = (low, high) else {
            return Ok(Vec::new());
        };
        let mut at = self
            .conn
            .prepare_cached("SELECT id, text FROM chunks WHERE id >= ?1 ORDER BY id LIMIT 1")?;
        let span = (high - low + 1) as u64;
        let mut texts = Vec::new();
        let mut last = None;
        for i in 0..count.min(span) {
            let target = low + (i * span / count.min(span)) as i64;
            let found: Option<(i64, String)> = at
                .query_row([target], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((id, text)) = found {
                if last != Some(id) {
                    texts.push(text);
                    last = Some(id);
                }
            }
        }
        Ok(texts)
    }

    /// What OCR read on a page: its confidence and words' boxes; `None` for a page with a text
    /// layer (or no such page).
    pub fn page_ocr(&self, document_id: i64, page: u32) -> Result<Option<OcrLayer>> {
        let row: Option<(f64, String)> = self
            .conn
            .prepare_cached(
                "SELECT ocr_confidence, ocr_words FROM pages
                 WHERE document_id = ?1 AND number = ?2 AND ocr_confidence IS NOT NULL",
            )?
            .query_row(params![document_id, page], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.map(|(confidence, words)| OcrLayer {
            page,
            confidence: confidence as f32,
            words: words_from_json(&words),
        }))
    }

    /// The stored (cleaned) text of one page.
    pub fn page_text(&self, document_id: i64, page: u32) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT text FROM pages WHERE document_id = ?1 AND number = ?2")?
            .query_row(params![document_id, page], |r| r.get(0))
            .optional()?)
    }

    /// Number of documents ready to search.
    pub fn ready_documents(&self) -> Result<u64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM documents WHERE status = 'ready'",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// SQLite's own quick structural check: "ok" when sound.
    pub fn quick_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?)
    }
}

/// An SQL condition on `c.document_id` limiting a query to `docs` (none: no limit). Ids are
/// integers, so formatting them into the SQL is safe.
/// A LIKE pattern that finds `text` anywhere, its own `%`, `_` and `\` taken literally.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(crate) fn document_filter(docs: &[i64]) -> String {
    if docs.is_empty() {
        return String::new();
    }
    let list = docs
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    format!("AND c.document_id IN ({list})")
}

/// Stores a document's chunks, each with its keyword row; returns their ids in order.
fn insert_chunks(tx: &rusqlite::Transaction, id: i64, chunks: &[Chunk]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(chunks.len());
    let mut put_chunk = tx.prepare_cached(
        "INSERT INTO chunks(document_id, ordinal, page_start, page_end, char_start, char_end, tokens, text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut put_fts = tx.prepare_cached("INSERT INTO chunks_fts(rowid, body) VALUES (?1, ?2)")?;
    for (ordinal, c) in chunks.iter().enumerate() {
        put_chunk.execute(params![
            id,
            ordinal as i64,
            c.page_start,
            c.page_end,
            c.char_start as i64,
            c.char_end as i64,
            c.tokens as i64,
            c.text
        ])?;
        let chunk_id = tx.last_insert_rowid();
        put_fts.execute(params![chunk_id, keyword_form(&c.text)])?;
        ids.push(chunk_id);
    }
    Ok(ids)
}

/// Deletes a document's chunks (their keyword rows go with them); returns their ids.
fn delete_chunks(tx: &rusqlite::Transaction, id: i64) -> Result<Vec<i64>> {
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare_cached("SELECT id FROM chunks WHERE document_id = ?1")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    tx.execute("DELETE FROM chunks WHERE document_id = ?1", [id])?;
    Ok(ids)
}

/// Deletes a document's chunks and pages; returns the chunk ids.
/// Word boxes as stored: `[[start, end, x, y, w, h], ...]`, four decimals (1/10,000 of the
/// page) being finer than any screen.
pub(crate) fn words_json(words: &[WordBox]) -> String {
    let round = |v: f32| (v as f64 * 10_000.0).round() / 10_000.0;
    let rows: Vec<(u32, u32, f64, f64, f64, f64)> = words
        .iter()
        .map(|w| {
            (
                w.start,
                w.end,
                round(w.x),
                round(w.y),
                round(w.w),
                round(w.h),
            )
        })
        .collect();
    serde_json::to_string(&rows).expect("numbers serialise")
}

pub(crate) fn words_from_json(json: &str) -> Vec<WordBox> {
    serde_json::from_str::<Vec<(u32, u32, f32, f32, f32, f32)>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|(start, end, x, y, w, h)| WordBox {
            start,
            end,
            x,
            y,
            w,
            h,
        })
        .collect()
}

fn delete_contents(tx: &rusqlite::Transaction, id: i64) -> Result<Vec<i64>> {
    let ids = delete_chunks(tx, id)?;
    tx.execute("DELETE FROM pages WHERE document_id = ?1", [id])?;
    Ok(ids)
}

fn upsert_document(
    tx: &rusqlite::Transaction,
    path: &str,
    title: &str,
    stamp: &FileStamp,
    pages: u32,
    status: &str,
    error: Option<(FailureKind, &str)>,
) -> Result<(i64, Vec<i64>)> {
    let existing: Option<i64> = tx
        .query_row("SELECT id FROM documents WHERE path = ?1", [path], |r| {
            r.get(0)
        })
        .optional()?;
    let (kind, message) = match error {
        Some((k, m)) => (Some(k.as_str()), Some(m)),
        None => (None, None),
    };
    match existing {
        Some(id) => {
            let replaced = delete_contents(tx, id)?;
            tx.execute(
                "UPDATE documents SET title = ?2, sha256 = ?3, pages = ?4, size = ?5, mtime_ns = ?6,
                    status = ?7, error_kind = ?8, error = ?9,
                    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                 WHERE id = ?1",
                params![id, title, stamp.sha256, pages, stamp.size as i64, stamp.mtime_ns, status, kind, message],
            )?;
            Ok((id, replaced))
        }
        None => {
            tx.execute(
                "INSERT INTO documents(path, title, sha256, pages, size, mtime_ns, status, error_kind, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![path, title, stamp.sha256, pages, stamp.size as i64, stamp.mtime_ns, status, kind, message],
            )?;
            Ok((tx.last_insert_rowid(), Vec::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str, page: u32) -> Chunk {
        Chunk {
            text: text.into(),
            page_start: page,
            page_end: page,
            char_start: 0,
            char_end: text.chars().count(),
            tokens: 3,
        }
    }

    fn stamp(sha: &str) -> FileStamp {
        FileStamp {
            sha256: sha.into(),
            size: 10,
            mtime_ns: 1,
        }
    }

    #[test]
    fn documents_replace_keep_id_and_never_reuse_chunk_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("l.sqlite")).unwrap();
        let pages = [Page {
            number: 1,
            text: "alpha beta".into(),
        }];
        let (id, first, replaced) = store
            .put_document(
                "/a.pdf",
                "A",
                &stamp("1"),
                Pages::text(&pages),
                &[chunk("alpha beta", 1), chunk("gamma", 1)],
                1,
            )
            .unwrap();
        assert!(replaced.is_empty());
        let (id2, second, replaced) = store
            .put_document(
                "/a.pdf",
                "A",
                &stamp("2"),
                Pages::text(&pages),
                &[chunk("delta", 1)],
                2,
            )
            .unwrap();
        assert_eq!(id, id2);
        assert_eq!(replaced, first);
        assert!(second[0] > first[1]);
        assert_eq!(store.chunk_count().unwrap(), 1);
        assert_eq!(store.keyword_rows().unwrap(), 1);
        assert_eq!(store.documents().unwrap()[0].sha256, "2");
        // Removing a document removes its chunks and keyword rows.
        assert_eq!(store.remove_document(id).unwrap(), second);
        assert_eq!(store.chunk_count().unwrap(), 0);
        assert_eq!(store.keyword_rows().unwrap(), 0);
        let (_, third, _) = store
            .put_document(
                "/a.pdf",
                "A",
                &stamp("3"),
                Pages::text(&pages),
                &[chunk("x", 1)],
                3,
            )
            .unwrap();
        assert!(third[0] > second[0]);
    }

    /// Vectors are made for the newest add first, then in the order documents were stored;
    /// a document leaves the queue once marked embedded.
    #[test]
    fn a_sample_spreads_over_the_library_and_chinese_documents_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("l.sqlite")).unwrap();
        assert!(store.sample_texts(5).unwrap().is_empty());
        let english: Vec<Chunk> = (0..10).map(|i| chunk(&format!("english {i}"), 1)).collect();
        let (_, english_ids, _) = store
            .put_document("/en.pdf", "E", &stamp("e"), Pages::text(&[]), &english, 1)
            .unwrap();
        // Four code listings and one line of Chinese: one chunk in five makes it Chinese.
        let mut chinese: Vec<Chunk> = (0..4)
            .map(|i| chunk(&format!("\\begin{{x{i}}}"), 1))
            .collect();
        chinese.push(chunk("中文排版", 1));
        let (_, chinese_ids, _) = store
            .put_document("/zh.pdf", "Z", &stamp("z"), Pages::text(&[]), &chinese, 2)
            .unwrap();
        let sample = store.sample_texts(3).unwrap();
        assert_eq!(sample, ["english 0", "english 5", "\\begin{x0}"]);
        assert_eq!(store.sample_texts(100).unwrap().len(), 15);
        let all: Vec<i64> = english_ids.iter().chain(&chinese_ids).copied().collect();
        let cjk = store.cjk_chunks(&all).unwrap();
        assert_eq!(cjk, chinese_ids.iter().copied().collect());
        assert!(store.cjk_chunks(&[]).unwrap().is_empty());
    }

    #[test]
    fn the_embedding_queue_puts_the_newest_add_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("l.sqlite")).unwrap();
        let first = store.next_queue_number().unwrap();
        let (a, a_chunks, _) = store
            .put_document(
                "/a.pdf",
                "A",
                &stamp("a"),
                Pages::text(&[]),
                &[chunk("one", 1), chunk("two", 1)],
                first,
            )
            .unwrap();
        let (b, b_chunks, _) = store
            .put_document(
                "/b.pdf",
                "B",
                &stamp("b"),
                Pages::text(&[]),
                &[chunk("three", 1)],
                first,
            )
            .unwrap();
        let second = store.next_queue_number().unwrap();
        assert!(second > first);
        let (c, c_chunks, _) = store
            .put_document(
                "/c.pdf",
                "C",
                &stamp("c"),
                Pages::text(&[]),
                &[chunk("four", 1)],
                second,
            )
            .unwrap();
        assert_eq!(
            store.embedding_queue().unwrap(),
            [(c, c_chunks), (a, a_chunks.clone()), (b, b_chunks)]
        );
        assert_eq!(store.chunks_waiting().unwrap(), 4);
        assert_eq!(store.documents_waiting().unwrap(), 3);
        store.set_embedded(&[c, b], true).unwrap();
        assert_eq!(store.embedding_queue().unwrap(), [(a, a_chunks)]);
        assert_eq!(store.chunks_waiting().unwrap(), 2);
        assert_eq!(store.documents_waiting().unwrap(), 1);
    }

    #[test]
    fn keyword_search_ranks_stems_and_finds_chinese() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("l.sqlite")).unwrap();
        let chunks = [
            chunk("Tables are indexed by the engine.", 1),
            chunk("The weather is nice today.", 2),
            chunk("关系数据库使用索引加速查询。", 3),
        ];
        // Searchable by words as soon as it is stored (its vectors come later).
        let (id, ids, _) = store
            .put_document("/b.pdf", "B", &stamp("1"), Pages::text(&[]), &chunks, 1)
            .unwrap();
        assert!(!store.document(id).unwrap().unwrap().embedded);
        assert_eq!(
            store
                .keyword_search(&crate::text::query_terms("how is indexing done?"), 10, &[])
                .unwrap(),
            [ids[0]]
        );
        assert_eq!(
            store
                .keyword_search(&crate::text::query_terms("数据库"), 10, &[])
                .unwrap(),
            [ids[2]]
        );
        assert!(store
            .keyword_search(&["index".into()], 10, &[id + 1])
            .unwrap()
            .is_empty());
        // Quotes in a query cannot break the FTS syntax.
        assert!(store
            .keyword_search(&["\"oops".into()], 10, &[])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn reopening_keeps_data_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.sqlite");
        {
            let mut store = Store::open(&path).unwrap();
            store
                .put_failure(
                    "/bad.pdf",
                    "bad",
                    &stamp("9"),
                    FailureKind::Encrypted,
                    "locked",
                )
                .unwrap();
            store.set_meta("k", "v").unwrap();
        }
        let store = Store::open(&path).unwrap();
        let docs = store.documents().unwrap();
        assert_eq!(docs[0].status, DocStatus::Failed);
        assert_eq!(docs[0].error_kind, Some(FailureKind::Encrypted));
        assert_eq!(store.meta("k").unwrap().as_deref(), Some("v"));
        assert_eq!(store.quick_check().unwrap(), "ok");
    }

    #[test]
    fn first_openers_racing_on_a_new_library_all_succeed() {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("library.sqlite");
            let start = std::sync::Arc::new(std::sync::Barrier::new(4));
            let openers: Vec<_> = (0..4)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        Store::open(&path).map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            for opener in openers {
                opener.join().unwrap().unwrap();
            }
        }
    }

    #[test]
    fn a_library_from_a_newer_quire_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.sqlite");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .unwrap();
        drop(conn);
        let err = Store::open(&path)
            .err()
            .expect("a newer library is refused");
        assert!(matches!(err, Error::NewerLibrary { .. }), "{err}");
        assert!(err.to_string().contains("newer version of Quire"), "{err}");
    }
}
