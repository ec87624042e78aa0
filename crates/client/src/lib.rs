//! A blocking client for a Quire team library: the HTTP API of `quire serve` (see its
//! `openapi.json`). It answers with the engine's own types where the server sends them, so that
//! a program shows a team library's documents, hits and answers as it shows its own library's.
//!
//! ```no_run
//! let client = quire_client::Client::new("http://127.0.0.1:8484", "TOKEN", &Default::default())?;
//! for doc in client.documents()? {
//!     println!("{} {}", doc.document.id, doc.document.path);
//! }
//! # Ok::<(), quire_client::Error>(())
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use quire_engine::{
    AddStatus, Answer, AskEvent, Conversation, Document, Flow, SearchHit, StoredMessage,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ureq::Agent;

/// What can go wrong talking to the server, each in one sentence.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection: the server is down, the address is wrong, or the network is.
    #[error("cannot reach the team library at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// No secure connection: most often the server's certificate is not trusted.
    #[error("cannot connect securely to the team library at {url}: {detail}")]
    Insecure { url: String, detail: String },
    /// 401: no valid token.
    #[error("the server refused the token ({0})")]
    Unauthorized(String),
    /// Any other error answer, with the server's own message.
    #[error("{message}")]
    Server { status: u16, message: String },
    /// The address is not an http(s) URL, or a file named for the client cannot be used.
    #[error("{0}")]
    Usage(String),
    /// The CA certificate file cannot be read, or holds no certificate.
    #[error("cannot use the CA certificate {path}: {detail}")]
    Certificate { path: PathBuf, detail: String },
    /// An answer that is not what the API describes.
    #[error("the team library at {url} answered something unexpected: {detail}")]
    Protocol { url: String, detail: String },
    /// The caller stopped a streamed answer (its callback returned [`Flow::Stop`]).
    #[error("the answer was stopped")]
    Stopped,
}

impl Error {
    /// The HTTP status of an error answer (401 for [`Error::Unauthorized`]).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized(_) => Some(401),
            Error::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// How to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// Trust the certificates in this PEM file (a self-signed server's, or its own authority's)
    /// instead of the public certificate authorities.
    pub ca_cert: Option<PathBuf>,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ca_cert: None,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A document of the user's collections, as the server lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteDocument {
    #[serde(flatten)]
    pub document: Document,
    /// The collection it is in (its path starts with it: `COLLECTION/NAME`).
    pub collection: String,
}

/// A collection the user belongs to: where their uploads may go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub name: String,
    /// How many users belong to it.
    pub members: i64,
    /// How many documents it holds.
    pub documents: i64,
}

/// Where an upload's job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// An upload's job: the PDF read and indexed by one of the servers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub collection: String,
    pub name: String,
    pub status: JobStatus,
    /// What adding it did, once done (`failed` with `error` when it could not be added).
    pub outcome: Option<AddStatus>,
    pub error: Option<String>,
    pub document_id: Option<i64>,
    pub attempts: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl Job {
    /// Done or failed: it will not change any more.
    pub fn finished(&self) -> bool {
        matches!(self.status, JobStatus::Done | JobStatus::Failed)
    }
}

/// A conversation's messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMessages {
    pub id: i64,
    pub messages: Vec<StoredMessage>,
}

/// What to ask with.
#[derive(Debug, Clone)]
pub struct AskRequest {
    /// Passages given to the model (1 to 20).
    pub k: usize,
    /// Continue this conversation (one of the user's).
    pub conversation: Option<i64>,
    /// False: the documents' own sentences only, no answer model.
    pub generate: bool,
}

impl Default for AskRequest {
    fn default() -> AskRequest {
        AskRequest {
            k: 5,
            conversation: None,
            generate: true,
        }
    }
}

/// A team library's server, for one user (their token).
pub struct Client {
    agent: Agent,
    base: String,
    token: String,
}

