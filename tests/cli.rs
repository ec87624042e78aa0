//! End-to-end tests of the `quire` CLI: the real binary, the real embedding model, real PDFs
//! from Debian's texlive-latex-base-doc and PDFs generated here, a real SQLite library.

mod common;

use std::collections::HashMap;

use common::*;

fn by_name(lines: &[serde_json::Value]) -> HashMap<String, serde_json::Value> {
    lines
        .iter()
        .map(|l| {
            let path = l["path"].as_str().unwrap();
            (
                std::path::Path::new(path)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                l.clone(),
            )
        })
        .collect()
}

#[test]
fn a_bad_batch_indexes_the_good_files_and_explains_each_bad_one() {
    let q = Quire::new();
    let inbox = q.dir("inbox");
    std::fs::copy(
        texlive_pdf("base/ltnews18.pdf"),
        inbox.join("good-news.pdf"),
    )
    .unwrap();
    std::fs::write(
        inbox.join("generated.pdf"),
        text_pdf(&[
            "Quire keeps private papers offline.\nIt never phones home.",
            "Second page about hybrid retrieval.",
        ]),
    )
    .unwrap();
    let real = std::fs::read(texlive_pdf("base/clsguide.pdf")).unwrap();
    std::fs::write(inbox.join("truncated.pdf"), &real[..real.len() / 3]).unwrap();
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(inbox.join("random.pdf"), noise).unwrap();
    encrypted_pdf(&texlive_pdf("base/ltnews18.pdf"), &inbox.join("locked.pdf"));
    std::fs::write(inbox.join("scanned.pdf"), image_only_pdf(3)).unwrap();
    std::fs::write(inbox.join("empty.pdf"), b"").unwrap();

    let (code, lines) = q.json(&["add", inbox.to_str().unwrap()]);
    assert_eq!(code, 1, "a batch with failures exits 1");
    let files = by_name(&lines);
    assert_eq!(files.len(), 7, "{lines:?}");
    for good in ["good-news.pdf", "generated.pdf"] {
        assert_eq!(files[good]["status"], "added", "{:?}", files[good]);
        assert!(files[good]["chunks"].as_u64().unwrap() > 0);
    }
    assert_eq!(files["generated.pdf"]["pages"], 2);
    let expect = [
        ("truncated.pdf", "damaged"),
        ("random.pdf", "not_pdf"),
        ("locked.pdf", "encrypted"),
        ("scanned.pdf", "no_text"),
        ("empty.pdf", "not_pdf"),
    ];
    for (name, kind) in expect {
        let f = &files[name];
        assert_eq!(f["status"], "failed", "{name}: {f:?}");
        assert_eq!(f["error_kind"], kind, "{name}: {f:?}");
        let error = f["error"].as_str().unwrap();
        assert!(
            error.len() > 15 && !error.contains("panicked"),
            "{name}: {error}"
        );
    }

    let status = q.status();
    assert_eq!(status["consistent"], true, "{status}");
    assert_eq!(status["documents"]["ready"], 2);
    assert_eq!(status["documents"]["failed"], 5);
    assert_eq!(status["chunks"], status["vectors"]);

    // Searching finds the generated text on its page.
    let (code, hits) = q.json(&["search", "does it send my papers anywhere?", "-k", "3"]);
    assert_eq!(code, 0);
    let top = &hits[0].as_array().unwrap()[0];
    assert!(
        top["path"].as_str().unwrap().ends_with("generated.pdf"),
        "{top}"
    );
    assert_eq!(top["page_start"], 1);

    // --doc restricts a search to the given documents (by id or path).
    let news_id = files["good-news.pdf"]["document_id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (code, hits) = q.json(&[
        "search",
        "does it send my papers anywhere?",
        "-k",
        "5",
        "--doc",
        &news_id,
    ]);
    assert_eq!(code, 0);
    let hits = hits[0].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .all(|h| h["document_id"].as_i64().unwrap().to_string() == news_id),
        "{hits:?}"
    );
    let generated = inbox.join("generated.pdf");
    let (_, hits) = q.json(&[
        "search",
        "hybrid retrieval",
        "-k",
        "5",
        "--doc",
        generated.to_str().unwrap(),
    ]);
    let hits = hits[0].as_array().unwrap();
    assert!(hits
        .iter()
        .all(|h| h["path"].as_str().unwrap().ends_with("generated.pdf")));
    // Both short pages fit one chunk: it spans them.
    assert_eq!(hits[0]["page_end"], 2);
    let out = q.run(&["search", "x", "--doc", "4242"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown document is a usage error"
    );

    // Adding the same folder again does no work and changes nothing.
    let started = std::time::Instant::now();
    let (code, again) = q.json(&["add", inbox.to_str().unwrap()]);
    assert_eq!(code, 1);
    let again = by_name(&again);
    assert_eq!(again["good-news.pdf"]["status"], "unchanged");
    assert_eq!(again["generated.pdf"]["status"], "unchanged");
    assert_eq!(again["locked.pdf"]["error_kind"], "encrypted");
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(q.status()["chunks"], status["chunks"]);
}

