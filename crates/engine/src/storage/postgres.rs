//! A library kept in PostgreSQL with pgvector: the team library that several Quire processes
//! (`quire serve`, on one machine or several) share.
//!
//! The same tables as the embedded library, with two differences. The vectors live in the
//! chunks table (`embedding vector(N)`, an HNSW index with cosine distance), so a chunk and its
//! vector are one row and no repair is ever needed between two stores. The keyword index is a
//! `tsvector` column over Quire's keyword form of the chunk (lower case, CJK as bigrams, split
//! at every non-alphanumeric as SQLite's tokenizer does), with PostgreSQL's English stemming;
//! matches are ranked by IDF-weighted term rank, BM25's shape.
//!
//! Every change is one transaction; ids come from identity columns and are never reused.
//! Connections are pooled; one that broke (the server restarted) is dropped and the next call
//! connects again, so a restarted database is used again without restarting Quire.

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use pgvector::Vector;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Transaction};

use super::{Locks, Storage};
use crate::chunk::Chunk;
use crate::conversation::{paired_turns, Conversation, Exchange, StoredMessage};
use crate::embed::ModelInfo;
use crate::error::{Error, Result};
use crate::extract::{FailureKind, OcrLayer, Page};
use crate::generate::{Message, Role};
use crate::markers::segments;
use crate::store::{
    document_filter, passage_columns, words_from_json, words_json, DocStatus, Document, FileStamp,
    Pages, Passage, StoredChunk, DOCUMENT_COLUMNS,
};
use crate::text::keyword_form;

/// The schema, in steps; `meta.schema` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
-- The keyword index's words as SQLite's `porter unicode61` tokenizer makes them: the original
-- Porter stemmer, and no stop words (the search leaves out its own).
CREATE TEXT SEARCH DICTIONARY quire_porter (TEMPLATE = snowball, LANGUAGE = porter);
CREATE TEXT SEARCH CONFIGURATION quire (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION quire
    ALTER MAPPING FOR asciiword, word, numword, asciihword, hword, numhword, hword_asciipart,
        hword_part, hword_numpart
    WITH quire_porter;
CREATE TABLE documents (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    pages      BIGINT NOT NULL DEFAULT 0,
    size       BIGINT NOT NULL,
    mtime_ns   BIGINT NOT NULL DEFAULT 0,
    status     TEXT NOT NULL CHECK (status IN ('indexing', 'ready', 'failed', 'interrupted')),
    error_kind TEXT,
    error      TEXT,
    added_at   TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    updated_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    embedded   BOOLEAN NOT NULL DEFAULT TRUE,
    queued     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE pages (
    document_id    BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number         BIGINT NOT NULL,
    text           TEXT NOT NULL,
    ocr_confidence DOUBLE PRECISION,
    ocr_words      TEXT,
    PRIMARY KEY (document_id, number)
);
CREATE TABLE chunks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal     BIGINT NOT NULL,
    page_start  BIGINT NOT NULL,
    page_end    BIGINT NOT NULL,
    char_start  BIGINT NOT NULL,
    char_end    BIGINT NOT NULL,
    tokens      BIGINT NOT NULL,
    text        TEXT NOT NULL,
    -- The keyword form's words, and their number (BM25's length of the chunk).
    keywords    TSVECTOR NOT NULL,
    words       BIGINT NOT NULL
);
CREATE INDEX chunks_by_document ON chunks(document_id, ordinal);
CREATE INDEX chunks_keywords ON chunks USING gin(keywords);
CREATE TABLE conversations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    updated_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
);
CREATE TABLE messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    stop            TEXT,
    checked         TEXT,
    created_at      TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
CREATE TABLE citations (
    message_id    BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    n             BIGINT NOT NULL,
    cited         BOOLEAN NOT NULL,
    attributed    BOOLEAN NOT NULL DEFAULT FALSE,
    chunk_id      BIGINT REFERENCES chunks(id) ON DELETE SET NULL,
    document_id   BIGINT REFERENCES documents(id) ON DELETE SET NULL,
    title         TEXT NOT NULL,
    path          TEXT NOT NULL,
    page_start    BIGINT NOT NULL,
    page_end      BIGINT NOT NULL,
    char_start    BIGINT NOT NULL,
    char_end      BIGINT NOT NULL,
    text          TEXT NOT NULL,
    by_words_only BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (message_id, n)
);
CREATE INDEX citations_by_chunk ON citations(chunk_id);
CREATE INDEX citations_by_document ON citations(document_id);
CREATE TABLE quotes (
    message_id  BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    rank        BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    document_id BIGINT REFERENCES documents(id) ON DELETE SET NULL,
    page        BIGINT NOT NULL,
    char_start  BIGINT NOT NULL,
    char_end    BIGINT NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (message_id, rank)
);
CREATE INDEX quotes_by_document ON quotes(document_id);
-- Which process embeds a document's chunks: several Quire processes on one database share the
-- embedding, each taking documents no live other holds. A claim not renewed for the lease time
-- (its process died) is taken over.
CREATE TABLE embedding_claims (
    document_id BIGINT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    owner       TEXT NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
"#,
    // BM25 needs the number of chunks and their mean length at every search: kept up to date
    // here by triggers (a count over the chunks would read the whole table each time).
    r#"
CREATE TABLE keyword_totals (
    one    BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    chunks BIGINT NOT NULL,
    words  BIGINT NOT NULL
);
INSERT INTO keyword_totals SELECT TRUE, count(*), coalesce(sum(words), 0) FROM chunks;
CREATE FUNCTION quire_count_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE keyword_totals SET chunks = chunks + (SELECT count(*) FROM changed_rows),
            words = words + (SELECT coalesce(sum(words), 0) FROM changed_rows);
    ELSE
        UPDATE keyword_totals SET chunks = chunks - (SELECT count(*) FROM gone_rows),
            words = words - (SELECT coalesce(sum(words), 0) FROM gone_rows);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER chunks_counted_in AFTER INSERT ON chunks REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION quire_count_chunks();
CREATE TRIGGER chunks_counted_out AFTER DELETE ON chunks REFERENCING OLD TABLE AS gone_rows
    FOR EACH STATEMENT EXECUTE FUNCTION quire_count_chunks();
"#,
    // The keyword index as an inverted list: a row per word of each chunk, with its frequency
    // there (and the chunk's length and document), so that BM25 reads only the rows of the
    // question's words instead of every matching chunk's whole word list. Filled by a trigger
    // from the chunk's `keywords`; deleted with the chunk.
    r#"
CREATE TABLE chunk_terms (
    lexeme      TEXT NOT NULL,
    chunk_id    BIGINT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    document_id BIGINT NOT NULL,
    tf          INTEGER NOT NULL,
    words       BIGINT NOT NULL,
    PRIMARY KEY (lexeme, chunk_id)
);
CREATE INDEX chunk_terms_by_chunk ON chunk_terms(chunk_id);
CREATE FUNCTION quire_chunk_terms() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chunk_terms (lexeme, chunk_id, document_id, tf, words)
    SELECT u.lexeme, NEW.id, NEW.document_id, cardinality(u.positions), NEW.words
    FROM unnest(NEW.keywords) AS u;
    RETURN NULL;
END $$;
CREATE TRIGGER chunks_terms AFTER INSERT ON chunks
    FOR EACH ROW EXECUTE FUNCTION quire_chunk_terms();
INSERT INTO chunk_terms (lexeme, chunk_id, document_id, tf, words)
SELECT u.lexeme, c.id, c.document_id, cardinality(u.positions), c.words
FROM chunks c, unnest(c.keywords) AS u;
DROP INDEX chunks_keywords;
"#,
];

