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
profile=debug
if [ "${1:-}" = "--release" ]; then profile=release; cargo build --release -p medlens-app; else cargo build -p medlens-app; fi
exec "$CARGO_TARGET_DIR/$profile/medlens-app"