#[test]
fn a_changed_file_is_replaced_and_remove_removes_everything() {
    let q = Quire::new();
    let dir = q.dir("docs");
    let file = dir.join("notes.pdf");
    std::fs::write(
        &file,
        text_pdf(&["The launch code is kept in the blue binder."]),
    )
    .unwrap();
    let (code, first) = q.json(&["add", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(first[0]["status"], "added");
    let id = first[0]["document_id"].as_i64().unwrap();

    std::fs::write(
        &file,
        text_pdf(&[
            "Page one is new.",
            "The launch code moved to the red folder.",
        ]),
    )
    .unwrap();
    let (code, second) = q.json(&["add", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(second[0]["status"], "replaced");
    assert_eq!(
        second[0]["document_id"].as_i64().unwrap(),
        id,
        "a replaced document keeps its id"
    );
    assert_eq!(second[0]["pages"], 2);

    let (_, hits) = q.json(&["search", "where is the launch code?", "-k", "5"]);
    let texts: Vec<&str> = hits[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap())
        .collect();
    assert!(texts.iter().any(|t| t.contains("red folder")));
    assert!(
        texts.iter().all(|t| !t.contains("blue binder")),
        "old content must be gone: {texts:?}"
    );
    assert_eq!(q.status()["consistent"], true);

    let out = q.run(&["remove", &id.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = q.status();
    assert_eq!(status["chunks"], 0);
    assert_eq!(status["vectors"], 0);
    assert_eq!(status["consistent"], true);
    // A document that is not there: a usage error, as for `search --doc 999`.
    let out = q.run(&["remove", "999"]);
    assert_eq!(out.status.code(), Some(2));
    let out = q.run(&["search", "--doc", "999", "margins"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no document"));
}

#[test]
fn chinese_text_is_found() {
    let q = Quire::new();
    let dir = q.dir("zh");
    let file = dir.join("zh.pdf");
    std::fs::write(
        &file,
        cjk_pdf(&[
            &"关系数据库使用索引来加速查询。事务保证数据的一致性。\n".repeat(8),
            "全文检索支持中文分词和排序。",
        ]),
    )
    .unwrap();
    let (code, lines) = q.json(&["add", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{lines:?}");
    let (_, hits) = q.json(&["search", "全文检索", "-k", "1", "--mode", "keyword"]);
    let top = &hits[0][0];
    assert_eq!(top["page_start"], 2, "{top}");
    assert!(top["text"]
        .as_str()
        .unwrap()
        .contains("全文检索支持中文分词"));
    let (_, hits) = q.json(&["search", "数据库索引", "-k", "1"]);
    assert_eq!(hits[0][0]["page_start"], 1);
}

#[test]
fn usage_errors_and_empty_library_are_explained() {
    let q = Quire::new();
    let out = q.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = q.run(&["search", "anything"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("library is empty"),
        "{}",
        stderr(&out)
    );
    let out = q.run(&["add", "/no/such/file.pdf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).is_empty() || !stderr(&out).contains("panicked"));
    let out = q
        .command()
        .env("QUIRE_MODELS", q.root.path())
        .args(["add", "/no/such/file.pdf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("embedding model is missing"),
        "{}",
        stderr(&out)
    );
    // Any GGUF file can be named; status says whether it is there.
    let (_, status) = q.json(&["status", "--answer-model", "/no/such/model.gguf"]);
    assert_eq!(status[0]["answer_model"]["present"], false);
    assert_eq!(status[0]["answer_model"]["path"], "/no/such/model.gguf");
}

/// Hit@5 of each retrieval mode over labelled questions on a real manual.
#[test]
fn questions_in_a_users_words_find_the_right_page() {
    let q = Quire::new();
    let labels: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/clsguide_questions.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let pdf = texlive_pdf(labels["document"].as_str().unwrap());
    let (code, _) = q.json(&["add", pdf.to_str().unwrap()]);
    assert_eq!(code, 0);
    let questions = labels["questions"].as_array().unwrap();
    let mut hits_at_5 = HashMap::new();
    for mode in ["dense", "keyword", "hybrid"] {
        let (mut hits, mut first, mut reciprocal) = (0, 0, 0.0);
        for item in questions {
            let pages: Vec<u64> = item["pages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap())
                .collect();
            let (_, results) = q.json(&[
                "search",
                item["q"].as_str().unwrap(),
                "-k",
                "5",
                "--mode",
                mode,
            ]);
            let rank = results[0].as_array().unwrap().iter().position(|r| {
                let (a, b) = (
                    r["page_start"].as_u64().unwrap(),
                    r["page_end"].as_u64().unwrap(),
                );
                pages.iter().any(|p| (a..=b).contains(p))
            });
            hits += rank.is_some() as usize;
            first += (rank == Some(0)) as usize;
            reciprocal += rank.map_or(0.0, |r| 1.0 / (r + 1) as f64);
        }
        let n = questions.len();
        eprintln!(
            "{mode}: hit@1 {first}/{n}, hit@5 {hits}/{n}, MRR@5 {:.3}",
            reciprocal / n as f64
        );
        hits_at_5.insert(mode, hits);
    }
    let n = questions.len();
    assert!(
        hits_at_5["hybrid"] * 4 >= n * 3,
        "hybrid hit@5 {}/{n}",
        hits_at_5["hybrid"]
    );
    assert!(hits_at_5["hybrid"] >= hits_at_5["dense"]);
    assert!(hits_at_5["hybrid"] >= hits_at_5["keyword"]);
}
