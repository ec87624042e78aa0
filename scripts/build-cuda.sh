#!/usr/bin/env bash
# Builds Quire's CUDA variant, also on a machine without a GPU or a CUDA installation.
#
#   bash scripts/build-cuda.sh [CARGO ARGS...]    default: the `quire` command and gpu_bench
#
# Uses an installed CUDA toolkit when `nvcc` is on the PATH, else sets one up from NVIDIA's wheels
# (scripts/cuda-toolchain.sh). The GPU generation to compile for comes from CUDA_COMPUTE_CAP
# (e.g. 90 for H100/H200, 89 for RTX 40xx, 86 for RTX 30xx, 80 for A100), else from nvidia-smi,
# else 90. Candle's kernels and Quire's are compiled to PTX for that generation (newer GPUs
# compile the PTX when it loads; older ones cannot run it); llama.cpp's to machine code for it.
# The target folder is separate from the CPU build's (<target>-cuda), so neither rebuilds the other.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if ! command -v nvcc >/dev/null 2>&1; then
  toolchain="$(bash scripts/cuda-toolchain.sh)"
  # shellcheck disable=SC1091
  . "$toolchain/env.sh"
fi
if [ -z "${CUDA_COMPUTE_CAP:-}" ]; then
  CUDA_COMPUTE_CAP="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d . || true)"
  CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
fi
export CUDA_COMPUTE_CAP
export CMAKE_CUDA_ARCHITECTURES="${CMAKE_CUDA_ARCHITECTURES:-${CUDA_COMPUTE_CAP}-real}"
base="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TARGET_DIR="${base%-cuda}-cuda"

say "building the CUDA variant for compute capability $CUDA_COMPUTE_CAP with $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') into $CARGO_TARGET_DIR"
if [ $# -eq 0 ]; then
  cargo build --release --locked --features cuda --bin quire
  cargo build --release --locked -p quire-engine --features cuda --example gpu_bench
else
  cargo build --release --locked --features cuda "$@"
fi
echo "$CARGO_TARGET_DIR/release"
