#!/usr/bin/env bash
# Sets up (Debian packages, npm packages), builds and starts the Medlens desktop viewer,
# which opens the bundled sample study (samples/mr-volume) on first start.
# Usage: scripts/run-app.sh [--release]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
bash scripts/setup-viewer.sh
npm run build
# The sample the app opens on first start (a release build knows no source tree).
export MEDLENS_SAMPLE_DIR=${MEDLENS_SAMPLE_DIR-$root/samples/mr-volume}
profile=debug
if [ "${1:-}" = "--release" ]; then
  profile=release; cargo build --release -p medlens-app
else
  # The tests' cargo selection (tests/lib/rust.sh), so the app and the tests share one build
  # of burn and Tauri instead of each compiling its own feature set.
  source tests/lib/rust.sh
  cargo build --locked "${RUST_SELECTION[@]}" --all-targets
fi
exec "$CARGO_TARGET_DIR/$profile/medlens-app"
