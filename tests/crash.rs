//! `kill -9` of `quire add` at random moments must leave a library that opens consistent, and
//! the next `add` must finish the job: no duplicates, nothing lost.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const PDFS: &[&str] = &[
    "base/clsguide.pdf",
    "base/usrguide.pdf",
    "base/cfgguide.pdf",
    "base/ltnews30.pdf",
    "base/ltnews31.pdf",
    "base/ltnews32.pdf",
    "base/modguide.pdf",
];

/// path → (status, chunks) of every document.
fn documents(q: &Quire) -> BTreeMap<String, (String, u64)> {
    let (_, v) = q.json(&["list"]);
    let mut out = BTreeMap::new();
    for d in v[0].as_array().unwrap() {
        let name = std::path::Path::new(d["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let previous = out.insert(
            name.clone(),
            (
                d["status"].as_str().unwrap().to_string(),
                d["chunks"].as_u64().unwrap(),
            ),
        );
        assert!(previous.is_none(), "{name} is listed twice");
    }
    out
}

/// A folder "inbox" of `q` holding copies of `pdfs`.
fn inbox(q: &Quire, pdfs: &[&str]) -> std::path::PathBuf {
    let inbox = q.dir("inbox");
    for pdf in pdfs {
        let src = texlive_pdf(pdf);
        std::fs::copy(&src, inbox.join(src.file_name().unwrap())).unwrap();
    }
    inbox
}

/// `quire add INBOX` saving vectors every second, its output discarded but for `stderr`.
fn add_checkpointing(q: &Quire, inbox: &std::path::Path, stderr: Stdio) -> std::process::Child {
    q.command()
        .args(["add", "--checkpoint-secs", "1", inbox.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// `quire add` of the whole inbox, run to the end; it must succeed.
fn add_all(q: &Quire, inbox: &std::path::Path) -> std::process::Output {
    let out = q.run(&["add", inbox.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

#[test]
fn kill_9_during_add_loses_nothing_and_duplicates_nothing() {
    let q = Quire::new();
    let inbox = inbox(&q, PDFS);

    // The library an uninterrupted run builds.
    let reference = Quire::new();
    let started = Instant::now();
    add_all(&reference, &inbox);
    let clean_run = started.elapsed();
    let expected = documents(&reference);
    assert_eq!(expected.len(), PDFS.len());

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut state = seed | 1;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    eprintln!("seed {seed}; an uninterrupted run takes {clean_run:?}");
    for round in 0..6 {
        // Kill anywhere in the first 90 % of a clean run's time, checkpointing every second so
        // that kills land between saving vectors and marking documents ready too.
        let delay =
            Duration::from_millis(random() % (clean_run.as_millis() as u64 * 9 / 10).max(200));
        let mut child = add_checkpointing(&q, &inbox, Stdio::null());
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let status = q.status();
        assert_eq!(
            status["consistent"], true,
            "round {round}, killed after {delay:?}: {status}"
        );
        for (name, (state, _)) in documents(&q) {
            assert!(
                state == "ready" || state == "interrupted",
                "round {round}: {name} is {state}"
            );
        }
        eprintln!(
            "round {round}: killed after {delay:?}; {} chunks survived",
            status["chunks"]
        );
    }

    add_all(&q, &inbox);
    let status = q.status();
    assert_eq!(status["consistent"], true, "{status}");
    assert_eq!(documents(&q), expected);
    assert_eq!(status["chunks"], reference.status()["chunks"]);
    assert_eq!(status["vectors"], status["chunks"]);
}

/// A kill during the second phase (the vectors, made after every file is stored): the documents
/// stay searchable by their words, the vectors saved at the last checkpoint stay, and the next
/// `add` embeds only the passages that still have none.
#[test]
fn kill_9_while_embedding_keeps_the_text_and_the_saved_vectors() {
    use std::io::{BufRead, BufReader};
    let q = Quire::new();
    let inbox = inbox(&q, &PDFS[..4]);
    let mut child = add_checkpointing(&q, &inbox, Stdio::piped());
    // Wait for the first phase to end, then for a checkpoint or two of vectors.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "add ended before it said the documents were searchable"
        );
        if line.contains("searchable by words") {
            break;
        }
    }
    // Then for the first checkpoint of vectors (every second): a fixed wait was too long once
    // embedding got quicker (all 176 vectors were saved within 3.5 s).
    let t = std::time::Instant::now();
    while q.status()["vectors"].as_u64().unwrap_or(0) == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no vectors saved in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();

    let status = q.status();
    assert_eq!(status["consistent"], true, "{status}");
    let chunks = status["chunks"].as_u64().unwrap();
    let saved = status["vectors"].as_u64().unwrap();
    assert!(
        saved > 0 && saved < chunks,
        "killed mid-embedding: {saved} of {chunks} vectors saved"
    );
    // Counted by document: a waiting document's chunks, some of which have their vectors.
    assert!(status["chunks_waiting"].as_u64().unwrap() >= chunks - saved);
    let listed = documents(&q);
    assert_eq!(listed.len(), 4);
    assert!(
        listed.values().all(|(state, _)| state == "ready"),
        "{listed:?}"
    );
    // Found by words meanwhile, and said so.
    let (code, hits) = q.json(&["search", "--mode", "hybrid", "options of a class"]);
    assert_eq!(code, 0);
    let hits = hits[0].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(hits.iter().any(|h| h["by_words_only"] == true), "{hits:?}");

    // The next add embeds exactly the passages without a vector.
    let out = add_all(&q, &inbox);
    let said = stderr(&out);
    assert!(
        said.contains(&format!("({} chunks,", chunks - saved)),
        "expected {} chunks embedded: {said}",
        chunks - saved
    );
    let status = q.status();
    assert_eq!(status["consistent"], true, "{status}");
    assert_eq!(status["vectors"], status["chunks"]);
    assert_eq!(status["chunks"].as_u64().unwrap(), chunks);
    assert_eq!(status["chunks_waiting"], 0);
}
