//! Embedding throughput on real text: Quire's encoder (f32 and int8) against candle's stock
//! `BertModel`, same chunks, same batches, same run.
//!
//! cargo run --release -p quire-engine --example embed_bench -- [PDF] [CHUNKS] [--dump FILE] [--json]
//!     [--profile f32|int8] [--model NAME]
//!
//! `--model NAME`: a model folder under the models folder (default: the default embedding
//! model), e.g. multilingual-e5-small. Set `QUIRE_NO_AMX=1` to measure int8 on AVX-512 VNNI
//! where the CPU also has AMX tiles.
//! `--dump FILE` writes the chunks (a JSON array of strings) for other embedders to measure on
//! exactly the same input (bench/embed_st.py); `--json` prints the figures as one JSON object.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use quire_engine::chunk::{chunk_pages, ChunkOptions};
use quire_engine::embed::{Embedder, EncoderPrecision, ModelFiles, ModelTokens};
use quire_engine::{Extractor, Isolation};

mod common;

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    args.retain(|a| a != "--json");
    let dump = args.iter().position(|a| a == "--dump").map(|i| {
        let file = args.get(i + 1).expect("--dump FILE").clone();
        args.drain(i..=i + 1);
        file
    });
    let profile = args.iter().position(|a| a == "--profile").map(|i| {
        let which = args.get(i + 1).expect("--profile f32|int8").clone();
        args.drain(i..=i + 1);
        which
    });
    let model = args.iter().position(|a| a == "--model").map(|i| {
        let name = args.get(i + 1).expect("--model NAME").clone();
        args.drain(i..=i + 1);
        name
    });
    let pdf = args
        .get(1)
        .cloned()
        .unwrap_or("/usr/share/doc/texlive-doc/latex/base/source2e.pdf".into());
    let count: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(96);
    let models = common::models_dir();
    let dir = models.join(
        model
            .as_deref()
            .unwrap_or(quire_engine::DEFAULT_EMBEDDING_MODEL),
    );
    let files = ModelFiles::locate(&dir).unwrap();
    let tokens = ModelTokens::new(&files).unwrap();
    let pdf = Extractor::new(Isolation::Thread)
        .extract(pdf.as_ref(), &mut |_| {})
        .unwrap();
    let options = ChunkOptions::for_model(256, 256);
    let chunks: Vec<String> = chunk_pages(&pdf.pages, &options, &tokens)
        .into_iter()
        .filter(|c| c.tokens >= 200)
        .take(count)
        .map(|c| c.text)
        .collect();
    let mean_tokens = chunks
        .iter()
        .map(|c| quire_engine::chunk::TokenCounter::count(&tokens, &[c])[0])
        .sum::<usize>()
        / chunks.len();
    if let Some(file) = &dump {
        std::fs::write(file, serde_json::to_vec(&chunks).unwrap()).unwrap();
    }
    let threads = std::thread::available_parallelism().unwrap().get();
    eprintln!(
        "{} chunks, {} tokens on average, {} threads",
        chunks.len(),
        mean_tokens,
        threads
    );

    let device = Device::Cpu;
    // `--profile f32|int8`: only that encoder, three times over, for a profiler.
    if let Some(which) = profile {
        let precision = match which.as_str() {
            "int8" => EncoderPrecision::Int8,
            _ => EncoderPrecision::F32,
        };
        let embedder = Embedder::load_precision(&dir, &device, precision).unwrap();
        for _ in 0..3 {
            embedder.embed(&chunks).unwrap();
        }
        return;
    }
    let quire = Embedder::load(&dir, &device).unwrap();
    let _ = quire.embed(&chunks[..4]).unwrap();
    let t = Instant::now();
    let ours = quire.embed(&chunks).unwrap();
    let quire_rate = chunks.len() as f64 / t.elapsed().as_secs_f64();

    // The int8 path, against the f32 vectors.
    let int8 = Embedder::load_precision(&dir, &device, EncoderPrecision::Int8).unwrap();
    let _ = int8.embed(&chunks[..4]).unwrap();
    let t = Instant::now();
    let quantized = int8.embed(&chunks).unwrap();
    let int8_rate = chunks.len() as f64 / t.elapsed().as_secs_f64();
    let cosines: Vec<f32> = ours
        .iter()
        .zip(&quantized)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum())
        .collect();
    let int8_min_cosine = cosines.iter().cloned().fold(1f32, f32::min);
    let int8_mean_cosine = cosines.iter().sum::<f32>() / cosines.len() as f32;

    // candle's stock model, same tokenizer settings, same sorted batches of 16.
    let config: Config =
        serde_json::from_str(&std::fs::read_to_string(&files.config).unwrap()).unwrap();
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &device).unwrap()
    };
    let stock = BertModel::load(vb, &config).unwrap();
    let tokenizer = files.tokenizer(256).unwrap();
    let encodings = tokenizer.encode_batch(chunks.clone(), true).unwrap();
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.sort_by_key(|&i| encodings[i].get_ids().len());
    let t = Instant::now();
    let mut max_diff = 0f32;
    for batch in order.chunks(16) {
        let width = batch
            .iter()
            .map(|&i| encodings[i].get_ids().len())
            .max()
            .unwrap();
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        for &i in batch {
            let row = encodings[i].get_ids();
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(0u32, width - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, width - row.len()));
        }
        let ids = Tensor::from_vec(ids, (batch.len(), width), &device).unwrap();
        let mask = Tensor::from_vec(mask, (batch.len(), width), &device).unwrap();
        let hidden = stock
            .forward(&ids, &ids.zeros_like().unwrap(), Some(&mask))
            .unwrap();
        let m = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
        let mean = hidden
            .broadcast_mul(&m)
            .unwrap()
            .sum(1)
            .unwrap()
            .broadcast_div(&m.sum(1).unwrap())
            .unwrap();
        let norm = mean.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap();
        let v = mean.broadcast_div(&norm).unwrap().to_vec2::<f32>().unwrap();
        for (&i, v) in batch.iter().zip(v) {
            for (a, b) in v.iter().zip(&ours[i]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
    }
    let stock_rate = chunks.len() as f64 / t.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "model": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
                "chunks": chunks.len(),
                "mean_tokens": mean_tokens,
                "threads": threads,
                "quire_chunks_per_s": quire_rate,
                "quire_int8_chunks_per_s": int8_rate,
                "int8_backend": int8.backend(),
                "int8_min_cosine": int8_min_cosine,
                "int8_mean_cosine": int8_mean_cosine,
                "candle_bert_chunks_per_s": stock_rate,
                "max_abs_difference": max_diff,
            })
        );
        return;
    }
    println!("quire encoder     {quire_rate:7.2} chunks/s");
    println!(
        "quire int8        {int8_rate:7.2} chunks/s ({}; cosine to f32: lowest {int8_min_cosine:.4}, mean {int8_mean_cosine:.4})",
        int8.backend()
    );
    println!("candle BertModel  {stock_rate:7.2} chunks/s");
    println!(
        "ratio {:.2}x; largest difference between the two {max_diff:.2e}",
        quire_rate / stock_rate
    );
}
