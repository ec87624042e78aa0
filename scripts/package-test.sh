#!/usr/bin/env bash
# The installed-package test (`make package-test`; scripts/test.sh runs it on CI machines).
#
# Where: a clean Debian 12 system made with Debian's own debootstrap (minbase: nothing of this
# machine's packages, libraries or build tree), in a chroot; the packages that scripts/package.sh
# built are installed there with apt, without recommended packages, so that what the .deb
# declares is all the system gets. `QUIRE_PACKAGE_TEST_SYSTEM=host` installs them on this machine
# instead (throwaway machines only), as does a machine where a chroot cannot be made.
#
# What, using only what the packages installed (/usr/bin/quire-app, /usr/bin/quire, the models in
# /usr/share/quire/models), as a user with a fresh home folder:
#   1. the app alone (no model pack): the desktop entry opens PDFs ("Open with Quire");
#      `quire status` and `quire add` say which models are missing and how to get them; then
#      (display tools installed) the window's first run says so too and offers to fetch them or
#      to choose model files (tests/e2e/first_run.test.mjs);
#   2. with the model pack: `quire add/search/ask`; a scanned PDF is read by OCR (the
#      declared Tesseract data is there);
#   3. the window's end-to-end story against the installed app (tests/e2e/app.test.mjs under
#      Xvfb: drop PDFs, ask, citations open the page, quit and reopen) and "Open with Quire"
#      (open_with.test.mjs: started with a PDF, then a second launch while it runs) — the display,
#      D-Bus and WebDriver tools (xvfb, dbus-daemon, webkit2gtk-driver) are installed only after
#      the command's checks of step 1;
#   4. upgrading (the same package with a higher version) keeps the library; uninstalling removes
#      programs and models and keeps the user's library; installing again opens it.
# Needs root or sudo, and the Debian archive for debootstrap and the dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() { echo "package test: $*" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-$PWD/target}"
out="${QUIRE_PACKAGES:-$target/packages}"
cache="${QUIRE_CACHE:-$HOME/.cache/quire}"
version="$(python3 -c 'import json; print(json.load(open("src-tauri/tauri.conf.json"))["version"])')"
app_deb="$out/quire_${version}_amd64.deb"
models_deb="$out/quire-models_${version}_all.deb"
[ -f "$app_deb" ] && [ -f "$models_deb" ] || bash scripts/package.sh
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
system="${QUIRE_PACKAGE_TEST_SYSTEM:-chroot}"

# The test's own tools (not part of what is tested): Node for the test runner, tauri-driver, a
# scanned PDF.
# shellcheck source=scripts/node.sh
. scripts/node.sh
node_dir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
driver="$target/tools/bin/tauri-driver"
[ -x "$driver" ] || cargo install tauri-driver --locked --version =2.1.0 --root "$target/tools" --quiet
pdfs="${QUIRE_E2E_PDFS:-/usr/share/doc/texlive-doc/latex/base}"
# Not the ports scripts/e2e.sh uses, so that both can run at once.
port="${QUIRE_PACKAGE_TEST_PORT:-4464}"

work="$(mktemp -d "${TMPDIR:-/var/tmp}/quire-package-test.XXXXXX")"
root=""  # the test system's root folder ("" = this machine)

unmount_all() {
  [ -n "$root" ] || return 0
  # Deepest first; never delete anything while a folder of this machine is mounted inside.
  grep -o " $root[^ ]*" /proc/mounts | sort -r | while read -r m; do $sudo_cmd umount -l "$m" || true; done
}
cleanup() {
  if [ -n "$root" ]; then
    unmount_all
    if grep -q " $root" /proc/mounts; then
      echo "package test: $root still has mounts; left in place" >&2
      return
    fi
  else
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq quire quire-models >/dev/null 2>&1 || true
  fi
  $sudo_cmd rm -rf "$work"
}
trap cleanup EXIT

