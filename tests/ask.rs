//! `quire ask` and `quire chat` end to end: the real binary, the real default models, a real PDF.

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{stderr, texlive_pdf, Quire};

#[test]
fn ask_streams_a_cited_answer_and_json_follows_the_contract() {
    let q = Quire::new();
    let pdf = texlive_pdf("base/clsguide.pdf");
    let out = q.run(&["add", pdf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Streaming: the first text reaches stdout well before the process ends.
    let started = Instant::now();
    let mut child = q
        .command()
        .args([
            "ask",
            "How does a class declare its options?",
            "--max-tokens",
            "120",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut reads: Vec<(Duration, usize)> = Vec::new();
    let mut buf = [0u8; 256];
    let mut text = Vec::new();
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        reads.push((started.elapsed(), n));
        text.extend_from_slice(&buf[..n]);
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(status.success(), "{err}");
    assert!(
        reads.len() > 3,
        "the answer arrived in one piece: {reads:?}"
    );
    assert!(text.contains("\nSources:\n"), "{text}");
    assert!(text.contains("[1] "), "{text}");
    assert!(err.contains("first token after"), "{err}");

    let (code, v) = q.json(&["ask", "What is \\ProvidesClass for?", "--max-tokens", "80"]);
    assert_eq!(code, 0);
    let a = &v[0];
    assert!(a["answer"].is_string());
    // The checked answer, per sentence: its support and the sources shown for it.
    let outcome = a["outcome"].as_str().unwrap();
    assert!(
        ["verified", "from_documents", "not_covered"].contains(&outcome),
        "{a}"
    );
    for s in a["sentences"].as_array().unwrap() {
        let support = s["support"].as_str().unwrap();
        assert!(["supported", "unsupported", "no_claim"].contains(&support));
        assert_eq!(
            support == "supported",
            !s["sources"].as_array().unwrap().is_empty(),
            "chips on supported sentences only: {s}"
        );
    }
    let citations = a["citations"].as_array().unwrap();
    assert_eq!(citations.len(), 5);
    for (i, c) in citations.iter().enumerate() {
        assert_eq!(c["n"], i + 1);
        for field in [
            "cited",
            "document_id",
            "path",
            "page_start",
            "page_end",
            "text",
        ] {
            assert!(!c[field].is_null(), "{field} missing in {c}");
        }
        assert!(c["path"].as_str().unwrap().ends_with("clsguide.pdf"));
    }
    let quotes = a["quotes"].as_array().unwrap();
    assert!(!quotes.is_empty() && quotes.len() <= 3, "{quotes:?}");
    for quote in quotes {
        let n = quote["n"].as_u64().unwrap() as usize;
        let page = quote["page"].as_u64().unwrap();
        let c = &citations[n - 1];
        assert!(
            c["page_start"].as_u64().unwrap() <= page && page <= c["page_end"].as_u64().unwrap()
        );
        assert!(!quote["text"].as_str().unwrap().is_empty());
    }

    // The conversation goes on with --conversation, and is listed.
    let id = a["conversation_id"].as_i64().unwrap();
    let (code, v) = q.json(&[
        "ask",
        "And where is it described?",
        "--conversation",
        &id.to_string(),
        "--max-tokens",
        "40",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v[0]["conversation_id"], id);
    let (_, list) = q.json(&["conversations"]);
    let conv = list[0]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap();
    assert_eq!(conv["messages"], 4);
    let out = q.run(&["ask", "x", "--conversation", "999"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no conversation 999"));

    // `chat` reads questions from stdin as one conversation.
    let mut child = q
        .command()
        .args(["chat", "--max-tokens", "30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"What is a class file?\nAnd a package?\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.matches("\nSources:\n").count(), 2, "{stdout}");
    let (_, list) = q.json(&["conversations"]);
    assert_eq!(
        list[0].as_array().unwrap()[0]["messages"],
        4,
        "both questions in one conversation"
    );
}

#[test]
fn ask_explains_an_empty_library_and_a_missing_model() {
    let q = Quire::new();
    let out = q.run(&["ask", "What is in my documents?"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "quire: the library is empty; add PDFs first with `quire add FILE.pdf`"
    );
    let pdf = texlive_pdf("base/clsguide.pdf");
    assert!(q.run(&["add", pdf.to_str().unwrap()]).status.success());
    let out = q.run(&[
        "ask",
        "What does \\ProvidesClass do?",
        "--answer-model",
        "/no/such/model.gguf",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("the answer model /no/such/model.gguf is missing"),
        "{err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one sentence, no trace: {err}"
    );
    let not_gguf = q.dir("models").join("broken.gguf");
    std::fs::write(&not_gguf, b"not a model").unwrap();
    let out = q.run(&[
        "ask",
        "What does \\ProvidesClass do?",
        "--answer-model",
        not_gguf.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not a GGUF model"),
        "{}",
        stderr(&out)
    );
}
