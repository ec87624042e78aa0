//! With the `cuda` feature: compiles Quire's kernels (kernels/bert.cu) to PTX for the GPU
//! generation in CUDA_COMPUTE_CAP (the variable candle's kernels use too; else nvidia-smi's
//! answer, else 80), with the `nvcc` in $NVCC, $CUDA_ROOT/bin or on the PATH.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=kernels/bert.cu");
    println!("cargo::rerun-if-env-changed=CUDA_COMPUTE_CAP");
    println!("cargo::rerun-if-env-changed=NVCC");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    let cap = std::env::var("CUDA_COMPUTE_CAP")
        .ok()
        .or_else(|| {
            let out = Command::new("nvidia-smi")
                .args(["--query-gpu=compute_cap", "--format=csv,noheader"])
                .output()
                .ok()?;
            let text = String::from_utf8(out.stdout).ok()?;
            Some(text.lines().next()?.trim().replace('.', ""))
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "80".into());
    let nvcc = std::env::var_os("NVCC")
        .map(PathBuf::from)
        .or_else(|| {
            let root = std::env::var_os("CUDA_ROOT").or_else(|| std::env::var_os("CUDA_PATH"))?;
            Some(PathBuf::from(root).join("bin").join("nvcc")).filter(|p| p.exists())
        })
        .unwrap_or_else(|| "nvcc".into());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bert.ptx");
    let status = Command::new(&nvcc)
        .args(["--ptx", "-O3", "-std=c++17"])
        .arg(format!("-arch=compute_{cap}"))
        .arg("kernels/bert.cu")
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", nvcc.display()));
    assert!(status.success(), "nvcc failed on kernels/bert.cu");
}
