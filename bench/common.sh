# Sourced by the bench scripts: works from the repository root and sets the folders they share
# (the build's target, the results, the cache, the models, the examples) and `say`.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
out="${QUIRE_BENCH_OUT:-$target/bench}"
cache="${QUIRE_CACHE:-$HOME/.cache/quire}"
models="${QUIRE_MODELS:-$HOME/.local/share/quire/models}"
examples="$target/release/examples"
mkdir -p "$out" "$cache"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
