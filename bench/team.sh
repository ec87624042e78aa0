#!/usr/bin/env bash
# `make bench` section `team`: the team library (PostgreSQL + pgvector behind `quire serve`)
# against the embedded one, on the same documents in the same run.
#
# 1. A fresh PostgreSQL (scripts/postgres.sh, loopback) and two `quire serve` processes on it.
# 2. Every PDF of texlive-latex-base-doc uploaded through the API; the two servers share the
#    ingestion queue. Times to searchable and to embedded (bench/team_upload.py).
# 3. The same PDFs into a fresh embedded library (ingest_bench), for the same size.
# 4. Search latency and retrieval quality on both libraries (retrieval_eval, same questions).
# 5. Load: 32 clients searching and 4 asking at once against the two servers for
#    $TEAM_LOAD_SECONDS (default 60) seconds (bench/team_load.py): p50/p95 and errors.
#
# TEAM_PDFS=N takes the first N PDFs only (a quick check of the script, not a measurement).
# Both libraries are embedded with the int8 encoder (the faster one; search quality is within
# 0.01 of f32, see the ingestion section). Results: $out/team-*.json; bench/report.py tables them.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"

quire="$target/release/quire"
pg_dir="$cache/bench-postgres"
# A team library names documents COLLECTION/FILE: of two files with one name (slides.pdf) the
# first is taken, in both libraries, so that they hold the same documents.
pdf_list="$out/team-pdfs.txt"
dpkg -L texlive-latex-base-doc | grep '\.pdf$' | sort | awk -F/ '!seen[$NF]++' \
  | head -n "${TEAM_PDFS:-100000}" >"$pdf_list"
export QUIRE_EMBEDDING_PRECISION=int8
export QUIRE_MODELS="$models"

say "team: a fresh PostgreSQL with pgvector on loopback"
bash scripts/postgres.sh stop --dir "$pg_dir" >/dev/null 2>&1 || true
rm -rf "$pg_dir"
base_url="$(bash scripts/postgres.sh start --dir "$pg_dir" --port auto)"
bash scripts/postgres.sh psql --dir "$pg_dir" -q -c "CREATE DATABASE team" >/dev/null
export QUIRE_POSTGRES="${base_url%/*}/team"

servers=()
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash scripts/postgres.sh stop --dir "$pg_dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT

token="$("$quire" serve user add bench 2>/dev/null)"
"$quire" serve collection add texlive 2>/dev/null
"$quire" serve collection grant texlive bench 2>/dev/null
for port in 8491 8492; do
  "$quire" serve --listen "127.0.0.1:$port" >"$out/team-server-$port.log" 2>&1 &
  pids+=("$!")
  servers+=("http://127.0.0.1:$port")
done
for server in "${servers[@]}"; do
  for _ in $(seq 1 120); do
    curl -fsS -H "Authorization: Bearer $token" "$server/v1/documents" >/dev/null 2>&1 && break
    sleep 1
  done
done
list="$(IFS=,; echo "${servers[*]}")"

say "team: $(wc -l <"$pdf_list") PDFs uploaded to two servers sharing the ingestion"
python3 bench/team_upload.py --servers "$list" --token "$token" --collection texlive \
  <"$pdf_list" >"$out/team-ingestion-postgres.json"

say "team: the same PDFs into a fresh embedded library"
rm -rf "$out/team-library"
QUIRE_POSTGRES="" "$examples/ingest_bench" "$out/team-library" <"$pdf_list" \
  >"$out/team-ingestion-embedded.json"

say "team: search latency and quality, embedded vs PostgreSQL, same questions"
QUIRE_POSTGRES="" "$examples/retrieval_eval" --library "$out/team-library" --models "$models" \
  --json >"$out/team-retrieval-embedded.json"
# (With QUIRE_POSTGRES set, the library is that database; --library is not read.)
"$examples/retrieval_eval" --library "$out/team-library" --models "$models" \
  --json >"$out/team-retrieval-postgres.json"

seconds="${TEAM_LOAD_SECONDS:-60}"
say "team: load, 32 clients searching and 4 asking against two servers for $seconds s"
python3 bench/team_load.py --servers "$list" --token "$token" --seconds "$seconds" \
  --questions bench/retrieval/questions.json >"$out/team-load.json"
cat "$out/team-load.json" >&2
