//! A team library (`quire serve`) in place of this computer's library, when Settings name one:
//! the same commands through `quire-client`, answered with the same types. What the server does
//! not say (OCR word boxes) is answered as "none".

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quire_client::{Client, Error, JobStatus, Options};
use quire_engine::{AddEvent, AddStatus, ErrorKind, FileOutcome};
use serde::Serialize;

use crate::error::{CommandError, CommandResult};
use crate::settings::TeamLibrary;

/// The team library's server for this user, and the collection their uploads go to.
pub struct Team {
    pub client: Client,
    pub collection: String,
}

impl Team {
    /// A client for `settings` (checks the address, token and CA certificate; connects only
    /// when asked something).
    pub fn connect(settings: &TeamLibrary) -> CommandResult<Team> {
        let options = Options {
            ca_cert: settings.ca_cert.clone(),
            ..Options::default()
        };
        let client = Client::new(&settings.url, &settings.token, &options).map_err(error)?;
        Ok(Team {
            client,
            collection: settings.collection.trim().to_string(),
        })
    }

    /// Asks the server whether this user's token is valid and the collection one of theirs
    /// (a server without the list of collections is asked for the documents only).
    pub fn check(&self) -> CommandResult<()> {
        let names: Vec<String> = match self.client.collections() {
            Ok(list) => list.into_iter().map(|c| c.name).collect(),
            Err(Error::Server { status: 404, .. }) => {
                self.client.documents().map_err(error)?;
                return Ok(());
            }
            Err(e) => return Err(error(e)),
        };
        if names.contains(&self.collection) {
            return Ok(());
        }
        Err(CommandError::new(
            ErrorKind::Usage,
            not_a_member(&self.collection, self.client.url(), &names),
        ))
    }
}

/// Why uploads cannot go to `collection`, with the collections they may go to.
fn not_a_member(collection: &str, url: &str, yours: &[String]) -> String {
    let mine = if yours.is_empty() {
        "you belong to none yet: the server's administrator adds you with `quire serve \
         collection grant COLLECTION USER`"
            .to_string()
    } else {
        format!("yours: {}", yours.join(", "))
    };
    format!(
        "you are not a member of a collection {collection:?} on the team library at {url}; {mine}"
    )
}

/// A client error as the window shows it: one sentence, with what to check in Settings.
pub fn error(e: Error) -> CommandError {
    let kind = match &e {
        Error::Unauthorized(_) | Error::Usage(_) | Error::Certificate { .. } => ErrorKind::Usage,
        Error::Server { status, .. } if (400..500).contains(status) => ErrorKind::Usage,
        Error::Stopped => ErrorKind::Cancelled,
        _ => ErrorKind::Io,
    };
    let message = match &e {
        Error::Unauthorized(_) => format!(
            "{e}: check the token in Settings → Team library (the server's administrator makes \
             tokens with `quire serve user add NAME`)"
        ),
        Error::Insecure { .. } => format!(
            "{e}; a server with a certificate of its own needs its CA certificate, chosen in \
             Settings → Team library"
        ),
        Error::Unreachable { .. } => {
            format!("{e}; check the address in Settings → Team library, or that the server runs")
        }
        _ => e.to_string(),
    };
    CommandError::new(kind, message)
}

/// Where an upload stands on the server, between the engine's `planned` and `finished` events
/// (the server says no more than this while it reads a file).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum JobEvent {
    /// Uploaded: waiting for a server to read it.
    Queued {
        #[ts(type = "string")]
        path: PathBuf,
        job: i64,
    },
    /// A server is reading and indexing it.
    Running {
        #[ts(type = "string")]
        path: PathBuf,
        job: i64,
    },
}

/// What `add_documents` reports: the engine's progress, and on a team library where each
/// upload's job stands.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(untagged)]
pub enum AddUpdate {
    Local(AddEvent),
    Job(JobEvent),
}

fn failed(path: &Path, error: String, document_id: Option<i64>) -> FileOutcome {
    FileOutcome {
        path: path.to_path_buf(),
        status: AddStatus::Failed,
        document_id,
        pages: 0,
        chunks: 0,
        error: Some(error),
        error_kind: None,
        warning: None,
    }
}

/// Whether every upload would fail as this one did (no use sending the others).
fn fatal(e: &Error) -> bool {
    matches!(
        e,
        Error::Unreachable { .. }
            | Error::Insecure { .. }
            | Error::Unauthorized(_)
            | Error::Server { status: 404, .. }
    )
}

