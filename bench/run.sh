#!/usr/bin/env bash
# `make bench`: every benchmark in docs/benchmarks.md, each side by side with its baseline on the
# same input in the same run, then the table and plots (bench/report.py).
#
#   bash bench/run.sh [SECTION...]   sections: extraction embedding ingestion search generation
#                                    index answers multilingual ocr (default: all, in that order);
#                                    `multilingual-full` (not by default, ~45 min) embeds the whole
#                                    collection with multilingual-e5-small in f32 and int8;
#                                    `search` also measures retrieval quality (same questions,
#                                    same library); `answers` is the answer benchmark
#                                    (bench/answers.sh); `multilingual` compares the embedding
#                                    models on English and Chinese (bench/multilingual.sh); `ocr`
#                                    reads scanned copies of real pages against the tesseract
#                                    command (bench/ocr.sh); `team` compares the team library
#                                    (PostgreSQL behind two `quire serve`) with the embedded
#                                    one and loads it (bench/team.sh)
#
# Results (JSON) go to $QUIRE_BENCH_OUT (default: <target>/bench); the report reads every result
# there, so a section can be rerun alone. Baselines are installed here: poppler-utils (apt, by
# scripts/setup.sh), sentence-transformers + PyTorch + matplotlib (pip, in a virtual environment
# under the cache folder), llama-bench (built from the vendored llama.cpp by generation.sh).
# INDEX_SIZES (default 10000,100000,1000000) sets the vector index sizes; the 1M build takes
# about half an hour on 2 cores, so built indexes are kept under $QUIRE_CACHE/bench-index and reused.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
threads="$(nproc)"

sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(extraction embedding ingestion search generation index answers multilingual ocr team)

say "setting up (packages, models, build)"
bash scripts/setup.sh
cargo build --release --locked -p quire-engine --examples

