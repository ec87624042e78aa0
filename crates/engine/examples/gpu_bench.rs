//! The GPU benchmarks in one binary (what bench/gpu.sh carries to a GPU machine that has no Rust
//! toolchain): embedding, ingestion and generation, each on the GPU and on the CPU path of the
//! same build, in the same run. Every subcommand prints one JSON object.
//!
//!   gpu_bench embed MODEL_DIR CHUNKS.json [--repeat N] [--cpu-sample N]
//!       Quire's f16 encoder with its fused kernels on CUDA, the same model on candle's own CUDA
//!       ops, and the f32 CPU encoder on the first --cpu-sample chunks (default 256); the lowest
//!       and mean cosine between GPU and CPU vectors of those chunks.
//!   gpu_bench ingest LIBRARY_DIR [--device auto|cpu|cuda] < paths.txt
//!       One `Engine::add` of the PDFs into a fresh library (what `quire add` runs).
//!   gpu_bench chunks OUT.json COUNT PDF...
//!       Real chunks of at least 200 tokens (the default chunker and model tokenizer) from the
//!       PDFs, for `embed` (made where the PDFs are; runs without a GPU).
//!   gpu_bench generate MODEL.gguf [--cpu] [--prompt-tokens N] [--gen-tokens N] [--repeat N]
//!       Prompt reading and generation speed with every layer on the GPU (or --cpu).
//!
//! QUIRE_MODELS sets the models folder for `ingest`, as for `quire`.

use std::path::PathBuf;
use std::time::Instant;

use quire_engine::device::{select_device, DeviceChoice};
use quire_engine::embed::Embedder;
use quire_engine::generate::{GeneratorOptions, GeneratorThread};
use quire_engine::{Engine, Flow, LibraryOptions, Sampling};
use serde_json::json;

mod common;

fn main() {
    quire_engine::extract::run_worker_if_requested();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        usage();
    }
    let command = args.remove(0);
    let result = match command.as_str() {
        "embed" => embed(args),
        "ingest" => ingest(args),
        "generate" => generate(args),
        "chunks" => chunks(args),
        _ => usage(),
    };
    println!("{result}");
}

fn usage() -> ! {
    eprintln!("usage: gpu_bench embed|ingest|generate ... (see the source's first lines)");
    std::process::exit(2);
}

/// Removes `--name VALUE` from `args` and returns VALUE.
fn option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    let value = args.get(i + 1).cloned().unwrap_or_else(|| usage());
    args.drain(i..=i + 1);
    Some(value)
}

fn flag(args: &mut Vec<String>, name: &str) -> bool {
    let had = args.iter().any(|a| a == name);
    args.retain(|a| a != name);
    had
}

fn number(args: &mut Vec<String>, name: &str, default: usize) -> usize {
    option(args, name).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
}

/// Chunks per second for `texts`, and the vectors.
fn timed(embedder: &Embedder, texts: &[String]) -> (f64, Vec<Vec<f32>>) {
    let started = Instant::now();
    let vectors = embedder.embed(texts).expect("embedding works");
    (
        texts.len() as f64 / started.elapsed().as_secs_f64(),
        vectors,
    )
}

fn embed(mut args: Vec<String>) -> serde_json::Value {
    let repeat = number(&mut args, "--repeat", 1).max(1);
    let cpu_sample = number(&mut args, "--cpu-sample", 256);
    let [model, chunks] = <[String; 2]>::try_from(args).unwrap_or_else(|_| usage());
    let model = PathBuf::from(model);
    let distinct: Vec<String> =
        serde_json::from_slice(&std::fs::read(&chunks).expect("chunks file"))
            .expect("JSON strings");
    let texts: Vec<String> = (0..repeat).flat_map(|_| distinct.iter().cloned()).collect();

    let gpu = select_device(DeviceChoice::Cuda).expect("a CUDA GPU");
    let fused = Embedder::load(&model, &gpu.device).expect("model loads on the GPU");
    let backend = fused.backend().to_string();
    let _ = fused.embed(&texts[..texts.len().min(1024)]).unwrap(); // warm-up: kernels, pools
    let (fused_rate, gpu_vectors) = timed(&fused, &texts);
    drop(fused);

    #[cfg(feature = "cuda")]
    let candle_rate = {
        let stock = Embedder::load(&model, &gpu.device)
            .unwrap()
            .without_fused_kernels();
        let sample = &texts[..texts.len().min(8192)];
        let _ = stock.embed(&sample[..sample.len().min(512)]).unwrap();
        timed(&stock, sample).0
    };
    #[cfg(not(feature = "cuda"))]
    let candle_rate = f64::NAN;

    let cpu = Embedder::load(&model, &select_device(DeviceChoice::Cpu).unwrap().device).unwrap();
    let sample = &texts[..texts.len().min(cpu_sample)];
    let _ = cpu.embed(&sample[..sample.len().min(16)]).unwrap();
    let (cpu_rate, cpu_vectors) = timed(&cpu, sample);
    let cosines: Vec<f32> = cpu_vectors
        .iter()
        .zip(&gpu_vectors)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
        .collect();
    json!({
        "chunks": texts.len(),
        "distinct_chunks": distinct.len(),
        "backend": backend,
        "gpu_fused_chunks_per_s": fused_rate,
        "gpu_candle_chunks_per_s": candle_rate,
        "cpu_chunks_per_s": cpu_rate,
        "cpu_threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cpu_sample": sample.len(),
        "min_cosine_gpu_cpu": cosines.iter().copied().fold(1.0f32, f32::min),
        "mean_cosine_gpu_cpu": cosines.iter().sum::<f32>() / cosines.len().max(1) as f32,
    })
}

