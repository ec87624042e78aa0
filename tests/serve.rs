//! End-to-end tests of `quire serve`: the real binary against a real PostgreSQL with pgvector
//! (`scripts/postgres.sh`, a throwaway cluster on a free port of 127.0.0.1), the real models,
//! real PDFs from Debian's texlive-latex-base-doc, and plain HTTP/1.1 over `std::net` (what
//! any client sends; no client library between the test and the server). The helpers are in
//! tests/common_serve, shared with tests/serve_faults.rs.

mod common;
mod common_serve;

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::texlive_pdf;
use common_serve::{admin, http, Postgres, Server};
use serde_json::json;

// ---- the tests ----

#[test]
fn a_team_library_keeps_each_users_documents_and_conversations_to_them() {
    let pg = Postgres::start();
    let alice = admin(&pg.url, &["user", "add", "alice"]).trim().to_string();
    let bob = admin(&pg.url, &["user", "add", "bob"]).trim().to_string();
    assert_eq!(alice.len(), 64, "a 32-byte token in hex: {alice}");
    assert_ne!(alice, bob);
    admin(&pg.url, &["collection", "add", "legal"]);
    admin(&pg.url, &["collection", "add", "lab"]);
    admin(&pg.url, &["collection", "grant", "legal", "alice"]);
    admin(&pg.url, &["collection", "grant", "lab", "bob"]);
    let users = admin(&pg.url, &["user", "list"]);
    assert!(
        users.contains("alice") && users.contains("legal"),
        "{users}"
    );
    // Only the tokens' digests are kept.
    let stored = pg.psql("SELECT string_agg(token_sha256, ',') FROM serve_users");
    assert!(
        !stored.contains(&alice) && !stored.contains(&bob),
        "{stored}"
    );

    let server = Server::start(
        &pg.url,
        &["--listen", "127.0.0.1:0", "--max-upload-mb", "1"],
    );
    assert!(server.addr.ip().is_loopback());

    // No token, or a wrong one: nothing.
    for path in [
        "/v1/collections",
        "/v1/documents",
        "/v1/conversations",
        "/v1/openapi.json",
        "/v1/jobs/1",
    ] {
        let reply = server.get(path, None);
        assert!(reply.error(401).contains("Bearer"), "{}", reply.text());
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        server.get(path, Some(&"0".repeat(64))).error(401);
    }
    let reply = http(
        server.addr,
        "POST",
        "/v1/collections/legal/documents?name=x.pdf",
        None,
        Some(("application/pdf", b"%PDF-1.4")),
    );
    reply.error(401);

    // Each sees their own collections only.
    let names = |token: &str| -> Vec<String> {
        let reply = server.get("/v1/collections", Some(token));
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&alice), vec!["legal"]);
    assert_eq!(names(&bob), vec!["lab"]);

    // Alice adds a real PDF to her collection.
    let pdf = std::fs::read(texlive_pdf("base/lppl.pdf")).unwrap();
    let reply = server.upload(&alice, "legal", "lppl.pdf", &pdf);
    assert_eq!(reply.status, 202, "{}", reply.text());
    let job_id = reply.json()["job"].as_i64().unwrap();
    let job = server.job_done(&alice, job_id);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["outcome"], "added", "{job}");
    // The server that took it: `HOST:PID:RANDOM`.
    let claimer = job["claimed_by"].as_str().unwrap_or_default();
    assert!(claimer.contains(&format!(":{}:", server.pid())), "{job}");
    let doc = job["document_id"].as_i64().unwrap();

    // Not a PDF; too large (1.3 MB against 1 MB): refused, with a reason.
    let message = server
        .upload(&alice, "legal", "notes.pdf", b"just some text")
        .error(415);
    assert!(message.contains("PDF"), "{message}");
    let large = std::fs::read(texlive_pdf("base/encguide.pdf")).unwrap();
    assert!(large.len() > 1 << 20);
    let message = server
        .upload(&alice, "legal", "encguide.pdf", &large)
        .error(413);
    assert!(message.contains("1 MB"), "{message}");
    // Into a collection she is not in, or one that does not exist: the same answer.
    let a = server.upload(&alice, "lab", "lppl.pdf", &pdf).error(404);
    let b = server
        .upload(&alice, "nowhere", "lppl.pdf", &pdf)
        .error(404);
    assert_eq!(a.replace("lab", "X"), b.replace("nowhere", "X"));

    // Alice sees it, as `legal/lppl.pdf`, and can download the very bytes.
    let listed = server.get("/v1/documents", Some(&alice)).json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], doc);
    assert_eq!(listed[0]["path"], "legal/lppl.pdf");
    assert_eq!(listed[0]["collection"], "legal");
    let download = server.get(&format!("/v1/documents/{doc}/pdf"), Some(&alice));
    assert_eq!(download.status, 200);
    assert_eq!(download.header("content-type"), Some("application/pdf"));
    assert!(download.body == pdf, "the PDF comes back as uploaded");

    // Bob, not in `legal`, sees none of it: not listed, not found, not downloaded, not
    // deleted, not its job, not uploaded to.
    assert_eq!(server.get("/v1/documents", Some(&bob)).json(), json!([]));
    server
        .get(&format!("/v1/documents/{doc}/pdf"), Some(&bob))
        .error(404);
    // As for a document that does not exist: its existence is not revealed.
    let missing = server
        .get("/v1/documents/999999/pdf", Some(&bob))
        .error(404);
    let hidden = server
        .get(&format!("/v1/documents/{doc}/pdf"), Some(&bob))
        .error(404);
    assert_eq!(missing, hidden);
    server
        .delete(&format!("/v1/documents/{doc}"), Some(&bob))
        .error(404);
    server
        .get(&format!("/v1/jobs/{job_id}"), Some(&bob))
        .error(404);
    server.upload(&bob, "legal", "mine.pdf", &pdf).error(404);
    let hits = server.send(
        "POST",
        "/v1/search",
        &bob,
        json!({"query": "modified versions of the work", "k": 5}),
    );
    assert_eq!(hits.status, 200, "{}", hits.text());
    assert_eq!(hits.json(), json!([]), "bob has no documents to search");
    let asked = server.send(
        "POST",
        "/v1/ask",
        &bob,
        json!({"question": "What is the LPPL?"}),
    );
    asked.error(409);
    // The document is still there.
    assert_eq!(
        server.get("/v1/documents", Some(&alice)).json()[0]["id"],
        doc
    );

    // Alice searches her document.
    let hits = server.send(
        "POST",
        "/v1/search",
        &alice,
        json!({"query": "conditions for distributing a modified version of the work", "k": 3}),
    );
    assert_eq!(hits.status, 200, "{}", hits.text());
    let hits = hits.json();
    let hits = hits.as_array().unwrap();
    assert!(!hits.is_empty());
    for hit in hits {
        assert_eq!(hit["document_id"], doc, "{hit}");
        assert_eq!(hit["path"], "legal/lppl.pdf");
    }

    // Alice asks; the answer streams as server-sent events and cites her document.
    let asked = server.send(
        "POST",
        "/v1/ask",
        &alice,
        json!({"question": "What must you do when you distribute a modified version of the work?"}),
    );
    assert_eq!(asked.status, 200, "{}", asked.text());
    assert!(asked
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/event-stream")));
    let events = asked.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"sources"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(!names.contains(&"error"), "{events:?}");
    let sources = &events[0].1["data"];
    assert!(!sources.as_array().unwrap().is_empty());
    for source in sources.as_array().unwrap() {
        assert_eq!(source["document_id"], doc, "{source}");
        assert_eq!(source["path"], "legal/lppl.pdf");
    }
    let answer = &events.last().unwrap().1["data"];
    assert!(!answer["answer"].as_str().unwrap().is_empty(), "{answer}");
    assert!(
        answer["citations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["document_id"] == doc),
        "{answer}"
    );
    assert_ne!(answer["outcome"], "not_covered", "{answer}");
    let cited = answer["citations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cited"] == true)
        .count();
    let quotes = answer["quotes"].as_array().unwrap();
    assert!(quotes.iter().all(|q| q["document_id"] == doc), "{answer}");
    assert!(cited > 0 || !quotes.is_empty(), "cites nothing: {answer}");
    eprintln!(
        "answer: {} ({cited} cited, {} quotes)",
        answer["answer"],
        quotes.len()
    );
    let conversation = answer["conversation_id"].as_i64().unwrap();

    // Her conversation is hers.
    let mine = server.get("/v1/conversations", Some(&alice)).json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["id"], conversation);
    let path = format!("/v1/conversations/{conversation}");
    let messages = server.get(&path, Some(&alice)).json();
    assert_eq!(
        messages["messages"].as_array().unwrap().len(),
        2,
        "{messages}"
    );
    assert_eq!(
        server.get("/v1/conversations", Some(&bob)).json(),
        json!([])
    );
    server.get(&path, Some(&bob)).error(404);
    server
        .send("PATCH", &path, &bob, json!({"title": "mine now"}))
        .error(404);
    server.delete(&path, Some(&bob)).error(404);
    server
        .send(
            "POST",
            "/v1/ask",
            &bob,
            json!({"question": "And then?", "conversation": conversation}),
        )
        .error(404);
    let renamed = server.send("PATCH", &path, &alice, json!({"title": "LPPL duties"}));
    assert_eq!(renamed.status, 200, "{}", renamed.text());
    let mine = server.get("/v1/conversations", Some(&alice)).json();
    assert_eq!(mine[0]["title"], "LPPL duties");

    // The same bytes under the same name again: unchanged, the same document.
    let reply = server.upload(&alice, "legal", "lppl.pdf", &pdf);
    let again = server.job_done(&alice, reply.json()["job"].as_i64().unwrap());
    assert_eq!(again["outcome"], "unchanged", "{again}");
    assert_eq!(again["document_id"], doc);

    // A job whose server stopped beating an hour ago is taken over; one whose server beats
    // is left to it.
    let file = pg.psql(&format!(
        "INSERT INTO serve_files (sha256, size, bytes)
         SELECT sha256, size, bytes FROM serve_files WHERE document_id = {doc} RETURNING id"
    ));
    let orphan = pg.psql(&format!(
        "INSERT INTO serve_jobs (collection_id, name, file_id, status, claimed_by, claimed_at,
                                 attempts)
         SELECT id, 'lppl.pdf', {file}, 'running', 'dead-server', now() - interval '1 hour', 1
         FROM serve_collections WHERE name = 'legal' RETURNING id"
    ));
    let busy = pg.psql(
        "INSERT INTO serve_jobs (collection_id, name, status, claimed_by, claimed_at, attempts)
         SELECT id, 'busy.pdf', 'running', 'busy-server', now(), 1
         FROM serve_collections WHERE name = 'legal' RETURNING id",
    );
    let taken = server.job_done(&alice, orphan.parse().unwrap());
    assert_eq!(taken["outcome"], "unchanged", "{taken}");
    assert_eq!(taken["document_id"], doc);
    assert_eq!(taken["attempts"], 2);
    let claimer = pg.psql(&format!(
        "SELECT claimed_by FROM serve_jobs WHERE id = {orphan}"
    ));
    assert_ne!(claimer, "dead-server");
    let still = server.get(&format!("/v1/jobs/{busy}"), Some(&alice)).json();
    assert_eq!(still["status"], "running", "{still}");
    assert_eq!(
        pg.psql(&format!(
            "SELECT claimed_by FROM serve_jobs WHERE id = {busy}"
        )),
        "busy-server"
    );
    assert_eq!(
        server
            .get("/v1/documents", Some(&alice))
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "no duplicate document"
    );

    // The API describes itself.
    let spec = server.get("/v1/openapi.json", Some(&bob));
    assert_eq!(spec.status, 200);
    assert_eq!(spec.json()["openapi"], "3.1.0");

    // Alice removes her document: gone, with its PDF.
    let removed = server.delete(&format!("/v1/documents/{doc}"), Some(&alice));
    assert_eq!(removed.status, 204, "{}", removed.text());
    server
        .get(&format!("/v1/documents/{doc}/pdf"), Some(&alice))
        .error(404);
    assert_eq!(server.get("/v1/documents", Some(&alice)).json(), json!([]));
    assert_eq!(
        pg.psql(&format!(
            "SELECT count(*) FROM serve_files WHERE document_id = {doc}"
        )),
        "0"
    );
}

