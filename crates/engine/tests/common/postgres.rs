#![allow(dead_code)] // each test file uses some of it
//! A throwaway PostgreSQL with pgvector for a test: its own cluster in a temporary folder,
//! started by `scripts/postgres.sh` on a free port of 127.0.0.1 (loopback only), stopped and
//! deleted when dropped. Real PostgreSQL, never a mock. (Also the root tests' helper:
//! tests/common_serve includes this file.)

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestPostgres {
    dir: tempfile::TempDir,
    /// The URL of the cluster's default database.
    pub url: String,
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

    /// The port it listens on (from its URL).
    pub fn port(&self) -> u16 {
        let after = self.url.rsplit_once(':').unwrap().1;
        after.split('/').next().unwrap().parse().unwrap()
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

    /// Stops the server (`pg_ctl stop -m fast`: sessions are ended, the data kept), as a
    /// crash or an administrator's restart looks to clients.
    pub fn stop(&self) {
        let out = Command::new("bash")
            .arg(script())
            .args(["stop", "--dir"])
            .arg(self.dir.path().join("pg"))
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "scripts/postgres.sh stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it again on the same port, with the same data.
    pub fn restart(&self) {
        let out = Command::new("bash")
            .arg(script())
            .args(["start", "--port", &self.port().to_string(), "--dir"])
            .arg(self.dir.path().join("pg"))
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(url, self.url, "restarted elsewhere");
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", "--dir"])
            .arg(self.dir.path().join("pg"))
            .output();
    }
}