/// Uploads the PDFs of `paths` to the team library's collection and follows each one's job to
/// its end, reporting as the engine's `add` does (`planned`, then per file `queued`, `running`
/// and `finished`, then `done`). A file is `added` only when its job says so; a failed job's
/// reason is its error. `cancel` stops uploading and following (jobs already sent go on on the
/// server).
pub fn add(
    team: &Team,
    paths: &[PathBuf],
    cancel: &AtomicBool,
    send: &dyn Fn(AddUpdate),
) -> CommandResult<Vec<FileOutcome>> {
    let started = Instant::now();
    let files = quire_client::pdfs_to_upload(paths);
    send(AddUpdate::Local(AddEvent::Planned {
        files: files.len(),
        to_index: files.len(),
    }));
    let mut outcomes = Vec::new();
    let finish = |outcome: FileOutcome, outcomes: &mut Vec<FileOutcome>| {
        send(AddUpdate::Local(AddEvent::Finished(outcome.clone())));
        outcomes.push(outcome);
    };
    // Jobs followed: (path, job, running seen).
    let mut jobs: Vec<(PathBuf, i64, bool)> = Vec::new();
    let stopped = || cancel.load(Ordering::SeqCst);
    let result = (|| {
        for (path, found) in files {
            if stopped() {
                break;
            }
            if let Err(reason) = found {
                finish(failed(&path, reason, None), &mut outcomes);
                continue;
            }
            match team.client.upload(&team.collection, &path) {
                Ok(job) => {
                    send(AddUpdate::Job(JobEvent::Queued {
                        path: path.clone(),
                        job,
                    }));
                    jobs.push((path, job, false));
                }
                Err(e) if fatal(&e) => return Err(error(e)),
                Err(e) => finish(failed(&path, e.to_string(), None), &mut outcomes),
            }
        }
        while !jobs.is_empty() && !stopped() {
            let mut left = Vec::new();
            for (path, id, running) in jobs.drain(..) {
                let job = team.client.job(id).map_err(error)?;
                match job.status {
                    JobStatus::Queued => left.push((path, id, running)),
                    JobStatus::Running => {
                        if !running {
                            send(AddUpdate::Job(JobEvent::Running {
                                path: path.clone(),
                                job: id,
                            }));
                        }
                        left.push((path, id, true));
                    }
                    JobStatus::Done | JobStatus::Failed => {
                        let outcome = finished(team, &path, &job)?;
                        finish(outcome, &mut outcomes);
                    }
                }
            }
            jobs = left;
            if !jobs.is_empty() {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Ok(())
    })();
    let failed = outcomes
        .iter()
        .filter(|o| o.status == AddStatus::Failed)
        .count();
    send(AddUpdate::Local(AddEvent::Done {
        seconds: started.elapsed().as_secs_f64(),
        failed,
    }));
    result.map(|()| outcomes)
}

/// A finished job as a file's outcome: what the server did, with the document's pages and
/// chunks; never `added` unless it was stored.
fn finished(team: &Team, path: &Path, job: &quire_client::Job) -> CommandResult<FileOutcome> {
    match (job.status, job.outcome, job.document_id) {
        (JobStatus::Done, Some(status), Some(id)) if status != AddStatus::Failed => {
            let docs = team.client.documents().map_err(error)?;
            let doc = docs.iter().find(|d| d.document.id == id);
            Ok(FileOutcome {
                path: path.to_path_buf(),
                status,
                document_id: Some(id),
                pages: doc.map_or(0, |d| d.document.pages),
                chunks: doc.map_or(0, |d| d.document.chunks),
                error: None,
                error_kind: None,
                warning: None,
            })
        }
        _ => Ok(failed(
            path,
            job.error
                .clone()
                .unwrap_or_else(|| "the server could not add it".into()),
            job.document_id,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_sentences_that_say_what_to_check() {
        let refused = error(Error::Unauthorized("unknown token".into()));
        assert_eq!(refused.kind, ErrorKind::Usage);
        assert!(
            refused
                .message
                .starts_with("the server refused the token (unknown token)"),
            "{}",
            refused.message
        );
        assert!(refused.message.contains("Settings → Team library"));
        let down = error(Error::Unreachable {
            url: "http://127.0.0.1:9".into(),
            detail: "connection refused".into(),
        });
        assert_eq!(down.kind, ErrorKind::Io);
        assert!(down
            .message
            .starts_with("cannot reach the team library at http://127.0.0.1:9"));
        assert_eq!(error(Error::Stopped).kind, ErrorKind::Cancelled);
    }

    #[test]
    fn a_collection_of_someone_else_names_the_users_own() {
        let url = "http://127.0.0.1:8484";
        assert_eq!(
            not_a_member("hr", url, &["legal".into(), "research".into()]),
            "you are not a member of a collection \"hr\" on the team library at \
             http://127.0.0.1:8484; yours: legal, research"
        );
        assert!(not_a_member("hr", url, &[]).contains("collection grant COLLECTION USER"));
    }

    #[test]
    fn an_upload_event_has_the_engine_events_shape() {
        let queued = AddUpdate::Job(JobEvent::Queued {
            path: PathBuf::from("/a/b.pdf"),
            job: 7,
        });
        assert_eq!(
            serde_json::to_value(&queued).unwrap(),
            serde_json::json!({"event": "queued", "data": {"path": "/a/b.pdf", "job": 7}})
        );
        let done = AddUpdate::Local(AddEvent::Done {
            seconds: 1.5,
            failed: 0,
        });
        assert_eq!(
            serde_json::to_value(&done).unwrap(),
            serde_json::json!({"event": "done", "data": {"seconds": 1.5, "failed": 0}})
        );
    }
}