/// The addresses of this machine other than loopback (from the kernel's routing table).
fn other_addresses() -> Vec<std::net::IpAddr> {
    let out = Command::new("hostname").arg("-I").output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse().ok())
        .filter(|a: &std::net::IpAddr| !a.is_loopback())
        .collect()
}

#[test]
fn by_default_the_server_listens_on_this_machine_only() {
    let pg = Postgres::start();
    let token = admin(&pg.url, &["user", "add", "carol"]).trim().to_string();
    let server = Server::start(&pg.url, &[]);
    assert_eq!(server.addr, "127.0.0.1:8484".parse().unwrap());
    assert_eq!(server.get("/v1/documents", Some(&token)).json(), json!([]));
    for ip in other_addresses() {
        let elsewhere = SocketAddr::new(ip, 8484);
        assert!(
            TcpStream::connect_timeout(&elsewhere, Duration::from_secs(2)).is_err(),
            "reachable on {elsewhere}"
        );
    }
}

#[test]
fn with_a_certificate_and_key_the_server_speaks_https_only() {
    let pg = Postgres::start();
    let token = admin(&pg.url, &["user", "add", "dave"]).trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server = Server::start(
        &pg.url,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let curl = |scheme: &str| {
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "--cacert"])
            .arg(&cert)
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .arg(format!("{scheme}://{}/v1/documents", server.addr))
            .output()
            .expect("curl runs")
    };
    let out = curl("https");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]");
    // Plain HTTP gets nothing.
    let out = curl("http");
    assert!(!out.status.success() || !out.stdout.starts_with(b"["));
}
