//! Planning an `add`: which files need work (new, changed, interrupted) and which are
//! already done, judged by size and modification time, then by content hash.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::{AddEvent, AddStatus, FileOutcome, Run, Work};
use crate::error::Result;
use crate::extract::FailureKind;
use crate::store::{DocStatus, Document, FileStamp};

enum Plan {
    Done(FileOutcome),
    Index(FileStamp, bool),
}

impl Run<'_> {
    /// Expands `paths` into the files that need work, then takes the `named` files as they
    /// are (a file read from its path, stored under its name); files already done are reported
    /// at once.
    pub(super) fn plan(
        &mut self,
        paths: &[PathBuf],
        named: &[(PathBuf, String)],
    ) -> Result<Vec<Work>> {
        let (files, mut missing) = collect_pdfs(paths);
        let files = files.into_iter().map(|path| (path, None));
        let named = named
            .iter()
            .map(|(path, name)| (path.clone(), Some(name.clone())));
        let mut work = Vec::new();
        // The keys (stored paths) planned so far.
        let mut queued: HashSet<String> = HashSet::new();
        for (path, name) in files.chain(named) {
            let key = name
                .clone()
                .unwrap_or_else(|| path.to_string_lossy().into_owned());
            if !queued.insert(key.clone()) {
                continue;
            }
            let shown = name.as_ref().map(PathBuf::from).unwrap_or(path.clone());
            match self.plan_file(&path, &key, &shown) {
                Ok(Plan::Done(outcome)) => self.report.files.push(outcome),
                Ok(Plan::Index(stamp, existed)) => work.push(Work {
                    path,
                    name,
                    stamp,
                    existed,
                }),
                Err(e) => missing.push((shown, e.to_string())),
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

    /// Decides whether the file at `path`, stored as `key` and reported as `shown`, needs
    /// indexing.
    fn plan_file(&self, path: &Path, key: &str, shown: &Path) -> Result<Plan> {
        let existing = self.library.document_by_path(key)?;
        let meta = std::fs::metadata(path)?;
        if let Some(doc) = &existing {
            // Same size and modification time: trust it without reading the file again.
            if doc.size == meta.len() && doc.mtime_ns == mtime_ns(&meta) {
                if let Some(outcome) = unchanged_outcome(shown, doc) {
                    return Ok(Plan::Done(outcome));
                }
            }
        }
        let stamp = file_stamp(path)?;
        if let Some(doc) = existing.as_ref().filter(|d| d.sha256 == stamp.sha256) {
            if let Some(outcome) = unchanged_outcome(shown, doc) {
                return Ok(Plan::Done(outcome));
            }
        }
        // An interrupted document was never (or is no longer) in the library: it is added.
        let existed = existing.is_some_and(|d| d.status != DocStatus::Interrupted);
        Ok(Plan::Index(stamp, existed))
    }

    /// Documents a previous run did not finish (and that were not asked for again); one that
    /// can no longer be read is recorded as failed.
    fn interrupted(&self, queued: &HashSet<String>) -> Result<Vec<Work>> {
        let mut work = Vec::new();
        let documents = self.library.documents()?;
        for doc in documents {
            let path = PathBuf::from(&doc.path);
            if doc.status != DocStatus::Interrupted || queued.contains(&doc.path) {
                continue;
            }
            // A document added under a name (`add_named`) has no path to read it again from:
            // never a file relative to wherever this process runs.
            let stamp = if path.is_absolute() {
                file_stamp(&path)
            } else {
                Err(std::io::Error::other(
                    "it was added under a name, not from a file",
                ))
            };
            match stamp {
                Ok(stamp) => work.push(Work {
                    path,
                    name: None,
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
                    self.library.put_failure(
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
        warning: None,
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
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let (_, sha256) = crate::digest::sha256_of(file)?;
    Ok(FileStamp {
        sha256,
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
    })
}

/// Expands folders (recursively, `*.pdf` in any case, sorted) and canonicalises paths, each file
/// once however many links lead to it. Symbolic links are followed, each folder entered once:
/// a link back up the tree ends there instead of looping. Paths that do not exist, folders that
/// cannot be read and folders without a PDF come back separately with a sentence saying so.
pub fn collect_pdfs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut walk = Walk::default();
    for path in paths {
        match std::fs::canonicalize(path) {
            Ok(p) if p.is_dir() => {
                let fresh = !walk.visited.contains(&p);
                let before = walk.found;
                walk.folder(&p);
                if fresh && walk.found == before {
                    let message = format!("no PDF files in the folder {}", path.display());
                    walk.problems.push((path.clone(), message));
                }
            }
            Ok(p) => walk.file(p),
            Err(e) => walk
                .problems
                .push((path.clone(), format!("cannot open {}: {e}", path.display()))),
        }
    }
    (walk.files, walk.problems)
}

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    /// PDF entries met, counting each link to the same file.
    found: usize,
    seen: HashSet<PathBuf>,
    /// Folders entered, by canonical path.
    visited: HashSet<PathBuf>,
    problems: Vec<(PathBuf, String)>,
}

impl Walk {
    fn file(&mut self, path: PathBuf) {
        if self.seen.insert(path.clone()) {
            self.files.push(path);
        }
    }

    /// `dir` is canonical.
    fn folder(&mut self, dir: &Path) {
        if !self.visited.insert(dir.to_path_buf()) {
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                let message = format!("cannot read the folder {}: {e}", dir.display());
                self.problems.push((dir.to_path_buf(), message));
                return;
            }
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            // A dangling link leads nowhere: nothing to add.
            let Ok(real) = std::fs::canonicalize(&path) else {
                continue;
            };
            if real.is_dir() {
                self.folder(&real);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
            {
                self.found += 1;
                self.file(real);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_back_up_the_tree_end_the_walk_and_each_file_comes_once() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("loop");
        std::fs::create_dir_all(top.join("sub")).unwrap();
        std::fs::write(top.join("a.pdf"), b"%PDF-1.4").unwrap();
        std::fs::write(top.join("sub/B.PDF"), b"%PDF-1.4").unwrap();
        symlink("../loop", top.join("self")).unwrap();
        symlink("..", top.join("sub/up")).unwrap();
        symlink(".", top.join("sub/me")).unwrap();
        symlink("a.pdf", top.join("alias.pdf")).unwrap();
        symlink("missing.pdf", top.join("dangling.pdf")).unwrap();
        let (files, problems) = collect_pdfs(&[top.clone(), top.join("a.pdf")]);
        let top = std::fs::canonicalize(&top).unwrap();
        assert_eq!(files, [top.join("a.pdf"), top.join("sub/B.PDF")]);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_folder_without_pdfs_or_a_missing_path_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"text").unwrap();
        let missing = dir.path().join("nowhere");
        let (files, problems) = collect_pdfs(&[dir.path().to_path_buf(), missing.clone()]);
        assert!(files.is_empty());
        assert_eq!(problems.len(), 2);
        assert!(
            problems[0].1.starts_with("no PDF files in the folder"),
            "{problems:?}"
        );
        assert_eq!(problems[1].0, missing);
        assert!(problems[1].1.starts_with("cannot open"), "{problems:?}");
    }
}
