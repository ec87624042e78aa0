//! The server's own tables, beside the library's in the same PostgreSQL database (all named
//! `serve_*`): who may use the server, which collections they see, which collection each
//! document is in, who owns each conversation, the uploaded PDFs and the ingestion queue.
//!
//! The library's tables belong to the engine; these only point at them (`documents.id`,
//! `conversations.id`), with `ON DELETE CASCADE`, so that removing a document or a
//! conversation through the engine takes its access rows and its stored PDF with it.
//!
//! Calls are synchronous (the `postgres` crate): the HTTP handlers make them in
//! `spawn_blocking`, never on the async threads.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context};
use postgres::{Client, NoTls, Transaction};
pub use quire_engine::storage::without_password;
use sha2::{Digest, Sha256};

/// Serialises creating the tables between servers starting at once (a transaction-level
/// advisory lock; the engine's own schema lock is another number).
const SCHEMA_LOCK: i64 = 0x5155_4952_4553;

/// Connections kept open for reuse.
const IDLE_CONNECTIONS: usize = 8;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS serve_users (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS serve_collections (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS serve_members (
    collection_id BIGINT NOT NULL REFERENCES serve_collections(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES serve_users(id) ON DELETE CASCADE,
    PRIMARY KEY (collection_id, user_id)
);
CREATE INDEX IF NOT EXISTS serve_members_by_user ON serve_members(user_id);
CREATE TABLE IF NOT EXISTS serve_documents (
    document_id   BIGINT PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    collection_id BIGINT NOT NULL REFERENCES serve_collections(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS serve_documents_by_collection ON serve_documents(collection_id);
CREATE TABLE IF NOT EXISTS serve_conversations (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES serve_users(id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS serve_conversations_by_user ON serve_conversations(user_id);
CREATE TABLE IF NOT EXISTS serve_files (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id BIGINT UNIQUE REFERENCES documents(id) ON DELETE CASCADE,
    sha256      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    bytes       BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS serve_jobs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id BIGINT NOT NULL REFERENCES serve_collections(id) ON DELETE CASCADE,
    user_id       BIGINT REFERENCES serve_users(id) ON DELETE SET NULL,
    name          TEXT NOT NULL,
    file_id       BIGINT REFERENCES serve_files(id) ON DELETE SET NULL,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed')),
    claimed_by    TEXT,
    claimed_at    TIMESTAMPTZ,
    attempts      INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,
    error         TEXT,
    document_id   BIGINT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at   TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS serve_jobs_waiting ON serve_jobs(status, id);
"#;

/// How long connecting to the database may take when the URL does not say
/// (`connect_timeout=`): a request or the worker waits no longer for an unreachable host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of connections to the server's database. A connection that broke (the database
/// restarted) is dropped with every idle one (they broke with it), and the next call connects
/// again.
pub struct Db {
    url: String,
    config: postgres::Config,
    idle: Mutex<Vec<Client>>,
}

/// A pooled connection; back to the pool when dropped, unless it broke.
pub struct Conn<'a> {
    db: &'a Db,
    client: Option<Client>,
}

impl Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until dropped")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until dropped")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let mut idle = self.db.idle.lock().unwrap_or_else(|e| e.into_inner());
        if client.is_closed() {
            // The database went away (restarted, or the network to it broke): the idle
            // connections went with it, and would each fail one more call.
            idle.clear();
        } else if idle.len() < IDLE_CONNECTIONS {
            idle.push(client);
        }
    }
}

/// A user, as the token they sent names them.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
}

/// A queued upload, as a worker claims it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub collection: String,
    pub name: String,
    pub file_id: Option<i64>,
    pub attempts: i32,
}

/// The sha256 of a token, in hex: what is stored instead of the token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token: 32 random bytes from the operating system, in hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Collection names are one path segment of a document's stored path (`COLLECTION/NAME`):
/// letters, digits, `.`, `_` and `-`, at most 64.
pub fn check_collection_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        bail!("a collection name is 1 to 64 letters, digits, '.', '_' or '-', not {name:?}");
    }
    Ok(())
}

