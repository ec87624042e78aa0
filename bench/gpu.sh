#!/usr/bin/env bash
# The GPU benchmarks, on a machine with an NVIDIA GPU, its driver, the CUDA 13 libraries and
# PyTorch + transformers, and no Rust toolchain. Uses what bench/gpu-pack.sh prepared elsewhere:
#
#   dist/gpu/            gpu_bench (the CUDA build), model-config/ (all-MiniLM-L6-v2's config and
#                        tokenizer), chunks.json (real 256-token chunks), answer.skeleton (the
#                        default GGUF's header), pdfs/ (texlive PDFs, as many as fit)
#   dist/gpu-pdfs-*/     more of the PDFs, when they were sent ahead in earlier calls
#
#   bash bench/gpu.sh OUT_DIR        results: OUT_DIR/*.json and OUT_DIR/gpu.md (the table)
#   GPU_SECTIONS="embed ingest generate" (the default) picks what runs; the table shows what ran.
#   Two more sections, not in the default: `sanitize` (compute-sanitizer's memcheck and racecheck
#   over an embedding run of a few chunks: every kernel, Quire's and candle's) and `profile` (ncu:
#   the share of GPU time per kernel in one embedding run, OUT_DIR/profile.txt).
#
# Everything runs side by side in this one run: Quire's fused f16 encoder, the same model on
# candle's own CUDA ops, PyTorch fp16 (and fp32) on the same card with the same random weights
# and chunks, and Quire's CPU path; ingestion of the PDFs on the GPU and on the CPU; generation
# with all layers on the GPU and on the CPU (random weights in the default model's shape: the
# real 253 MB file cannot travel).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mkdir -p "${1:?usage: bash bench/gpu.sh OUT_DIR}" && cd "$1" && pwd)"
dist="dist/gpu"
say() { printf '==> %s\n' "$*" >&2; }
[ -x "$dist/gpu_bench" ] || { [ -f "$dist/gpu_bench.xz" ] && xz -dk "$dist/gpu_bench.xz"; }
[ -x "$dist/gpu_bench" ] || { echo "no $dist/gpu_bench: run bench/gpu-pack.sh on the build machine" >&2; exit 1; }

# The CUDA libraries Quire links (cuBLAS, cuRAND, the runtime), wherever this machine has them
# beyond the default search path.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
  "$(python3 -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13", "lib"))' 2>/dev/null || true)"; do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH
if ldd "$dist/gpu_bench" | grep -q "not found"; then
  ldd "$dist/gpu_bench" | grep "not found" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader | tee "$out/gpu.txt"
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) logical CPUs" >"$out/cpu.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sections=" ${GPU_SECTIONS:-embed ingest generate} "
want() { [[ "$sections" == *" $1 "* ]]; }

python3 bench/gpu_torch.py make-model "$dist/model-config" "$work/model" 0 >"$out/model.json"
if want embed; then
say "embedding: random weights in all-MiniLM-L6-v2's shape, the same for every contender"
repeat="${EMBED_REPEAT:-8}"
"$dist/gpu_bench" embed "$work/model" "$dist/chunks.json" --repeat "$repeat" --cpu-sample 512 \
  >"$out/embed-quire.json"
cat "$out/embed-quire.json"
# The acceptance bar for the GPU path: its vectors within 1e-2 cosine of the CPU's.
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["min_cosine_gpu_cpu"] >= 0.99 else "GPU vectors differ from the CPU ones: lowest cosine %f" % r["min_cosine_gpu_cpu"])' "$out/embed-quire.json" || status=1
for dtype in float16 float32; do
  python3 bench/gpu_torch.py embed "$work/model" "$dist/chunks.json" --repeat "$repeat" \
    --batch 512 --dtype "$dtype" >"$out/embed-torch-$dtype.json"
  cat "$out/embed-torch-$dtype.json"
done
fi

say "ingestion: all PDFs that came along on the GPU; a sample on the GPU and on the CPU"
find "$dist/pdfs" dist/gpu-pdfs-* -name '*.pdf' 2>/dev/null | sort >"$work/pdfs.txt" || true
if want ingest && [ -s "$work/pdfs.txt" ]; then
  models="$work/models"
  mkdir -p "$models" && ln -s "$work/model" "$models/all-MiniLM-L6-v2"
  ingest() { # NAME DEVICE PATHS
    QUIRE_MODELS="$models" "$dist/gpu_bench" ingest "$work/library-$1" --device "$2" <"$3" >"$out/ingest-$1.json"
    cat "$out/ingest-$1.json"
  }
  ingest all-cuda cuda "$work/pdfs.txt"
  # The CPU path embeds ~1 % as fast: the same few PDFs on both, for the ratio.
  awk 'NR % 10 == 1' "$work/pdfs.txt" | head -n "${INGEST_SAMPLE:-12}" >"$work/sample.txt"
  ingest sample-cuda cuda "$work/sample.txt"
  ingest sample-cpu cpu "$work/sample.txt"
  du -cb $(cat "$work/pdfs.txt") | tail -1 | cut -f1 >"$out/pdf-bytes.txt"
fi

say "generation: the default answer model's shape with random weights, GPU and CPU"
want generate && python3 bench/gguf_random.py expand "$dist/answer.skeleton" "$work/answer.gguf" 0 >&2
want generate && for where in gpu cpu; do
  flag=""; [ "$where" = cpu ] && flag="--cpu"
  "$dist/gpu_bench" generate "$work/answer.gguf" $flag --prompt-tokens 1024 --gen-tokens 128 \
    >"$out/generate-$where.json"
  cat "$out/generate-$where.json"
done

if want sanitize || want profile; then
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[:48], open(sys.argv[2], "w"))' \
    "$dist/chunks.json" "$work/few.json"
  PATH="$PATH:/usr/local/cuda/bin"
fi
if want sanitize; then
  say "compute-sanitizer: memcheck and racecheck over an embedding run"
  for tool in memcheck racecheck; do
    compute-sanitizer --tool "$tool" --error-exitcode 3 "$dist/gpu_bench" embed "$work/model" \
      "$work/few.json" --cpu-sample 4 >"$out/sanitize-$tool.txt" 2>&1 || status=1
    tail -3 "$out/sanitize-$tool.txt"
  done
fi
if want profile; then
  say "ncu: GPU time per kernel, one embedding run"
  ncu --metrics gpu__time_duration.sum --csv "$dist/gpu_bench" embed "$work/model" \
    "$dist/chunks.json" --cpu-sample 4 >"$out/ncu.csv" 2>"$out/ncu.log" || status=1
  python3 - "$out/ncu.csv" >"$out/profile.txt" <<'EOF_PY'
import collections, csv, sys
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if l.startswith('"'))]
head, body = rows[0], rows[1:]
name, value = head.index("Kernel Name"), head.index("Metric Value")
unit = head.index("Metric Unit") if "Metric Unit" in head else None
to_ns = {"nsecond": 1, "usecond": 1e3, "msecond": 1e6, "second": 1e9}
total = collections.Counter()
for r in body:
    scale = to_ns.get(r[unit], 1) if unit is not None else 1
    total[r[name].split("(")[0][:80]] += float(r[value].replace(",", "")) * scale
whole = sum(total.values())
for kernel, t in total.most_common(20):
    print(f"{100 * t / whole:5.1f} %  {t / 1e6:9.2f} ms  {kernel}")
EOF_PY
  cat "$out/profile.txt"
fi

python3 bench/gpu_report.py "$out" >"$out/gpu.md"
cat "$out/gpu.md"
exit "${status:-0}"
