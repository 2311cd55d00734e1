#!/usr/bin/env bash
# Runs the WebDriver end-to-end tests: tauri-driver (→ WebKitWebDriver → the app) on a
# free port, then `node --test` on tests/e2e/*.e2e.mjs. Expects a display (Xvfb).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
driver=${TAURI_DRIVER:-tauri-driver}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
native=$(free_port)
log=${E2E_ARTIFACTS:-$root/tests/artifacts}/tauri-driver.log
mkdir -p "$(dirname "$log")"
"$driver" --port "$port" --native-port "$native" --native-driver "$(command -v WebKitWebDriver)" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
export WEBDRIVER_PORT=$port
node --test --test-concurrency=1 "$root"/tests/e2e/*.e2e.mjs
