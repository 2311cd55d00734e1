#!/usr/bin/env bash
# The GPU comparison, for a bare Linux x86-64 workstation with an NVIDIA GPU and its Vulkan
# driver, no network, in under 8 minutes. It builds nothing: it takes a prebuilt release
# `medlens` from DIR (default: the folder this script is in, then target/release), and
# prints one JSON object on stdout (progress on stderr):
#   - medlens bench on shape-exact random weights: the Gemma 3 270M and MedGemma-4B's
#     decoder (Q4_K_M blocks), and the whole MedGemma-4B (896 px image -> first token);
#     each with its decode-step counters and gemv roofline fraction;
#   - the reference: transformers in bf16 on CUDA at the same shapes (random weights,
#     greedy, same prompt and generation lengths), when python3 has torch and transformers
#     with a CUDA device; skipped (and said so) otherwise;
#   - ratios medlens / reference for prefill and decode tokens/s.
#
# usage: scripts/gpu-bench.sh [DIR]
#        scripts/gpu-bench.sh --prepare DIR   # here: build, strip and copy `medlens` into DIR
# Rehearse anywhere: on a machine without a GPU it runs on whatever wgpu adapter there is
# (lavapipe) with MEDLENS_GPU_BENCH_SMALL=1: fewer tokens, the 4B decoder with 2 layers, and
# no 896 px image (its vision tower alone takes about 16 minutes on lavapipe).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

if [ "${1:-}" = "--prepare" ]; then
  out=${2:?usage: scripts/gpu-bench.sh --prepare DIR}
  mkdir -p "$out"
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medlens/target}
  (cd "$root" && cargo build --locked --release -p medlens-cli)
  cp "$CARGO_TARGET_DIR/release/medlens" "$out/medlens"
  strip "$out/medlens"
  cp "$0" "$here/gpu-bench-torch.py" "$out/"
  ls -la "$out" >&2
  exit 0
fi

dir=${1:-$here}
bin=$dir/medlens
[ -x "$bin" ] || bin=$root/target/release/medlens
[ -x "$bin" ] || { echo "gpu-bench: no medlens in $dir (scripts/gpu-bench.sh --prepare DIR makes one)" >&2; exit 1; }
torch_py=$dir/gpu-bench-torch.py
[ -f "$torch_py" ] || torch_py=$here/gpu-bench-torch.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "${MEDLENS_GPU_BENCH_SMALL:-0}" = 1 ]; then
  P=16; G=4; L4="--layers 2"; T=900
else
  P=256; G=64; L4=""; T=110  # four steps at most 110 s each: under 8 minutes in all
fi

step() { # name, timeout, command...: stdout JSON to $work/name.json, or {"error": ...}
  local name=$1 t=$2; shift 2
  echo "gpu-bench: $name: $*" >&2
  local t0=$SECONDS
  if timeout "$t" "$@" > "$work/$name.json" 2> "$work/$name.err"; then
    echo "gpu-bench: $name done in $((SECONDS - t0)) s" >&2
  else
    echo "gpu-bench: $name failed or timed out after $((SECONDS - t0)) s: $(tail -c 300 "$work/$name.err")" >&2
    printf '{"error": %s}\n' "$(tail -c 300 "$work/$name.err" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" > "$work/$name.json"
  fi
}

step medlens_270m "$T" "$bin" bench --random-weights gemma3-270m --device gpu --prompt-tokens $P --gen-tokens $G --json
step medlens_4b_text "$T" "$bin" bench --random-weights medgemma-4b-text $L4 --device gpu --prompt-tokens $P --gen-tokens $G --json
if [ "${MEDLENS_GPU_BENCH_SMALL:-0}" = 1 ]; then
  echo '{"skipped": "MEDLENS_GPU_BENCH_SMALL=1"}' > "$work/medlens_4b_image.json"
else
  step medlens_4b_image "$T" "$bin" bench --random-weights medgemma-4b --device gpu --prompt-tokens 16 --gen-tokens 8 --json
fi
if python3 -c 'import torch, transformers, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  step torch "$T" python3 "$torch_py" --prompt-tokens $P --gen-tokens $G
else
  echo '{"skipped": "python3 has no torch + transformers with a CUDA device here"}' > "$work/torch.json"
  echo "gpu-bench: reference skipped (no torch + transformers with CUDA)" >&2
fi

python3 - "$work" <<'PY'
import json, os, subprocess, sys
w = sys.argv[1]
r = {k: json.load(open(os.path.join(w, k + ".json"))) for k in ("medlens_270m", "medlens_4b_text", "medlens_4b_image", "torch")}
def ratio(a, b):
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0 else None
t = r["torch"]
ratios = {}
for ours, ref in (("medlens_270m", "gemma3-270m"), ("medlens_4b_text", "medgemma-4b-text")):
    for k in ("prefill_tokens_per_s", "decode_tokens_per_s"):
        ratios[f"{ref} {k}"] = ratio(r[ours].get(k), t.get(ref, {}).get(k))
img = r["medlens_4b_image"]
r["medlens_4b_image_to_first_token_s"] = img["vision_encode_s"] + img["prefill_s"] if "vision_encode_s" in img else None
r["ratios_medlens_over_reference"] = ratios
try:
    r["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
except Exception as e:
    r["nvidia_smi"] = f"unavailable: {e}"
print(json.dumps(r, indent=1))
PY