/// Serialises schema changes between processes (a transaction-level advisory lock).
const SCHEMA_LOCK: i64 = 0x5155_4952_4501;

/// How long a process's claim on documents to embed lasts without being renewed (each batch of
/// vectors renews it); `QUIRE_POSTGRES_LEASE_SECS` changes it (tests use a short one).
const CLAIM_LEASE: Duration = Duration::from_secs(60);

/// A pooled connection unused for this long is checked before it is used again.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(1);

/// Connections kept open for reuse.
const IDLE_CONNECTIONS: usize = 8;

/// Candidates the HNSW search explores, as the embedded index does.
const EF_SEARCH: usize = crate::index::EXPANSION_SEARCH;

/// The text search configuration made by the schema: Porter stemming, no stop words.
const TS_CONFIG: &str = "quire";

/// BM25's parameters, as SQLite's FTS5 `bm25()` has them.
const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

/// Reads [`passage_columns`] from `row`, starting at column `at`.
fn passage_from_row(row: &Row, at: usize) -> Passage {
    Passage {
        title: row.get(at),
        path: row.get(at + 1),
        page_start: row.get::<_, i64>(at + 2) as u32,
        page_end: row.get::<_, i64>(at + 3) as u32,
        char_start: row.get::<_, i64>(at + 4) as usize,
        char_end: row.get::<_, i64>(at + 5) as usize,
        text: row.get(at + 6),
        ocr_confidence: row.get::<_, Option<f64>>(at + 7).map(|c| c as f32),
    }
}

/// Reads [`DOCUMENT_COLUMNS`] from `row`.
fn document_from_row(row: &Row) -> Document {
    Document {
        id: row.get(0),
        path: row.get(1),
        title: row.get(2),
        sha256: row.get(3),
        pages: row.get::<_, i64>(4) as u32,
        size: row.get::<_, i64>(5) as u64,
        mtime_ns: row.get(6),
        status: DocStatus::parse(row.get(7)),
        error_kind: row
            .get::<_, Option<String>>(8)
            .and_then(|k| FailureKind::parse(&k)),
        error: row.get(9),
        added_at: row.get(10),
        chunks: row.get::<_, i64>(11) as u64,
        embedded: row.get(12),
        ocr_pages: row.get::<_, i64>(13) as u32,
        uncertain_pages: row.get::<_, i64>(14) as u32,
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Error::Postgres(db.message().to_string()),
            None if e.is_closed() => {
                Error::Postgres("the connection to the database was lost".into())
            }
            None => Error::Postgres(e.to_string()),
        }
    }
}

/// A library in a PostgreSQL database.
pub struct Postgres {
    config: postgres::Config,
    /// This process's name in embedding claims.
    owner: String,
    lease: Duration,
    location: String,
    /// The vector column's dimensions, once there is one (see [`Postgres::dimensions`]).
    dims: std::sync::OnceLock<usize>,
    /// Open connections not in use, with when each was last used.
    idle: Mutex<Vec<(Client, Instant)>>,
    locks: Locks,
}

/// A pooled connection: back to the pool when dropped, unless it broke.
struct Conn<'a> {
    pool: &'a Postgres,
    client: Option<Client>,
}

impl Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("held until dropped")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("held until dropped")
    }
}

impl Drop for Conn<'_> {
    /// Back to the pool; a connection found broken (the server restarted) means the idle ones
    /// are broken too: they go, and the next calls connect afresh.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if client.is_closed() {
                idle.clear();
            } else if idle.len() < IDLE_CONNECTIONS {
                idle.push((client, Instant::now()));
            }
        }
    }
}

