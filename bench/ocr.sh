#!/usr/bin/env bash
# The OCR benchmark (`make bench` section `ocr`): scanned copies of real PDFs' pages (Debian's
# texlive-latex-base-doc in English, the CTeX FAQ and the Chinese lshort from
# texlive-lang-chinese) read by Quire (the ocr_eval example) and by the `tesseract` command on
# the same page images in the same run (bench/ocr.py), with MuPDF's renderer measured against
# poppler's. Writes $out/ocr-*.json, $out/tesseract-ocr.json and docs/bench/ocr.md.
#
#   QUIRE_BENCH_OUT=DIR bash bench/ocr.sh
#
# Expects scripts/setup.sh (Tesseract, its English and Chinese data, poppler) and the examples'
# build; installs mupdf-tools (the other renderer measured) when missing.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

if ! command -v mutool >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends mupdf-tools >/dev/null
fi
zh="$(QUIRE_CACHE="$cache" bash scripts/zh-manuals.sh)"
base=/usr/share/doc/texlive-doc/latex/base
# Prose pages, a table of contents (dot leaders: hard for OCR), the licence's plain text.
english=("$base/clsguide.pdf:2,4" "$base/fntguide.pdf:4" "$base/usrguide.pdf:3" "$base/lppl.pdf:1-3")
chinese=("$zh/ctex-faq.pdf:18" "$zh/lshort-zh-cn.pdf:20")
rm -f "$out"/ocr-*.json
for look in clean noisy askew; do
  say "OCR: English pages, $look"
  OMP_THREAD_LIMIT=1 "$examples/ocr_eval" --lang eng --look "$look" --out "$out/ocr/$look" \
    "${english[@]}" >"$out/ocr-$look-eng.json"
done
for lang in chi_sim eng+chi_sim; do
  say "OCR: Chinese pages, $lang"
  OMP_THREAD_LIMIT=1 "$examples/ocr_eval" --lang "$lang" --look clean --out "$out/ocr/zh-$lang" \
    "${chinese[@]}" >"$out/ocr-clean-$lang.json"
done
say "OCR: the tesseract command on the same images; MuPDF's renderer"
python3 bench/ocr.py "$out" "$examples/ocr_eval" docs/bench