fn chunks(args: Vec<String>) -> serde_json::Value {
    use quire_engine::chunk::{chunk_pages, ChunkOptions};
    use quire_engine::embed::{ModelFiles, ModelTokens};
    use quire_engine::{Extractor, Isolation};
    let [out, count, pdfs @ ..] = args.as_slice() else {
        usage()
    };
    let count: usize = count.parse().unwrap_or_else(|_| usage());
    let models = common::models_dir();
    let files =
        ModelFiles::locate(&models.join(quire_engine::DEFAULT_EMBEDDING_MODEL)).expect("model");
    let tokens = ModelTokens::new(&files).expect("tokenizer");
    let options = ChunkOptions::for_model(256, 256);
    let extractor = Extractor::new(Isolation::Thread);
    let mut texts = Vec::new();
    for pdf in pdfs {
        let Ok(doc) = extractor.extract(pdf.as_ref(), &mut |_| {}) else {
            continue;
        };
        texts.extend(
            chunk_pages(&doc.pages, &options, &tokens)
                .into_iter()
                .filter(|c| c.tokens >= 200)
                .map(|c| c.text),
        );
        if texts.len() >= count {
            break;
        }
    }
    texts.truncate(count);
    std::fs::write(out, serde_json::to_vec(&texts).unwrap()).expect("write the chunks");
    json!({ "chunks": texts.len(), "file": out })
}

fn ingest(mut args: Vec<String>) -> serde_json::Value {
    let device = option(&mut args, "--device").unwrap_or_else(|| "auto".into());
    let [library] = <[String; 1]>::try_from(args).unwrap_or_else(|_| usage());
    let models = common::models_dir();
    let paths = common::stdin_paths();
    let mut options = LibraryOptions::new(&library, &models);
    options.device = device.parse().expect("auto, cpu or cuda");
    let engine = Engine::open(options).expect("library");
    let mut report = common::add_report(&engine, &paths);
    report["device"] = json!(device);
    report["embedding_device"] = json!(engine.embedding_device());
    report
}

fn generate(mut args: Vec<String>) -> serde_json::Value {
    let cpu = flag(&mut args, "--cpu");
    let prompt_tokens = number(&mut args, "--prompt-tokens", 1024);
    let gen_tokens = number(&mut args, "--gen-tokens", 128);
    let repeat = number(&mut args, "--repeat", 3).max(1);
    let [model] = <[String; 1]>::try_from(args).unwrap_or_else(|_| usage());
    let mut options = GeneratorOptions::new(&model);
    options.gpu = !cpu;
    options.context_tokens = Some((prompt_tokens + gen_tokens + 64) as u32);
    let generator = GeneratorThread::start(options).expect("model loads");
    let info = generator.info().clone();
    let runs: Vec<_> = (0..repeat)
        .map(|run| {
            generator
                .run(move |g| {
                    // Text of about `prompt_tokens` tokens, different on every run (no cache).
                    let mut prompt = format!("Run {run}. ");
                    while g.count_tokens(&prompt) < prompt_tokens {
                        prompt.push_str("The margins of the article class depend on the paper size and the font size. ");
                    }
                    let sampling = Sampling { max_tokens: gen_tokens, temperature: 0.0, ..Sampling::default() };
                    g.generate(&prompt, &sampling, &[], &mut |_| Flow::Continue)
                })
                .expect("generator runs")
                .expect("generation works")
        })
        .collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let prompt_seconds: Vec<f64> = runs
        .iter()
        .map(|s| s.time_to_first_token.as_secs_f64())
        .collect();
    json!({
        "model": info.name,
        "device": info.device,
        "threads": info.threads,
        "prompt_tokens": median(runs.iter().map(|s| s.prompt_tokens as f64).collect()),
        "time_to_first_token_s": median(prompt_seconds.clone()),
        "prompt_tokens_per_s": median(runs.iter().zip(&prompt_seconds).map(|(s, t)| s.prompt_tokens as f64 / t).collect()),
        "generated_tokens": median(runs.iter().map(|s| s.generated_tokens as f64).collect()),
        "tokens_per_s": median(runs.iter().map(|s| s.tokens_per_second).collect()),
    })
}
