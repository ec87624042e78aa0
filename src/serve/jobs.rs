//! The ingestion worker: a thread in every server process that takes queued uploads from the
//! database, one at a time, and adds them to the library as `COLLECTION/NAME`.
//!
//! The queue is the `serve_jobs` table, so any number of servers share it: a job is claimed in
//! its own committed transaction (`FOR UPDATE SKIP LOCKED`), and the claimer's heartbeat
//! (`claimed_at`) says it is still at work. A job whose claimer stopped beating for
//! `stale_secs` is claimed again by whichever server looks next; adding the same bytes under the
//! same name again is "unchanged" in the engine, so a job done twice stores one document.
//!
//! The engine's vectors are shared the same way (its `embedding_claims`): an add embeds the
//! passages no live other process claims. What a dead server was embedding is taken over
//! after the engine's lease, by the next add anywhere, or by an idle worker, which finishes
//! the passages left waiting (see [`Worker::finish_vectors`]).
//!
//! When the database cannot be reached the worker waits for it and goes on: a job it was
//! doing goes back to the queue, not counted as a try.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use quire_engine::{AddOptions, AddStatus, Engine};

use super::db::{self, Claimed, Db};

/// A job that made its server die this many times is not tried again.
const MAX_ATTEMPTS: i32 = 3;

/// How often an idle worker looks at the queue when nobody wakes it (jobs queued by another
/// server, or left by a dead one).
const POLL: Duration = Duration::from_secs(1);

/// How long an idle worker waits at most between two looks for passages left without vectors
/// that it could not take (another live process holds them); it looks every [`POLL`] after
/// progress, twice as long after each look that found nothing to do.
const LEFTOVERS_AT_MOST: Duration = Duration::from_secs(30);

/// The longest wait between two tries while the database cannot be reached.
const RECONNECT_AT_MOST: Duration = Duration::from_secs(10);

/// Wakes this process's worker when an upload is queued here.
#[derive(Default)]
pub struct Wake {
    queued: Mutex<bool>,
    bell: Condvar,
}

impl Wake {
    pub fn ring(&self) {
        *self.queued.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.bell.notify_all();
    }

    fn wait(&self, timeout: Duration) {
        let queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        let (mut queued, _) = self
            .bell
            .wait_timeout_while(queued, timeout, |q| !*q)
            .unwrap_or_else(|e| e.into_inner());
        *queued = false;
    }
}

/// What a worker needs.
pub struct Worker {
    pub engine: Arc<Engine>,
    pub db: Arc<Db>,
    pub wake: Arc<Wake>,
    /// This server's name in `claimed_by`: host, process and a random part.
    pub server: String,
    pub stale_secs: u64,
}

/// When an idle worker looks for passages left without vectors next, and how long after that.
struct Leftovers {
    next: Instant,
    wait: Duration,
}

impl Leftovers {
    /// Look again soon: something changed.
    fn soon(&mut self) {
        self.wait = POLL;
        self.next = Instant::now();
    }

    /// Look again later, twice as late as last time.
    fn later(&mut self) {
        self.wait = (self.wait * 2).min(LEFTOVERS_AT_MOST);
        self.next = Instant::now() + self.wait;
    }
}

impl Worker {
    /// Runs forever: claims, adds, records; when idle finishes passages left without vectors;
    /// on a database error waits and tries again.
    pub fn run(self) {
        let mut leftovers = Leftovers {
            next: Instant::now(),
            wait: POLL,
        };
        // Since when the database could not be reached (said once, not every try).
        let mut down: Option<Instant> = None;
        let mut retry = POLL;
        loop {
            let claimed = self.db.claim(&self.server, self.stale_secs);
            if claimed.is_ok() {
                if let Some(since) = down.take() {
                    eprintln!(
                        "quire serve: the database is back after {:.0} s; the worker goes on",
                        since.elapsed().as_secs_f64()
                    );
                }
                retry = POLL;
            }
            match claimed {
                Ok(Some(job)) => {
                    if let Err(e) = self.work(&job) {
                        self.failed(&job, &e);
                    }
                    leftovers.soon();
                }
                Ok(None) => {
                    self.finish_vectors(&mut leftovers);
                    self.wake.wait(POLL);
                }
                Err(e) => {
                    if down.is_none() {
                        eprintln!("quire serve: cannot read the job queue: {e:#}");
                        if db::unreachable(&e) {
                            eprintln!("quire serve: the worker waits for the database");
                        }
                        down = Some(Instant::now());
                    }
                    std::thread::sleep(retry);
                    retry = (retry * 2).min(RECONNECT_AT_MOST);
                }
            }
        }
    }

