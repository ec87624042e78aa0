//! Planning an `add`: which files need work (new, changed, interrupted) and which are
//! already done, judged by size and modification time, then by content hash.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{AddEvent, AddStatus, FileOutcome, Run, Work};
use crate::error::Result;
use crate::extract::FailureKind;
use crate::store::{DocStatus, Document, FileStamp};

enum Plan {
    Done(FileOutcome),
    Index(FileStamp, bool),
}

impl Run<'_> {
    /// Expands `paths` into the files that need work; files already done are reported at once.
    pub(super) fn plan(&mut self, paths: &[PathBuf]) -> Result<Vec<Work>> {
        let (files, mut missing) = collect_pdfs(paths);
        let mut work = Vec::new();
        let mut queued: HashSet<PathBuf> = HashSet::new();
        for path in files {
            if !queued.insert(path.clone()) {
                continue;
            }
            match self.plan_file(&path) {
                Ok(Plan::Done(outcome)) => self.report.files.push(outcome),
                Ok(Plan::Index(stamp, existed)) => work.push(Work {
                    path,
                    stamp,
                    existed,
                }),
                Err(e) => missing.push((path, e.to_string())),
            }
        }
        work.extend(self.interrupted(&queued)?);
        for (path, message) in missing {
            let outcome = FileOutcome::failed(&path, None, FailureKind::Unreadable, message);
            self.report.files.push(outcome);
        }
        let planned = AddEvent::Planned {
            files: self.report.files.len() + work.len(),
            to_index: work.len(),
        };
        self.report.cancelled = !self.progress.on_event(&planned);
        for outcome in &self.report.files {
            self.progress.on_event(&AddEvent::Finished(outcome.clone()));
        }
        Ok(work)
    }

    /// Decides whether `path` needs indexing.
    fn plan_file(&self, path: &Path) -> Result<Plan> {
        let key = path.to_string_lossy();
        let existing = self.library.store().document_by_path(&key)?;
        let meta = std::fs::metadata(path)?;
        if let Some(doc) = &existing {
            // Same size and modification time: trust it without reading the file again.
            if doc.size == meta.len() && doc.mtime_ns == mtime_ns(&meta) {
                if let Some(outcome) = unchanged_outcome(path, doc) {
                    return Ok(Plan::Done(outcome));
                }
            }
        }
        let stamp = file_stamp(path)?;
        if let Some(doc) = existing.as_ref().filter(|d| d.sha256 == stamp.sha256) {
            if let Some(outcome) = unchanged_outcome(path, doc) {
                return Ok(Plan::Done(outcome));
            }
        }
        // An interrupted document was never (or is no longer) in the library: it is added.
        let existed = existing.is_some_and(|d| d.status != DocStatus::Interrupted);
        Ok(Plan::Index(stamp, existed))
    }

    /// Documents a previous run did not finish (and that were not asked for again); one that
    /// can no longer be read is recorded as failed.
    fn interrupted(&self, queued: &HashSet<PathBuf>) -> Result<Vec<Work>> {
        let mut work = Vec::new();
        let documents = self.library.store().documents()?;
        for doc in documents {
            let path = PathBuf::from(&doc.path);
            if doc.status != DocStatus::Interrupted || queued.contains(&path) {
                continue;
            }
            match file_stamp(&path) {
                Ok(stamp) => work.push(Work {
                    path,
                    stamp,
                    existed: false,
                }),
                Err(e) => {
                    let stamp = FileStamp {
                        sha256: doc.sha256.clone(),
                        size: doc.size,
                        mtime_ns: doc.mtime_ns,
                    };
                    let message = format!("the file can no longer be read: {e}");
                    self.library.store().put_failure(
                        &doc.path,
                        &doc.title,
                        &stamp,
                        FailureKind::Unreadable,
                        &message,
                    )?;
                }
            }
        }
        Ok(work)
    }
}

/// The outcome for a file whose content is already in the library, or None when it must be
/// indexed again (interrupted, or failed for a reason that may pass, like a time limit).
fn unchanged_outcome(path: &Path, doc: &Document) -> Option<FileOutcome> {
    let (status, error) = match doc.status {
        DocStatus::Ready => (AddStatus::Unchanged, None),
        DocStatus::Failed
            if !matches!(
                doc.error_kind,
                Some(FailureKind::TimedOut | FailureKind::Unreadable)
            ) =>
        {
            (AddStatus::Failed, doc.error.clone())
        }
        _ => return None,
    };
    Some(FileOutcome {
        path: path.to_path_buf(),
        status,
        document_id: Some(doc.id),
        pages: doc.pages,
        chunks: doc.chunks,
        error,
        error_kind: doc.error_kind,
    })
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn file_stamp(path: &Path) -> std::io::Result<FileStamp> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(FileStamp {
        sha256,
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
    })
}

/// Expands folders (recursively, `*.pdf` in any case, sorted) and canonicalises paths. Paths
/// that do not exist come back separately with a sentence saying so.
fn collect_pdfs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for path in paths {
        match std::fs::canonicalize(path) {
            Ok(p) if p.is_dir() => walk(&p, &mut files),
            Ok(p) => files.push(p),
            Err(e) => missing.push((path.clone(), format!("cannot open {}: {e}", path.display()))),
        }
    }
    (files, missing)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            out.push(path);
        }
    }
}
