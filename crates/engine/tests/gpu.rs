//! Embeddings on the GPU (f16, Quire's fused kernels) against the CPU (f32): the real default
//! model, real text, hundreds of chunks of every length (batching, padding-free packing, tiles).
//!
//! Needs a build with the `cuda` feature (`bash scripts/build-cuda.sh --tests`) and a GPU; in the
//! default build it is listed as ignored, with the reason, and in a CUDA build on a machine whose
//! GPU does not start it says SKIPPED and why. `bench/gpu.sh` makes the same comparison on the
//! GPU machine (gpu_bench embed).

use quire_engine::device::{select_device, DeviceChoice};
use quire_engine::embed::Embedder;

mod common;

/// Texts from 1 to past 256 tokens (the model's limit), English, Chinese and code-like.
fn texts() -> Vec<String> {
    let words: Vec<&str> = "The document class sets the page layout, the font size and the \
        margins; a package adds commands. \\documentclass[a4paper]{article} loads it. \
        文档类设置页面布局、字号和页边距，宏包则增加命令。 Citations open the cited page."
        .split(' ')
        .collect();
    (0..300)
        .map(|i| {
            let n = 1 + (i * 7) % 260;
            (0..n)
                .map(|j| words[(i + j) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(feature = "cuda"),
    ignore = "needs the CUDA build and a GPU: bash scripts/build-cuda.sh --tests, then run tests/gpu"
)]
fn gpu_embeddings_match_the_cpu_within_1e_2_cosine() {
    let gpu = match select_device(DeviceChoice::Cuda) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("SKIPPED gpu_embeddings_match_the_cpu: no CUDA GPU starts here ({e})");
            return;
        }
    };
    let dir = common::embedding_model_dir();
    let on_gpu = Embedder::load(&dir, &gpu.device).unwrap();
    assert!(
        on_gpu.backend().contains("fused kernels") && !on_gpu.backend().contains("candle"),
        "the fused kernels are not in use on this GPU: {}",
        on_gpu.backend()
    );
    let cpu = select_device(DeviceChoice::Cpu).unwrap();
    let on_cpu = Embedder::load(&dir, &cpu.device).unwrap();
    let texts = texts();
    let a = on_gpu.embed(&texts).unwrap();
    let b = on_cpu.embed(&texts).unwrap();
    assert_eq!(a.len(), texts.len());
    let mut worst = (1.0f32, 0);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.len(), y.len());
        let cosine: f32 = x.iter().zip(y).map(|(p, q)| p * q).sum();
        if cosine < worst.0 {
            worst = (cosine, i);
        }
    }
    eprintln!("lowest GPU/CPU cosine {:.6} (text {})", worst.0, worst.1);
    assert!(
        worst.0 >= 0.99,
        "text {} differs: cosine {} between the GPU and CPU vectors",
        worst.1,
        worst.0
    );
}
