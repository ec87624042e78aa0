#!/usr/bin/env bash
# Sets up everything that is missing, builds Quire and opens its window. On a machine without a
# display (or with QUIRE_DEMO=cli) it shows the `quire` command instead: a real PDF goes into your
# library (the default one, or $QUIRE_LIBRARY) and a question comes back with cited pages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup.sh built both programs; run them directly (a `cargo run -p` of one package alone would
# build it again with a different feature set).
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${QUIRE_DEMO:-}" != cli ]; then
  printf '\033[1m==> %s\033[0m\n' "opening Quire (drag PDFs into the window)" >&2
  exec "$bin/quire-app"
fi
printf '\033[1m==> %s\033[0m\n' "no display: showing the quire command instead of the window" >&2
quire() { "$bin/quire" "$@"; }

pdf=/usr/share/doc/texlive-doc/latex/base/clsguide.pdf
if [ ! -f "$pdf" ]; then
  echo "No sample PDF at $pdf; try: cargo run --release -- add YOUR.pdf && cargo run --release -- search 'your question'" >&2
  exit 0
fi
printf '\n\033[1m$ quire add %s\033[0m\n' "$pdf"
quire add "$pdf"
question="How do I pass options I don't know about on to the base class?"
printf '\n\033[1m$ quire search "%s"\033[0m\n' "$question"
quire search "$question" -k 3
printf '\n\033[1m$ quire ask "%s"\033[0m\n' "$question"
quire ask "$question"
printf '\n\033[1m$ quire status\033[0m\n'
quire status
cat <<'MSG'

Quire works. Next:
  cargo run --release -- add ~/Papers            # index a folder of PDFs
  cargo run --release -- search "your question"  # find the passages that answer it
  cargo run --release -- ask "your question"     # a cited answer from the local model
  cargo run --release -- chat                    # a conversation about your documents
  cargo run --release -- --help
MSG
