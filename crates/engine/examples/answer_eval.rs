//! The answer benchmark's runner: asks every question of the given question files through
//! `Engine::ask` (as `quire ask --no-save` does) and writes one JSON line per question: its id
//! and the whole checked answer. `bench/answers.py` scores them against the labels.
//!
//! cargo run --release -p quire-engine --example answer_eval -- --library DIR \
//!     [--models DIR] [--answer-model FILE] [--extract-only] [--every N] QUESTIONS.json...
//!
//! `--pairs`: instead of answers, the verifier's measurements for each labelled question's
//! reference answer against each of its five passages, with whether the passage holds all the
//! key facts (a passage that supports the answer) or none (one that does not): what the
//! verifier's thresholds are chosen on.
//!
//! `--recheck FILE`: instead of asking, the verifier's measurements for each sentence of that
//! file's answers (this program's output) that no passage was found to support, against each of
//! the answer's five passages: what a looser rule would confirm, to be judged by hand.
//!
//! `--done FILE`: skip the questions whose answers that file (this program's output) already holds.
//!
//! `--every N` keeps every Nth answerable question (in id order) and every unanswerable one: the
//! smaller set the slower model configurations run on.

mod common;

use common::arg;

use std::io::Write;
use std::path::PathBuf;

use quire_engine::{AskOptions, Engine, Flow};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let library = PathBuf::from(arg(&args, "--library").expect("--library DIR"));
    let models = arg(&args, "--models")
        .map(PathBuf::from)
        .unwrap_or_else(common::models_dir);
    let every: usize = arg(&args, "--every").map_or(1, |n| n.parse().expect("--every N"));
    let mut options = common::library_options(&library, &models);
    options.answer_model = arg(&args, "--answer-model").map(PathBuf::from);
    let engine = Engine::open(options).expect("open the library");
    let ask = AskOptions {
        save: false,
        generate: !args.iter().any(|a| a == "--extract-only"),
        ..AskOptions::default()
    };
    let done: Vec<serde_json::Value> = arg(&args, "--done")
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .map(|v| v["id"].clone())
                .collect()
        })
        .unwrap_or_default();
    let recheck: std::collections::HashMap<String, serde_json::Value> = arg(&args, "--recheck")
        .map(|f| std::fs::read_to_string(f).expect("--recheck FILE"))
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .map(|v| (v["id"].to_string(), v["answer"].clone()))
                .collect()
        })
        .unwrap_or_default();
    let files: Vec<&String> = args
        .iter()
        .filter(|a| a.ends_with(".json") && !a.starts_with("--"))
        .collect();
    let mut stdout = std::io::stdout().lock();
    for file in files {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(file).expect(file)).expect(file);
        let mut answerable = 0usize;
        for item in items {
            let unanswerable = item["answerable"] == serde_json::Value::Bool(false);
            if !unanswerable {
                if item.get("key_facts").is_none() {
                    continue;
                }
                answerable += 1;
                if !(answerable - 1).is_multiple_of(every) {
                    continue;
                }
            }
            if done.contains(&item["id"]) {
                continue;
            }
            let question = item["question"].as_str().expect("a question");
            if !recheck.is_empty() {
                if let Some(answer) = recheck.get(&item["id"].to_string()) {
                    rechecked(&engine, &item, question, answer, &mut stdout);
                }
                continue;
            }
            if args.iter().any(|a| a == "--pairs") {
                if !unanswerable {
                    pairs(&engine, &item, &mut stdout);
                }
                continue;
            }
            let answer = engine
                .ask(question, &ask, &mut |_| Flow::Continue)
                .unwrap_or_else(|e| panic!("{question}: {e}"));
            let line = serde_json::json!({ "id": item["id"], "answer": answer });
            writeln!(stdout, "{line}").expect("stdout");
            stdout.flush().ok();
            eprint!(".");
        }
    }
    eprintln!();
}

/// One JSON line per (reference answer, passage): the verifier's measurements and the label.
fn pairs(engine: &Engine, item: &serde_json::Value, out: &mut impl Write) {
    let question = item["question"].as_str().expect("a question");
    let reference = item["answer"].as_str().expect("a reference answer");
    let facts: Vec<String> = item["key_facts"]
        .as_array()
        .expect("key facts")
        .iter()
        .map(|f| normalised(f.as_str().unwrap_or("")))
        .collect();
    let hits = engine
        .search(question, &quire_engine::SearchOptions::default())
        .expect("search");
    for hit in hits {
        let passage = &hit.chunk.passage.text;
        let text = normalised(passage);
        let held = facts.iter().filter(|f| text.contains(f.as_str())).count();
        let label = if held == facts.len() {
            "supports"
        } else if held == 0 {
            "does_not"
        } else {
            continue;
        };
        let (check, _) = engine
            .support_check(question, reference, passage)
            .expect("check");
        let line = serde_json::json!({
            "id": item["id"], "label": label, "words": check.words, "word_share": check.word_share,
            "meaning": check.meaning, "keys_found": check.keys_found,
            "contradicts": check.contradicts,
        });
        writeln!(out, "{line}").expect("stdout");
    }
}

/// One JSON line per (unsupported sentence, passage) of a stored answer.
fn rechecked(
    engine: &Engine,
    item: &serde_json::Value,
    question: &str,
    answer: &serde_json::Value,
    out: &mut impl Write,
) {
    let empty = Vec::new();
    let sentences = answer["sentences"].as_array().unwrap_or(&empty);
    let citations = answer["citations"].as_array().unwrap_or(&empty);
    for sentence in sentences {
        if sentence["support"] != "unsupported" {
            continue;
        }
        let text = sentence["text"].as_str().unwrap_or("").trim();
        for citation in citations {
            let passage = citation["text"].as_str().unwrap_or("");
            let (check, supported) = engine
                .support_check(question, text, passage)
                .expect("check");
            let line = serde_json::json!({
                "id": item["id"], "sentence": text, "n": citation["n"],
                "word_share": check.word_share, "meaning": check.meaning,
                "keys_found": check.keys_found, "contradicts": check.contradicts,
                "supported": supported, "passage": passage,
            });
            writeln!(out, "{line}").expect("stdout");
        }
    }
}

/// Lower case, white space collapsed: how key facts are looked for.
fn normalised(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
