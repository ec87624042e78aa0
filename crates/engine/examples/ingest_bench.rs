//! Ingestion end to end: one `Engine::add` (what `quire add` runs) of the given PDFs into a
//! fresh library, reported as JSON: files, pages, chunks, wall time, time per stage, and how much
//! of the wall time the stages' sum covers (> 1: stages overlapped).
//!
//! cargo run --release -p quire-engine --example ingest_bench -- LIBRARY_DIR < paths.txt
//! ($QUIRE_EMBEDDING_PRECISION=int8 embeds on the int8 path.)

use std::path::PathBuf;

use quire_engine::Engine;

mod common;

fn main() {
    quire_engine::extract::run_worker_if_requested();
    let library = PathBuf::from(std::env::args().nth(1).expect("LIBRARY_DIR"));
    let models = common::models_dir();
    let paths = common::stdin_paths();
    let engine = Engine::open(common::library_options(&library, &models)).expect("library");
    println!("{}", common::add_report(&engine, &paths));
}
