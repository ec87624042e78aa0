#![allow(dead_code)] // each test file uses some of it
//! A throwaway PostgreSQL with pgvector for a test: its own cluster in a temporary folder,
//! started by `scripts/postgres.sh` on a free port of 127.0.0.1 (loopback only), stopped and
//! deleted when dropped. Real PostgreSQL, never a mock.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestPostgres {
    dir: tempfile::TempDir,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("scripts/postgres.sh").is_file())
        .expect("scripts/postgres.sh above the crate")
        .join("scripts/postgres.sh")
}

impl TestPostgres {
    pub fn start() -> TestPostgres {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(script())
            .args(["start", "--port", "auto", "--dir"])
            .arg(dir.path().join("pg"))
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "scripts/postgres.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(url.starts_with("postgresql://"), "not a URL: {url}");
        assert!(url.contains("@127.0.0.1:"), "not on loopback: {url}");
        TestPostgres { dir, url }
    }

    /// The URL of the cluster's default database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new, empty database in the cluster; its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql(&format!("CREATE DATABASE {name}"));
        let (base, _) = self.url.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    }

    /// Runs one SQL command in the default database through the bundled psql.
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new("bash")
            .arg(script())
            .args(["psql", "--dir"])
            .arg(self.dir.path().join("pg"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops the server (a crash or an administrator's restart, as clients see it).
    pub fn stop(&self) {
        self.run("stop");
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        let port = self
            .url
            .rsplit_once(':')
            .unwrap()
            .1
            .split('/')
            .next()
            .unwrap();
        let out = Command::new("bash")
            .arg(script())
            .args(["start", "--port", port, "--dir"])
            .arg(self.dir.path().join("pg"))
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn run(&self, what: &str) {
        let _ = Command::new("bash")
            .arg(script())
            .args([what, "--dir"])
            .arg(self.dir.path().join("pg"))
            .output();
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        self.run("stop");
    }
}
