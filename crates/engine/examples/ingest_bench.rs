//! Ingestion end to end: one `Library::add` (what `quire add` runs) of the given PDFs into a
//! fresh library, reported as JSON: files, pages, chunks, wall time, time per stage, and how much
//! of the wall time the stages' sum covers (> 1: stages overlapped).
//!
//! cargo run --release -p quire-engine --example ingest_bench -- LIBRARY_DIR < paths.txt

use std::io::BufRead;
use std::path::PathBuf;

use quire_engine::{AddEvent, AddStatus, Library, LibraryOptions};

fn main() {
    quire_engine::extract::run_worker_if_requested();
    let library = PathBuf::from(std::env::args().nth(1).expect("LIBRARY_DIR"));
    let models = std::env::var_os("QUIRE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir);
    let paths: Vec<PathBuf> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| PathBuf::from(l.unwrap()))
        .collect();
    let mut library = Library::open(LibraryOptions::new(&library, &models)).expect("library");
    let report = library.add(&paths, &|_: AddEvent<'_>| true).expect("add");
    let count = |s: AddStatus| report.files.iter().filter(|f| f.status == s).count();
    let s = &report.stages;
    let sum = s.extract + s.chunk + s.embed + s.store + s.index;
    println!(
        "{}",
        serde_json::json!({
            "files": report.files.len(),
            "added": count(AddStatus::Added),
            "failed": count(AddStatus::Failed),
            "pages": report.pages,
            "chunks": report.chunks,
            "seconds": report.elapsed,
            "stages": {
                "extract": s.extract, "chunk": s.chunk, "embed": s.embed,
                "store": s.store, "index": s.index,
            },
            "stage_sum_over_wall": sum / report.elapsed,
        })
    );
}
