#!/usr/bin/env bash
# Runs every check: formatting, lints, unit tests and the end-to-end tests with the real models
# and real PDFs. Sets up whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --release --locked --workspace --all-targets -- -D warnings
cargo test --release --locked --workspace -- --test-threads 2
