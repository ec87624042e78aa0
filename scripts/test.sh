#!/usr/bin/env bash
# Runs every check: formatting, lints, type checks, unit tests, the end-to-end tests of the CLI
# and the engine with the real models and real PDFs, and the desktop app's end-to-end test under
# Xvfb. Sets up whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=scripts/node.sh
. scripts/node.sh
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "formatting and lints"
cargo fmt --all -- --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings

say "UI: type check and unit tests"
(cd ui && npm run --silent check && npm run --silent test)

say "GPU kernels on the CPU emulator (kernels/emu: every CUDA kernel against a reference)"
mkdir -p "${CARGO_TARGET_DIR:-target}"
g++ -std=c++20 -O2 -pthread -Wall -Wno-unknown-pragmas -I crates/engine/kernels \
  crates/engine/kernels/emu/kernel_test.cpp -o "${CARGO_TARGET_DIR:-target}/kernel_test"
"${CARGO_TARGET_DIR:-target}/kernel_test"

say "model fetch: a converted model's package checked, its conversion reproducible"
python3 models/test_fetch.py

say "engine, CLI and shell tests"
cargo test --release --locked --workspace -- --test-threads 2

say "desktop app, end to end"
bash scripts/e2e.sh

# The packages, installed: on CI machines (fresh, throwaway) only, as it installs and removes
# system packages; elsewhere `make package-test`.
if [ "${CI:-}" = "true" ]; then
  say "packages: build, lintian, install, the installed app end to end, uninstall"
  bash scripts/package.sh
  bash scripts/package-test.sh
else
  say "packages: skipped (installs system packages; CI=true or make package-test runs it)"
fi