impl Db {
    /// Connects once (so that a wrong URL is reported at start) and creates the tables that
    /// are missing. The library's own tables must exist: open the engine's storage first.
    pub fn open(url: &str) -> anyhow::Result<Db> {
        let mut config: postgres::Config = url
            .parse()
            .with_context(|| format!("not a PostgreSQL URL: {}", without_password(url)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let db = Db {
            url: url.to_string(),
            config,
            idle: Mutex::new(Vec::new()),
        };
        let mut conn = db.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        tx.batch_execute(SCHEMA)
            .context("cannot create the server's tables")?;
        tx.commit()?;
        drop(conn);
        Ok(db)
    }

    pub fn conn(&self) -> anyhow::Result<Conn<'_>> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let client = match pooled.filter(|c| !c.is_closed()) {
            Some(client) => client,
            None => self
                .config
                .connect(NoTls)
                .with_context(|| format!("cannot connect to {}", without_password(&self.url)))?,
        };
        Ok(Conn {
            db: self,
            client: Some(client),
        })
    }

    // ---- users and collections (the admin commands) ----

    /// Adds a user; returns their token (shown once: only its digest is kept).
    pub fn add_user(&self, name: &str) -> anyhow::Result<String> {
        if name.trim().is_empty() || name.len() > 128 {
            bail!("a user name is 1 to 128 characters");
        }
        let token = new_token()?;
        let mut conn = self.conn()?;
        let exists = conn.query_opt("SELECT 1 FROM serve_users WHERE name = $1", &[&name])?;
        if exists.is_some() {
            bail!("there is already a user named {name:?}");
        }
        conn.execute(
            "INSERT INTO serve_users (name, token_sha256) VALUES ($1, $2)",
            &[&name, &token_digest(&token)],
        )?;
        Ok(token)
    }

