//! Helpers for the end-to-end tests of `quire serve` (tests/serve.rs, tests/serve_faults.rs):
//! a throwaway PostgreSQL with pgvector (`scripts/postgres.sh`, on a free port of 127.0.0.1),
//! the real `quire` binary as a server, and plain HTTP/1.1 over `std::net` (what any client
//! sends; no client library between the test and the server).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::models_dir;

// ---- a throwaway PostgreSQL ----

#[path = "../../crates/engine/tests/common/postgres.rs"]
mod postgres;
pub use postgres::TestPostgres as Postgres;

// ---- the server ----

pub fn quire() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quire"));
    cmd.env("QUIRE_MODELS", models_dir())
        .env_remove("QUIRE_POSTGRES")
        .env_remove("QUIRE_SERVER")
        .env_remove("QUIRE_TOKEN")
        .env_remove("QUIRE_CA_CERT")
        .args(["--device", "cpu"]);
    cmd
}

/// An admin command (`quire serve ARGS --postgres URL`); its stdout.
pub fn admin(url: &str, args: &[&str]) -> String {
    let out = quire()
        .arg("serve")
        .args(args)
        .args(["--postgres", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "quire serve {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A running `quire serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(url: &str, args: &[&str]) -> Server {
        Server::start_with(url, args, &[])
    }

    /// [`Server::start`] with more environment variables.
    pub fn start_with(url: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = quire();
        command
            .arg("serve")
            .args(args)
            // From the environment, as an operator may give it.
            .env("QUIRE_POSTGRES", url)
            .stdout(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let line = line.trim().replacen("https://", "http://", 1);
        let addr = line
            .strip_prefix("quire serve: listening on http://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the server did not start: {line:?}")
            })
            .parse()
            .unwrap();
        Server { child, addr }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        http(self.addr, "GET", path, token, None)
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        http(self.addr, "DELETE", path, token, None)
    }

    pub fn send(&self, method: &str, path: &str, token: &str, body: Value) -> Reply {
        let body = body.to_string();
        let body = Some(("application/json", body.as_bytes()));
        http(self.addr, method, path, Some(token), body)
    }

    pub fn upload(&self, token: &str, collection: &str, name: &str, bytes: &[u8]) -> Reply {
        let path = format!("/v1/collections/{collection}/documents?name={name}");
        http(
            self.addr,
            "POST",
            &path,
            Some(token),
            Some(("application/pdf", bytes)),
        )
    }

    /// Waits for an upload's job to end; the job.
    pub fn job_done(&self, token: &str, job: i64) -> Value {
        let started = Instant::now();
        loop {
            let reply = self.get(&format!("/v1/jobs/{job}"), Some(token));
            assert_eq!(reply.status, 200, "{}", reply.text());
            let job = reply.json();
            if job["status"] == "done" || job["status"] == "failed" {
                return job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "job still {job}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Server {
    /// Its process id: the middle part of its name in the job queue (`HOST:PID:RANDOM`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills it at once (SIGKILL: no chance to clean up) and reaps it.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- plain HTTP/1.1 ----

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: not JSON: {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A JSON error answer with this status; its message.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let body = self.json();
        body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {body}"))
            .to_string()
    }

    /// The server-sent events of the body: (name, data as JSON).
    pub fn events(&self) -> Vec<(String, Value)> {
        let text = self.text();
        let mut events = Vec::new();
        for block in text.split("\n\n") {
            let (mut name, mut data) = (String::new(), String::new());
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            if !name.is_empty() {
                let value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{e}: {data}"));
                events.push((name, value));
            }
        }
        events
    }
}

pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
) -> Reply {
    try_http(addr, method, path, token, body, Duration::from_secs(600))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// [`http`] that reports a failure to connect, send or read (within `timeout`) instead of
/// panicking.
pub fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let (content_type, bytes) = body.unwrap_or(("application/octet-stream", b""));
    if body.is_some() {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", bytes.len()));
    stream.write_all(head.as_bytes())?;
    // A server that answers before reading everything may close early: read its answer anyway.
    let _ = stream.write_all(bytes);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            std::io::Error::other(format!("no HTTP answer: {}", String::from_utf8_lossy(&raw)))
        })?;
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut reply = Reply {
        status: status.parse().unwrap(),
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        reply.body = unchunk(&reply.body);
    }
    Ok(reply)
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&data[..end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}