# Runs a command in the test system.
inside() {
  if [ -n "$root" ]; then $sudo_cmd chroot "$root" "$@"; else $sudo_cmd "$@"; fi
}
apt_get() { inside env DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends "$@" >/dev/null; }
# Runs a command there as a user of the installed app: own home, a PATH without the build tree.
as_user() { inside env -i HOME="$home" PATH="/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 LC_ALL=C.UTF-8 "$@"; }

if [ "$system" = "chroot" ]; then
  command -v debootstrap >/dev/null || $sudo_cmd apt-get install -y -qq debootstrap >/dev/null
  root="$work/root"
  say "a clean Debian 12 system (debootstrap, minbase) in $root"
  mkdir -p "$cache/debootstrap"
  if $sudo_cmd debootstrap --variant=minbase --cache-dir="$cache/debootstrap" bookworm "$root" \
    "${QUIRE_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 &&
    $sudo_cmd mount -t proc proc "$root/proc" && $sudo_cmd mount --bind /dev "$root/dev" &&
    $sudo_cmd mount --bind /dev/pts "$root/dev/pts" && $sudo_cmd mount -t sysfs sys "$root/sys"; then
    $sudo_cmd cp /etc/resolv.conf "$root/etc/resolv.conf"
    inside apt-get update -qq >/dev/null
  else
    tail -5 "$work/debootstrap.log" >&2 || true
    say "no chroot here (no debootstrap or no mounts): testing on this machine instead"
    unmount_all
    root=""
    system=host
  fi
fi
home=/tmp/quire-user
[ -n "$root" ] || home="$work/home"
# Files of the test system, seen from here.
at() { printf '%s%s' "$root" "$1"; }
# This machine's folder $1 shown read-only at $2 in the test system (or $2 linked to it here).
share() {
  if [ -n "$root" ]; then
    $sudo_cmd mkdir -p "$(at "$2")"
    $sudo_cmd mount --bind "$1" "$(at "$2")" && $sudo_cmd mount -o remount,bind,ro "$(at "$2")"
  else
    mkdir -p "$(dirname "$2")"; ln -sfn "$1" "$2"
  fi
}
mnt=/mnt/quire-test
[ -n "$root" ] || mnt="$work/mnt"
share "$out" "$mnt/packages"
share "$pdfs" "$mnt/pdfs"
inside mkdir -p "$home"
[ -n "$root" ] || apt_get purge quire quire-models 2>/dev/null || true

say "installing $(basename "$app_deb") alone ($system)"
apt_get install "$mnt/packages/$(basename "$app_deb")"
for f in /usr/bin/quire-app /usr/bin/quire /usr/share/quire/fetch/fetch.py /usr/share/doc/quire/copyright \
  /usr/share/metainfo/app.quire.desktop.metainfo.xml /usr/share/man/man1/quire.1.gz; do
  [ -f "$(at "$f")" ] || fail "$f is not installed"
done
desktop="$(at /usr/share/applications/Quire.desktop)"
desktop-file-validate "$desktop" || fail "the desktop entry is not valid"
grep -q '^Exec=quire-app %F$' "$desktop" || fail "the desktop entry does not pass files to Quire"
grep -q '^MimeType=application/pdf;' "$desktop" || fail "the desktop entry does not open PDFs"

say "without the model pack, the installed command says what is missing"
status="$(as_user /usr/bin/quire status 2>&1)" || true
echo "$status" | grep -qi "missing" || fail "quire status does not say the models are missing: $status"
echo "$status" | grep -q "quire-models package" || fail "quire status does not say how to get the models: $status"
set +e
added="$(as_user /usr/bin/quire add "$mnt/pdfs/lppl.pdf" 2>&1)"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "quire add said it added a PDF without models"
echo "$added" | grep -q "quire-models package" || fail "quire add without models does not say how to get them: $added"
echo "$added" >&2

# The window's stories (tests/e2e/*.mjs) against the installed app, under Xvfb with a D-Bus
# session, as the user; the test tools (Node, tauri-driver) are shown read-only from this machine.
window_tests() {
  local files=()
  for f in "$@"; do files+=("$mnt/e2e/$f"); done
  inside mkdir -p "$home/e2e" "$home/e2e-run"
  inside chmod 700 "$home/e2e-run"
  as_user QUIRE_APP=/usr/bin/quire-app QUIRE_E2E_WORK="$home/e2e" QUIRE_E2E_PDFS="$mnt/pdfs" \
    QUIRE_E2E_SCREENSHOTS="$home/e2e-shots" QUIRE_LIBRARY="$home/e2e-library" QUIRE_SETTINGS="$home/e2e-settings.json" \
    TAURI_DRIVER="$mnt-tools/tauri-driver" NODE="$mnt/node/bin/node" XDG_RUNTIME_DIR="$home/e2e-run" \
    E2E_PORT="$port" WEBDRIVER_URL="http://127.0.0.1:$port" \
    bash "$mnt/e2e/run.sh" "${files[@]}"
}

say "without the model pack, the installed window says what is missing (Xvfb)"
# The display, D-Bus and WebDriver tools come only now: the checks above needed none of them.
apt_get install xvfb xauth webkit2gtk-driver dbus-daemon
share "$node_dir" "$mnt/node"
share "$PWD/tests/e2e" "$mnt/e2e"
inside mkdir -p "$mnt-tools"
$sudo_cmd cp "$driver" "$(at "$mnt-tools/tauri-driver")"
window_tests first_run.test.mjs

say "installing $(basename "$models_deb")"
apt_get install "$mnt/packages/$(basename "$models_deb")"
status="$(as_user /usr/bin/quire status)"
echo "$status" | grep -q "/usr/share/quire/models" || fail "the installed command does not use the model pack: $status"

say "the installed command: add, search, ask, and a scanned PDF"
as_user /usr/bin/quire add "$mnt/pdfs/clsguide.pdf" "$mnt/pdfs/lppl.pdf" >&2
as_user /usr/bin/quire --json search "pass options to another class" -k 3 >"$work/search.json"
python3 - "$work/search.json" <<'PY'
import json, sys
hits = json.load(open(sys.argv[1]))
hits = hits.get("hits", hits) if isinstance(hits, dict) else hits
assert hits and "clsguide" in json.dumps(hits[0]), f"first hit not from clsguide.pdf: {hits[:1]}"
PY
as_user /usr/bin/quire --json ask "How do I pass options on to another class?" >"$work/ask.json"
python3 - "$work/ask.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
assert answer["outcome"] != "not_covered", answer["outcome"]
quoted = json.dumps(answer.get("quotes", [])) + json.dumps(answer.get("citations", []))
assert "PassOptionsToClass" in quoted, "the answer's sources do not hold the passage"
print("answer:", answer["outcome"], answer["answer"][:200].replace("\n", " "))
PY
[ -x "$target/release/examples/scan_copy" ] || cargo build --release --locked --workspace --example scan_copy
"$target/release/examples/scan_copy" "$pdfs/lppl.pdf" "$work/lppl-scanned.pdf" --pages 1-2 >&2
inside mkdir -p $home/scans
$sudo_cmd cp "$work/lppl-scanned.pdf" "$(at $home/scans/lppl-scanned.pdf)"
as_user /usr/bin/quire --json add $home/scans/lppl-scanned.pdf >"$work/scanned.json"
grep -q '"status":"added"' "$work/scanned.json" || fail "the scanned PDF was not added: $(cat "$work/scanned.json")"
as_user /usr/bin/quire --json list >"$work/list.json"
python3 - "$work/list.json" <<'PY'
import json, sys
docs = json.load(open(sys.argv[1]))
docs = docs.get("documents", docs) if isinstance(docs, dict) else docs
scanned = [d for d in docs if "scanned" in d.get("path", "")]
assert scanned and scanned[0].get("ocr_pages"), f"the scanned PDF was not read by OCR: {scanned}"
print("scanned PDF:", scanned[0]["ocr_pages"], "pages read by OCR")
PY

say "the installed window, end to end (Xvfb)"
window_tests app.test.mjs open_with.test.mjs

say "upgrading keeps the library"
# The same package with a higher version (control file changed with dpkg-deb, programs as built):
# apt upgrades over the installed one; the library and settings are the user's and stay.
$sudo_cmd dpkg-deb -R "$app_deb" "$work/upgrade"
$sudo_cmd sed -i "s/^Version: .*/Version: ${version}+upgrade1/" "$work/upgrade/DEBIAN/control"
$sudo_cmd dpkg-deb --root-owner-group -b "$work/upgrade" "$work/quire_${version}+upgrade1_amd64.deb" >/dev/null
inside mkdir -p "$home/upgrade"
$sudo_cmd cp "$work/quire_${version}+upgrade1_amd64.deb" "$(at "$home/upgrade/")"
apt_get install "$home/upgrade/quire_${version}+upgrade1_amd64.deb"
inside dpkg-query -W -f='${Version}' quire | grep -q "+upgrade1" || fail "the upgrade was not installed"
as_user /usr/bin/quire --json list >"$work/list.json"
grep -q "clsguide.pdf" "$work/list.json" || fail "the library is not there after upgrading"
[ -f "$(at "$home/e2e-library/library.sqlite")" ] || fail "upgrading removed the window's library"

say "uninstalling keeps the library"
library="$home/.local/share/quire/library"
[ -f "$(at "$library/library.sqlite")" ] || fail "no library at $library"
apt_get purge quire quire-models
for f in /usr/bin/quire-app /usr/bin/quire /usr/share/quire/models; do
  [ ! -e "$(at "$f")" ] || fail "$f is still there after uninstalling"
done
[ -f "$(at "$library/library.sqlite")" ] || fail "uninstalling removed the library"
[ -f "$(at $home/e2e-library/library.sqlite)" ] || fail "uninstalling removed the window's library"
apt_get install "$mnt/packages/$(basename "$app_deb")" "$mnt/packages/$(basename "$models_deb")"
as_user /usr/bin/quire --json list >"$work/list.json"
grep -q "clsguide.pdf" "$work/list.json" || fail "the library is not there after installing again"
say "installed-package test passed ($system)"
