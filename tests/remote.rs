//! End-to-end tests of the CLI against a team library (`quire --server URL --token TOKEN`):
//! a real PostgreSQL with pgvector (`scripts/postgres.sh`, a throwaway cluster on a free port
//! of 127.0.0.1), a real `quire serve` with the real models, a real PDF from Debian's
//! texlive-latex-base-doc, and the real `quire` binary as its client.

mod common;
mod common_serve;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::texlive_pdf;
use common_serve::{admin, quire, Postgres};
use serde_json::Value;

// ---- a server on a throwaway PostgreSQL ----

/// A running `quire serve`, killed when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT` (or https).
    url: String,
}

impl Server {
    fn start(postgres: &str, args: &[&str]) -> Server {
        let mut child = quire()
            .arg("serve")
            .args(["--postgres", postgres, "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(url) = line.trim().strip_prefix("quire serve: listening on ") else {
            let _ = child.kill();
            panic!("the server did not start: {line:?}");
        };
        let url = url.to_string();
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the client ----

/// `quire` as a client of `server` with `token`; this computer's library is a folder that
/// must never be made.
struct Client {
    server: String,
    token: String,
    home: tempfile::TempDir,
}

impl Client {
    fn new(server: &str, token: &str) -> Client {
        Client {
            server: server.to_string(),
            token: token.to_string(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn local_library(&self) -> PathBuf {
        self.home.path().join("library")
    }

    fn command(&self) -> Command {
        let mut cmd = quire();
        cmd.env("QUIRE_LIBRARY", self.local_library()).args([
            "--server",
            &self.server,
            "--token",
            &self.token,
        ]);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command().args(args).output().unwrap();
        eprintln!(
            "$ quire {}\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs `args`, which must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "quire {args:?}: {:?}", out.status);
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `args` with `--json`, which must succeed; its stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(&[&["--json"], args].concat());
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: not JSON: {stdout}"))
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---- the tests ----

#[test]
fn every_library_command_works_against_a_team_library() {
    let pg = Postgres::start();
    let alice = admin(&pg.url, &["user", "add", "alice"]).trim().to_string();
    admin(&pg.url, &["collection", "add", "legal"]);
    admin(&pg.url, &["collection", "grant", "legal", "alice"]);
    let server = Server::start(&pg.url, &[]);
    let client = Client::new(&server.url, &alice);
    let pdf = texlive_pdf("base/lppl.pdf");
    let pdf = pdf.to_str().unwrap();

    // Without --collection, `add` says what is missing, before sending anything.
    let out = client.run(&["add", pdf]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        stderr(&out).contains("--collection NAME"),
        "{}",
        stderr(&out)
    );

    // Added, and followed to the end of its job.
    let out = client.ok(&["add", "--collection", "legal", pdf]);
    let line = out.lines().next().unwrap_or_default();
    assert!(line.starts_with("added "), "{out}");
    assert!(
        line.contains("lppl.pdf") && line.contains(" pages, "),
        "{out}"
    );

    // A file that is not a PDF fails, with the reason; never "added".
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.pdf");
    std::fs::write(&notes, "just some text").unwrap();
    let out = client.run(&["add", "--collection", "legal", notes.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("failed "), "{}", stdout(&out));
    assert!(stdout(&out).contains("PDF"), "{}", stdout(&out));
    assert!(
        !stdout(&out).lines().any(|l| l.starts_with("added")),
        "{}",
        stdout(&out)
    );
    // Into a collection that is not hers: refused, with the server's reason.
    let out = client.run(&["add", "--collection", "lab", pdf]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("collection \"lab\""),
        "{}",
        stderr(&out)
    );

    // Listed, as text and as the engine's JSON (with its collection).
    let listed = client.ok(&["list"]);
    assert!(listed.contains("legal/lppl.pdf"), "{listed}");
    assert!(listed.contains("ready"), "{listed}");
    let docs = client.json(&["list"]);
    let docs = docs.as_array().unwrap();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["path"], "legal/lppl.pdf");
    assert_eq!(docs[0]["collection"], "legal");
    assert!(docs[0]["chunks"].as_u64().unwrap() > 0);
    let doc = docs[0]["id"].as_i64().unwrap();

    // Found by a search.
    let query = "conditions for distributing a modified version of the work";
    let found = client.ok(&["search", query, "-k", "3"]);
    assert!(found.starts_with("[1] "), "{found}");
    assert!(found.contains("legal/lppl.pdf"), "{found}");
    let hits = client.json(&["search", query, "-k", "3"]);
    let hits = hits.as_array().unwrap();
    assert!(!hits.is_empty());
    for hit in hits {
        assert_eq!(hit["document_id"], doc, "{hit}");
        assert!(hit["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    // What only this computer's library has is refused, clearly.
    let out = client.run(&["search", query, "--mode", "dense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--mode is not available with --server"));

    // Asked: streamed and printed as locally, with its sources; as JSON, the engine's answer.
    let question = "What must you do when you distribute a modified version of the work?";
    let out = client.run(&["ask", question]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("\nSources:\n"), "{text}");
    assert!(text.contains("legal/lppl.pdf"), "{text}");
    let cited_line = text.lines().any(|l| l.starts_with("*["));
    assert!(
        cited_line || text.contains("From your documents:"),
        "cites nothing: {text}"
    );
    assert!(stderr(&out).contains("conversation "), "{}", stderr(&out));
    let answer = client.json(&["ask", question]);
    assert!(!answer["answer"].as_str().unwrap().is_empty(), "{answer}");
    assert_ne!(answer["outcome"], "not_covered", "{answer}");
    let citations = answer["citations"].as_array().unwrap();
    assert!(!citations.is_empty());
    assert!(
        citations.iter().all(|c| c["document_id"] == doc),
        "{answer}"
    );
    let cited = citations.iter().filter(|c| c["cited"] == true).count();
    let quotes = answer["quotes"].as_array().unwrap();
    assert!(cited > 0 || !quotes.is_empty(), "cites nothing: {answer}");
    assert!(answer["total_time_ms"].as_u64().is_some(), "{answer}");
    let conversation = answer["conversation_id"].as_i64().unwrap();
    // A follow-up in the same conversation, from the documents' own sentences only.
    let more = client.json(&[
        "ask",
        "And when you do not modify it?",
        "--extract-only",
        "--conversation",
        &conversation.to_string(),
    ]);
    assert_eq!(more["conversation_id"], conversation, "{more}");
    assert_eq!(more["model"], "", "no answer model was asked: {more}");

    // Her conversations: the two asked separately, the follow-up in the second.
    let list = client.json(&["conversations"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let listed = list.iter().find(|c| c["id"] == conversation).unwrap();
    assert_eq!(listed["messages"], 4, "{listed}");
    let text = client.ok(&["conversations"]);
    assert!(text.contains(&format!("{conversation}  ")), "{text}");

    // The client library itself: the PDF as uploaded, a conversation's messages, renamed and
    // deleted.
    let library = quire_client::Client::new(&server.url, &alice, &Default::default()).unwrap();
    assert!(library.pdf(doc).unwrap() == std::fs::read(pdf).unwrap());
    let messages = library.conversation(conversation).unwrap().messages;
    assert_eq!(messages.len(), 4);
    assert!(messages[1]
        .citations
        .iter()
        .all(|c| c.document_id == Some(doc)));
    library
        .rename_conversation(conversation, "LPPL duties")
        .unwrap();
    let titles: Vec<String> = library
        .conversations()
        .unwrap()
        .into_iter()
        .map(|c| c.title)
        .collect();
    assert!(titles.contains(&"LPPL duties".to_string()), "{titles:?}");
    let first = list.iter().find(|c| c["id"] != conversation).unwrap();
    library
        .delete_conversation(first["id"].as_i64().unwrap())
        .unwrap();
    let missing = library.conversation(first["id"].as_i64().unwrap());
    assert_eq!(missing.unwrap_err().status(), Some(404));

    // Status: the server and her documents; what is the server's is said not to be shown.
    let status = client.ok(&["status"]);
    assert!(status.contains(&server.url), "{status}");
    assert!(status.contains("1 ready"), "{status}");
    assert!(status.contains("not shown"), "{status}");
    let status = client.json(&["status"]);
    assert_eq!(status["documents"]["ready"], 1, "{status}");
    assert_eq!(status["conversations"], 1, "{status}");

    // Commands that are this computer's only say so.
    for args in [&["models"][..], &["check-citations"]] {
        let out = client.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--server"), "{}", stderr(&out));
    }

    // A wrong token: refused, clearly, with a failure status.
    let stranger = Client::new(&server.url, &"0".repeat(64));
    for args in [
        &["list"][..],
        &["ask", question],
        &["add", "--collection", "legal", pdf],
    ] {
        let out = stranger.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("the server refused the token"),
            "{}",
            stderr(&out)
        );
    }
    // The token from a file works as from --token.
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{alice}\n")).unwrap();
    let out = quire()
        .env("QUIRE_LIBRARY", client.local_library())
        .args(["--server", &server.url, "--token-file"])
        .arg(&file)
        .arg("list")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("legal/lppl.pdf"));

    // Removed by its name; then gone. A name that is not there is a usage error.
    let out = client.ok(&["remove", "lppl.pdf"]);
    assert_eq!(out.trim(), format!("removed {doc} (legal/lppl.pdf)"));
    assert_eq!(client.json(&["list"]), serde_json::json!([]));
    let out = client.run(&["remove", "lppl.pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no document \"lppl.pdf\""));

    // This computer's library was never opened.
    assert!(!client.local_library().exists());

    // A server that is not there: said so.
    drop(server);
    let out = client.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach the team library at http://127.0.0.1:"),
        "{}",
        stderr(&out)
    );
}

/// Runs openssl in `dir` with `args`, which must succeed.
fn openssl(dir: &Path, args: &[String]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

#[test]
fn a_team_library_with_its_own_authority_is_trusted_with_its_certificate() {
    let pg = Postgres::start();
    let token = admin(&pg.url, &["user", "add", "dave"]).trim().to_string();
    // A team's own certificate authority, and the server's certificate signed by it.
    let dir = tempfile::tempdir().unwrap();
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let args = |line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>();
    openssl(
        dir.path(),
        &args(format!(
            "req -x509 -days 1 -subj /CN=TeamCA {ec} -keyout ca.key -out ca.pem"
        )),
    );
    openssl(
        dir.path(),
        &args(format!(
            "req -subj /CN=localhost {ec} -keyout key.pem -out server.csr"
        )),
    );
    std::fs::write(
        dir.path().join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir.path(),
        &args(
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
             -extfile server.ext -out cert.pem"
                .into(),
        ),
    );
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let server = Server::start(
        &pg.url,
        &[
            "--tls-cert",
            &path("cert.pem"),
            "--tls-key",
            &path("key.pem"),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let client = Client::new(&server.url, &token);

    // Not trusted by default: the team's authority is not a public one.
    let out = client.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("cannot connect securely to the team library")
            && message.contains("not signed by an authority trusted here")
            && message.contains("--ca-cert"),
        "{message}"
    );
    // Trusted with --ca-cert (or QUIRE_CA_CERT): the (empty) library answers.
    let out = client.ok(&["--ca-cert", &path("ca.pem"), "list"]);
    assert!(out.contains("no documents"), "{out}");
    let out = client
        .command()
        .env("QUIRE_CA_CERT", path("ca.pem"))
        .arg("status")
        .output();
    assert!(out.unwrap().status.success());
    // A file without a certificate is said to be one.
    let out = client.run(&["--ca-cert", &path("key.pem"), "list"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("cannot use the CA certificate"),
        "{}",
        stderr(&out)
    );
}
