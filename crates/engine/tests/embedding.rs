//! The candle embedder against sentence-transformers' own vectors for the real default model
//! (fixture made by tests/fixtures/make_embedding_reference.py).

use std::path::PathBuf;

use quire_engine::device::{select_device, DeviceChoice};
use quire_engine::embed::{Embedder, EncoderPrecision};

mod common;

fn embedder() -> Embedder {
    let device = select_device(DeviceChoice::Cpu).unwrap();
    Embedder::load(&common::embedding_model_dir(), &device.device).unwrap()
}

struct Reference {
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

fn reference() -> Vec<Reference> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/minilm_reference.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| Reference {
            text: item["text"].as_str().unwrap().to_string(),
            tokens: item["tokens"].as_u64().unwrap() as usize,
            vector: item["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn matches_sentence_transformers() {
    let embedder = embedder();
    let items = reference();
    // The fixture covers texts past the 128 tokens that the model's tokenizer.json cuts at.
    assert!(items.iter().any(|r| r.tokens > 128 && r.tokens < 256));
    assert!(items.iter().any(|r| r.tokens == 256));
    assert_eq!(embedder.info().max_tokens, 256);
    let texts: Vec<String> = items.iter().map(|r| r.text.clone()).collect();
    let vectors = embedder.embed(&texts).unwrap();
    let mut worst = 0f32;
    for (r, v) in items.iter().zip(&vectors) {
        let diff = max_diff(&r.vector, v);
        worst = worst.max(diff);
        assert!(
            diff < 1e-3,
            "{:?}: max difference {diff}",
            &r.text[..r.text.len().min(40)]
        );
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    eprintln!("largest difference from sentence-transformers: {worst:.2e}");
}

#[test]
fn batched_equals_single_and_padding_changes_nothing() {
    let embedder = embedder();
    let texts: Vec<String> = reference().into_iter().map(|r| r.text).collect();
    let batched = embedder.embed(&texts).unwrap();
    for (text, b) in texts.iter().zip(&batched) {
        // Alone: no padding at all. In the batch: padded up to the longest text.
        let single = embedder
            .embed(std::slice::from_ref(text))
            .unwrap()
            .remove(0);
        let diff = max_diff(&single, b);
        assert!(diff < 1e-5, "batched differs from single by {diff}");
    }
    // A short text padded next to a 256-token one equals the short text alone.
    let short = texts[0].clone();
    let padded = embedder
        .embed(&[short.clone(), texts[5].clone()])
        .unwrap()
        .remove(0);
    let alone = embedder.embed(&[short]).unwrap().remove(0);
    assert!(max_diff(&padded, &alone) < 1e-5);
}

/// The fixture's texts, Chinese and mixed text, and a one-word text.
fn varied_texts() -> Vec<String> {
    let mut texts: Vec<String> = reference().into_iter().map(|r| r.text).collect();
    texts.push("扫描的合同也能搜索吗？ Quire reads PDFs offline.".into());
    texts.push("a".into());
    texts
}

/// The lowest cosine between the vectors of `a` and `b`, pair by pair (unit vectors).
fn lowest_cosine(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>())
        .fold(1f32, f32::min)
}

#[test]
fn the_cpu_encoder_gives_candles_vectors() {
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let ours = embedder();
    let candle = Embedder::load_candle_ops(&common::embedding_model_dir(), &device.device).unwrap();
    assert!(
        candle.backend().contains("candle ops"),
        "{}",
        candle.backend()
    );
    // Varied texts, and enough long texts that the batch is split into several packed forward
    // passes (4,096 tokens each).
    let mut texts = varied_texts();
    let long = texts.iter().max_by_key(|t| t.len()).unwrap().clone();
    for i in 0..40 {
        texts.push(format!("{i} {long}"));
    }
    let a = ours.embed(&texts).unwrap();
    let b = candle.embed(&texts).unwrap();
    assert_eq!(a.len(), texts.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(max_diff(x, y) < 1e-5, "max difference {}", max_diff(x, y));
    }
    let lowest = lowest_cosine(&a, &b);
    assert!(lowest > 0.99999, "lowest cosine {lowest}");
}

#[test]
fn the_int8_path_stays_close_to_f32() {
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let dir = common::embedding_model_dir();
    let int8 = Embedder::load_precision(&dir, &device.device, EncoderPrecision::Int8).unwrap();
    if !int8.backend().starts_with("int8") {
        // Without VNNI the request runs as f32 and says why.
        assert!(
            int8.backend().contains("AVX-512 VNNI"),
            "{}",
            int8.backend()
        );
        return;
    }
    let f32 = embedder();
    let texts = varied_texts();
    let a = f32.embed(&texts).unwrap();
    let b = int8.embed(&texts).unwrap();
    for y in &b {
        let norm: f32 = y.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    let lowest = lowest_cosine(&a, &b);
    eprintln!("lowest cosine of int8 to f32 vectors: {lowest:.4}");
    assert!(lowest >= 0.99, "lowest cosine {lowest}");
    // Deterministic: the same text twice gives the same vector.
    assert_eq!(
        int8.embed(&texts[..1]).unwrap(),
        int8.embed(&texts[..1]).unwrap()
    );
}
