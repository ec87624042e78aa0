#!/usr/bin/env bash
# Fuzzes the extraction child's input and the chunker (fuzz/README.md), both targets at once
# (one core each) for FUZZ_SECONDS (default 1800) each. Seeds come from real PDFs: Debian's
# texlive-latex-base-doc, ../shared/fixtures/pdfjs when present, and uncompressed copies of the
# smaller ones (qpdf --qdf) so that mutations reach the page contents and fonts; the chunker's
# seeds are those PDFs' text as pdftotext reads it. Any crash is left in fuzz/artifacts/ and
# this script fails; a crash that was fixed goes into fuzz/regressions/<target>/, which is added
# to the corpus so that every run tries it first.
#
#   bash scripts/fuzz.sh                 # 30 minutes per target
#   FUZZ_SECONDS=60 bash scripts/fuzz.sh # a short run
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

seconds=${FUZZ_SECONDS:-1800}
target_dir=${QUIRE_FUZZ_TARGET:-$HOME/.cache/quire-fuzz/target}
docs=/usr/share/doc/texlive-doc/latex/base

# cargo-fuzz needs the nightly compiler (for its coverage instrumentation).
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  say "installing the nightly Rust toolchain"
  rustup toolchain install nightly --profile minimal
fi
command -v cargo-fuzz >/dev/null 2>&1 || { say "installing cargo-fuzz"; cargo install cargo-fuzz --locked; }
for tool in qpdf pdftotext; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup.sh" >&2; exit 1; }
done
[ -d "$docs" ] || { echo "$docs is missing: run scripts/setup.sh" >&2; exit 1; }

say "seeding the corpora from real PDFs"
mkdir -p fuzz/corpus/extract fuzz/corpus/chunk fuzz/artifacts
pdfs=("$docs"/*.pdf)
[ -d ../shared/fixtures/pdfjs ] && pdfs+=(../shared/fixtures/pdfjs/*.pdf)
for pdf in "${pdfs[@]}"; do
  name=$(basename "$pdf" .pdf)
  size=$(stat -c %s "$pdf")
  [ "$size" -le 262144 ] && cp "$pdf" "fuzz/corpus/extract/$name.pdf"
  # Uncompressed, when that stays small enough to mutate quickly.
  qdf="fuzz/corpus/extract/$name.qdf.pdf"
  if [ ! -e "$qdf" ] && qpdf --qdf --object-streams=disable "$pdf" "$qdf" 2>/dev/null; then :; fi
  [ -e "$qdf" ] && [ "$(stat -c %s "$qdf")" -gt 262144 ] && rm -f "$qdf"
  # The chunker's input: a byte for the chunk size, then pages of text (form feeds between
  # them, as pdftotext writes them), in pieces of up to three pages.
  if [ ! -e "fuzz/corpus/chunk/$name.0" ]; then
    pdftotext -enc UTF-8 "$pdf" - 2>/dev/null | python3 -c '
import sys
pages = sys.stdin.buffer.read().split(b"\x0c")
for i in range(0, min(len(pages), 12), 3):
    with open(f"{sys.argv[1]}.{i // 3}", "wb") as f:
        f.write(bytes([(i * 37) % 256]) + b"\x0c".join(pages[i:i + 3])[:16384])
' "fuzz/corpus/chunk/$name" || true
  fi
done
say "corpus: extract $(ls fuzz/corpus/extract | wc -l) files, chunk $(ls fuzz/corpus/chunk | wc -l) files"

say "building the fuzz targets (nightly, release, debug assertions on)"
(cd fuzz && cargo +nightly fuzz build -s none --target-dir "$target_dir")

run() {
  local target=$1 max_len=$2
  (cd fuzz && cargo +nightly fuzz run -s none --target-dir "$target_dir" "$target" \
    "corpus/$target" $( [ -d "regressions/$target" ] && echo "regressions/$target" ) -- \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=60 -rss_limit_mb=4096 \
    -print_final_stats=1) > "fuzz/artifacts/$target.log" 2>&1
}

say "fuzzing extract and chunk for $seconds s each (logs in fuzz/artifacts/)"
status=0
run extract 262144 & extract=$!
run chunk 16384 & chunk=$!
wait "$extract" || status=1
wait "$chunk" || status=1
for target in extract chunk; do
  stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "fuzz/artifacts/$target.log" | tr '\n' ' ')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]+' "fuzz/artifacts/$target.log" | tail -1)
  echo "$target: $stats| $cov"
done
if [ "$status" -ne 0 ]; then
  echo "a fuzz target failed: see fuzz/artifacts/*.log and the crash-* files there" >&2
  ls fuzz/artifacts/*/ 2>/dev/null >&2 || true
fi
exit "$status"
