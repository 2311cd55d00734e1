#!/usr/bin/env bash
# Sets up and runs Medlens on the bundled sample study.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/lib/apt.sh
need_apt cmake nasm g++ pkg-config
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
cargo build --release --locked -p medlens-cli
"$CARGO_TARGET_DIR/release/medlens" inspect samples/mr-volume "$@"
