#!/usr/bin/env bash
# The answer benchmark (`make bench` section `answers`): a library of the documents the labelled
# questions are about (35 LaTeX manuals of texlive-latex-base-doc and four Debian documentation
# PDFs), every question asked per configuration — the extractive answer alone, then each answer
# model — and the answers scored against the labels by bench/answers.py.
#
#   QUIRE_BENCH_OUT=DIR bash bench/answers.sh [CONFIG...]   (extract gemma-3-270m smollm2-135m;
#                                                        default: all, then the report)
#
# Expects scripts/setup.sh to have run; installs the Debian documentation packages itself.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
quire="$target/release/quire"
mkdir -p "$cache/answer-pdfs"

need=()
for p in debian-policy developers-reference bzip2-doc texlive-latex-base-doc; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The documents: LaTeX ones where they are installed, gzipped Debian ones unpacked once.
docs="$out/answer-documents.txt"
python3 - "$cache/answer-pdfs" >"$docs" <<'PY'
import gzip, json, os, shutil, sys
unpacked = sys.argv[1]
seen = []
for name in ("bench/retrieval/questions.json", "bench/retrieval/debian.json"):
    for q in json.load(open(name)):
        doc = q.get("document")
        if not doc:
            continue
        path = doc if doc.startswith("/") else os.path.join("/usr/share/doc/texlive-doc", doc)
        if path.endswith(".gz"):
            plain = os.path.join(unpacked, os.path.basename(path)[:-3])
            if not os.path.exists(plain):
                with gzip.open(path) as src, open(plain + ".part", "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(plain + ".part", plain)
            path = plain
        if path not in seen:
            seen.append(path)
print("\n".join(seen))
PY
say "answers: a library of $(wc -l <"$docs") documents"
xargs -d '\n' "$quire" --library "$out/answer-library" --models "$models" add <"$docs" >&2

questions=(bench/retrieval/questions.json bench/retrieval/debian.json)
run() {
  local name="$1"; shift
  say "answers: $name"
  # An interrupted run goes on where it stopped.
  local part="$out/answers-$name.jsonl.part"
  [ -f "$part" ] || : >"$part"
  "$examples/answer_eval" --library "$out/answer-library" --models "$models" --done "$part" "$@" \
    "${questions[@]}" >>"$part"
  mv "$part" "$out/answers-$name.jsonl"
}
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(extract gemma-3-270m smollm2-135m report)
for config in "${configs[@]}"; do
  case "$config" in
  library) ;;
  extract) run extract --extract-only ;;
  gemma-3-270m) run gemma-3-270m --every 2 --answer-model "$models/gemma-3-270m-q4_k_m.gguf" ;;
  smollm2-135m) run smollm2-135m --every 2 --answer-model "$models/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
  report) python3 bench/answers.py "$out" ;;
  *) echo "unknown configuration $config" >&2; exit 2 ;;
  esac
done
