//! Files given on the command line (`quire-app a.pdf b.pdf`, as a file manager's "Open with"
//! runs it): kept until the window takes them, and handed on by a second launch to the running
//! window (the single-instance plugin) instead of opening the same library twice.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use tauri::{AppHandle, Emitter, Manager, Runtime};

/// The event that tells the window files were opened with Quire (it then calls
/// `take_opened_paths`).
pub const OPENED_EVENT: &str = "opened-paths";

/// Paths opened with Quire that the window has not taken yet.
#[derive(Default)]
pub struct Opened(Mutex<Vec<PathBuf>>);

impl Opened {
    pub fn new(paths: Vec<PathBuf>) -> Opened {
        Opened(Mutex::new(paths))
    }

    fn push(&self, paths: Vec<PathBuf>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(paths);
    }

    /// The paths not taken yet, in the order they were given; the queue is then empty.
    pub fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The files and folders named by a command line `argv` (the program first) run in `cwd`:
/// relative paths resolved against `cwd`, options (`-…`) and empty arguments left out. Paths
/// are not checked: one that does not exist is reported by the add, like a bad drop.
pub fn paths_from_args<I, S>(argv: I, cwd: &Path) -> Vec<PathBuf>
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    argv.into_iter()
        .skip(1)
        .map(Into::into)
        .filter(|arg| !arg.is_empty() && !arg.to_string_lossy().starts_with('-'))
        .map(|arg| cwd.join(arg))
        .collect()
}

/// The paths this process was started with.
pub fn own_paths() -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    paths_from_args(std::env::args_os(), &cwd)
}

/// A second launch handed its command line to this one: its files are queued for the window,
/// which is brought to the front and told.
pub fn opened_again<R: Runtime>(app: &AppHandle<R>, argv: Vec<String>, cwd: String) {
    let paths = paths_from_args(argv, Path::new(&cwd));
    if !paths.is_empty() {
        app.state::<Opened>().push(paths);
    }
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    let _ = app.emit(OPENED_EVENT, ());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_become_absolute_paths_without_the_program_and_options() {
        let cwd = Path::new("/home/ann/papers");
        let argv = [
            "/usr/bin/quire-app",
            "a.pdf",
            "--verbose",
            "",
            "/tmp/b.pdf",
            "-x",
            "sub/folder",
            "../c d.pdf",
        ];
        assert_eq!(
            paths_from_args(argv, cwd),
            [
                PathBuf::from("/home/ann/papers/a.pdf"),
                PathBuf::from("/tmp/b.pdf"),
                PathBuf::from("/home/ann/papers/sub/folder"),
                PathBuf::from("/home/ann/papers/../c d.pdf"),
            ]
        );
        // The program alone, or only options: nothing to open.
        assert!(paths_from_args(["quire-app"], cwd).is_empty());
        assert!(paths_from_args(["quire-app", "-psn_0_1234"], cwd).is_empty());
        assert!(paths_from_args(Vec::<String>::new(), cwd).is_empty());
        // A path that does not exist is kept: the add names it, as for a bad drop.
        assert_eq!(
            paths_from_args(["quire-app", "missing.pdf"], cwd),
            [PathBuf::from("/home/ann/papers/missing.pdf")]
        );
    }

    #[test]
    fn opened_paths_are_taken_once_in_order() {
        let opened = Opened::new(vec![PathBuf::from("/a.pdf")]);
        opened.push(vec![PathBuf::from("/b.pdf"), PathBuf::from("/c.pdf")]);
        assert_eq!(
            opened.take(),
            ["/a.pdf", "/b.pdf", "/c.pdf"].map(PathBuf::from)
        );
        assert!(opened.take().is_empty());
    }
}
