#!/usr/bin/env bash
# The desktop app's end-to-end test: the release build of the real window, driven through
# tauri-driver + WebKitWebDriver under Xvfb, with a fresh library and the real models.
# Expects scripts/setup.sh to have run (it installs Xvfb, WebKitWebDriver, Node and builds the UI).
# Screenshots go to $QUIRE_E2E_SCREENSHOTS (default: the target dir; `--screenshots docs` keeps
# them in docs/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
shots="${QUIRE_E2E_SCREENSHOTS:-$target/e2e-screenshots}"
if [ "${1:-}" = "--screenshots" ]; then shots="$(realpath "$2")/screenshots"; fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# tauri-driver proxies WebDriver to WebKitWebDriver and starts the app; it lives beside the build.
tools="$target/tools"
if [ ! -x "$tools/bin/tauri-driver" ]; then
  say "installing tauri-driver (once)"
  cargo install tauri-driver --locked --version =2.1.0 --root "$tools" --quiet
fi

say "building the app"
# The same selection as setup.sh's build, so that features unify the same way and nothing rebuilds.
cargo build --release --locked --workspace --bins --tests

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export QUIRE_APP="$target/release/quire-app"
export QUIRE_E2E_WORK="$work"
export QUIRE_E2E_SCREENSHOTS="$shots"
export QUIRE_LIBRARY="$work/library"
export QUIRE_SETTINGS="$work/settings.json"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
# The Chinese story's PDF (the CTeX FAQ, from Debian's texlive-lang-chinese).
QUIRE_E2E_ZH_PDFS="$(bash scripts/zh-manuals.sh)"
export QUIRE_E2E_ZH_PDFS
# The scanned story's PDF: the LaTeX license with every page an image only (no text layer), made
# by the engine's scan_copy example.
say "making a scanned copy of the LaTeX license"
cargo build --release --locked --workspace --example scan_copy
"$target/release/examples/scan_copy" "${QUIRE_E2E_PDFS:-/usr/share/doc/texlive-doc/latex/base}/lppl.pdf" \
  "$work/lppl-scanned.pdf" >&2
export QUIRE_E2E_SCANNED="$work/lppl-scanned.pdf"
# The models stay where setup fetched them (the default models folder, or $QUIRE_MODELS).

say "running the end-to-end test under Xvfb"
export TAURI_DRIVER="$tools/bin/tauri-driver"
bash tests/e2e/run.sh tests/e2e/app.test.mjs tests/e2e/models.test.mjs tests/e2e/chinese.test.mjs \
  tests/e2e/scanned.test.mjs tests/e2e/open_with.test.mjs tests/e2e/newer_library.test.mjs \
  tests/e2e/team.test.mjs
say "screenshots in $shots"
