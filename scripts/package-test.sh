#!/usr/bin/env bash
# The installed-package test (`make package-test`; scripts/test.sh runs it on CI machines):
# installs the .deb packages that scripts/package.sh built on this machine with apt, as a user
# would, and uses only what they installed — /usr/bin/quire-app and /usr/bin/quire, the models
# from /usr/share/quire/models — with a fresh home folder (no models, no library, no settings of
# the build's) and no build tree on PATH:
#   1. the app alone (no model pack): `quire status` says which models are missing and how to get
#      them; the desktop entry opens PDFs ("Open with Quire");
#   2. with the model pack: `quire add/search/ask` from the installed command, then the window's
#      end-to-end story (tests/e2e/app.test.mjs against /usr/bin/quire-app under Xvfb: drop PDFs,
#      ask, citations open the page, quit and reopen);
#   3. uninstalling removes the programs and the models and keeps the user's library; installing
#      again opens the same library.
# Installs system packages (needs root or sudo): it is meant for a CI machine or a throwaway one.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() { echo "package test: $*" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$PWD/target}"
out="${QUIRE_PACKAGES:-$target/packages}"
version="$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')"
app_deb="$out/quire_${version}_amd64.deb"
models_deb="$out/quire-models_${version}_all.deb"
[ -f "$app_deb" ] && [ -f "$models_deb" ] || bash scripts/package.sh
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
apt_get() { $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get -y -qq "$@" >/dev/null; }

# The test's own tools (not part of what is tested): Node for the test runner, tauri-driver.
# shellcheck source=scripts/node.sh
. scripts/node.sh
node_bin="$(dirname "$(command -v node)")"
driver="$target/tools/bin/tauri-driver"
[ -x "$driver" ] || cargo install tauri-driver --locked --version =2.1.0 --root "$target/tools" --quiet
pdfs="${QUIRE_E2E_PDFS:-/usr/share/doc/texlive-doc/latex/base}"
# Not the ports scripts/e2e.sh uses, so that both can run at once.
port="${QUIRE_PACKAGE_TEST_PORT:-4464}"

work="$(mktemp -d)"
cleanup() {
  apt_get purge quire quire-models 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# A user of the installed app: own home, nothing of the build's environment.
user_env=(env -i HOME="$work/home" PATH="/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 LC_ALL=C.UTF-8)
mkdir -p "$work/home"
library="$work/home/.local/share/quire/library"

apt_get purge quire quire-models 2>/dev/null || true
say "installing $(basename "$app_deb") alone"
apt_get install "$app_deb"
for f in /usr/bin/quire-app /usr/bin/quire /usr/share/quire/fetch/fetch.py /usr/share/doc/quire/copyright; do
  [ -f "$f" ] || fail "$f is not installed"
done
desktop=/usr/share/applications/Quire.desktop
desktop-file-validate "$desktop" || fail "the desktop entry is not valid"
grep -q '^Exec=quire-app %F$' "$desktop" || fail "the desktop entry does not pass files to Quire"
grep -q '^MimeType=application/pdf;' "$desktop" || fail "the desktop entry does not open PDFs"

say "without the model pack, the installed command says what is missing"
set +e
status="$("${user_env[@]}" /usr/bin/quire status 2>&1)"
set -e
echo "$status" | grep -qi "missing" || fail "quire status does not say the models are missing: $status"
echo "$status" | grep -q "all-MiniLM-L6-v2" || fail "quire status does not name the missing model: $status"
set +e
added="$("${user_env[@]}" /usr/bin/quire add "$pdfs/lppl.pdf" 2>&1)"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "quire add said it added a PDF without models"
echo "$added" | grep -q "quire-models package" || fail "quire add without models does not say how to get them: $added"
echo "$added"

say "installing $(basename "$models_deb")"
apt_get install "$models_deb"
status="$("${user_env[@]}" /usr/bin/quire status)"
echo "$status" | grep -q "/usr/share/quire/models" || fail "the installed command does not use the model pack: $status"

say "the installed command: add, search, ask"
"${user_env[@]}" /usr/bin/quire add "$pdfs/clsguide.pdf" "$pdfs/lppl.pdf" >&2
"${user_env[@]}" /usr/bin/quire --json search "pass options to another class" -k 3 >"$work/search.json"
python3 - "$work/search.json" <<'PY'
import json, sys
hits = json.load(open(sys.argv[1]))
hits = hits.get("hits", hits) if isinstance(hits, dict) else hits
assert hits and "clsguide" in json.dumps(hits[0]), f"first hit not from clsguide.pdf: {hits[:1]}"
PY
"${user_env[@]}" /usr/bin/quire --json ask "How do I pass options on to another class?" >"$work/ask.json"
python3 - "$work/ask.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert answer["outcome"] != "not_covered", answer["outcome"]
quoted = json.dumps(answer.get("quotes", [])) + json.dumps(answer.get("citations", []))
assert "PassOptionsToClass" in quoted, "the answer's sources do not hold the passage"
print("answer:", answer["outcome"], answer["answer"][:200].replace("\n", " "))
PY

say "the installed window, end to end (Xvfb)"
"${user_env[@]}" QUIRE_APP=/usr/bin/quire-app QUIRE_E2E_WORK="$work/e2e" QUIRE_E2E_PDFS="$pdfs" \
  QUIRE_E2E_SCREENSHOTS="$work/shots" QUIRE_LIBRARY="$work/e2e-library" QUIRE_SETTINGS="$work/e2e-settings.json" \
  TAURI_DRIVER="$driver" NODE_BIN="$node_bin" TEST_FILE="$PWD/tests/e2e/app.test.mjs" \
  PORT="$port" WEBDRIVER_URL="http://127.0.0.1:$port" \
  XDG_RUNTIME_DIR="$work/run" \
  bash -c '
  mkdir -p "$QUIRE_E2E_WORK" "$XDG_RUNTIME_DIR"; chmod 700 "$XDG_RUNTIME_DIR"
  exec xvfb-run --auto-servernum --server-args="-screen 0 1400x900x24" bash -c "
    \"\$TAURI_DRIVER\" --port \$PORT --native-port \$((PORT + 1)) --native-driver /usr/bin/WebKitWebDriver &
    driver=\$!
    for _ in \$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/\$PORT) 2>/dev/null && break; sleep 0.1; done
    \"\$NODE_BIN/node\" --test --test-concurrency=1 --test-reporter=spec \"\$TEST_FILE\"
    rc=\$?
    kill \$driver 2>/dev/null; wait \$driver 2>/dev/null
    exit \$rc"'

say "uninstalling keeps the library"
[ -f "$library/library.sqlite" ] || fail "no library at $library"
apt_get purge quire quire-models
for f in /usr/bin/quire-app /usr/bin/quire /usr/share/quire/models; do
  [ ! -e "$f" ] || fail "$f is still there after uninstalling"
done
[ -f "$library/library.sqlite" ] || fail "uninstalling removed the library"
apt_get install "$app_deb" "$models_deb"
"${user_env[@]}" /usr/bin/quire --json list >"$work/list.json"
grep -q "clsguide.pdf" "$work/list.json" || fail "the library is not there after installing again"
say "installed-package test passed"
