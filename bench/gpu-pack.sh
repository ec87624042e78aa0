#!/usr/bin/env bash
# Prepares what bench/gpu.sh needs on a GPU machine that has no Rust toolchain and gets at most
# ~60 MB per call: builds the CUDA variant (scripts/build-cuda.sh, no GPU needed here), and writes
#
#   dist/gpu/           gpu_bench.xz (stripped, compressed), model-config/, chunks.json, answer.skeleton, and
#                       as many texlive PDFs (pdfs/) as fit in QUIRE_GPU_BUDGET_MB (default 56)
#   dist/gpu-pdfs-N/    the rest of the PDFs in parts of that size, to send ahead
#
#   bash bench/gpu-pack.sh
#
# On the GPU machine (the device tool keeps ignored files between calls while it stays warm):
# first one call per dist/gpu-pdfs-N carrying that folder (command `true`), then one carrying
# dist/gpu with the command `bash bench/gpu.sh $OUT`.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
budget=$(( ${QUIRE_GPU_BUDGET_MB:-56} * 1024 * 1024 ))
models="${QUIRE_MODELS:-$HOME/.local/share/quire/models}"
[ -d "$models/all-MiniLM-L6-v2" ] && [ -f "$models/gemma-3-270m-q4_k_m.gguf" ] || python3 models/fetch.py

release="$(bash scripts/build-cuda.sh -p quire-engine --example gpu_bench | tail -1)"
toolchain="$(bash scripts/cuda-toolchain.sh 2>/dev/null | tail -1)"
rm -rf dist/gpu dist/gpu-pdfs-*
mkdir -p dist/gpu/model-config dist/gpu/pdfs
strip -o dist/gpu/gpu_bench "$release/examples/gpu_bench"
for f in config.json tokenizer.json sentence_bert_config.json; do
  cp "$models/all-MiniLM-L6-v2/$f" dist/gpu/model-config/
done
python3 bench/gguf_random.py skeleton "$models/gemma-3-270m-q4_k_m.gguf" dist/gpu/answer.skeleton >&2

pdfs=$(dpkg -L texlive-latex-base-doc | grep '\.pdf$' | sort)
# Real chunks for the embedding benchmark, from the PDFs (the binary needs no GPU for this; the
# CUDA libraries of the toolchain satisfy its loader).
# shellcheck disable=SC2086
LD_LIBRARY_PATH="$(. "$toolchain/env.sh"; echo "$LD_LIBRARY_PATH")" \
  dist/gpu/gpu_bench chunks dist/gpu/chunks.json "${GPU_CHUNKS:-4096}" $pdfs >&2

# The stripped binary is ~100 MB (llama.cpp's CUDA kernels, candle's PTX): it travels as xz.
xz -T0 -6 dist/gpu/gpu_bench

used=$(du -cb dist/gpu | tail -1 | cut -f1)
part=0
part_used=$budget
for pdf in $pdfs; do
  size=$(stat -c %s "$pdf")
  if [ $((used + size)) -le "$budget" ]; then
    cp "$pdf" dist/gpu/pdfs/
    used=$((used + size))
    continue
  fi
  if [ $((part_used + size)) -gt "$budget" ]; then
    part=$((part + 1))
    part_used=0
    mkdir -p "dist/gpu-pdfs-$part"
  fi
  cp "$pdf" "dist/gpu-pdfs-$part/"
  part_used=$((part_used + size))
done
say "dist/gpu: $(du -sh dist/gpu | cut -f1) ($(ls dist/gpu/pdfs | wc -l) PDFs); $part more part(s) of PDFs: $(du -sh dist/gpu-pdfs-* 2>/dev/null | tr '\n' ' ')"