    /// Every user: name, when added, the collections they may use.
    pub fn users(&self) -> anyhow::Result<Vec<(String, String, Vec<String>)>> {
        let rows = self.conn()?.query(
            "SELECT u.name, to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    coalesce(array_agg(c.name ORDER BY c.name) FILTER (WHERE c.name IS NOT NULL),
                             '{}')
             FROM serve_users u
             LEFT JOIN serve_members m ON m.user_id = u.id
             LEFT JOIN serve_collections c ON c.id = m.collection_id
             GROUP BY u.id ORDER BY u.id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    pub fn add_collection(&self, name: &str) -> anyhow::Result<()> {
        check_collection_name(name)?;
        let added = self.conn()?.execute(
            "INSERT INTO serve_collections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            &[&name],
        )?;
        if added == 0 {
            bail!("there is already a collection named {name:?}");
        }
        Ok(())
    }

    /// Lets `user` see and add to `collection` (again is fine).
    pub fn grant(&self, collection: &str, user: &str) -> anyhow::Result<()> {
        let mut conn = self.conn()?;
        let c = conn
            .query_opt(
                "SELECT id FROM serve_collections WHERE name = $1",
                &[&collection],
            )?
            .with_context(|| format!("there is no collection named {collection:?}"))?;
        let u = conn
            .query_opt("SELECT id FROM serve_users WHERE name = $1", &[&user])?
            .with_context(|| format!("there is no user named {user:?}"))?;
        conn.execute(
            "INSERT INTO serve_members (collection_id, user_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&c.get::<_, i64>(0), &u.get::<_, i64>(0)],
        )?;
        Ok(())
    }

    // ---- access ----

    /// The user a bearer token belongs to.
    pub fn user_by_token(&self, token: &str) -> anyhow::Result<Option<User>> {
        let row = self.conn()?.query_opt(
            "SELECT id FROM serve_users WHERE token_sha256 = $1",
            &[&token_digest(token)],
        )?;
        Ok(row.map(|r| User { id: r.get(0) }))
    }

    /// The id of `collection` when `user` is a member: `Ok(None)` when it does not exist or
    /// they are not (the caller does not say which).
    pub fn member_collection(&self, user: i64, collection: &str) -> anyhow::Result<Option<i64>> {
        let row = self.conn()?.query_opt(
            "SELECT c.id FROM serve_collections c
             JOIN serve_members m ON m.collection_id = c.id AND m.user_id = $1
             WHERE c.name = $2",
            &[&user, &collection],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The documents `user` may see, with their collection's name.
    pub fn visible_documents(&self, user: i64) -> anyhow::Result<Vec<(i64, String)>> {
        let rows = self.conn()?.query(
            "SELECT d.document_id, c.name FROM serve_documents d
             JOIN serve_collections c ON c.id = d.collection_id
             JOIN serve_members m ON m.collection_id = d.collection_id AND m.user_id = $1
             ORDER BY d.document_id",
            &[&user],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The collections `user` belongs to, by name, with how many members and documents each
    /// has.
    pub fn member_collections(&self, user: i64) -> anyhow::Result<Vec<serde_json::Value>> {
        let rows = self.conn()?.query(
            "SELECT c.name,
                    (SELECT count(*) FROM serve_members o WHERE o.collection_id = c.id),
                    (SELECT count(*) FROM serve_documents d WHERE d.collection_id = c.id)
             FROM serve_collections c
             JOIN serve_members m ON m.collection_id = c.id AND m.user_id = $1
             ORDER BY c.name",
            &[&user],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.get::<_, String>(0),
                    "members": r.get::<_, i64>(1),
                    "documents": r.get::<_, i64>(2),
                })
            })
            .collect())
    }

    /// Whether `user` may see document `id`.
    pub fn can_see_document(&self, user: i64, id: i64) -> anyhow::Result<bool> {
        let row = self.conn()?.query_opt(
            "SELECT 1 FROM serve_documents d
             JOIN serve_members m ON m.collection_id = d.collection_id AND m.user_id = $1
             WHERE d.document_id = $2",
            &[&user, &id],
        )?;
        Ok(row.is_some())
    }

    /// The stored PDF of document `id`.
    pub fn pdf(&self, id: i64) -> anyhow::Result<Option<Vec<u8>>> {
        let row = self.conn()?.query_opt(
            "SELECT bytes FROM serve_files WHERE document_id = $1",
            &[&id],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The conversations `user` owns.
    pub fn owned_conversations(&self, user: i64) -> anyhow::Result<Vec<i64>> {
        let rows = self.conn()?.query(
            "SELECT conversation_id FROM serve_conversations WHERE user_id = $1",
            &[&user],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub fn owns_conversation(&self, user: i64, id: i64) -> anyhow::Result<bool> {
        let row = self.conn()?.query_opt(
            "SELECT 1 FROM serve_conversations WHERE user_id = $1 AND conversation_id = $2",
            &[&user, &id],
        )?;
        Ok(row.is_some())
    }

    /// Records that `user` started conversation `id` (again is fine; never changes owner).
    pub fn own_conversation(&self, user: i64, id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
            "INSERT INTO serve_conversations (conversation_id, user_id) VALUES ($1, $2)
             ON CONFLICT (conversation_id) DO NOTHING",
            &[&id, &user],
        )?;
        Ok(())
    }

    // ---- uploads and jobs ----

    /// Stores an upload and queues it, in one transaction; returns the job id.
    pub fn enqueue(
        &self,
        user: i64,
        collection: i64,
        name: &str,
        bytes: &[u8],
    ) -> anyhow::Result<i64> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let file: i64 = tx
            .query_one(
                "INSERT INTO serve_files (sha256, size, bytes) VALUES ($1, $2, $3) RETURNING id",
                &[&sha256, &(bytes.len() as i64), &bytes],
            )?
            .get(0);
        let job: i64 = tx
            .query_one(
                "INSERT INTO serve_jobs (collection_id, user_id, name, file_id)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&collection, &user, &name, &file],
            )?
            .get(0);
        tx.commit()?;
        Ok(job)
    }

    /// A job as its uploader's collection members see it; `None` when `user` may not.
    pub fn job(&self, user: i64, id: i64) -> anyhow::Result<Option<serde_json::Value>> {
        let row = self.conn()?.query_opt(
            "SELECT j.id, c.name, j.name, j.status, j.outcome, j.error, j.document_id,
                    j.attempts, j.claimed_by,
                    to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(j.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM serve_jobs j
             JOIN serve_collections c ON c.id = j.collection_id
             JOIN serve_members m ON m.collection_id = j.collection_id AND m.user_id = $1
             WHERE j.id = $2",
            &[&user, &id],
        )?;
        Ok(row.map(|r| {
            serde_json::json!({
                "id": r.get::<_, i64>(0),
                "collection": r.get::<_, String>(1),
                "name": r.get::<_, String>(2),
                "status": r.get::<_, String>(3),
                "outcome": r.get::<_, Option<String>>(4),
                "error": r.get::<_, Option<String>>(5),
                "document_id": r.get::<_, Option<i64>>(6),
                "attempts": r.get::<_, i32>(7),
                "claimed_by": r.get::<_, Option<String>>(8),
                "created_at": r.get::<_, String>(9),
                "finished_at": r.get::<_, Option<String>>(10),
            })
        }))
    }

    /// Claims the oldest job that is queued, or running on a server that stopped beating for
    /// `stale_secs` (it died, or lost the database); committed at once, so another server sees
    /// the claim. Two servers never claim the same job at once (`FOR UPDATE SKIP LOCKED`).
    pub fn claim(&self, server: &str, stale_secs: u64) -> anyhow::Result<Option<Claimed>> {
        let row = self.conn()?.query_opt(
            "UPDATE serve_jobs j SET status = 'running', claimed_by = $1, claimed_at = now(),
                    attempts = attempts + 1
             FROM serve_collections c
             WHERE c.id = j.collection_id AND j.id = (
                 SELECT id FROM serve_jobs
                 WHERE status = 'queued'
                    OR (status = 'running'
                        AND claimed_at < now() - make_interval(secs => $2::float8))
                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING j.id, c.name, j.name, j.file_id, j.attempts",
            &[&server, &(stale_secs as f64)],
        )?;
        Ok(row.map(|r| Claimed {
            id: r.get(0),
            collection: r.get(1),
            name: r.get(2),
            file_id: r.get(3),
            attempts: r.get(4),
        }))
    }

    /// Says this server is still working on job `id`.
    pub fn heartbeat(&self, server: &str, id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE serve_jobs SET claimed_at = now()
             WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
            &[&id, &server],
        )?;
        Ok(())
    }

    /// The bytes of an upload.
    pub fn file_bytes(&self, file: i64) -> anyhow::Result<Option<Vec<u8>>> {
        let row = self
            .conn()?
            .query_opt("SELECT bytes FROM serve_files WHERE id = $1", &[&file])?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Ends a job: with the document the engine stored it as (if any), which joins the job's
    /// collection and keeps the upload as its PDF (replacing an earlier upload of the same
    /// name); `outcome` is the engine's (added, unchanged, replaced, failed).
    pub fn finish(
        &self,
        server: &str,
        job: &Claimed,
        document: Option<i64>,
        outcome: &str,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        if let Some(document) = document {
            link_document(&mut tx, job, document)?;
        }
        let status = if error.is_some() { "failed" } else { "done" };
        tx.execute(
            "UPDATE serve_jobs SET status = $3, outcome = $4, error = $5, document_id = $6,
                    finished_at = now()
             WHERE id = $1 AND claimed_by = $2",
            &[&job.id, &server, &status, &outcome, &error, &document],
        )?;
        // The upload is kept only as a document's PDF.
        if document.is_none() {
            if let Some(file) = job.file_id {
                tx.execute(
                    "DELETE FROM serve_files WHERE id = $1 AND document_id IS NULL",
                    &[&file],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Gives back a job this server could not finish because the database went away while it
    /// worked (not the upload's fault): queued again for any server, this try not counted.
    /// Nothing when another server took it meanwhile.
    pub fn release(&self, server: &str, id: i64) -> anyhow::Result<()> {
        self.conn()?.execute(
            "UPDATE serve_jobs SET status = 'queued', claimed_by = NULL, claimed_at = NULL,
                    attempts = greatest(attempts - 1, 0)
             WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
            &[&id, &server],
        )?;
        Ok(())
    }
}

/// Whether `e` says the database cannot be reached now (refused, lost, shutting down or
/// starting up), rather than that it refused what was asked: worth trying again later.
pub fn unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<postgres::Error>() {
            return match e.as_db_error() {
                Some(db) => unreachable_state(db.code()),
                None => {
                    e.is_closed()
                        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                        || e.to_string().starts_with("error connecting")
                        || e.to_string().starts_with("error communicating")
                        || e.to_string().starts_with("timeout")
                }
            };
        }
        if let Some(e) = cause.downcast_ref::<quire_engine::Error>() {
            return engine_unreachable(e);
        }
        cause.is::<std::io::Error>()
    })
}

/// Whether an unreachable database's message (see [`unreachable`]) says that a new connection
/// could not be made, rather than that one made before broke.
pub fn connect_failure(message: &str) -> bool {
    [
        "cannot reach ",
        "cannot connect to ",
        "error connecting to server",
    ]
    .iter()
    .any(|sign| message.contains(sign))
}

/// SQLSTATEs of a database that is going away or not there yet: connection exceptions (08),
/// shutdown (57P01, 57P02), cannot connect now (57P03, starting up or in recovery).
fn unreachable_state(code: &postgres::error::SqlState) -> bool {
    let code = code.code();
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// [`unreachable`] for the engine's errors, which carry the database's words only: those of a
/// database that cannot be reached (the engine's own, and PostgreSQL's for the SQLSTATEs of
/// [`unreachable_state`]).
pub fn engine_unreachable(e: &quire_engine::Error) -> bool {
    let quire_engine::Error::Postgres(message) = e else {
        return false;
    };
    const SIGNS: &[&str] = &[
        "cannot reach ",
        "connection to the database was lost",
        "error connecting to server",
        "error communicating with the server",
        "connection closed",
        "timeout waiting for server",
        "terminating connection due to administrator command",
        "terminating connection because of crash of another server process",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        "the database system is not accepting connections",
        "connection refused",
        "connection reset",
        "broken pipe",
    ];
    let message = message.to_lowercase();
    SIGNS.iter().any(|sign| message.contains(sign))
}

/// Puts `document` in the job's collection with the job's upload as its PDF.
fn link_document(tx: &mut Transaction, job: &Claimed, document: i64) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO serve_documents (document_id, collection_id)
         SELECT $1, id FROM serve_collections WHERE name = $2
         ON CONFLICT (document_id) DO UPDATE SET collection_id = excluded.collection_id",
        &[&document, &job.collection],
    )?;
    if let Some(file) = job.file_id {
        // Another claimer may have linked this very upload already.
        tx.execute(
            "DELETE FROM serve_files WHERE document_id = $1 AND id <> $2",
            &[&document, &file],
        )?;
        tx.execute(
            "UPDATE serve_files SET document_id = $1 WHERE id = $2",
            &[&document, &file],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_only_their_digest_is_kept() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_digest(&a).len(), 64);
        assert_ne!(token_digest(&a), a);
    }

    #[test]
    fn collection_names_are_one_path_segment() {
        for good in ["legal", "team-2", "a.b_c"] {
            check_collection_name(good).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_collection_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            without_password("postgresql://quire:secret@host:5432/db"),
            "postgresql://quire:***@host:5432/db"
        );
        assert_eq!(
            without_password("postgresql://quire@127.0.0.1:5/q"),
            "postgresql://quire@127.0.0.1:5/q"
        );
    }
}