/// `url` without its password, for messages.
pub fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Postgres {
    /// Connects to the database at `url` (`postgresql://user:password@host:port/db`), creating
    /// Quire's tables (and the `vector` extension, which needs the right to create it) when
    /// they are not there yet.
    pub fn open(url: &str) -> Result<Postgres> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| Error::Usage(format!("not a PostgreSQL URL ({e}): {url}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let lease = std::env::var("QUIRE_POSTGRES_LEASE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs_f64)
            .unwrap_or(CLAIM_LEASE);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let storage = Postgres {
            config,
            owner: format!("{}:{}", std::process::id(), started.as_nanos()),
            lease,
            location: without_password(url),
            idle: Mutex::new(Vec::new()),
            dims: std::sync::OnceLock::new(),
            locks: Locks::default(),
        };
        storage.migrate()?;
        Ok(storage)
    }

    /// How long this process's claims on documents to embed last without renewal.
    pub fn with_claim_lease(mut self, lease: Duration) -> Postgres {
        self.lease = lease;
        self
    }

    fn conn(&self) -> Result<Conn<'_>> {
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        // A connection idle for a while is checked first (one round trip): the server may have
        // restarted meanwhile, which a connection notices only when next used.
        let reused = reused.and_then(|(mut client, last_used)| {
            let fresh = last_used.elapsed() < IDLE_CHECK_AFTER
                || client.is_valid(Duration::from_secs(5)).is_ok();
            fresh.then_some(client)
        });
        let client = match reused {
            Some(client) => client,
            None => {
                let mut client = self.config.connect(NoTls).map_err(|e| {
                    Error::Postgres(format!("cannot reach {}: {}", self.location, cause(&e)))
                })?;
                // Every vector search of this connection: as many candidates as the embedded
                // index explores, and iterative scans, so that a filter on documents (a search
                // in some documents, or a user's collections) still returns enough chunks.
                client.batch_execute(&format!(
                    "SET hnsw.ef_search = {EF_SEARCH}; SET hnsw.iterative_scan = relaxed_order"
                ))?;
                client
            }
        };
        Ok(Conn {
            pool: self,
            client: Some(client),
        })
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
            .map_err(|e| {
                Error::Postgres(format!(
                    "{}: Quire needs the pgvector extension in this database (a superuser adds \
                     it with CREATE EXTENSION vector, once pgvector is installed on the server)",
                    Error::from(e)
                        .to_string()
                        .trim_start_matches("library database: ")
                ))
            })?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )?;
        // Filtered vector searches need pgvector's iterative index scans (0.8).
        let version: String = tx
            .query_one(
                "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
                &[],
            )?
            .get(0);
        let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
        if parts.as_slice() < [0, 8].as_slice() {
            return Err(Error::Postgres(format!(
                "Quire needs pgvector 0.8 or newer in the database; it has {version} \
                 (ALTER EXTENSION vector UPDATE, after installing a newer pgvector)"
            )));
        }
        let found: i64 = tx
            .query_opt("SELECT value FROM meta WHERE key = 'schema'", &[])?
            .and_then(|r| r.get::<_, String>(0).parse().ok())
            .unwrap_or(0);
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(Error::NewerLibrary { found, known });
        }
        for sql in MIGRATIONS.iter().skip(found as usize) {
            tx.batch_execute(sql)?;
        }
        set_meta(&mut tx, "schema", &known.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the vector column exists yet (it does from the first model adopted on). Once
    /// it does it always will, so that answer is kept.
    fn dimensions(&self) -> Result<Option<usize>> {
        if let Some(&dims) = self.dims.get() {
            return Ok(Some(dims));
        }
        let dims = self.meta("dimensions")?.and_then(|d| d.parse().ok());
        if let Some(dims) = dims {
            let _ = self.dims.set(dims);
        }
        Ok(dims)
    }
}

/// The innermost reason of a connection error ("Connection refused (os error 111)").
fn cause(e: &postgres::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

fn set_meta(tx: &mut Transaction, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )?;
    Ok(())
}

/// A chunk's text as the keyword index reads it: [`keyword_form`] without diacritics, split at
/// every character that is not a letter or digit — as SQLite's `unicode61 remove_diacritics 2`
/// tokenizer reads it (PostgreSQL's own parser would keep `file.txt` or `a-b` as one token).
/// Also the number of words.
fn keyword_text(text: &str) -> (String, i64) {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let folded: String = keyword_form(text)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .collect();
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    (words.join(" "), words.len() as i64)
}

/// Inserts or updates the document row for `path` (keeping its id), deleting what was stored
/// for it before.
fn upsert_document(
    tx: &mut Transaction,
    path: &str,
    title: &str,
    stamp: &FileStamp,
    pages: i64,
    status: &str,
    error: Option<(FailureKind, &str)>,
) -> Result<i64> {
    // PostgreSQL's text cannot hold NUL (a PDF's title may).
    let title = title.replace('\0', "");
    let (kind, message) = match error {
        Some((k, m)) => (Some(k.as_str()), Some(m.replace('\0', ""))),
        None => (None, None),
    };
    let row = tx.query_one(
        "INSERT INTO documents(path, title, sha256, pages, size, mtime_ns, status, error_kind, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (path) DO UPDATE SET title = excluded.title, sha256 = excluded.sha256,
             pages = excluded.pages, size = excluded.size, mtime_ns = excluded.mtime_ns,
             status = excluded.status, error_kind = excluded.error_kind, error = excluded.error,
             updated_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         RETURNING id",
        &[
            &path,
            &title,
            &stamp.sha256,
            &pages,
            &(stamp.size as i64),
            &stamp.mtime_ns,
            &status,
            &kind,
            &message,
        ],
    )?;
    let id: i64 = row.get(0);
    tx.execute("DELETE FROM chunks WHERE document_id = $1", &[&id])?;
    tx.execute("DELETE FROM pages WHERE document_id = $1", &[&id])?;
    // Whoever was embedding the old chunks is not embedding these.
    tx.execute(
        "DELETE FROM embedding_claims WHERE document_id = $1",
        &[&id],
    )?;
    Ok(id)
}

