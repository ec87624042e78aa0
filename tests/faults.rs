//! Faults a real library meets, reproduced with the real binary on real files: folders that link
//! back into themselves, two first writers at once, a reader that closes the pipe early, a
//! folder without PDFs.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{stderr, text_pdf, Quire};

/// Waits for `child` at most `limit`; kills it and fails when it runs longer.
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A library of one-page PDFs (`(file name, page text)`), added: returns the folder they are in.
fn added(q: &Quire, files: &[(&str, &str)]) -> std::path::PathBuf {
    let pdfs = q.dir("pdfs");
    for (name, text) in files {
        std::fs::write(pdfs.join(name), text_pdf(&[text])).unwrap();
    }
    let out = q.run(&["add", pdfs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    pdfs
}

#[cfg(unix)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(unix)]
#[test]
fn a_folder_linking_back_into_itself_adds_each_pdf_once() {
    use std::os::unix::fs::symlink;
    let q = Quire::new();
    let top = q.dir("loop");
    std::fs::create_dir_all(top.join("sub")).unwrap();
    std::fs::write(
        top.join("licence.pdf"),
        text_pdf(&["The licence allows copying and changing this work."]),
    )
    .unwrap();
    symlink("../loop", top.join("self")).unwrap();
    symlink("..", top.join("sub/up")).unwrap();
    symlink(".", top.join("sub/me")).unwrap();
    let mut child = q
        .command()
        .args(["--json", "add"])
        .arg(&top)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Before: it walked the loop until killed, memory growing.
    let status = wait_at_most(&mut child, Duration::from_secs(120));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    let added: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["status"] == "added")
        .collect();
    assert_eq!(added.len(), 1, "{out}");
    let (_, docs) = q.json(&["list"]);
    let docs = docs[0].as_array().cloned().unwrap_or_else(|| docs.clone());
    assert_eq!(docs.len(), 1, "{docs:?}");
}

#[test]
fn two_first_writers_get_the_library_or_a_busy_message() {
    for round in 0..3 {
        let q = Quire::new();
        let pdfs = q.dir("pdfs");
        for i in 0..2 {
            std::fs::write(
                pdfs.join(format!("p{i}.pdf")),
                text_pdf(&[&format!(
                    "Margins are set with the geometry package, part {i}."
                )]),
            )
            .unwrap();
        }
        let writers: Vec<_> = (0..2)
            .map(|_| {
                q.command()
                    .arg("add")
                    .arg(&pdfs)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut succeeded = 0;
        for writer in writers {
            let out = writer.wait_with_output().unwrap();
            let err = stderr(&out);
            if out.status.success() {
                succeeded += 1;
            } else {
                // Before: "table meta already exists" in 3 of 6 tries.
                assert!(
                    err.contains("being changed by another Quire process"),
                    "round {round}: {err}"
                );
            }
        }
        assert!(succeeded >= 1, "round {round}: one writer gets the library");
        let (_, docs) = q.json(&["list"]);
        let docs = docs[0].as_array().cloned().unwrap_or_else(|| docs.clone());
        assert_eq!(docs.len(), 2, "round {round}: {docs:?}");
    }
}

#[test]
fn a_reader_closing_the_pipe_ends_the_command_quietly() {
    let q = Quire::new();
    let page = "Each chapter starts on a right-hand page in a two-sided book.";
    added(
        &q,
        &[("doc0.pdf", page), ("doc1.pdf", page), ("doc2.pdf", page)],
    );
    for args in [&["list"][..], &["--json", "list"], &["search", "chapter"]] {
        let mut child = q
            .command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -c 0`: the reader goes away before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        // Before: "failed printing to stdout: Broken pipe", a panic, exit 101.
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn a_folder_without_pdfs_says_so() {
    let q = Quire::new();
    let notes = q.dir("notes");
    std::fs::write(notes.join("todo.txt"), "nothing to index").unwrap();
    let out = q.run(&["add", notes.to_str().unwrap()]);
    // Before: "0 added", exit 0, no hint.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("no PDF files in the folder"), "{all}");
}

#[test]
fn empty_searches_and_impossible_settings_are_usage_errors() {
    let q = Quire::new();
    let pdfs = added(
        &q,
        &[(
            "one.pdf",
            "Footnotes are numbered per chapter in the book class.",
        )],
    );
    // Before: `search ""` listed five arbitrary passages; `--context 16` was accepted.
    for args in [
        &["search", ""][..],
        &["search", "   "],
        &["ask", "  "],
        &["search", "-k", "0", "footnotes"],
        &["add", "--chunk-tokens", "0", pdfs.to_str().unwrap()],
        &["ask", "--context", "16", "footnotes"],
    ] {
        let out = q.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty(), "{args:?} says why");
    }
}

/// Three PDFs on different subjects, added; the dense search results for a few queries.
fn library_with_vectors(q: &Quire) -> (std::path::PathBuf, Vec<serde_json::Value>) {
    let pdfs = added(
        q,
        &[
            (
                "doc0.pdf",
                "Margins are set with the geometry package: left, right, top and bottom.",
            ),
            (
                "doc1.pdf",
                "Footnotes are numbered per chapter in the book class and per document in article.",
            ),
            (
                "doc2.pdf",
                "A table of contents is written by \\tableofcontents after two runs of LaTeX.",
            ),
        ],
    );
    (pdfs, dense_results(q))
}

fn dense_results(q: &Quire) -> Vec<serde_json::Value> {
    ["page margins", "footnote numbering", "contents list"]
        .iter()
        .map(|query| {
            let (code, hits) = q.json(&["search", "--mode", "dense", "-k", "3", query]);
            assert_eq!(code, 0, "{query}");
            let ids: Vec<serde_json::Value> = hits[0]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["chunk_id"].clone())
                .collect();
            serde_json::Value::Array(ids)
        })
        .collect()
}

#[test]
fn a_deleted_vector_file_is_reported_and_rebuilt_by_add() {
    let q = Quire::new();
    let (pdfs, before) = library_with_vectors(&q);
    std::fs::remove_file(q.library().join("vectors.usearch")).unwrap();
    let status = q.status();
    assert_eq!(status["consistent"], false, "{status}");
    assert!(
        status.to_string().contains("vector file is missing"),
        "{status}"
    );
    // Before: "No passages found." with no word of why.
    let out = q.run(&["search", "--mode", "dense", "page margins"]);
    assert!(
        stderr(&out).contains("vector file is missing, so"),
        "{}",
        stderr(&out)
    );
    // Before: re-adding said "unchanged" and left the vectors missing.
    let out = q.run(&["add", pdfs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = q.status();
    assert_eq!(status["consistent"], true, "{status}");
    assert_eq!(dense_results(&q), before);
}

#[test]
fn a_damaged_vector_file_is_noticed_and_rebuilt_by_add() {
    use std::io::{Seek, SeekFrom, Write};
    let q = Quire::new();
    let (pdfs, before) = library_with_vectors(&q);
    let path = q.library().join("vectors.usearch");
    let len = std::fs::metadata(&path).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(len / 4)).unwrap();
    // Random bytes over a quarter of the file (64 KiB in a bigger one).
    let mut noise = vec![0u8; (len / 4).min(64 * 1024) as usize];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    file.write_all(&noise).unwrap();
    drop(file);
    // Before: "consistency ok" and silently wrong neighbours.
    let status = q.status();
    assert_eq!(status["consistent"], false, "{status}");
    assert!(
        status.to_string().contains("vector file is damaged"),
        "{status}"
    );
    let out = q.run(&["add", pdfs.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(q.status()["consistent"], true);
    assert_eq!(dense_results(&q), before);
}

/// Runs the real binary on a library Quire cannot write to: as root (who may write anywhere),
/// as the unprivileged user `nobody` with a copy of the binary it can run; otherwise as is.
#[cfg(unix)]
fn run_without_write_access(q: &Quire, args: &[&str]) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    let mut cmd = if is_root() {
        let bin = q.root.path().join("quire-copy");
        if !bin.exists() {
            std::fs::copy(env!("CARGO_BIN_EXE_quire"), &bin).unwrap();
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_quire"))
    };
    cmd.env("HOME", q.root.path())
        .arg("--library")
        .arg(q.library())
        .arg("--models")
        .arg(q.root.path().join("no-models"))
        .args(args)
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_library_on_read_only_storage_can_be_searched_and_listed() {
    use std::os::unix::fs::PermissionsExt;
    let q = Quire::new();
    added(
        &q,
        &[("margins.pdf", "Margins are set with the geometry package.")],
    );
    // Read-only for everyone but root; the folders on the way readable.
    for entry in std::fs::read_dir(q.library()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(q.library(), std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(q.root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Before: every command failed with "Permission denied" (library.lock is opened to write).
    let out = run_without_write_access(&q, &["--json", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("margins.pdf"));
    let out = run_without_write_access(&q, &["search", "--mode", "keyword", "geometry"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("geometry"));
    // Changing it says why it cannot.
    let out = run_without_write_access(&q, &["remove", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is read-only"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    // Writable again for the temporary folder's clean-up.
    std::fs::set_permissions(q.library(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_os_error_is_told_once() {
    let q = Quire::new();
    let file = q.root.path().join("not-a-folder");
    std::fs::write(&file, "a file where the library should be").unwrap();
    let out = q
        .command()
        .env("QUIRE_LIBRARY", &file)
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Before: "File exists (os error 17): File exists (os error 17)".
    assert_eq!(
        stderr(&out).matches("os error").count(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn model_files_cut_short_are_not_called_present() {
    use std::io::Read;
    let q = Quire::new();
    let models = common::models_dir();
    let prefix = |from: &std::path::Path, to: &std::path::Path, bytes: u64| {
        let mut head = Vec::new();
        std::fs::File::open(from)
            .unwrap()
            .take(bytes)
            .read_to_end(&mut head)
            .unwrap();
        std::fs::write(to, head).unwrap();
    };
    let gguf = q.root.path().join("half.gguf");
    prefix(&models.join("gemma-3-270m-q4_k_m.gguf"), &gguf, 4 << 20);
    let embedding = q.dir("minilm-cut");
    for name in ["config.json", "tokenizer.json"] {
        std::fs::copy(
            models.join("all-MiniLM-L6-v2").join(name),
            embedding.join(name),
        )
        .unwrap();
    }
    prefix(
        &models.join("all-MiniLM-L6-v2/model.safetensors"),
        &embedding.join("model.safetensors"),
        1 << 20,
    );
    let (_, status) = q.json(&[
        "status",
        "--answer-model",
        gguf.to_str().unwrap(),
        "--embedding-model",
        embedding.to_str().unwrap(),
    ]);
    // Before: both "present".
    let status = &status[0];
    for model in ["answer_model", "embedding_model"] {
        assert_eq!(status[model]["present"], false, "{model}: {status}");
        assert!(
            status[model]["problem"]
                .as_str()
                .unwrap()
                .contains("cut short"),
            "{model}: {status}"
        );
    }
}

/// Distinct text for page `p` of document `d`: enough words that the library grows with it.
fn page_text(d: usize, p: usize) -> String {
    let words = [
        "margin", "footnote", "chapter", "package", "option", "kernel", "font", "table", "figure",
        "caption", "index", "section", "command", "length", "counter", "label",
    ];
    (0..30)
        .map(|l| {
            (0..10)
                .map(|w| words[(d * 7 + p * 5 + l * 3 + w) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
                + &format!(" {d}-{p}-{l}.")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(unix)]
#[test]
fn a_full_disk_stores_nothing_it_calls_added_and_a_rerun_completes() {
    let q = Quire::new();
    let pdfs = q.dir("pdfs");
    let mut paths = Vec::new();
    for d in 0..4 {
        let pages: Vec<String> = (0..10).map(|p| page_text(d, p)).collect();
        let pages: Vec<&str> = pages.iter().map(String::as_str).collect();
        let path = pdfs.join(format!("doc{d}.pdf"));
        std::fs::write(&path, text_pdf(&pages)).unwrap();
        paths.push(path.to_string_lossy().into_owned());
    }
    // How much a library of these takes.
    assert!(q.run(&["add", pdfs.to_str().unwrap()]).status.success());
    let used: u64 = std::fs::read_dir(q.library())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    // A small file system (tmpfs, in a mount namespace of its own) with room for half of it.
    let size = 2 * used + (2 << 20);
    let fill = size - used / 2;
    let mnt = q.dir("small-disk");
    let out = q.dir("out");
    let script = format!(
        r#"set -u
mount -t tmpfs -o size={size} tmpfs "{mnt}" || exit 90
head -c {fill} /dev/zero > "{mnt}/filler" 2>/dev/null
run() {{ "{quire}" --library "{mnt}/lib" --models "{models}" --device cpu "$@"; }}
run --json add {pdfs} > "{out}/first.jsonl" 2> "{out}/first.err"; echo $? > "{out}/first.rc"
run --json list > "{out}/list-full.json" 2> "{out}/list-full.err"
ls "{mnt}/lib" > "{out}/files-full"
rm "{mnt}/filler"
run --json add {pdfs} > "{out}/second.jsonl" 2> "{out}/second.err"; echo $? > "{out}/second.rc"
run --json list > "{out}/list.json"
run --json status > "{out}/status.json"
"#,
        mnt = mnt.display(),
        out = out.display(),
        quire = env!("CARGO_BIN_EXE_quire"),
        models = common::models_dir().display(),
        pdfs = paths
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let unshare: &[&str] = if is_root() { &["-m"] } else { &["-Urm"] };
    let status = std::process::Command::new("unshare")
        .args(unshare)
        .args(["sh", "-c", &script])
        .status()
        .unwrap();
    assert_ne!(status.code(), Some(90), "could not mount a tmpfs");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    let lines = |name: &str| -> Vec<serde_json::Value> {
        read(name)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    // The first run fails, says why, and calls "added" only what the library then holds.
    assert_ne!(read("first.rc").trim(), "0", "{}", read("first.err"));
    let why = format!("{}{}", read("first.err"), read("first.jsonl"));
    assert!(
        why.contains("No space left on device") || why.contains("disk is full"),
        "{why}"
    );
    let stored: Vec<serde_json::Value> =
        serde_json::from_str::<serde_json::Value>(&read("list-full.json"))
            .unwrap_or_else(|e| panic!("list on a full disk: {e}: {}", read("list-full.err")))
            .as_array()
            .cloned()
            .unwrap();
    let ready = |path: &str| {
        stored
            .iter()
            .any(|d| d["path"] == path && d["status"] == "ready")
    };
    let first = lines("first.jsonl");
    assert!(
        !first.is_empty(),
        "every file has a result: {}",
        read("first.err")
    );
    for result in &first {
        if result["status"] == "added" {
            assert!(
                ready(result["path"].as_str().unwrap()),
                "{result} but not stored"
            );
        }
    }
    assert!(
        first.iter().any(|r| r["status"] == "failed"),
        "something did not fit: {first:?}"
    );
    assert!(
        !read("files-full").contains(".tmp"),
        "{}",
        read("files-full")
    );
    // Room again: the same command completes the batch, and nothing earlier is lost.
    assert_eq!(read("second.rc").trim(), "0", "{}", read("second.err"));
    let list: serde_json::Value = serde_json::from_str(&read("list.json")).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    assert!(
        list.iter()
            .all(|d| d["status"] == "ready" && d["embedded"] == true),
        "{list:?}"
    );
    let status: serde_json::Value = serde_json::from_str(&read("status.json")).unwrap();
    assert_eq!(status["consistent"], true, "{status}");
}
