//! Retrieval quality and full-query latency on a real library, with labelled questions.
//!
//! For every question of `bench/retrieval/questions.json` (the document and the pages that answer
//! it), runs the search in three modes — dense only, BM25 only, hybrid — and reports hit@1, hit@5
//! and MRR@10 per mode (a hit: a passage of the right document whose pages overlap the labelled
//! ones), plus the latency of each mode's full query (hybrid: embed the question, dense + BM25,
//! fusion, passages read back), p50 and p95 after one warm-up query. Then, for the hybrid top 5,
//! how much of the labelled evidence survives when each passage is focused to a token budget
//! for the prompt ([`quire_engine::focus`]), and how many prompt tokens that saves.
//!
//! cargo run --release -p quire-engine --example retrieval_eval -- \
//!     --library DIR [--models DIR] [--questions FILE] [--root /usr/share/doc/texlive-doc] [--json]
//!     [--leave-out NAME,NAME | --only NAME,NAME]   (search all documents but these, or only
//!                                these, by file name: as if the library held no others)

mod common;

use common::{arg, percentile};
use std::path::{Path, PathBuf};
use std::time::Instant;

use quire_engine::focus::focus_passage;
use quire_engine::{Engine, SearchMode, SearchOptions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Question {
    id: u32,
    question: String,
    document: String,
    pages: Vec<u32>,
    /// Words on those pages that answer the question (verbatim, as pdftotext reads them).
    evidence: String,
}

/// Passage budgets compared for the prompt (answer-model tokens per source; 0: whole passages).
const PASSAGE_BUDGETS: [usize; 5] = [0, 48, 64, 96, 128];

/// Lower-case words only, single spaces: how evidence is looked for in a passage.
fn normalised(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

struct ModeResult {
    name: &'static str,
    ranks: Vec<Option<usize>>,
    millis: Vec<f64>,
}

fn main() {
    quire_engine::extract::run_worker_if_requested();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let library_dir = PathBuf::from(arg(&args, "--library").expect("--library DIR"));
    let models = arg(&args, "--models")
        .map(PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir);
    let questions_file = arg(&args, "--questions")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("bench/retrieval/questions.json"));
    let root = PathBuf::from(
        arg(&args, "--root").unwrap_or_else(|| "/usr/share/doc/texlive-doc".to_string()),
    );
    let json = args.iter().any(|a| a == "--json");
    let names = |flag: &str| -> Option<Vec<String>> {
        arg(&args, flag).map(|names| names.split(',').map(str::to_string).collect())
    };
    let left_out = names("--leave-out").unwrap_or_default();
    let only = names("--only");
    let searched = |name: &String| {
        !left_out.contains(name) && only.as_ref().is_none_or(|only| only.contains(name))
    };

    let items: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(&questions_file)
            .unwrap_or_else(|e| panic!("{}: {e}", questions_file.display())),
    )
    .expect("questions.json");
    // Questions the documents do not answer are for the answer benchmark only.
    let questions: Vec<Question> = items
        .into_iter()
        .filter(|q| q.get("answerable") != Some(&serde_json::Value::Bool(false)))
        .map(|q| serde_json::from_value(q).expect("a labelled question"))
        .collect();
    let library =
        Engine::open(common::library_options(&library_dir, &models)).expect("open the library");
    let status = library.status(false).expect("status");
    let ready = status.documents.ready;
    let file_name = |path: &Path| -> String {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        name.strip_suffix(".gz").map(str::to_string).unwrap_or(name)
    };
    let documents = library.documents().expect("documents");
    let docs: Vec<i64> = if left_out.is_empty() && only.is_none() {
        Vec::new()
    } else {
        documents
            .iter()
            .filter(|d| searched(&file_name(Path::new(&d.path))))
            .map(|d| d.id)
            .collect()
    };
    let search = |query: &str, mode: SearchMode| {
        let options = SearchOptions {
            k: 10,
            docs: docs.clone(),
            mode,
        };
        library.search(query, &options).expect("search")
    };

    // Warm-up: loads the embedding model and the vector index.
    search("warm up", SearchMode::Hybrid);

    let mut modes = [
        ModeResult {
            name: "dense",
            ranks: vec![],
            millis: vec![],
        },
        ModeResult {
            name: "bm25",
            ranks: vec![],
            millis: vec![],
        },
        ModeResult {
            name: "hybrid",
            ranks: vec![],
            millis: vec![],
        },
    ];
    let mut missing_documents = Vec::new();
    // Documents by file name: a labelled document is the library's document of that name (the
    // Debian manuals are labelled by their installed .pdf.gz path, and stored unpacked).
    let stored: Vec<String> = documents
        .iter()
        .map(|d| file_name(Path::new(&d.path)))
        .filter(|name| searched(name))
        .collect();
    // The hybrid top 5 of each question: what the model would be given.
    let mut top_texts: Vec<Vec<String>> = Vec::new();
    for q in &questions {
        let want = file_name(&root.join(&q.document));
        if !stored.contains(&want) {
            missing_documents.push(q.document.clone());
        }
        for m in modes.iter_mut() {
            let mode = match m.name {
                "dense" => SearchMode::Dense,
                "bm25" => SearchMode::Keyword,
                _ => SearchMode::Hybrid,
            };
            let started = Instant::now();
            let hits = search(&q.question, mode);
            m.millis.push(started.elapsed().as_secs_f64() * 1000.0);
            let rank = hits.iter().position(|h| {
                let c = &h.chunk.passage;
                file_name(Path::new(&c.path)) == want
                    && q.pages
                        .iter()
                        .any(|p| (c.page_start..=c.page_end).contains(p))
            });
            m.ranks.push(rank);
            if m.name == "hybrid" {
                top_texts.push(
                    hits.iter()
                        .take(5)
                        .map(|h| h.chunk.passage.text.clone())
                        .collect(),
                );
            }
        }
    }
    let passages = passage_budgets(&library, &questions, top_texts);

    let n = questions.len() as f64;
    let mut rows = Vec::new();
    for m in &modes {
        let hit = |k: usize| {
            m.ranks
                .iter()
                .filter(|r| matches!(r, Some(r) if *r < k))
                .count() as f64
                / n
        };
        let mrr = m
            .ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / (r as f64 + 1.0)))
            .sum::<f64>()
            / n;
        let mut sorted = m.millis.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        rows.push(serde_json::json!({
            "mode": m.name,
            "hit_at_1": hit(1),
            "hit_at_5": hit(5),
            "mrr_at_10": mrr,
            "latency_ms_p50": percentile(&sorted, 50.0),
            "latency_ms_p95": percentile(&sorted, 95.0),
        }));
    }
    let per_question: Vec<_> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| {
            serde_json::json!({
                "id": q.id,
                "dense": modes[0].ranks[i].map(|r| r + 1),
                "bm25": modes[1].ranks[i].map(|r| r + 1),
                "hybrid": modes[2].ranks[i].map(|r| r + 1),
            })
        })
        .collect();
    let report = serde_json::json!({
        "questions": questions.len(),
        "documents_in_library": ready,
        "chunks_in_library": status.chunks,
        "questions_whose_document_is_missing": missing_documents.len(),
        "modes": rows,
        "ranks": per_question,
        "passages": passages,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap());
        return;
    }
    println!(
        "{} questions; library: {} ready documents, {} chunks{}",
        questions.len(),
        ready,
        status.chunks,
        if missing_documents.is_empty() {
            String::new()
        } else {
            format!(
                "; {} questions' documents are not in it",
                missing_documents.len()
            )
        }
    );
    println!("mode     hit@1  hit@5  MRR@10  p50 ms  p95 ms");
    for r in &rows {
        println!(
            "{:<8} {:>5.3}  {:>5.3}  {:>6.3}  {:>6.1}  {:>6.1}",
            r["mode"].as_str().unwrap(),
            r["hit_at_1"].as_f64().unwrap(),
            r["hit_at_5"].as_f64().unwrap(),
            r["mrr_at_10"].as_f64().unwrap(),
            r["latency_ms_p50"].as_f64().unwrap(),
            r["latency_ms_p95"].as_f64().unwrap(),
        );
    }
    println!("passage budget  source tokens (mean)  evidence kept");
    for p in passages["budgets"].as_array().unwrap() {
        println!(
            "{:>14}  {:>20.0}  {:>13.3}",
            match p["passage_tokens"].as_u64().unwrap() {
                0 => "whole".to_string(),
                t => t.to_string(),
            },
            p["source_tokens_mean"].as_f64().unwrap(),
            p["evidence_kept"].as_f64().unwrap(),
        );
    }
}