fn insert_chunks(tx: &mut Transaction, id: i64, chunks: &[Chunk]) -> Result<()> {
    let insert = tx.prepare(&format!(
        "INSERT INTO chunks(document_id, ordinal, page_start, page_end, char_start, char_end,
                            tokens, text, keywords, words)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_tsvector('{TS_CONFIG}', $9), $10)"
    ))?;
    for (ordinal, c) in chunks.iter().enumerate() {
        let (keywords, words) = keyword_text(&c.text);
        tx.execute(
            &insert,
            &[
                &id,
                &(ordinal as i64),
                &(c.page_start as i64),
                &(c.page_end as i64),
                &(c.char_start as i64),
                &(c.char_end as i64),
                &(c.tokens as i64),
                &c.text,
                &keywords,
                &words,
            ],
        )?;
    }
    Ok(())
}

impl Storage for Postgres {
    fn locks(&self) -> &Locks {
        &self.locks
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    fn is_writable(&self) -> bool {
        true
    }

    fn is_read_only(&self) -> bool {
        false
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        set_meta(&mut tx, key, value)?;
        tx.commit()?;
        Ok(())
    }

    /// The vector column takes the model's dimensions; a new model drops it (and its index)
    /// and adds it again, empty, in one transaction.
    fn adopt_model(&self, info: &ModelInfo) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        let current: Option<String> = tx
            .query_opt("SELECT value FROM meta WHERE key = 'embedding_model'", &[])?
            .map(|r| r.get(0));
        if current.as_deref() == Some(info.id().as_str()) {
            return Ok(());
        }
        if current.is_some() {
            set_meta(&mut tx, "rechunk", "1")?;
        }
        tx.batch_execute(&format!(
            "ALTER TABLE chunks DROP COLUMN IF EXISTS embedding;
             ALTER TABLE chunks ADD COLUMN embedding vector({dims});
             CREATE INDEX chunks_embedding ON chunks
                 USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128);",
            dims = info.dimensions
        ))?;
        set_meta(&mut tx, "embedding_model", &info.id())?;
        set_meta(&mut tx, "dimensions", &info.dimensions.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Nothing to prepare: a chunk and its vector are one row.
    fn begin_add(&self) -> Result<()> {
        Ok(())
    }

    fn embedding_finished(&self) -> Result<()> {
        Ok(())
    }

    fn documents(&self) -> Result<Vec<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d ORDER BY d.id");
        Ok(self
            .conn()?
            .query(&sql, &[])?
            .iter()
            .map(document_from_row)
            .collect())
    }