impl Client {
    /// A client of the server at `url` (`http://HOST:PORT` or `https://…`). Connects only when
    /// asked something.
    pub fn new(url: &str, token: &str, options: &Options) -> Result<Client> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Usage(format!(
                "the team library's address is an http:// or https:// URL, not {url:?}"
            )));
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::Usage("the token is empty".into()));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = &options.ca_cert {
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&read_certs(path)?));
        }
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(options.connect_timeout))
            .tls_config(tls.build())
            .build()
            .new_agent();
        Ok(Client {
            agent,
            base,
            token: token.to_string(),
        })
    }

    /// The server's address, as given.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The documents of the user's collections, oldest first.
    pub fn documents(&self) -> Result<Vec<RemoteDocument>> {
        self.get("/v1/documents")
    }

    /// The collections the user belongs to, by name (a server from before `GET
    /// /v1/collections` answers 404).
    pub fn collections(&self) -> Result<Vec<Collection>> {
        self.get("/v1/collections")
    }

    /// Uploads the PDF at `path` into `collection`, under its file name; the job that adds it.
    pub fn upload(&self, collection: &str, path: &Path) -> Result<i64> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::Usage(format!("{} is not a file", path.display())))?;
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Usage(format!("cannot read {}: {e}", path.display())))?;
        self.upload_bytes(collection, &name, &bytes)
    }

    /// Uploads a PDF's bytes into `collection` as `name`; the job that adds it.
    pub fn upload_bytes(&self, collection: &str, name: &str, bytes: &[u8]) -> Result<i64> {
        let path = format!("/v1/collections/{}/documents", encode(collection));
        let request = self
            .agent
            .post(self.at(&path))
            .query("name", name)
            .header("Content-Type", "application/pdf")
            // The server refuses a bad token or collection before reading the PDF, and closes
            // the connection: the bytes go only once it says to continue.
            .header("Expect", "100-continue");
        let queued: Value = self.json(self.auth(request).send(bytes))?;
        queued["job"]
            .as_i64()
            .ok_or_else(|| self.unexpected("no job id"))
    }

    /// An upload's job.
    pub fn job(&self, id: i64) -> Result<Job> {
        self.get(&format!("/v1/jobs/{id}"))
    }

    /// Waits for a job to finish (polling every `every`); the finished job.
    pub fn wait_job(&self, id: i64, every: Duration) -> Result<Job> {
        loop {
            let job = self.job(id)?;
            if job.finished() {
                return Ok(job);
            }
            std::thread::sleep(every);
        }
    }

    /// Removes a document, with everything indexed for it and its stored PDF.
    pub fn remove(&self, id: i64) -> Result<()> {
        let request = self.agent.delete(self.at(&format!("/v1/documents/{id}")));
        self.empty(self.auth(request).call())
    }

    /// A document's PDF, as uploaded.
    pub fn pdf(&self, id: i64) -> Result<Vec<u8>> {
        let request = self.agent.get(self.at(&format!("/v1/documents/{id}/pdf")));
        let mut response = self.checked(self.auth(request).call())?;
        response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| self.failed(e))
    }

    /// The best `k` passages of the user's documents for `query`, best first.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<SearchHit>> {
        let body = json!({ "query": query, "k": k });
        self.json_post("/v1/search", &body)
    }

    /// Asks a question; `on_event` hears each event as it arrives (the sources, the quotes, the
    /// model's text and citation markers, then the finished answer) and may stop the answer.
    /// The finished answer, saved in a conversation of the user's.
    pub fn ask(
        &self,
        question: &str,
        request: &AskRequest,
        on_event: &mut dyn FnMut(&AskEvent) -> Flow,
    ) -> Result<Answer> {
        let mut body = json!({
            "question": question,
            "k": request.k,
            "generate": request.generate,
        });
        if let Some(id) = request.conversation {
            body["conversation"] = json!(id);
        }
        let call = self
            .agent
            .post(self.at("/v1/ask"))
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream");
        let mut response = self.checked(self.auth(call).send(body.to_string()))?;
        let reader = BufReader::new(response.body_mut().as_reader());
        let mut answer = None;
        read_events(reader, &mut |name, data| {
            let Some(event) = self.event(name, data)? else {
                return Ok(Flow::Continue);
            };
            let flow = on_event(&event);
            if let AskEvent::Done(done) = event {
                answer = Some(*done);
                return Ok(Flow::Stop);
            }
            if flow == Flow::Stop {
                return Err(Error::Stopped);
            }
            Ok(Flow::Continue)
        })
        .map_err(|e| match e {
            ReadError::Io(e) => self.failed(ureq::Error::Io(e)),
            ReadError::Client(e) => e,
        })?;
        answer.ok_or_else(|| self.unexpected("the answer broke off before it was finished"))
    }

    /// The user's conversations, the most recently active first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        self.get("/v1/conversations")
    }

    /// A conversation's messages.
    pub fn conversation(&self, id: i64) -> Result<ConversationMessages> {
        self.get(&format!("/v1/conversations/{id}"))
    }

    /// Renames a conversation.
    pub fn rename_conversation(&self, id: i64, title: &str) -> Result<()> {
        let request = self
            .agent
            .patch(self.at(&format!("/v1/conversations/{id}")))
            .header("Content-Type", "application/json");
        let _: Value = self.json(
            self.auth(request)
                .send(json!({ "title": title }).to_string()),
        )?;
        Ok(())
    }

    /// Deletes a conversation with its messages.
    pub fn delete_conversation(&self, id: i64) -> Result<()> {
        let request = self
            .agent
            .delete(self.at(&format!("/v1/conversations/{id}")));
        self.empty(self.auth(request).call())
    }

    // ---- the plumbing ----

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        request.header("Authorization", format!("Bearer {}", self.token))
    }

    /// A GET of `path`, answered with JSON.
    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.json(self.auth(self.agent.get(self.at(path))).call())
    }

    /// The JSON answer of a call.
    fn json<T: serde::de::DeserializeOwned>(
        &self,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T> {
        let mut response = self.checked(sent)?;
        let text = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .map_err(|e| self.failed(e))?;
        serde_json::from_str(&text).map_err(|e| self.unexpected(&format!("{e}")))
    }

    fn json_post<T: serde::de::DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        let request = self
            .agent
            .post(self.at(path))
            .header("Content-Type", "application/json");
        self.json(self.auth(request).send(body.to_string()))
    }

    fn empty(
        &self,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<()> {
        self.checked(sent).map(|_| ())
    }

    /// The response when it is a success; the server's error otherwise.
    fn checked(
        &self,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut response = sent.map_err(|e| self.failed(e))?;
        let status = response.status().as_u16();
        if status < 400 {
            return Ok(response);
        }
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| match text.trim() {
                "" => format!("the server answered {status}"),
                text => format!("the server answered {status}: {text}"),
            });
        Err(match status {
            401 => Error::Unauthorized(message),
            _ => Error::Server { status, message },
        })
    }

    /// A failed exchange: unreachable, not secure, or broken off.
    fn failed(&self, e: ureq::Error) -> Error {
        // rustls' handshake failures come as invalid data from the connection.
        let tls = match &e {
            ureq::Error::Rustls(_) | ureq::Error::Tls(_) => true,
            ureq::Error::Io(io) => {
                self.base.starts_with("https://")
                    && io.kind() == std::io::ErrorKind::InvalidData
                    && io.get_ref().is_some()
            }
            _ => false,
        };
        if tls {
            return Error::Insecure {
                url: self.base.clone(),
                detail: tls_problem(&e.to_string()),
            };
        }
        let detail = match &e {
            ureq::Error::Io(io) => io.to_string(),
            ureq::Error::ConnectionFailed => "the connection failed".into(),
            ureq::Error::HostNotFound => "no such host".into(),
            ureq::Error::Timeout(_) => "it did not answer in time".into(),
            other => other.to_string(),
        };
        Error::Unreachable {
            url: self.base.clone(),
            detail,
        }
    }

    fn unexpected(&self, detail: &str) -> Error {
        Error::Protocol {
            url: self.base.clone(),
            detail: detail.to_string(),
        }
    }

    /// The ask event named `name` with JSON `data` (`{"event": NAME, "data": ...}`); `None` for
    /// an event this client does not know.
    fn event(&self, name: &str, data: &str) -> Result<Option<AskEvent>> {
        let mut value: Value =
            serde_json::from_str(data).map_err(|e| self.unexpected(&format!("{name}: {e}")))?;
        if name == "error" {
            let message = value["error"].as_str().unwrap_or("the answer failed");
            return Err(Error::Server {
                status: 500,
                message: message.to_string(),
            });
        }
        let data = value["data"].take();
        let parse = |e: serde_json::Error| self.unexpected(&format!("{name}: {e}"));
        Ok(Some(match name {
            "sources" => AskEvent::Sources(serde_json::from_value(data).map_err(parse)?),
            "quotes" => AskEvent::Quotes(serde_json::from_value(data).map_err(parse)?),
            "text" => AskEvent::Text(serde_json::from_value(data).map_err(parse)?),
            "cite" => AskEvent::Cite(serde_json::from_value(data).map_err(parse)?),
            "done" => AskEvent::Done(Box::new(serde_json::from_value(data).map_err(parse)?)),
            _ => return Ok(None),
        }))
    }
}

