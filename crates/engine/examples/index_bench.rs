//! The vector index alone: search latency (p50/p95) and recall@10 against exact search, at
//! several sizes of generated 384-d unit vectors, with Quire's HNSW configuration.
//!
//! The vectors are clustered like real embeddings (unit vectors around 2,000 random centres,
//! σ = 0.06 per dimension), not uniform: uniform random 384-d vectors have no near neighbours and
//! measure nothing a library of passages does. Queries are fresh points near random centres.
//!
//! With `--cache DIR` a built index is saved there (with its build time) and reused by later runs
//! with the same size and options: building 1M vectors takes about half an hour on 2 cores.
//!
//! cargo run --release -p quire-engine --example index_bench -- [--sizes 10000,100000,1000000]
//!     [--queries 200] [--expansions 64,128,256] [--threads N] [--cache DIR] [--json]

mod common;

use common::percentile;
use std::time::Instant;

use quire_engine::index::{index_options, EXPANSION_SEARCH};
use quire_engine::Precision;
use usearch::Index;

const DIMENSIONS: usize = 384;
const CENTRES: usize = 2000;
const SIGMA: f32 = 0.06;

/// xorshift64* with Box–Muller: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.next_f32(), self.next_f32());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_f32() * n as f32) as usize % n
    }
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn near(rng: &mut Rng, centre: &[f32]) -> Vec<f32> {
    normalise(centre.iter().map(|c| c + SIGMA * rng.normal()).collect())
}

fn list(args: &[String], name: &str, default: &[usize]) -> Vec<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => args[i + 1]
            .split(',')
            .map(|s| s.trim().replace('_', "").parse().expect("a number"))
            .collect(),
        None => default.to_vec(),
    }
}

/// Adds `size` clustered vectors with `threads` threads; returns the seconds it took. The vectors
/// are generated in the building threads, each with its own fixed seed.
fn build(index: &Index, size: usize, threads: usize, centres: &[Vec<f32>]) -> f64 {
    index
        .reserve_capacity_and_threads(size, threads)
        .expect("reserve");
    let started = Instant::now();
    let per_thread = size.div_ceil(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ ((t as u64 + 1) << 32));
                let start = t * per_thread;
                for key in start..(start + per_thread).min(size) {
                    let c = rng.below(CENTRES);
                    let v = near(&mut rng, &centres[c]);
                    index.add(key as u64, &v).expect("add");
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes = list(&args, "--sizes", &[10_000, 100_000, 1_000_000]);
    let queries = list(&args, "--queries", &[200])[0];
    let expansions = list(&args, "--expansions", &[64, 128, EXPANSION_SEARCH]);
    let threads = list(
        &args,
        "--threads",
        &[std::thread::available_parallelism().map_or(1, |n| n.get())],
    )[0];
    let json = args.iter().any(|a| a == "--json");
    let cache = args
        .iter()
        .position(|a| a == "--cache")
        .map(|i| std::path::PathBuf::from(&args[i + 1]));

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let centres: Vec<Vec<f32>> = (0..CENTRES)
        .map(|_| normalise((0..DIMENSIONS).map(|_| rng.normal()).collect()))
        .collect();
    let query_vectors: Vec<Vec<f32>> = (0..queries)
        .map(|_| {
            let c = rng.below(CENTRES);
            near(&mut rng, &centres[c])
        })
        .collect();

    let mut rows = Vec::new();
    for &size in &sizes {
        let options = index_options(DIMENSIONS, Precision::F32);
        let index = Index::new(&options).expect("index");
        // The name holds everything the built graph depends on (the generator is versioned by
        // hand: change `v1` when the data changes).
        let cached = cache.as_ref().map(|dir| {
            dir.join(format!(
                "clustered-v1-{size}-c{}-ea{}-t{threads}.usearch",
                options.connectivity, options.expansion_add
            ))
        });
        let stored_build = cached
            .as_ref()
            .filter(|p| p.is_file())
            .and_then(|p| std::fs::read_to_string(p.with_extension("seconds")).ok())
            .and_then(|s| s.trim().parse::<f64>().ok());
        let build_seconds = match (&cached, stored_build) {
            (Some(path), Some(seconds)) => {
                index
                    .load(&path.to_string_lossy())
                    .expect("load cached index");
                index
                    .reserve_capacity_and_threads(size, threads)
                    .expect("reserve");
                if !json {
                    println!("{size:>9} vectors  loaded from {}", path.display());
                }
                seconds
            }
            _ => {
                let seconds = build(&index, size, threads, &centres);
                if let Some(path) = &cached {
                    std::fs::create_dir_all(path.parent().unwrap()).expect("cache folder");
                    index.save(&path.to_string_lossy()).expect("save index");
                    std::fs::write(path.with_extension("seconds"), format!("{seconds}\n"))
                        .expect("save build time");
                }
                seconds
            }
        };

        // Exact neighbours for recall.
        let exact: Vec<Vec<u64>> = query_vectors
            .iter()
            .map(|q| index.exact_search(q, 10).expect("exact").keys)
            .collect();
        for &expansion in &expansions {
            index.change_expansion_search(expansion);
            let _ = index.search(&query_vectors[0], 10);
            let mut millis = Vec::with_capacity(queries);
            let mut found = 0usize;
            for (q, truth) in query_vectors.iter().zip(&exact) {
                let t = Instant::now();
                let m = index.search(q, 10).expect("search");
                millis.push(t.elapsed().as_secs_f64() * 1000.0);
                found += m.keys.iter().filter(|k| truth.contains(k)).count();
            }
            millis.sort_by(|a, b| a.partial_cmp(b).unwrap());
            rows.push(serde_json::json!({
                "vectors": size,
                "expansion_search": expansion,
                "quire_setting": expansion == EXPANSION_SEARCH,
                "p50_ms": percentile(&millis, 50.0),
                "p95_ms": percentile(&millis, 95.0),
                "recall_at_10": found as f64 / (queries * 10) as f64,
                "build_seconds": build_seconds,
                "memory_mb": index.memory_usage() as f64 / 1e6,
            }));
            if !json {
                let r = rows.last().unwrap();
                println!(
                    "{size:>9} vectors  ef {expansion:>3}  p50 {:.3} ms  p95 {:.3} ms  recall@10 {:.3}  (built in {build_seconds:.0} s with {threads} threads, {:.0} MB)",
                    r["p50_ms"].as_f64().unwrap(),
                    r["p95_ms"].as_f64().unwrap(),
                    r["recall_at_10"].as_f64().unwrap(),
                    r["memory_mb"].as_f64().unwrap(),
                );
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "dimensions": DIMENSIONS, "queries": queries, "threads": threads, "rows": rows })
        );
    }
}