# The Python baselines' environment, made once.
venv="$cache/bench-venv"
if ! "$venv/bin/python" -c "import sentence_transformers, matplotlib" 2>/dev/null; then
  say "installing the Python baselines (PyTorch, sentence-transformers, matplotlib) into $venv"
  python3 -m venv "$venv" 2>/dev/null || {
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    torch==2.15.0 sentence-transformers==6.2.0 transformers==5.24.0 matplotlib==3.11.2
fi

pdf_list="$out/pdfs.txt"
dpkg -L texlive-latex-base-doc | grep '\.pdf$' | sort >"$pdf_list"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $threads logical CPUs, $(free -g | awk '/Mem:/{print $2}') GiB" >"$out/machine.txt"

for section in "${sections[@]}"; do
  case "$section" in
  extraction)
    say "extraction: Quire vs pdftotext over $(wc -l <"$pdf_list") PDFs, $threads at a time"
    "$examples/extract_all" --threads "$threads" --json <"$pdf_list" >"$out/extraction-quire.json" 2>/dev/null
    python3 bench/pdftotext_baseline.py "$threads" <"$pdf_list" >"$out/extraction-pdftotext.json"
    ;;
  embedding)
    say "embedding: Quire (f32, int8) vs sentence-transformers (PyTorch f32, int8), same 256-token chunks"
    # The default model, then the multilingual one when it was fetched (models/fetch.py
    # multilingual-e5-small); where the CPU has AMX tiles, int8 once more without them.
    for model in all-MiniLM-L6-v2 multilingual-e5-small; do
      suffix=""; [ "$model" = all-MiniLM-L6-v2 ] || suffix="-$model"
      [ -d "$models/$model" ] || { say "embedding: $model is not in $models, skipped"; continue; }
      "$examples/embed_bench" /usr/share/doc/texlive-doc/latex/base/source2e.pdf 96 --model "$model" \
        --dump "$out/embedding-chunks$suffix.json" --json >"$out/embedding-quire$suffix.json" 2>/dev/null
      if grep -q AMX "$out/embedding-quire$suffix.json"; then
        QUIRE_NO_AMX=1 "$examples/embed_bench" /usr/share/doc/texlive-doc/latex/base/source2e.pdf 96 \
          --model "$model" --json >"$out/embedding-quire$suffix-vnni.json" 2>/dev/null
      else
        rm -f "$out/embedding-quire$suffix-vnni.json"
      fi
      "$venv/bin/python" bench/embed_st.py "$out/embedding-chunks$suffix.json" \
        "$models/$model" "$threads" 16 >"$out/embedding-pytorch$suffix.json" 2>/dev/null
    done
    ;;
  ingestion)
    # Both encoder precisions, each into a fresh library of the whole collection: time until
    # every document is searchable by words, and until every chunk has its vector.
    for precision in f32 int8; do
      lib="$out/library"; suffix=""
      [ "$precision" = f32 ] || { lib="$out/library-$precision"; suffix="-$precision"; }
      say "ingestion ($precision): the whole collection into a fresh library (this takes a while)"
      rm -rf "$lib"
      QUIRE_EMBEDDING_PRECISION="$precision" python3 bench/peak_memory.py \
        --json "$out/ingestion$suffix-memory.json" \
        "$examples/ingest_bench" "$lib" <"$pdf_list" >"$out/ingestion$suffix.json"
    done
    ;;
  search | retrieval)
    [ -f "$out/library/library.sqlite" ] || { echo "run the ingestion section first" >&2; exit 1; }
    say "search: full-query latency and retrieval quality on that library"
    "$examples/retrieval_eval" --library "$out/library" --models "$models" --json >"$out/retrieval.json"
    if [ -f "$out/library-int8/library.sqlite" ]; then
      say "search: the same on the library embedded on the int8 path"
      QUIRE_EMBEDDING_PRECISION=int8 "$examples/retrieval_eval" --library "$out/library-int8" \
        --models "$models" --json >"$out/retrieval-int8.json"
    fi
    ;;
  multilingual-full)
    # Not in the default list (about 45 minutes on 2 cores): the whole collection embedded by
    # multilingual-e5-small in f32 and int8, and the retrieval benchmark on both libraries
    # (int8's quality for the multilingual model).
    for precision in f32 int8; do
      lib="$out/library-multilingual-e5-small-$precision"
      say "multilingual-full ($precision): the whole collection with multilingual-e5-small"
      rm -rf "$lib"
      QUIRE_EMBEDDING_PRECISION="$precision" QUIRE_EMBEDDING_MODEL="$models/multilingual-e5-small" \
        "$examples/ingest_bench" "$lib" <"$pdf_list" >"$out/ingestion-multilingual-e5-small-$precision.json"
      QUIRE_EMBEDDING_PRECISION="$precision" QUIRE_EMBEDDING_MODEL="$models/multilingual-e5-small" \
        "$examples/retrieval_eval" --library "$lib" --models "$models" --json \
        >"$out/retrieval-multilingual-e5-small-$precision.json"
    done
    ;;
  index)
    say "vector index: ${INDEX_SIZES:-10000,100000,1000000} generated vectors"
    "$examples/index_bench" --sizes "${INDEX_SIZES:-10000,100000,1000000}" \
      --cache "$cache/bench-index" --json >"$out/index.json"
    ;;
  generation)
    say "generation: quire ask vs llama-bench (same llama.cpp, GGUF, threads)"
    GENERATION_JSON="$out/generation.json" QUIRE_CACHE="$cache" bash bench/generation.sh
    ;;
  answers)
    say "answers: key facts, verified citations and refusals per answer model (bench/answers.sh)"
    QUIRE_BENCH_OUT="$out" QUIRE_CACHE="$cache" bash bench/answers.sh
    ;;
  multilingual)
    say "multilingual: each embedding model on English and Chinese questions and documents (bench/multilingual.sh)"
    QUIRE_BENCH_OUT="$out" QUIRE_CACHE="$cache" bash bench/multilingual.sh
    ;;
  team)
    say "team: the team library (PostgreSQL + pgvector, two quire serve) vs the embedded one (bench/team.sh)"
    QUIRE_BENCH_OUT="$out" QUIRE_CACHE="$cache" bash bench/team.sh
    ;;
  ocr)
    say "ocr: scanned copies of real pages, Quire vs the tesseract command (bench/ocr.sh)"
    QUIRE_BENCH_OUT="$out" QUIRE_CACHE="$cache" bash bench/ocr.sh
    ;;
  *)
    echo "unknown section $section" >&2
    exit 2
    ;;
  esac
done

say "report"
"$venv/bin/python" bench/report.py "$out" docs
