#!/usr/bin/env bash
# Adds every PDF of Debian's texlive-latex-base-doc to a fresh library in one `quire add`, with
# the peak memory of the whole process tree, then prints the library's status.
# Usage: bash bench/texlive_add.sh [LIBRARY_DIR]   (needs a release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
library="${1:-$(mktemp -d)/library}"
quire="${CARGO_TARGET_DIR:-target}/release/quire"
mapfile -t pdfs < <(dpkg -L texlive-latex-base-doc | grep '\.pdf$' | sort)
echo "${#pdfs[@]} PDFs, $(cat "${pdfs[@]}" | wc -c) bytes; library $library" >&2
set +e
QUIRE_LIBRARY="$library" python3 bench/peak_memory.py "$quire" add "${pdfs[@]}"
code=$?
set -e
echo "quire add exited with $code" >&2
QUIRE_LIBRARY="$library" "$quire" status
