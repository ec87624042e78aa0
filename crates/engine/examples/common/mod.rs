//! Helpers shared by the benchmark examples (`mod common;`).

/// The `p`-th percentile (nearest rank) of ascending `sorted`; NaN when it is empty.
#[allow(dead_code)] // not every example that shares this module measures latency
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The models folder: $QUIRE_MODELS, else the one `quire` reads by default.
#[allow(dead_code)] // not every example that shares this module loads models
pub fn models_dir() -> std::path::PathBuf {
    std::env::var_os("QUIRE_MODELS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir)
}

/// Paths, one per line of standard input.
#[allow(dead_code)] // not every example that shares this module reads paths
pub fn stdin_paths() -> Vec<std::path::PathBuf> {
    use std::io::BufRead;
    std::io::stdin()
        .lock()
        .lines()
        .map(|l| std::path::PathBuf::from(l.unwrap()))
        .collect()
}

/// One `Engine::add` of `paths` (what `quire add` runs), reported as JSON: files, pages,
/// chunks, wall time, time per stage and how much of the wall time the stages' sum covers
/// (> 1: stages overlapped).
#[allow(dead_code)] // not every example that shares this module ingests
pub fn add_report(
    engine: &quire_engine::Engine,
    paths: &[std::path::PathBuf],
) -> serde_json::Value {
    use quire_engine::{AddEvent, AddOptions, AddStatus};
    let report = engine
        .add(paths, &AddOptions::default(), &|_: &AddEvent| true)
        .expect("add");
    let count = |s: AddStatus| report.files.iter().filter(|f| f.status == s).count();
    let s = &report.stages;
    let sum = s.extract + s.chunk + s.embed + s.store + s.index;
    serde_json::json!({
        "files": report.files.len(),
        "added": count(AddStatus::Added),
        "failed": count(AddStatus::Failed),
        "pages": report.pages,
        "chunks": report.chunks,
        "seconds": report.elapsed,
        "searchable_seconds": report.searchable_after,
        "chunks_embedded": report.chunks_embedded,
        "stages": {
            "extract": s.extract, "chunk": s.chunk, "embed": s.embed,
            "store": s.store, "index": s.index,
        },
        "stage_sum_over_wall": sum / report.elapsed,
    })
}

/// The value after `--name` in `args`, if the option is there (panics when it has no value).
#[allow(dead_code)] // not every example that shares this module takes options
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).map(|i| {
        args.get(i + 1)
            .cloned()
            .unwrap_or_else(|| panic!("{name} needs a value"))
    })
}

/// Library options for `dir` with the models in `models`, the embedding precision from
/// $QUIRE_EMBEDDING_PRECISION (f32 or int8) and the embedding model folder from
/// $QUIRE_EMBEDDING_MODEL (the CLI reads the same variables); the library in the PostgreSQL
/// database at $QUIRE_POSTGRES when set (`dir` is then unused).
#[allow(dead_code)] // not every example that shares this module opens a library
pub fn library_options(
    dir: &std::path::Path,
    models: &std::path::Path,
) -> quire_engine::LibraryOptions {
    let mut options = quire_engine::LibraryOptions::new(dir, models);
    if let Some(p) = std::env::var("QUIRE_EMBEDDING_PRECISION")
        .ok()
        .filter(|p| !p.is_empty())
    {
        options.embedding_precision = p.parse().expect("QUIRE_EMBEDDING_PRECISION");
    }
    if let Some(dir) = std::env::var_os("QUIRE_EMBEDDING_MODEL").filter(|d| !d.is_empty()) {
        options.embedding_model = Some(dir.into());
    }
    if let Some(url) = std::env::var("QUIRE_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    {
        options.backend = quire_engine::storage::Backend::Postgres(url);
    }
    options
}
