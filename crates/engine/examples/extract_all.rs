//! Extracts many PDFs through Quire's isolated reader and classifies every outcome, without
//! embedding: how fast, how many read, and why the others failed.
//!
//! cargo run --release -p quire-engine --example extract_all -- [--threads N] [--dump DIR] PDF...
//! (`--dump DIR`: each file's text into DIR/<file name>.txt, pages separated by form feeds)
//! (with no PDFs, reads one path per line from stdin)

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use quire_engine::{Extractor, Isolation};

fn main() {
    quire_engine::extract::run_worker_if_requested();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args[i + 1].parse().expect("--threads N");
        args.drain(i..=i + 1);
    }
    let mut dump: Option<PathBuf> = None;
    if let Some(i) = args.iter().position(|a| a == "--dump") {
        dump = Some(PathBuf::from(&args[i + 1]));
        args.drain(i..=i + 1);
    }
    let json = args.iter().any(|a| a == "--json");
    args.retain(|a| a != "--json");
    let paths: Vec<PathBuf> = if args.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map(|l| PathBuf::from(l.unwrap()))
            .collect()
    } else {
        args.into_iter().map(PathBuf::from).collect()
    };
    let extractor = Extractor::new(Isolation::current_exe().unwrap());
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(PathBuf, Result<usize, String>)>> = Mutex::new(Vec::new());
    let losses: Mutex<Vec<(PathBuf, u64, String)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let result = extractor
                    .extract(path, &mut |_| {})
                    .map(|pdf| {
                        if let Some(dir) = &dump {
                            let text: Vec<&str> =
                                pdf.pages.iter().map(|p| p.text.as_str()).collect();
                            let name = path.file_name().unwrap().to_string_lossy();
                            std::fs::write(dir.join(format!("{name}.txt")), text.join("\u{c}"))
                                .expect("write the dump");
                        }
                        if pdf.undecoded > 0 {
                            let loss = pdf.loss().unwrap_or_default();
                            losses
                                .lock()
                                .unwrap()
                                .push((path.clone(), pdf.undecoded, loss));
                        }
                        pdf.pages.len()
                    })
                    .map_err(|e| format!("{}: {}", e.kind.as_str(), e.message));
                outcomes.lock().unwrap().push((path.clone(), result));
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let outcomes = outcomes.into_inner().unwrap();
    let pages: usize = outcomes.iter().filter_map(|(_, r)| r.as_ref().ok()).sum();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (path, result) in &outcomes {
        if let Err(e) = result {
            *kinds
                .entry(e.split(':').next().unwrap().to_string())
                .or_default() += 1;
            eprintln!("failed {}: {e}", path.display());
        }
    }
    let read = outcomes.iter().filter(|(_, r)| r.is_ok()).count();
    let losses = losses.into_inner().unwrap();
    for (path, n, loss) in &losses {
        eprintln!(
            "undecoded {n} in {}{}",
            path.display(),
            if loss.is_empty() {
                " (not reported)"
            } else {
                " (reported)"
            }
        );
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "files": outcomes.len(),
                "read": read,
                "failed": outcomes.len() - read,
                "failed_kinds": kinds,
                "pages": pages,
                "seconds": elapsed,
                "threads": threads,
            })
        );
        return;
    }
    println!(
        "{} files: {read} read ({pages} pages), {} failed {kinds:?}; {elapsed:.1} s with {threads} reader(s), {:.0} pages/s",
        outcomes.len(),
        outcomes.len() - read,
        pages as f64 / elapsed
    );
}
