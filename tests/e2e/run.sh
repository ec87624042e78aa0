#!/usr/bin/env bash
# Runs the window's stories given as arguments (tests/e2e/*.test.mjs) under Xvfb with a D-Bus
# session bus, as a desktop has (a second launch hands its files to the running window through
# it): starts tauri-driver ($TAURI_DRIVER) on port $E2E_PORT (default 4444, WebKitWebDriver on
# the next one), waits for it, runs Node's test runner ($NODE, default `node`) on the files one
# after another, stops the driver and exits with the runner's status. Used by scripts/e2e.sh and,
# inside the clean test system, by scripts/package-test.sh.
set -u
exec xvfb-run --auto-servernum --server-args="-screen 0 1400x900x24" dbus-run-session -- bash -c '
  set -u
  port="${E2E_PORT:-4444}"
  "$TAURI_DRIVER" --port "$port" --native-port "$((port + 1))" --native-driver "$(command -v WebKitWebDriver)" &
  driver=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  "${NODE:-node}" --test --test-concurrency=1 --test-reporter=spec "$@"
  rc=$?
  kill "$driver" 2>/dev/null
  wait "$driver" 2>/dev/null
  exit $rc
' run "$@"
