//! Fetching the default models from the window: runs the verified fetch script
//! (`models/fetch.py`, installed as `/usr/share/quire/fetch/fetch.py`) with `python3`, each line
//! it writes handed to `on_line`. The script does the work (download, sha256 checks, atomic
//! writes); this only finds it and runs it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use quire_engine::ErrorKind;

use crate::error::{CommandError, CommandResult};

/// Lines of the script's output an error quotes.
const LAST_LINES: usize = 6;

/// Where the script may be, in order: `$QUIRE_FETCH_SCRIPT`; beside an installed executable
/// (`/usr/bin/quire-app` → `/usr/share/quire/fetch/fetch.py`); the source tree this was built
/// from.
pub fn script_candidates(env: Option<OsString>, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(path));
    }
    if let Some(share) = exe.and_then(quire_engine::installed_share_dir) {
        candidates.push(share.join("fetch/fetch.py"));
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/fetch.py"
    )));
    candidates
}

/// The fetch script on this computer, or what to do without it.
pub fn find_script() -> CommandResult<PathBuf> {
    let exe = std::env::current_exe().ok();
    let candidates = script_candidates(std::env::var_os("QUIRE_FETCH_SCRIPT"), exe.as_deref());
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            CommandError::new(
                ErrorKind::Usage,
                format!(
                    "Quire's model fetch script is not installed (looked for {}); install the \
                     quire-models package, or choose model files in Settings",
                    looked.join(", ")
                ),
            )
        })
}

/// Runs `python3 <script> --dest <models_dir> --defaults` (the models Quire uses by default,
/// what the quire-models package holds), handing each line it writes (standard output
/// and error) to `on_line`. Fails with the script's last lines when it does not succeed.
pub fn run(
    script: &Path,
    models_dir: &Path,
    on_line: impl Fn(String) + Send + Sync + 'static,
) -> CommandResult<()> {
    let mut child = Command::new("python3")
        .arg("-u") // unbuffered: lines arrive as they are written
        .arg(script)
        .arg("--dest")
        .arg(models_dir)
        .arg("--defaults")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CommandError::new(
                    ErrorKind::Usage,
                    "python3 is not installed; install it, or install the quire-models package, \
                     or choose model files in Settings",
                )
            } else {
                CommandError::new(ErrorKind::Io, format!("cannot run python3: {e}"))
            }
        })?;
    let on_line = Arc::new(on_line);
    let last = Arc::new(Mutex::new(VecDeque::with_capacity(LAST_LINES)));
    let relay = |stream: Box<dyn Read + Send>| {
        let (on_line, last) = (on_line.clone(), last.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                {
                    let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
                    if last.len() == LAST_LINES {
                        last.pop_front();
                    }
                    last.push_back(line.clone());
                }
                on_line(line);
            }
        })
    };
    let readers = [
        child.stdout.take().map(|s| relay(Box::new(s))),
        child.stderr.take().map(|s| relay(Box::new(s))),
    ];
    let status = child.wait()?;
    for reader in readers.into_iter().flatten() {
        let _ = reader.join();
    }
    if status.success() {
        return Ok(());
    }
    let last = last.lock().unwrap_or_else(PoisonError::into_inner);
    let tail = Vec::from(last.clone()).join("\n");
    Err(CommandError::new(
        ErrorKind::Io,
        format!(
            "fetching the models failed ({status}); fetching needs the network once{}",
            if tail.is_empty() {
                String::new()
            } else {
                format!(":\n{tail}")
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_looked_for_in_the_environment_then_beside_the_executable_then_the_source() {
        let source = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/fetch.py"));
        assert!(
            source.is_file(),
            "the source tree's script: {}",
            source.display()
        );
        assert_eq!(
            script_candidates(
                Some("/opt/fetch.py".into()),
                Some(Path::new("/usr/bin/quire-app"))
            ),
            [
                PathBuf::from("/opt/fetch.py"),
                PathBuf::from("/usr/share/quire/fetch/fetch.py"),
                source.clone(),
            ]
        );
        assert_eq!(script_candidates(Some("".into()), None), [source]);
    }

    #[cfg(unix)]
    #[test]
    fn the_scripts_lines_arrive_and_a_failure_quotes_its_last_ones() {
        if Command::new("python3").arg("--version").output().is_err() {
            eprintln!("python3 is not installed: skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fetch.py");
        std::fs::write(
            &script,
            "import sys\n\
             print('dest', sys.argv[2], sys.argv[3])\n\
             print('fetching answer model', flush=True)\n\
             print('MISSING  answer model: offline', file=sys.stderr)\n\
             sys.exit(1 if 'fail' in sys.argv[2] else 0)\n",
        )
        .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        run(&script, &dir.path().join("models"), move |l| {
            seen.lock().unwrap().push(l)
        })
        .unwrap();
        let mut got = lines.lock().unwrap().clone();
        got.sort();
        let dest = format!("dest {} --defaults", dir.path().join("models").display());
        assert_eq!(
            got,
            [
                "MISSING  answer model: offline".to_string(),
                dest,
                "fetching answer model".into()
            ]
        );

        let failed = run(&script, &dir.path().join("fail"), |_| {}).unwrap_err();
        assert_eq!(failed.kind, ErrorKind::Io);
        assert!(
            failed.message.contains("fetching the models failed"),
            "{}",
            failed.message
        );
        assert!(
            failed.message.contains("MISSING  answer model: offline"),
            "{}",
            failed.message
        );
    }
}