    /// Records why a job failed; a job cut short because the database went away is queued
    /// again instead, once it is back (the upload is not at fault).
    fn failed(&self, job: &Claimed, e: &anyhow::Error) {
        if db::unreachable(e) {
            eprintln!(
                "quire serve: job {}: the database went away ({e:#}); it is queued again once \
                 the database is back",
                job.id
            );
            let mut wait = POLL;
            loop {
                match self.db.release(&self.server, job.id) {
                    Ok(()) => return,
                    Err(e) if db::unreachable(&e) => {
                        std::thread::sleep(wait);
                        wait = (wait * 2).min(RECONNECT_AT_MOST);
                    }
                    Err(e) => {
                        // Another server takes it over when its heartbeat is stale.
                        eprintln!("quire serve: job {}: cannot queue it again: {e:#}", job.id);
                        return;
                    }
                }
            }
        }
        eprintln!("quire serve: job {}: {e:#}", job.id);
        let message = format!("{e:#}");
        if let Err(e) = self
            .db
            .finish(&self.server, job, None, "failed", Some(&message))
        {
            eprintln!(
                "quire serve: job {}: cannot record the failure: {e:#}",
                job.id
            );
        }
    }

    /// Embeds the passages waiting for vectors that no live process claims: those a server
    /// left when it died (after the engine's lease), or that an add cut short. Each add embeds
    /// the whole queue it may take, so this matters when no upload comes after.
    fn finish_vectors(&self, leftovers: &mut Leftovers) {
        if Instant::now() < leftovers.next {
            return;
        }
        let waiting = match self.engine.passages_without_vectors() {
            Ok(waiting) => waiting,
            Err(_) => {
                // The job queue reports the database's troubles.
                leftovers.later();
                return;
            }
        };
        if waiting == 0 {
            leftovers.wait = POLL;
            leftovers.next = Instant::now() + POLL;
            return;
        }
        let report = self.engine.add(
            &[],
            &AddOptions::default(),
            &|_: &quire_engine::AddEvent| true,
        );
        match report {
            Ok(report) if report.chunks_embedded > 0 => {
                eprintln!(
                    "quire serve: embedded {} passages left waiting for vectors",
                    report.chunks_embedded
                );
                leftovers.soon();
            }
            Ok(_) => leftovers.later(),
            Err(e) => {
                eprintln!("quire serve: cannot embed the passages left waiting: {e}");
                leftovers.later();
            }
        }
    }

    /// Adds one claimed upload, beating meanwhile.
    fn work(&self, job: &Claimed) -> anyhow::Result<()> {
        if job.attempts > MAX_ATTEMPTS {
            let message = format!("gave up after {MAX_ATTEMPTS} tries that did not finish");
            self.db
                .finish(&self.server, job, None, "failed", Some(&message))?;
            return Ok(());
        }
        let bytes = match job.file_id {
            Some(file) => self.db.file_bytes(file)?,
            None => None,
        };
        let Some(bytes) = bytes else {
            let message = "the uploaded file is gone (its document was deleted)";
            self.db
                .finish(&self.server, job, None, "failed", Some(message))?;
            return Ok(());
        };
        let file = TempPdf::write(job.id, &bytes)?;
        let stored = format!("{}/{}", job.collection, job.name);
        let beating = Beat::start(self, job.id);
        let report = self.engine.add_named(
            &[(file.0.clone(), stored)],
            &AddOptions::default(),
            &|_: &quire_engine::AddEvent| true,
        );
        drop(beating);
        let report = report?;
        let outcome = report
            .files
            .first()
            .ok_or_else(|| anyhow::anyhow!("the engine reported nothing for the file"))?;
        let error = match outcome.status {
            AddStatus::Failed => Some(
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "the PDF could not be read".into()),
            ),
            _ => None,
        };
        self.db.finish(
            &self.server,
            job,
            outcome.document_id,
            outcome.status.as_str(),
            error.as_deref(),
        )
    }
}

/// Beats for a job on its own thread until dropped.
struct Beat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Beat {
    fn start(worker: &Worker, job: i64) -> Beat {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let every = Duration::from_secs_f64((worker.stale_secs as f64 / 3.0).max(0.2));
        let (db, server, flag) = (worker.db.clone(), worker.server.clone(), stop.clone());
        let thread = std::thread::spawn(move || loop {
            let stopped = flag.0.lock().unwrap_or_else(|e| e.into_inner());
            let (stopped, _) = flag
                .1
                .wait_timeout_while(stopped, every, |s| !*s)
                .unwrap_or_else(|e| e.into_inner());
            if *stopped {
                return;
            }
            drop(stopped);
            if let Err(e) = db.heartbeat(&server, job) {
                eprintln!("quire serve: job {job}: heartbeat: {e:#}");
            }
        });
        Beat {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Beat {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An upload in a temporary file while the engine reads it; deleted when dropped.
struct TempPdf(PathBuf);

impl TempPdf {
    fn write(job: i64, bytes: &[u8]) -> anyhow::Result<TempPdf> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
        let path =
            std::env::temp_dir().join(format!("quire-serve-job{job}-{}.pdf", hex::encode(random)));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let temp = TempPdf(path);
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(temp)
    }
}

impl Drop for TempPdf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