    fn document(&self, id: i64) -> Result<Option<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.id = $1");
        Ok(self
            .conn()?
            .query_opt(&sql, &[&id])?
            .as_ref()
            .map(document_from_row))
    }

    fn document_by_path(&self, path: &str) -> Result<Option<Document>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents d WHERE d.path = $1");
        Ok(self
            .conn()?
            .query_opt(&sql, &[&path])?
            .as_ref()
            .map(document_from_row))
    }

    fn document_counts(&self) -> Result<Vec<(DocStatus, u64)>> {
        Ok(self
            .conn()?
            .query(
                "SELECT status, count(*) FROM documents GROUP BY status",
                &[],
            )?
            .iter()
            .map(|r| (DocStatus::parse(r.get(0)), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn ready_documents(&self) -> Result<u64> {
        let row = self
            .conn()?
            .query_one("SELECT count(*) FROM documents WHERE status = 'ready'", &[])?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn documents_waiting(&self) -> Result<u64> {
        let row = self.conn()?.query_one(
            "SELECT count(*) FROM documents WHERE status = 'ready' AND NOT embedded",
            &[],
        )?;
        Ok(row.get::<_, i64>(0) as u64)
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
        let Pages { text: pages, ocr } = pages;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let id = upsert_document(
            &mut tx,
            path,
            title,
            stamp,
            pages.len() as i64,
            "ready",
            None,
        )?;
        tx.execute(
            "UPDATE documents SET embedded = $2, queued = $3 WHERE id = $1",
            &[&id, &chunks.is_empty(), &queued],
        )?;
        let put_page =
            tx.prepare("INSERT INTO pages(document_id, number, text) VALUES ($1, $2, $3)")?;
        for page in pages {
            tx.execute(&put_page, &[&id, &(page.number as i64), &page.text])?;
        }
        let put_ocr = tx.prepare(
            "UPDATE pages SET ocr_confidence = $3, ocr_words = $4
             WHERE document_id = $1 AND number = $2",
        )?;
        for layer in ocr {
            tx.execute(
                &put_ocr,
                &[
                    &id,
                    &(layer.page as i64),
                    &(layer.confidence as f64),
                    &words_json(&layer.words),
                ],
            )?;
        }
        insert_chunks(&mut tx, id, chunks)?;
        tx.commit()?;
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
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let id = upsert_document(
            &mut tx,
            path,
            title,
            stamp,
            0,
            "failed",
            Some((kind, message)),
        )?;
        tx.commit()?;
        Ok(id)
    }

    fn replace_chunks(&self, id: i64, chunks: &[Chunk], queued: i64) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("DELETE FROM chunks WHERE document_id = $1", &[&id])?;
        tx.execute(
            "DELETE FROM embedding_claims WHERE document_id = $1",
            &[&id],
        )?;
        insert_chunks(&mut tx, id, chunks)?;
        tx.execute(
            "UPDATE documents SET embedded = $2, queued = $3 WHERE id = $1",
            &[&id, &chunks.is_empty(), &queued],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn remove_document(&self, id: i64) -> Result<()> {
        // Pages, chunks and their vectors go with it (ON DELETE CASCADE).
        self.conn()?
            .execute("DELETE FROM documents WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn pages(&self, document_id: i64) -> Result<Vec<Page>> {
        Ok(self
            .conn()?
            .query(
                "SELECT number, text FROM pages WHERE document_id = $1 ORDER BY number",
                &[&document_id],
            )?
            .iter()
            .map(|r| Page {
                number: r.get::<_, i64>(0) as u32,
                text: r.get(1),
            })
            .collect())
    }

    fn page_text(&self, document_id: i64, page: u32) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT text FROM pages WHERE document_id = $1 AND number = $2",
                &[&document_id, &(page as i64)],
            )?
            .map(|r| r.get(0)))
    }

    fn page_ocr(&self, document_id: i64, page: u32) -> Result<Option<OcrLayer>> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT ocr_confidence, ocr_words FROM pages
                 WHERE document_id = $1 AND number = $2 AND ocr_confidence IS NOT NULL",
                &[&document_id, &(page as i64)],
            )?
            .map(|r| OcrLayer {
                page,
                confidence: r.get::<_, f64>(0) as f32,
                words: words_from_json(&r.get::<_, Option<String>>(1).unwrap_or_default()),
            }))
    }

    fn chunks(&self, ids: &[i64]) -> Result<Vec<StoredChunk>> {
        let sql = format!(
            "SELECT id, document_id, {} FROM (
                 SELECT c.id, c.document_id, d.title, d.path, c.page_start, c.page_end,
                        c.char_start, c.char_end, c.text
                 FROM chunks c JOIN documents d ON d.id = c.document_id
                 WHERE c.id = ANY($1)) AS p",
            passage_columns("p")
        );
        let rows = self.conn()?.query(&sql, &[&ids])?;
        let mut found: std::collections::HashMap<i64, StoredChunk> = rows
            .iter()
            .map(|r| {
                let chunk = StoredChunk {
                    id: r.get(0),
                    document_id: r.get(1),
                    passage: passage_from_row(r, 2),
                };
                (chunk.id, chunk)
            })
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    fn chunk_count(&self) -> Result<u64> {
        let row = self.conn()?.query_one("SELECT count(*) FROM chunks", &[])?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn next_queue_number(&self) -> Result<i64> {
        let row = self
            .conn()?
            .query_one("SELECT coalesce(max(queued), 0) + 1 FROM documents", &[])?;
        Ok(row.get(0))
    }

    /// Only the documents this process may embed: those it claims now — unclaimed, its own,
    /// or claimed by a process that stopped renewing its claim (died) — not those another
    /// live process embeds.
    fn embedding_queue(&self) -> Result<Vec<(i64, Vec<i64>)>> {
        let lease = self.lease.as_secs_f64();
        let rows = self.conn()?.query(
            "WITH waiting AS (
                 SELECT id FROM documents WHERE status = 'ready' AND NOT embedded),
             claimed AS (
                 INSERT INTO embedding_claims AS e (document_id, owner)
                 SELECT id, $1 FROM waiting
                 ON CONFLICT (document_id) DO UPDATE SET owner = $1, renewed_at = now()
                 WHERE e.owner = $1 OR e.renewed_at < now() - make_interval(secs => $2)
                 RETURNING document_id)
             SELECT d.id, c.id FROM documents d JOIN chunks c ON c.document_id = d.id
             WHERE d.id IN (SELECT document_id FROM claimed)
             ORDER BY d.queued DESC, d.id, c.ordinal",
            &[&self.owner, &lease],
        )?;
        let mut out: Vec<(i64, Vec<i64>)> = Vec::new();
        for row in &rows {
            let (doc, chunk): (i64, i64) = (row.get(0), row.get(1));
            match out.last_mut() {
                Some((d, chunks)) if *d == doc => chunks.push(chunk),
                _ => out.push((doc, vec![chunk])),
            }
        }
        Ok(out)
    }

    fn chunks_waiting(&self) -> Result<u64> {
        let row = self.conn()?.query_one(
            "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE d.status = 'ready' AND NOT d.embedded",
            &[],
        )?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn texts_of(&self, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        let rows = self
            .conn()?
            .query("SELECT id, text FROM chunks WHERE id = ANY($1)", &[&ids])?;
        let mut found: std::collections::HashMap<i64, String> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id).map(|t| (*id, t)))
            .collect())
    }

    fn sample_texts(&self, count: u64) -> Result<Vec<String>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        // Evenly spaced ids between the lowest and the highest, each the first chunk at or
        // after it (as the embedded library samples).
        let rows = self.conn()?.query(
            "WITH bounds AS (SELECT min(id) AS low, max(id) AS high FROM chunks),
                  targets AS (
                      SELECT DISTINCT low + (i * (high - low + 1) / least($1, high - low + 1)) AS t
                      FROM bounds, generate_series(0, least($1, high - low + 1) - 1) AS i
                      WHERE low IS NOT NULL)
             SELECT DISTINCT ON (c.id) c.id, c.text FROM targets,
                 LATERAL (SELECT id, text FROM chunks WHERE id >= targets.t ORDER BY id LIMIT 1) c
             ORDER BY c.id",
            &[&(count as i64)],
        )?;
        Ok(rows.iter().map(|r| r.get(1)).collect())
    }

    fn cjk_chunks(&self, ids: &[i64]) -> Result<HashSet<i64>> {
        let rows = self.conn()?.query(
            "WITH asked AS (SELECT id, document_id FROM chunks WHERE id = ANY($1)),
                  cjk AS (
                      SELECT c.document_id FROM chunks c
                      WHERE c.document_id IN (SELECT document_id FROM asked)
                      GROUP BY c.document_id
                      HAVING 5 * count(*) FILTER (
                          WHERE c.text ~ '[\u{3040}-\u{30FF}\u{3400}-\u{9FFF}\u{AC00}-\u{D7AF}]') >= count(*))
             SELECT asked.id FROM asked JOIN cjk USING (document_id)",
            &[&ids],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn missing_vectors(&self, chunks: &[i64]) -> Result<Vec<i64>> {
        if self.dimensions()?.is_none() {
            return Ok(chunks.to_vec());
        }
        let rows = self.conn()?.query(
            "SELECT id FROM chunks WHERE id = ANY($1) AND embedding IS NOT NULL",
            &[&chunks],
        )?;
        let have: HashSet<i64> = rows.iter().map(|r| r.get(0)).collect();
        Ok(chunks
            .iter()
            .copied()
            .filter(|c| !have.contains(c))
            .collect())
    }

    fn add_vectors(&self, items: &[(i64, Vec<f32>)]) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let update = tx.prepare("UPDATE chunks SET embedding = $2 WHERE id = $1")?;
        for (id, vector) in items {
            tx.execute(&update, &[id, &Vector::from(vector.clone())])?;
        }
        tx.execute(
            "UPDATE embedding_claims SET renewed_at = now() WHERE owner = $1",
            &[&self.owner],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The vectors are committed as they are added; only the documents are marked, and this
    /// process's claims on them let go.
    fn checkpoint(&self, finished: &[i64]) -> Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Only those whose chunks all have vectors: one replaced meanwhile (by this process or
        // another) has new chunks waiting.
        tx.execute(
            "UPDATE documents d SET embedded = TRUE WHERE d.id = ANY($1) AND NOT EXISTS (
                 SELECT 1 FROM chunks c WHERE c.document_id = d.id AND c.embedding IS NULL)",
            &[&finished],
        )?;
        tx.execute(
            "DELETE FROM embedding_claims WHERE document_id = ANY($1) AND owner = $2",
            &[&finished, &self.owner],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn vector_count(&self) -> Result<u64> {
        if self.dimensions()?.is_none() {
            return Ok(0);
        }
        let row = self
            .conn()?
            .query_one("SELECT count(embedding) FROM chunks", &[])?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    /// pgvector's HNSW index, with iterative scans (set on each connection) so that a filter
    /// on documents still returns `count` chunks.
    fn nearest(&self, vector: &[f32], count: usize, docs: &[i64]) -> Result<Vec<(i64, f32)>> {
        if self.dimensions()?.is_none() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, similarity FROM (
                 SELECT c.id, 1 - (c.embedding <=> $1) AS similarity,
                        c.embedding <=> $1 AS distance
                 FROM chunks c JOIN documents d ON d.id = c.document_id
                 WHERE c.embedding IS NOT NULL AND d.status = 'ready' {}
                 ORDER BY c.embedding <=> $1 LIMIT $2) AS found
             ORDER BY distance, id",
            document_filter(docs)
        );
        let query = Vector::from(vector.to_vec());
        let rows = self.conn()?.query(&sql, &[&query, &(count as i64)])?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, f64>(1) as f32))
            .collect())
    }

    fn vectors_problem(&self) -> Result<Option<String>> {
        Ok(None)
    }

    /// Ranked by BM25 as SQLite's FTS5 computes it: over all chunks, each term's inverse
    /// document frequency `ln((N - n + 0.5) / (n + 0.5))` (at least 1e-6) times its saturated
    /// frequency in the chunk, `tf (k1 + 1) / (tf + k1 (1 - b + b len / avglen))`; ties by id.
    fn keyword_search(&self, terms: &[String], limit: usize, docs: &[i64]) -> Result<Vec<i64>> {
        let terms: Vec<String> = terms.iter().map(|t| keyword_text(t).0).collect();
        if terms.iter().all(|t| t.is_empty()) {
            return Ok(Vec::new());
        }
        let filter = document_filter(docs);
        let sql = format!(
            "WITH lexemes AS MATERIALIZED (
                 SELECT DISTINCT u.lexeme FROM unnest($1::text[]) AS t,
                     LATERAL unnest(to_tsvector('{TS_CONFIG}', t)) AS u),
             total AS MATERIALIZED (
                 SELECT greatest(chunks, 1)::float8 AS n,
                        greatest(words::float8 / greatest(chunks, 1), 1) AS avglen
                 FROM keyword_totals),
             weighted AS MATERIALIZED (
                 SELECT l.lexeme,
                        greatest(ln((total.n - f.n + 0.5) / (f.n + 0.5)), 1e-6) AS idf
                 FROM lexemes l, total,
                     LATERAL (SELECT count(*)::float8 AS n FROM chunk_terms t
                              WHERE t.lexeme = l.lexeme) f)
             SELECT c.chunk_id FROM weighted w,
                 -- Each word's rows through the index (OFFSET 0: not flattened into a join,
                 -- which a table without statistics yet would read whole).
                 LATERAL (SELECT * FROM chunk_terms t WHERE t.lexeme = w.lexeme OFFSET 0) c
             JOIN documents d ON d.id = c.document_id, total
             WHERE d.status = 'ready' {filter}
             GROUP BY c.chunk_id
             ORDER BY sum(w.idf * c.tf * ({k1} + 1)
                 / (c.tf + {k1} * (1 - {b} + {b} * c.words / total.avglen))) DESC,
                 c.chunk_id
             LIMIT $2",
            k1 = BM25_K1,
            b = BM25_B,
        );
        let rows = self.conn()?.query(&sql, &[&terms, &(limit as i64)])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// All of the term's words (one, mostly) in one chunk; several words next to each other,
    /// in order (a phrase query on the positions kept in the chunk's `keywords`).
    fn has_term(&self, term: &str, docs: &[i64]) -> Result<bool> {
        let term = keyword_text(term).0;
        let phrase = if term.split_whitespace().nth(1).is_some() {
            format!("AND k.keywords @@ phraseto_tsquery('{TS_CONFIG}', $1)")
        } else {
            String::new()
        };
        let sql = format!(
            "WITH lexemes AS MATERIALIZED (
                 SELECT DISTINCT lexeme FROM unnest(to_tsvector('{TS_CONFIG}', $1))),
             hits AS (
                 SELECT c.chunk_id FROM chunk_terms c JOIN documents d ON d.id = c.document_id
                 WHERE c.lexeme IN (SELECT lexeme FROM lexemes) AND d.status = 'ready' {}
                 GROUP BY c.chunk_id
                 HAVING count(*) = (SELECT count(*) FROM lexemes) AND count(*) > 0)
             SELECT 1 FROM hits h JOIN chunks k ON k.id = h.chunk_id WHERE true {phrase}
             LIMIT 1",
            document_filter(docs)
        );
        Ok(self.conn()?.query_opt(&sql, &[&term])?.is_some())
    }

    fn has_text(&self, text: &str, docs: &[i64]) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE c.text ILIKE $1 ESCAPE '\\' AND d.status = 'ready' {} LIMIT 1",
            document_filter(docs)
        );
        let pattern = crate::store::like_pattern(text);
        Ok(self.conn()?.query_opt(&sql, &[&pattern])?.is_some())
    }

    /// Every chunk row carries its keywords (the column is NOT NULL; their inverted list is
    /// checked by [`Storage::consistency_problems`]).
    fn keyword_rows(&self) -> Result<u64> {
        self.chunk_count()
    }

    fn consistency_problems(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        if self.dimensions()?.is_some() {
            let row = self.conn()?.query_one(
                "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id
                 WHERE d.status = 'ready' AND d.embedded AND c.embedding IS NULL",
                &[],
            )?;
            let missing: i64 = row.get(0);
            if missing > 0 {
                problems.push(format!(
                    "{missing} chunks of embedded documents have no vector"
                ));
            }
        } else {
            let chunks = self.chunk_count()?;
            if chunks > 0 && self.documents_waiting()? == 0 {
                problems.push(format!("{chunks} chunks but no vectors"));
            }
        }
        let row = self.conn()?.query_one(
            "SELECT t.chunks, t.words, c.chunks, c.words FROM keyword_totals t,
                 (SELECT count(*) AS chunks, coalesce(sum(words), 0)::bigint AS words
                  FROM chunks) c",
            &[],
        )?;
        let unlisted: i64 = self
            .conn()?
            .query_one(
                "SELECT count(*) FROM chunks c WHERE c.words > 0
                 AND NOT EXISTS (SELECT 1 FROM chunk_terms t WHERE t.chunk_id = c.id)",
                &[],
            )?
            .get(0);
        if unlisted > 0 {
            problems.push(format!(
                "{unlisted} chunks are missing from the keyword index"
            ));
        }
        let (kept, counted): ((i64, i64), (i64, i64)) =
            ((row.get(0), row.get(1)), (row.get(2), row.get(3)));
        if kept != counted {
            problems.push(format!(
                "the keyword totals say {} chunks of {} words, there are {} of {}",
                kept.0, kept.1, counted.0, counted.1
            ));
        }
        let row = self.conn()?.query_one(
            "SELECT count(*) FROM documents WHERE status = 'indexing'",
            &[],
        )?;
        let stuck: i64 = row.get(0);
        if stuck > 0 {
            problems.push(format!("{stuck} documents are stuck in indexing"));
        }
        Ok(problems)
    }

    fn create_conversation(&self, title: &str) -> Result<i64> {
        let row = self.conn()?.query_one(
            "INSERT INTO conversations(title) VALUES ($1) RETURNING id",
            &[&title],
        )?;
        Ok(row.get(0))
    }

    fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations v WHERE v.id = $1");
        Ok(self
            .conn()?
            .query_opt(&sql, &[&id])?
            .as_ref()
            .map(conversation_from_row))
    }

    fn conversations(&self) -> Result<Vec<Conversation>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations v
             ORDER BY v.updated_at DESC, v.id DESC"
        );
        Ok(self
            .conn()?
            .query(&sql, &[])?
            .iter()
            .map(conversation_from_row)
            .collect())
    }

    fn rename_conversation(&self, id: i64, title: &str) -> Result<bool> {
        Ok(self.conn()?.execute(
            "UPDATE conversations SET title = $2 WHERE id = $1",
            &[&id, &title],
        )? > 0)
    }

    fn delete_conversation(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn()?
            .execute("DELETE FROM conversations WHERE id = $1", &[&id])?
            > 0)
    }

    fn recent_turns(&self, conversation_id: i64, limit: usize) -> Result<Vec<Message>> {
        let rows = self.conn()?.query(
            "SELECT role, content FROM messages WHERE conversation_id = $1
             ORDER BY id DESC LIMIT $2",
            &[&conversation_id, &(limit as i64)],
        )?;
        let mut turns: Vec<Message> = rows
            .iter()
            .map(|r| Message::new(role(r.get(0)), r.get::<_, String>(1)))
            .collect();
        turns.reverse();
        Ok(paired_turns(turns))
    }

    fn put_exchange(&self, conversation_id: i64, exchange: &Exchange) -> Result<i64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO messages(conversation_id, role, content) VALUES ($1, 'user', $2)",
            &[&conversation_id, &exchange.question],
        )?;
        // Plain data: serialising it cannot fail.
        let checked = serde_json::to_string(exchange.checked).ok();
        let message_id: i64 = tx
            .query_one(
                "INSERT INTO messages(conversation_id, role, content, stop, checked)
                 VALUES ($1, 'assistant', $2, $3, $4) RETURNING id",
                &[&conversation_id, &exchange.answer, &exchange.stop, &checked],
            )?
            .get(0);
        let cite = tx.prepare(
            "INSERT INTO citations(message_id, n, cited, attributed, chunk_id, document_id,
                                   title, path, page_start, page_end, char_start, char_end,
                                   text, by_words_only)
             VALUES ($1, $2, $3, $13,
                     (SELECT id FROM chunks WHERE id = $4),
                     (SELECT id FROM documents WHERE id = $5),
                     $6, $7, $8, $9, $10, $11, $12, $14)",
        )?;
        for c in exchange.citations {
            let p = &c.passage;
            let params: [&(dyn ToSql + Sync); 14] = [
                &message_id,
                &(c.n as i64),
                &c.cited,
                &c.chunk_id,
                &c.document_id,
                &p.title,
                &p.path,
                &(p.page_start as i64),
                &(p.page_end as i64),
                &(p.char_start as i64),
                &(p.char_end as i64),
                &p.text,
                &c.attributed,
                &c.by_words_only,
            ];
            tx.execute(&cite, &params)?;
        }
        let quote = tx.prepare(
            "INSERT INTO quotes(message_id, rank, n, document_id, page, char_start, char_end, text)
             VALUES ($1, $2, $3, (SELECT id FROM documents WHERE id = $4), $5, $6, $7, $8)",
        )?;
        for (rank, q) in exchange.quotes.iter().enumerate() {
            tx.execute(
                &quote,
                &[
                    &message_id,
                    &(rank as i64),
                    &(q.n as i64),
                    &q.document_id,
                    &(q.page as i64),
                    &(q.char_start as i64),
                    &(q.char_end as i64),
                    &q.text,
                ],
            )?;
        }
        tx.execute(
            "UPDATE conversations
             SET updated_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             WHERE id = $1",
            &[&conversation_id],
        )?;
        tx.commit()?;
        Ok(message_id)
    }

    fn messages(&self, conversation_id: i64) -> Result<Vec<StoredMessage>> {
        let mut conn = self.conn()?;
        let rows = conn.query(
            "SELECT id, role, content, stop, created_at, checked FROM messages
             WHERE conversation_id = $1 ORDER BY id",
            &[&conversation_id],
        )?;
        let mut messages: Vec<StoredMessage> = rows
            .iter()
            .map(|r| StoredMessage {
                id: r.get(0),
                role: role(r.get(1)),
                content: r.get(2),
                segments: Vec::new(),
                stop: r.get(3),
                created_at: r.get(4),
                citations: Vec::new(),
                quotes: Vec::new(),
                checked: r
                    .get::<_, Option<String>>(5)
                    .and_then(|json| serde_json::from_str(&json).ok()),
            })
            .collect();
        let cites = conn.prepare(&format!(
            "SELECT n, cited, attributed, chunk_id, document_id, by_words_only, {}
             FROM citations WHERE message_id = $1 ORDER BY n",
            passage_columns("citations")
        ))?;
        let quotes = conn.prepare(
            "SELECT n, document_id, page, char_start, char_end, text
             FROM quotes WHERE message_id = $1 ORDER BY rank",
        )?;
        for m in messages.iter_mut().filter(|m| m.role == Role::Assistant) {
            m.citations = conn
                .query(&cites, &[&m.id])?
                .iter()
                .map(|r| crate::answer::Citation {
                    n: r.get::<_, i64>(0) as usize,
                    cited: r.get(1),
                    attributed: r.get(2),
                    chunk_id: r.get(3),
                    document_id: r.get(4),
                    by_words_only: r.get(5),
                    passage: passage_from_row(r, 6),
                })
                .collect();
            m.quotes = conn
                .query(&quotes, &[&m.id])?
                .iter()
                .map(|r| crate::answer::Quote {
                    n: r.get::<_, i64>(0) as usize,
                    document_id: r.get(1),
                    page: r.get::<_, i64>(2) as u32,
                    char_start: r.get::<_, i64>(3) as usize,
                    char_end: r.get::<_, i64>(4) as usize,
                    text: r.get(5),
                })
                .collect();
            m.segments = segments(&m.content, m.citations.len());
        }
        Ok(messages)
    }
}

const CONVERSATION_COLUMNS: &str = "v.id, v.title, v.created_at, v.updated_at, \
     (SELECT count(*) FROM messages m WHERE m.conversation_id = v.id)";

fn conversation_from_row(r: &Row) -> Conversation {
    Conversation {
        id: r.get(0),
        title: r.get(1),
        created_at: r.get(2),
        updated_at: r.get(3),
        messages: r.get::<_, i64>(4) as u64,
    }
}

fn role(name: &str) -> Role {
    if name == "user" {
        Role::User
    } else {
        Role::Assistant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            without_password("postgresql://quire:secret@db.example:5432/team"),
            "postgresql://quire:***@db.example:5432/team"
        );
        assert_eq!(
            without_password("postgresql://quire@127.0.0.1:5433/quire"),
            "postgresql://quire@127.0.0.1:5433/quire"
        );
    }

    #[test]
    fn keyword_text_splits_like_sqlite() {
        assert_eq!(
            keyword_text("See file.txt, a-b and \\usepackage café"),
            ("see file txt a b and usepackage cafe".to_string(), 8)
        );
    }
}