/// For each budget of [`PASSAGE_BUDGETS`]: the answer model's tokens that the five focused
/// sources take (mean over the questions), and the share of the questions whose evidence is in
/// the whole top 5 that still have it in the focused passages. Counted with the answer model's
/// tokenizer, on its own thread.
fn passage_budgets(
    library: &Engine,
    questions: &[Question],
    top_texts: Vec<Vec<String>>,
) -> serde_json::Value {
    let items: Vec<(String, String, Vec<String>)> = questions
        .iter()
        .zip(top_texts)
        .map(|(q, texts)| (q.question.clone(), normalised(&q.evidence), texts))
        .collect();
    library
        .generator()
        .expect("the answer model")
        .run(move |g| {
            let count = |t: &str| g.count_tokens(t);
            let with_evidence: Vec<bool> = items
                .iter()
                .map(|(_, evidence, texts)| normalised(&texts.join(" ")).contains(evidence))
                .collect();
            let had = with_evidence.iter().filter(|h| **h).count();
            let mut budgets = Vec::new();
            for budget in PASSAGE_BUDGETS {
                let (mut tokens, mut kept) = (0usize, 0usize);
                for ((question, evidence, texts), had) in items.iter().zip(&with_evidence) {
                    let terms = quire_engine::text::query_terms(question);
                    let focused: Vec<String> = texts
                        .iter()
                        .map(|t| focus_passage(t, &terms, budget, &count))
                        .collect();
                    tokens += focused.iter().map(|t| count(t)).sum::<usize>();
                    if *had && normalised(&focused.join(" ")).contains(evidence) {
                        kept += 1;
                    }
                }
                budgets.push(serde_json::json!({
                    "passage_tokens": budget,
                    "source_tokens_mean": tokens as f64 / items.len() as f64,
                    "evidence_kept": kept as f64 / had.max(1) as f64,
                }));
            }
            serde_json::json!({
                "questions_with_evidence_in_top5": had,
                "min_passage_tokens": quire_engine::answer::MIN_PASSAGE_TOKENS,
                "budgets": budgets,
            })
        })
        .expect("the generator thread answers")
}
