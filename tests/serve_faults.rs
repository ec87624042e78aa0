//! Faults of the team library (`quire serve` on PostgreSQL), with real processes, a real
//! PostgreSQL with pgvector, the real models and real PDFs from Debian's texlive-latex-base-doc:
//!
//! - one of two servers sharing an ingestion is killed (SIGKILL) while it works: the other
//!   finishes its jobs and its embedding, with every upload stored once and nothing lost;
//! - the database stops under load and starts again: requests meanwhile get a clear 503
//!   quickly, the server lives on, and serves again once the database is back, without a
//!   restart (and the job it was doing is done).
//!
//! Each test prints its times on stderr (`cargo test --test serve_faults -- --nocapture`).

mod common;
mod common_serve;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::texlive_pdf;
use common_serve::{admin, try_http, Postgres, Server};
use serde_json::{json, Value};

/// Waits until `ready` gives something, for at most `limit`; panics with `what` after.
fn wait_for<T>(what: &str, limit: Duration, mut ready: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = ready() {
            return found;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: still not after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A user with a collection of their own; their token.
fn user_with_collection(pg: &Postgres, user: &str, collection: &str) -> String {
    let token = admin(&pg.url, &["user", "add", user]).trim().to_string();
    admin(&pg.url, &["collection", "add", collection]);
    admin(&pg.url, &["collection", "grant", collection, user]);
    token
}

/// Twelve PDFs of 200 to 520 kB, a few seconds of work each on a CPU.
const SHARED_PDFS: &[&str] = &[
    "usrguide.pdf",
    "clsguide.pdf",
    "fntguide.pdf",
    "classes.pdf",
    "ltnews31.pdf",
    "slides.pdf",
    "letter.pdf",
    "inputenc.pdf",
    "cmfonts.pdf",
    "cfgguide.pdf",
    "modguide.pdf",
    "ltnews28.pdf",
];

#[test]
fn a_server_killed_during_a_shared_ingestion_leaves_its_work_to_the_other() {
    let pg = Postgres::start();
    let token = user_with_collection(&pg, "erin", "docs");
    // A short heartbeat, so that the dead server's job is taken over in seconds; a longer
    // embedding lease, so that what it was embedding is likely still its own when the
    // survivor's last add ends, and only an idle worker's look for leftovers finishes it.
    let args = ["--listen", "127.0.0.1:0", "--stale-secs", "3"];
    let env = [("QUIRE_POSTGRES_LEASE_SECS", "15")];
    let mut doomed = Server::start_with(&pg.url, &args, &env);
    let mut survivor = Server::start_with(&pg.url, &args, &env);
    let (doomed_pid, survivor_pid) = (doomed.pid(), survivor.pid());

    let started = Instant::now();
    let mut jobs: Vec<(String, i64)> = Vec::new();
    for (i, name) in SHARED_PDFS.iter().enumerate() {
        let bytes = std::fs::read(texlive_pdf(&format!("base/{name}"))).unwrap();
        let server = if i % 2 == 0 { &doomed } else { &survivor };
        let reply = server.upload(&token, "docs", name, &bytes);
        assert_eq!(reply.status, 202, "{}", reply.text());
        jobs.push((name.to_string(), reply.json()["job"].as_i64().unwrap()));
    }
    let uploaded = started.elapsed();

    // The doomed server at work, a third of the way: a job of its own running, and documents
    // it embeds (the engine names its claims `PID:STARTED`).
    let running_there = format!(
        "SELECT count(*) FROM serve_jobs WHERE status = 'running'
         AND claimed_by LIKE '%:{doomed_pid}:%'"
    );
    let claims_there =
        format!("SELECT count(*) FROM embedding_claims WHERE owner LIKE '{doomed_pid}:%'");
    let done = "SELECT count(*) FROM serve_jobs WHERE status = 'done'";
    wait_for(
        "the doomed server running a job and embedding",
        Duration::from_secs(300),
        || {
            let busy = pg.psql(done).parse::<usize>().unwrap() >= SHARED_PDFS.len() / 3
                && pg.psql(&running_there) != "0"
                && pg.psql(&claims_there) != "0";
            busy.then_some(())
        },
    );
    let done_at_kill = pg.psql(done);
    doomed.kill_9();
    let killed = Instant::now();
    let killed_after = started.elapsed();

    // What it left: the jobs it had claimed and not finished, the documents it was embedding.
    let unfinished: HashSet<i64> = pg
        .psql(&format!(
            "SELECT id FROM serve_jobs WHERE status = 'running'
             AND claimed_by LIKE '%:{doomed_pid}:%'"
        ))
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(!unfinished.is_empty(), "it had no unfinished job");
    let embedding: Vec<(i64, String)> = pg
        .psql(&format!(
            "SELECT d.id || '|' || d.path FROM embedding_claims e
             JOIN documents d ON d.id = e.document_id
             WHERE e.owner LIKE '{doomed_pid}:%' ORDER BY d.id"
        ))
        .lines()
        .map(|l| {
            let (id, path) = l.split_once('|').unwrap();
            (id.parse().unwrap(), path.to_string())
        })
        .collect();
    let waiting_at_kill = pg.psql(
        "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id
         WHERE d.status = 'ready' AND c.embedding IS NULL",
    );
    eprintln!(
        "killed the server {doomed_pid} after {killed_after:.1?} ({done_at_kill} jobs done): jobs \
         {unfinished:?} unfinished, embedding {embedding:?}, {waiting_at_kill} passages without \
         vectors"
    );

    // The survivor finishes every job...
    let mut finished: HashMap<i64, Value> = HashMap::new();
    wait_for("every job ended", Duration::from_secs(900), || {
        for (_, id) in &jobs {
            if finished.contains_key(id) {
                continue;
            }
            let reply = survivor.get(&format!("/v1/jobs/{id}"), Some(&token));
            assert_eq!(reply.status, 200, "{}", reply.text());
            let job = reply.json();
            if job["status"] == "done" || job["status"] == "failed" {
                finished.insert(*id, job);
            }
        }
        (finished.len() == jobs.len()).then_some(())
    });
    let jobs_done = killed.elapsed();
    let waiting_after_jobs = pg.psql("SELECT count(*) FROM chunks WHERE embedding IS NULL");
    // ...and the embedding, its own and the dead one's (after the lease).
    wait_for("every passage embedded", Duration::from_secs(900), || {
        let left = pg.psql(
            "SELECT (SELECT count(*) FROM documents WHERE NOT embedded)
                  + (SELECT count(*) FROM chunks WHERE embedding IS NULL)",
        );
        (left == "0").then_some(())
    });
    let embedded = killed.elapsed();
    assert!(survivor.alive(), "the survivor died");

    // Every job done, the dead server's taken over by the survivor.
    let mut documents: HashSet<i64> = HashSet::new();
    for (name, id) in &jobs {
        let job = &finished[id];
        assert_eq!(job["status"], "done", "{name}: {job}");
        assert!(
            ["added", "unchanged"].contains(&job["outcome"].as_str().unwrap()),
            "{name}: {job}"
        );
        let claimer = job["claimed_by"].as_str().unwrap();
        if unfinished.contains(id) {
            assert!(
                claimer.contains(&format!(":{survivor_pid}:")),
                "{name}: {job}"
            );
            assert_eq!(job["attempts"], 2, "{name}: taken over once: {job}");
        }
        let doc = job["document_id"].as_i64().unwrap();
        assert!(
            documents.insert(doc),
            "{name}: a document of two jobs: {job}"
        );
        let path = pg.psql(&format!("SELECT path FROM documents WHERE id = {doc}"));
        assert_eq!(path, format!("docs/{name}"));
    }
    let taken: Vec<&Value> = finished
        .values()
        .filter(|j| {
            j["claimed_by"]
                .as_str()
                .unwrap()
                .contains(&format!(":{survivor_pid}:"))
        })
        .collect();
    eprintln!(
        "jobs taken by the survivor: {} of {}; by the killed server before it died: {}",
        taken.len(),
        jobs.len(),
        jobs.len() - taken.len()
    );

    // Each upload is one document, ready and embedded, in the collection, with its PDF; no
    // leftovers in the server's tables or the engine's claims.
    let n = SHARED_PDFS.len().to_string();
    assert_eq!(
        pg.psql("SELECT count(*) || ' ' || count(DISTINCT path) FROM documents"),
        format!("{n} {n}"),
        "one document per upload"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM documents WHERE status = 'ready' AND embedded"),
        n
    );
    assert_eq!(
        pg.psql(
            "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id
             WHERE d.embedded AND c.embedding IS NULL"
        ),
        "0",
        "an embedded document has passages without vectors"
    );
    assert_eq!(
        pg.psql(
            "SELECT count(*) FROM documents d WHERE NOT EXISTS (
                 SELECT 1 FROM chunks c WHERE c.document_id = d.id)"
        ),
        "0",
        "a document without passages"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM serve_documents"), n);
    assert_eq!(
        pg.psql("SELECT count(*) || ' ' || count(DISTINCT document_id) FROM serve_files"),
        format!("{n} {n}"),
        "one stored PDF per document, none left over"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM embedding_claims"), "0");
    let listed = survivor.get("/v1/documents", Some(&token)).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), SHARED_PDFS.len(), "{listed:?}");
    for doc in listed {
        assert_eq!(doc["status"], "ready", "{doc}");
        assert_eq!(doc["embedded"], true, "{doc}");
    }

    // The survivor finds, by meaning too, a passage of a document the dead server worked on.
    let (doc, path) = embedding.first().cloned().unwrap_or_else(|| {
        let id = *unfinished.iter().next().unwrap();
        let doc = finished[&id]["document_id"].as_i64().unwrap();
        (
            doc,
            pg.psql(&format!("SELECT path FROM documents WHERE id = {doc}")),
        )
    });
    let passage = pg.psql(&format!(
        "SELECT text FROM chunks WHERE document_id = {doc} ORDER BY ordinal
         OFFSET (SELECT count(*) / 2 FROM chunks WHERE document_id = {doc}) LIMIT 1"
    ));
    let query: String = passage
        .split_whitespace()
        .take(30)
        .collect::<Vec<_>>()
        .join(" ");
    let reply = survivor.send(
        "POST",
        "/v1/search",
        &token,
        json!({"query": query, "k": 5}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let hits = reply.json();
    let hit = hits
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["document_id"] == doc)
        .unwrap_or_else(|| panic!("no passage of {path} for {query:?}: {hits}"));
    assert_eq!(hit["by_words_only"], false, "{hit}");
    assert!(hit["similarity"].as_f64().is_some(), "{hit}");

    // Passages left without vectors when nothing more is uploaded: a document claimed by a
    // process that died 10 s ago (its claim lapses 5 s from now), one claimed by nobody (an add
    // cut short). The idle survivor embeds both, by itself.
    let ids: Vec<i64> = listed.iter().map(|d| d["id"].as_i64().unwrap()).collect();
    let (claimed, unclaimed) = (ids[0], ids[1]);
    pg.psql(&format!(
        "BEGIN;
         UPDATE chunks SET embedding = NULL WHERE document_id IN ({claimed}, {unclaimed});
         UPDATE documents SET embedded = FALSE WHERE id IN ({claimed}, {unclaimed});
         INSERT INTO embedding_claims (document_id, owner, renewed_at)
             VALUES ({claimed}, '1:1', now() - interval '10 seconds');
         COMMIT;"
    ));
    let left = Instant::now();
    let unclaimed_done = wait_for(
        "the unclaimed passages embedded",
        Duration::from_secs(120),
        || {
            let waiting = pg.psql(&format!(
                "SELECT count(*) FROM chunks WHERE document_id = {unclaimed} AND embedding IS NULL"
            ));
            (waiting == "0").then(|| left.elapsed())
        },
    );
    let claimed_done = wait_for(
        "the dead claim's passages embedded",
        Duration::from_secs(120),
        || {
            let waiting = pg.psql("SELECT count(*) FROM documents WHERE NOT embedded");
            (waiting == "0").then(|| left.elapsed())
        },
    );
    assert!(
        claimed_done >= Duration::from_secs(4),
        "taken before the lease: {claimed_done:?}"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM chunks WHERE embedding IS NULL"),
        "0"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM embedding_claims"), "0");
    eprintln!(
        "left without vectors, nothing uploaded after: unclaimed embedded in {unclaimed_done:.1?}, \
         under a lapsing claim (5 s left) in {claimed_done:.1?}"
    );

    eprintln!(
        "times: 12 uploads {uploaded:.1?}; killed at {killed_after:.1?}; after the kill every job \
         done in {jobs_done:.1?} ({waiting_after_jobs} passages still without vectors then), \
         every passage embedded in {embedded:.1?}; total {:.1?}",
        killed_after + embedded
    );
}

/// One request of a client during [`a_database_restart_under_load_fails_requests_clearly_and_recovers`].
#[derive(Debug, Clone)]
struct Sample {
    /// From the test's start.
    start: Duration,
    end: Duration,
    /// The status, or why there was no answer.
    outcome: Result<u16, String>,
    error: Option<String>,
    retry_after: Option<String>,
}

#[test]
fn a_database_restart_under_load_fails_requests_clearly_and_recovers() {
    let pg = Postgres::start();
    let token = user_with_collection(&pg, "frank", "lab");
    let mut server = Server::start(&pg.url, &["--listen", "127.0.0.1:0"]);
    for name in ["lppl.pdf", "ltnews20.pdf"] {
        let bytes = std::fs::read(texlive_pdf(&format!("base/{name}"))).unwrap();
        let reply = server.upload(&token, "lab", name, &bytes);
        assert_eq!(reply.status, 202, "{}", reply.text());
        let job = server.job_done(&token, reply.json()["job"].as_i64().unwrap());
        assert_eq!(job["status"], "done", "{job}");
    }

    // Four clients searching in a loop.
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (stop, samples, token) = (stop.clone(), samples.clone(), token.clone());
            std::thread::spawn(move || {
                let queries = [
                    "conditions for distributing a modified version",
                    "new features of the LaTeX release",
                ];
                while !stop.load(Ordering::SeqCst) {
                    let body = json!({"query": queries[i % 2], "k": 3}).to_string();
                    let start = t0.elapsed();
                    let reply = try_http(
                        addr,
                        "POST",
                        "/v1/search",
                        Some(&token),
                        Some(("application/json", body.as_bytes())),
                        Duration::from_secs(60),
                    );
                    let end = t0.elapsed();
                    let sample = match reply {
                        Ok(reply) => Sample {
                            start,
                            end,
                            outcome: Ok(reply.status),
                            error: serde_json::from_slice::<Value>(&reply.body)
                                .ok()
                                .and_then(|v| v["error"].as_str().map(str::to_string)),
                            retry_after: reply.header("retry-after").map(str::to_string),
                        },
                        Err(e) => Sample {
                            start,
                            end,
                            outcome: Err(e.to_string()),
                            error: None,
                            retry_after: None,
                        },
                    };
                    samples.lock().unwrap().push(sample);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));

    // An upload being read when the database goes.
    let bytes = std::fs::read(texlive_pdf("base/usrguide.pdf")).unwrap();
    let reply = server.upload(&token, "lab", "usrguide.pdf", &bytes);
    assert_eq!(reply.status, 202, "{}", reply.text());
    let cut = reply.json()["job"].as_i64().unwrap();
    wait_for("the upload running", Duration::from_secs(60), || {
        let status = pg.psql(&format!("SELECT status FROM serve_jobs WHERE id = {cut}"));
        (status != "queued").then_some(())
    });
    let cut_state = pg.psql(&format!(
        "SELECT status || ' ' || attempts FROM serve_jobs WHERE id = {cut}"
    ));

    let stopping = t0.elapsed();
    pg.stop();
    let stopped = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    // Whatever is asked meanwhile: a clear 503, soon.
    let asked = Instant::now();
    for (method, path, body) in [
        ("GET", "/v1/documents".to_string(), None),
        ("GET", format!("/v1/jobs/{cut}"), None),
        (
            "POST",
            "/v1/collections/lab/documents?name=again.pdf".into(),
            Some(("application/pdf", &bytes[..])),
        ),
        ("GET", "/v1/conversations".into(), None),
    ] {
        let t = Instant::now();
        let reply = try_http(
            addr,
            method,
            &path,
            Some(&token),
            body,
            Duration::from_secs(60),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let message = reply.error(503);
        assert!(
            message.contains("database") && message.contains("cannot be reached"),
            "{method} {path}: {message}"
        );
        assert_eq!(reply.header("retry-after"), Some("5"));
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "{method} {path}: {:?}",
            t.elapsed()
        );
        eprintln!(
            "{method} {path} while the database is down: 503 in {:.0?}: {message}",
            t.elapsed()
        );
    }
    std::thread::sleep(Duration::from_secs(5).saturating_sub(asked.elapsed()));
    assert!(server.alive(), "the server died with the database");

    let restarting = t0.elapsed();
    pg.restart();
    let restarted = t0.elapsed();
    let first_success = wait_for("a search answered again", Duration::from_secs(60), || {
        samples
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.start >= restarted && s.outcome == Ok(200))
            .map(|s| s.end)
            .min()
    });
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let samples = samples.lock().unwrap().clone();

    // Before: all answered. During: all 503 with the reason, none hanging.
    let before: Vec<&Sample> = samples.iter().filter(|s| s.end < stopping).collect();
    assert!(!before.is_empty());
    for s in &before {
        assert_eq!(s.outcome, Ok(200), "{s:?}");
    }
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.start > stopped && s.end < restarting)
        .collect();
    assert!(
        during.len() > 10,
        "{} requests during the outage",
        during.len()
    );
    for s in &during {
        assert_eq!(s.outcome, Ok(503), "{s:?}");
        let error = s.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("database") && error.contains("cannot be reached"),
            "{s:?}"
        );
        assert_eq!(s.retry_after.as_deref(), Some("5"), "{s:?}");
    }
    let slowest = samples.iter().map(|s| s.end - s.start).max().unwrap();
    assert!(
        slowest < Duration::from_secs(15),
        "a request took {slowest:?}"
    );
    for s in &samples {
        assert!(
            matches!(s.outcome, Ok(200) | Ok(503)),
            "neither an answer nor a clear failure: {s:?}"
        );
    }
    // After: answered again, without restarting the server.
    let failed_after: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.start >= restarted && s.outcome != Ok(200))
        .collect();
    let settled = first_success + Duration::from_secs(1);
    for s in samples.iter().filter(|s| s.start > settled) {
        assert_eq!(s.outcome, Ok(200), "after the database came back: {s:?}");
    }
    let after = samples.iter().filter(|s| s.start > settled).count();
    assert!(after > 10, "{after} requests after the database came back");

    // The upload cut short is done after all, and the worker takes new ones.
    let job = server.job_done(&token, cut);
    assert_eq!(job["status"], "done", "{job}");
    let reply = server.upload(
        &token,
        "lab",
        "ltnews22.pdf",
        &std::fs::read(texlive_pdf("base/ltnews22.pdf")).unwrap(),
    );
    assert_eq!(reply.status, 202, "{}", reply.text());
    let late = server.job_done(&token, reply.json()["job"].as_i64().unwrap());
    assert_eq!(late["status"], "done", "{late}");
    wait_for("every passage embedded", Duration::from_secs(300), || {
        let left = pg.psql("SELECT count(*) FROM chunks WHERE embedding IS NULL");
        (left == "0").then_some(())
    });
    assert_eq!(
        pg.psql("SELECT count(*) || ' ' || count(DISTINCT path) FROM documents WHERE status = 'ready' AND embedded"),
        "4 4"
    );
    assert!(server.alive(), "the server died");

    // A quick restart nobody saw (no request meanwhile): the connections the server keeps
    // open broke with it; the next requests are answered all the same.
    pg.stop();
    pg.restart();
    let search = json!({"query": "new features of the LaTeX release", "k": 3}).to_string();
    let statuses: Vec<u16> = (0..12)
        .map(|_| {
            try_http(
                addr,
                "POST",
                "/v1/search",
                Some(&token),
                Some(("application/json", search.as_bytes())),
                Duration::from_secs(60),
            )
            .unwrap()
            .status
        })
        .collect();
    eprintln!("searches after a restart nobody saw: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The same for a question (answered from the documents' sentences: no answer model).
    pg.stop();
    pg.restart();
    let asked = server.send(
        "POST",
        "/v1/ask",
        &token,
        json!({"question": "What is new in this LaTeX release?", "generate": false}),
    );
    assert_eq!(asked.status, 200, "{}", asked.text());
    let events = asked.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"done"), "{events:?}");

    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    eprintln!(
        "requests: {} before the stop (all 200), {} during the outage (all 503, slowest of all \
         {}); stop took {}, restart {}; first search answered {} after the restart; {} failed \
         after the restart (stale connections), {} answered after; the upload cut short \
         (was {cut_state} when the database stopped) ended {} after {} tries",
        before.len(),
        during.len(),
        ms(slowest),
        ms(stopped - stopping),
        ms(restarted - restarting),
        ms(first_success - restarted),
        failed_after.len(),
        after,
        job["outcome"],
        job["attempts"],
    );
}