/// A TLS failure in words, for the usual certificate problems.
fn tls_problem(error: &str) -> String {
    let why = if error.contains("UnknownIssuer") {
        "its certificate is not signed by an authority trusted here"
    } else if error.contains("CaUsedAsEndEntity") {
        "its certificate is a CA certificate, which a server may not use as its own (give it \
         one signed by that CA, or a self-signed one with basicConstraints CA:FALSE)"
    } else if error.contains("NotValidForName") {
        "its certificate is not for this address"
    } else if error.contains("Expired") {
        "its certificate has expired"
    } else {
        return error.to_string();
    };
    format!("{why} ({error})")
}

/// Reads the PEM certificates of `path`.
fn read_certs(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let failed = |detail: String| Error::Certificate {
        path: path.to_path_buf(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(cert) = item.map_err(|e| failed(e.to_string()))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(failed("there is no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

enum ReadError {
    Io(std::io::Error),
    Client(Error),
}

/// Reads server-sent events, handing each (name, data) to `on_event` until it says stop or
/// the stream ends.
fn read_events(
    reader: impl BufRead,
    on_event: &mut dyn FnMut(&str, &str) -> Result<Flow>,
) -> std::result::Result<(), ReadError> {
    let (mut name, mut data) = (String::new(), String::new());
    for line in reader.lines() {
        let line = line.map_err(ReadError::Io)?;
        if line.is_empty() {
            if !data.is_empty() || !name.is_empty() {
                let name = std::mem::take(&mut name);
                let data = std::mem::take(&mut data);
                let name = if name.is_empty() { "message" } else { &name };
                if on_event(name, &data).map_err(ReadError::Client)? == Flow::Stop {
                    return Ok(());
                }
            }
        } else if let Some(value) = field(&line, "event") {
            name = value.to_string();
        } else if let Some(value) = field(&line, "data") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value);
        }
        // Comments (keep-alives) and other fields are ignored.
    }
    Ok(())
}

/// The value of an SSE line `NAME: VALUE` (one space after the colon is not part of it).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let value = line.strip_prefix(name)?.strip_prefix(':')?;
    Some(value.strip_prefix(' ').unwrap_or(value))
}

/// The PDFs an upload of `paths` sends, found as a local `add` finds them
/// ([`quire_engine::ingest::collect_pdfs`]: folders recursively, links followed once), then the
/// paths that gave none, each with the reason.
pub fn pdfs_to_upload(paths: &[PathBuf]) -> Vec<(PathBuf, std::result::Result<(), String>)> {
    let (files, problems) = quire_engine::ingest::collect_pdfs(paths);
    files
        .into_iter()
        .map(|path| (path, Ok(())))
        .chain(problems.into_iter().map(|(path, why)| (path, Err(why))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_sent_events_are_read_by_name_with_their_data() {
        let stream = ": keep-alive\n\nevent: text\ndata: {\"event\":\"text\",\"data\":\"Hi\"}\n\n\
                      event:cite\ndata: {\"event\":\"cite\",\n\
                      data: \"data\":[1,2]}\n\nevent: done\ndata: {}\n\nevent: text\ndata: x\n\n";
        let mut seen = Vec::new();
        let ended = read_events(stream.as_bytes(), &mut |name, data| {
            seen.push((name.to_string(), data.to_string()));
            Ok(if name == "done" {
                Flow::Stop
            } else {
                Flow::Continue
            })
        });
        assert!(ended.is_ok());
        assert_eq!(
            seen,
            [
                ("text".into(), "{\"event\":\"text\",\"data\":\"Hi\"}".into()),
                (
                    "cite".into(),
                    "{\"event\":\"cite\",\n\"data\":[1,2]}".into()
                ),
                ("done".into(), "{}".into()),
            ]
        );
    }

    #[test]
    fn addresses_and_tokens_are_checked_before_any_connection() {
        let options = Options::default();
        assert!(matches!(
            Client::new("127.0.0.1:8484", "t", &options),
            Err(Error::Usage(_))
        ));
        assert!(matches!(
            Client::new("http://127.0.0.1:8484", " ", &options),
            Err(Error::Usage(_))
        ));
        let client = Client::new("http://127.0.0.1:8484/", "t", &options).unwrap();
        assert_eq!(client.url(), "http://127.0.0.1:8484");
        assert_eq!(encode("legal docs/ä"), "legal%20docs%2F%C3%A4");
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        // A port just bound and released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let client = Client::new(&url, "t", &Options::default()).unwrap();
        let e = client.documents().unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with(&format!("cannot reach the team library at {url}")),
            "{e}"
        );
    }

    #[test]
    fn pdfs_of_folders_are_found_and_missing_paths_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.PDF"), b"%PDF").unwrap();
        std::fs::write(dir.path().join("a.pdf"), b"%PDF").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let missing = dir.path().join("gone.pdf");
        let found = pdfs_to_upload(&[dir.path().to_path_buf(), missing.clone()]);
        let names: Vec<_> = found.iter().map(|(p, r)| (p.clone(), r.is_ok())).collect();
        assert_eq!(
            names,
            [
                (dir.path().join("a.pdf"), true),
                (dir.path().join("sub/b.PDF"), true),
                (missing, false),
            ]
        );
    }
}
