//! Files given on the command line (`quire-app a.pdf b.pdf`, as a file manager's "Open with"
//! runs it): kept until the window takes them, and handed on by a second launch to the running
//! window (the single-instance plugin) instead of opening the same library twice.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

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

/// How many times a launch starts again while another Quire holds the window but does not take
/// its files (it is closing), and how long it waits first each time: about five seconds in all.
const RELAUNCHES: u32 = 10;
const RELAUNCH_PAUSE: Duration = Duration::from_millis(500);

/// The environment variable that counts a launch's new starts.
const RELAUNCH_VARIABLE: &str = "QUIRE_RELAUNCH";

/// What a launch whose window did not open does next.
#[derive(Debug, PartialEq)]
pub enum Failed {
    /// Start again after a pause: another Quire window holds the single-instance name but did
    /// not take this launch's files — it is closing (its name goes with it) or hangs.
    Relaunch(u32),
    /// Give up with this message (the exit status is 1).
    Exit(String),
}

/// Decides what a failed launch does, from its error and how many times it has started again.
pub fn after_failure(error: &tauri::Error, relaunches: u32) -> Failed {
    match error {
        tauri::Error::PluginInitialization(plugin, why) if plugin == "single-instance" => {
            if relaunches < RELAUNCHES {
                Failed::Relaunch(relaunches + 1)
            } else {
                Failed::Exit(format!(
                    "Quire: another Quire window is open but does not answer ({why}). Close it \
                     (or end its process) and start Quire again."
                ))
            }
        }
        other => Failed::Exit(format!("Quire: the window cannot open: {other}")),
    }
}

/// A launch whose window did not open: starts again as the same process (whatever started it,
/// a desktop launcher or a WebDriver, still follows it) when another window is closing, or
/// says why and exits. Never a panic.
pub fn failed(error: tauri::Error) -> ! {
    let relaunches = std::env::var(RELAUNCH_VARIABLE)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    match after_failure(&error, relaunches) {
        Failed::Relaunch(next) => {
            std::thread::sleep(RELAUNCH_PAUSE);
            relaunch(next);
            eprintln!("Quire: could not start again after: {error}");
        }
        Failed::Exit(message) => eprintln!("{message}"),
    }
    std::process::exit(1);
}

/// Replaces this process with a new start of the same program and arguments (returns only if
/// that failed).
#[cfg(unix)]
fn relaunch(count: u32) {
    use std::os::unix::process::CommandExt;
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .env(RELAUNCH_VARIABLE, count.to_string())
        .exec();
    eprintln!("Quire: {error}");
}

/// Elsewhere the single-instance plugin does not fail this way (no session bus to wait on).
#[cfg(not(unix))]
fn relaunch(_count: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launch_waits_for_a_closing_window_then_says_why() {
        // CI, 2026-12-04: the previous window was closing when the next one started.
        let busy = tauri::Error::PluginInitialization(
            "single-instance".into(),
            "failed to forward arguments to the running instance: NoReply".into(),
        );
        assert_eq!(after_failure(&busy, 0), Failed::Relaunch(1));
        assert_eq!(
            after_failure(&busy, RELAUNCHES - 1),
            Failed::Relaunch(RELAUNCHES)
        );
        match after_failure(&busy, RELAUNCHES) {
            Failed::Exit(message) => {
                assert!(message.contains("another Quire window is open but does not answer"));
                assert!(message.contains("NoReply"));
            }
            other => panic!("{other:?}"),
        }
        // Any other failure is said at once, without starting again.
        let other = tauri::Error::PluginInitialization("dialog".into(), "no portal".into());
        assert!(matches!(after_failure(&other, 0), Failed::Exit(m) if m.contains("no portal")));
    }

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
