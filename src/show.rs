//! `quire search`, `list`, `remove` and `status`: the engine's results as text, or as its
//! own JSON with `--json`.

use std::io::Write;
use std::process::ExitCode;

use quire_engine::{Document, Engine, LibraryStatus, ModelStatus, SearchHit, SearchOptions};

use crate::print_json;

/// "p. 3" or "pp. 3-4".
pub fn pages(start: u32, end: u32) -> String {
    if start == end {
        format!("p. {start}")
    } else {
        format!("pp. {start}-{end}")
    }
}

pub fn search(
    engine: &Engine,
    query: &str,
    options: &SearchOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    print_hits(&engine.search(query, options)?, json)
}

/// Search hits as text, or as JSON.
pub fn print_hits(hits: &[SearchHit], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&hits)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("No passages found.");
    }
    for (i, h) in hits.iter().enumerate() {
        let p = &h.chunk.passage;
        println!(
            "[{}] {} ({}) #{}  {}{}",
            i + 1,
            p.title,
            pages(p.page_start, p.page_end),
            h.chunk.document_id,
            p.path,
            if h.by_words_only {
                "  (found by words only)"
            } else {
                ""
            }
        );
        if let Some(note) = ocr_note(p.ocr_confidence) {
            println!("    ({note})");
        }
        let text: String = p.text.replace('\n', " ");
        let excerpt: String = text.chars().take(400).collect();
        let ellipsis = if text.chars().count() > 400 {
            "…"
        } else {
            ""
        };
        println!("    {excerpt}{ellipsis}\n");
    }
    Ok(ExitCode::SUCCESS)
}

/// What a passage's OCR means for trusting its words, when it was read by OCR.
pub fn ocr_note(confidence: Option<f32>) -> Option<String> {
    let c = confidence?;
    Some(if c < quire_engine::LOW_CONFIDENCE {
        format!("scanned page, read by OCR with low confidence ({c:.0} %): check the page")
    } else {
        format!("scanned page, read by OCR ({c:.0} % confidence)")
    })
}

pub fn list(engine: &Engine, json: bool) -> anyhow::Result<ExitCode> {
    let docs = engine.documents()?;
    if json {
        print_json(&docs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if docs.is_empty() {
        println!("The library is empty. Add PDFs with `quire add FILE.pdf` or `quire add FOLDER`.");
    }
    print_documents(&docs);
    Ok(ExitCode::SUCCESS)
}

/// Documents as text, two or three lines each.
pub fn print_documents(docs: &[Document]) {
    for d in docs {
        let status = if d.status == quire_engine::DocStatus::Ready && !d.embedded {
            "words only"
        } else {
            d.status.as_str()
        };
        println!(
            "{:>5}  {:<11} {:>5} pages {:>6} chunks  {}",
            d.id, status, d.pages, d.chunks, d.title
        );
        println!("       {}", d.path);
        if d.ocr_pages > 0 {
            let uncertain = match d.uncertain_pages {
                0 => String::new(),
                n => format!(", {n} of them with low confidence (check their text)"),
            };
            println!("       {} pages read by OCR{uncertain}", d.ocr_pages);
        }
        if let Some(error) = &d.error {
            println!("       {error}");
        }
    }
}

pub fn remove(engine: &Engine, documents: &[String]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for d in documents {
        match engine.find_document(d)? {
            Some(doc) => {
                engine.remove(doc.id)?;
                println!("removed {} ({})", doc.id, doc.path);
            }
            None => {
                eprintln!("quire: no document {d:?} in the library");
                failed = true;
            }
        }
    }
    // A document that is not there is a usage error, as for `search --doc`.
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `status` is where people ask for the check: it always runs it.
pub fn status(engine: &Engine, json: bool) -> anyhow::Result<ExitCode> {
    let s = engine.status(true)?;
    if json {
        print_json(&s)?;
    } else {
        print_status(&s);
    }
    let _ = std::io::stdout().flush();
    Ok(if s.consistent == Some(false) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_status(s: &LibraryStatus) {
    let model = |m: &ModelStatus| match &m.problem {
        None => format!("{} (present)", m.path.display()),
        Some(p) => format!("MISSING: {p}"),
    };
    println!("library          {}", s.library_dir.display());
    println!("embedding model  {}", model(&s.embedding_model));
    println!("answer model     {}", model(&s.answer_model));
    if !s.embedding_model.present || !s.answer_model.present {
        println!("                 to get them: {}", crate::models_hint());
    }
    let warning = s.device_warning.as_ref().map(|w| format!(" ({w})"));
    println!(
        "device           {}{}",
        s.device,
        warning.unwrap_or_default()
    );
    let d = &s.documents;
    let counts: Vec<String> = [
        (d.failed, "failed"),
        (d.indexing, "indexing"),
        (d.interrupted, "interrupted"),
        (d.ready, "ready"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let counts = if counts.is_empty() {
        "none".to_string()
    } else {
        counts.join(", ")
    };
    println!("documents        {counts}");
    if d.waiting_for_vectors > 0 {
        println!(
            "                 {} of them searchable by words only so far: {} passages wait for \
             vectors (`quire add` makes them)",
            d.waiting_for_vectors, s.chunks_waiting
        );
    }
    println!(
        "chunks           {} ({} vectors, {} keyword rows)",
        s.chunks, s.vectors, s.keyword_rows
    );
    if s.problems.is_empty() {
        println!("consistency      ok");
    }
    for p in &s.problems {
        println!("consistency      PROBLEM: {p}");
    }
    if !s.writable {
        println!("note             another Quire process is changing this library");
    }
    if s.model_changed {
        println!(
            "note             indexed with {}, not the embedding model chosen: `quire add` \
             (without files) indexes it again from its stored text",
            s.indexed_with.as_deref().unwrap_or("another model")
        );
    }
    if let Some(m) = &s.suggestion {
        println!(
            "suggestion       {:.0} % of the passages are in Chinese, Japanese or Korean: {} finds \
             them better (--embedding-model {}; indexes {} passages again)",
            m.cjk_share * 100.0,
            m.name,
            m.path.display(),
            m.chunks
        );
    }
}
