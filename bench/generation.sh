#!/usr/bin/env bash
# Generation speed of `quire ask` with the default model, side by side with llama-bench's
# measurement built from the same vendored llama.cpp source (llama-cpp-sys-2), same GGUF, same
# threads, in the same run.
#
# Usage: bash bench/generation.sh   (needs a release build and the models; builds llama-bench once
# into ${QUIRE_CACHE:-~/.cache/quire-bench}; set THREADS to override the physical core count)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
quire="$target/release/quire"
models="${QUIRE_MODELS:-$HOME/.local/share/quire/models}"
gguf="$models/gemma-3-270m-q4_k_m.gguf"
cache="${QUIRE_CACHE:-$HOME/.cache/quire-bench}"
threads="${THREADS:-$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)}"
[ -x "$quire" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$gguf" ] || { echo "fetch the models first: python3 models/fetch.py" >&2; exit 1; }

# llama-bench's measurement (bench/llama_bench/main.cpp: random tokens, batched prompt, one
# token per decode, warm-up, average of repetitions), built against the exact llama.cpp source
# that llama-cpp-sys-2 vendors (the crate ships the library, not llama.cpp's tools), with the
# flags its build script uses: Release, no -march=native, ggml's default x86 features, OpenMP.
sys_dir=$(cargo metadata --format-version 1 --locked 2>/dev/null |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="llama-cpp-sys-2"))' |
  xargs dirname)
version=$(basename "$sys_dir")
bench_build="$cache/$version-bench"
if [ ! -f "$bench_build/CMakeCache.txt" ]; then
  echo "configuring llama-bench against $sys_dir/llama.cpp (the first build takes minutes)" >&2
  cmake -S bench/llama_bench -B "$bench_build" -DLLAMA_SRC="$sys_dir/llama.cpp" \
    -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
fi
cmake --build "$bench_build" --target llama-bench -j "$(nproc)" >/dev/null

# A library with one real manual, and five typical questions (5 sources each).
library="$cache/generation-library"
if [ ! -f "$library/library.sqlite" ]; then
  "$quire" --library "$library" add /usr/share/doc/texlive-doc/latex/base/clsguide.pdf >/dev/null
fi
questions=(
  "How should a class file declare the options it accepts?"
  "What is the difference between a class and a package?"
  "How do I load another package from inside my package?"
  "What does \\ProvidesPackage do?"
  "How can a package find out whether another package is loaded?"
)
# Each question twice: as `quire ask` answers by default (passages focused when whole ones would
# not be read within ~1 s here) and with whole passages. llama-bench measures the same prompt
# lengths.
for passages in auto whole; do
  results="$cache/generation-quire-$passages.jsonl"
  : > "$results"
  for q in "${questions[@]}"; do
    "$quire" --library "$library" --json ask "$q" --no-save --threads "$threads" --max-tokens 256 \
      --passages "$passages" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >> "$results"
  done
  prompt_tokens=$(python3 -c '
import json,statistics,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
print(int(statistics.median(r["prompt_tokens"] for r in rows)))' "$results")
  "$bench_build/llama-bench" "$gguf" "$threads" "$prompt_tokens" 128 3 > "$cache/generation-llama-bench-$passages.jsonl"
done

python3 - "$cache" "$threads" <<'EOF'
import json, os, statistics, sys
cache, threads = sys.argv[1], int(sys.argv[2])
med = statistics.median

def measure(passages):
    rows = [json.loads(l) for l in open(f"{cache}/generation-quire-{passages}.jsonl")]
    bench = [json.loads(l) for l in open(f"{cache}/generation-llama-bench-{passages}.jsonl")]
    pp = next(b for b in bench if b["n_prompt"] > 0)
    tg = next(b for b in bench if b["n_gen"] > 0)
    ptok = med(r["prompt_tokens"] for r in rows)
    return {
        "questions": len(rows), "prompt_tokens": ptok,
        "passage_tokens": med(r["passage_tokens"] for r in rows),
        "quire_ttft_s": med(r["time_to_first_token_ms"] for r in rows) / 1000,
        "llama_bench_ttft_s": ptok / pp["avg_ts"],
        "quire_tokens_per_s": med(r["tokens_per_second"] for r in rows),
        "llama_bench_tokens_per_s": tg["avg_ts"], "llama_bench_depth": tg["depth"],
        "generated_tokens": med(r["generated_tokens"] for r in rows),
    }

auto, whole = measure("auto"), measure("whole")
print(f"threads {threads}; {auto['questions']} questions with 5 sources; medians")
print(f"{'':38}{'quire ask':>12}{'llama-bench':>14}{'ratio':>8}")
for name, m in [("default (auto)", auto), ("whole passages", whole)]:
    focus = f", focused to ~{m['passage_tokens']:.0f} tokens" if m["passage_tokens"] else ""
    print(f"{name}: {m['prompt_tokens']:.0f}-token prompt{focus}")
    print(f"{'  time to first token (s)':38}{m['quire_ttft_s']:>12.2f}{m['llama_bench_ttft_s']:>14.2f}"
          f"{m['llama_bench_ttft_s'] / m['quire_ttft_s']:>8.2f}")
    print(f"{'  generated tokens/s':38}{m['quire_tokens_per_s']:>12.1f}{m['llama_bench_tokens_per_s']:>14.1f}"
          f"{m['quire_tokens_per_s'] / m['llama_bench_tokens_per_s']:>8.2f}")
print("(llama-bench: generation after a prompt of the same length; its time to first token = prompt")
print(" tokens / its prompt rate; ratio > 1: quire faster)")
out = os.environ.get("GENERATION_JSON")
if out:
    json.dump({"threads": threads, **auto, "whole": whole}, open(out, "w"))
EOF
