#!/usr/bin/env bash
# SigLIP / MedSigLIP suite (crates/engine siglip, preprocess, zeroshot; medlens labels/embed):
# transformers goldens committed under tests/engine/siglip (no torch needed here).
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/apt.sh
source tests/lib/rust.sh
export MEDLENS_CACHE=${MEDLENS_CACHE:-$HOME/.cache/medlens}
need_apt mesa-vulkan-drivers libvulkan1
gold=tests/engine/siglip
model=$gold/tiny-siglip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rust_build

echo "--- siglip: model, preprocessing, zero-shot, spiece and bad-input tests (CPU backend)"
MEDLENS_ENGINE_DEVICE=cpu rust_test siglip --nocapture --test-threads=1
echo "--- siglip: spiece.model reader and tokenizer (transformers' SiglipTokenizer ids, malformed files)"
rust_test spiece
echo "--- siglip: model and zero-shot tests on wgpu (the best adapter; lavapipe without a GPU)"
MEDLENS_ENGINE_DEVICE=wgpu rust_test siglip --nocapture --test-threads=1 \
  siglip_model_matches_transformers zeroshot_probabilities_match_transformers

medlens() { "$MEDLENS_BIN" "$@"; }

echo "--- siglip: medlens labels prints transformers' probabilities (tiny committed model)"
labels="a photo of an arm with no rash;a photo of a leg with a rash;a chest x-ray"
for img in photo dicom; do
  path=$(python3 -c "import json;print(json.load(open('$gold/goldens.json'))['preprocess']['$img']['path'])")
  for mode in sigmoid softmax; do
    out=$(medlens labels --model "$model" "$path" --labels "$labels" --mode $mode --device cpu --json)
    echo "$out" | python3 -c '
import json, sys
out = json.load(sys.stdin); g = json.load(open(sys.argv[1]))
want = g["zeroshot"][sys.argv[2]]["labels"][sys.argv[3]]
got = [s["probability"] for s in out["results"][0]["scores"]]
err = max(abs(a - b) for a, b in zip(got, want))
print(sys.argv[2], sys.argv[3], "medlens", [round(x, 6) for x in got], "transformers", [round(x, 6) for x in want], "max abs err %.2e" % err)
assert len(got) == len(want) and err < 1e-5' "$gold/goldens.json" $img $mode
  done
  out=$(medlens labels --model "$model" "$path" --label-set chest --mode paired --device cpu --json)
  echo "$out" | python3 -c '
import json, sys
out = json.load(sys.stdin); g = json.load(open(sys.argv[1]))
want = g["zeroshot"][sys.argv[2]]["chest"]["paired"]
got = [s["probability"] for s in out["results"][0]["scores"]]
err = max(abs(a - b) for a, b in zip(got, want))
print(sys.argv[2], "chest paired: 13 labels, max abs err %.2e" % err)
assert len(got) == 13 and err < 1e-5' "$gold/goldens.json" $img
done

echo "--- siglip: medlens labels on a DICOM folder (CSV, one row per image)"
csv=$(medlens labels --model "$model" samples/mr-volume --label-set chest --device cpu)
echo "$csv" | head -3
rows=$(echo "$csv" | tail -n +2 | wc -l)
n=$(ls samples/mr-volume/*.dcm | wc -l)
test "$rows" -eq "$n" || { echo "expected $n rows, got $rows"; exit 1; }
medlens labels --model "$model" samples/mr-volume/brain_001.dcm --window 600,1200 --labels "brain;chest" --device cpu

echo "--- siglip: bad input is a clear error"
if medlens labels --model "$model" "$gold/images/photo.png" --labels " ; " --device cpu 2>"$tmp/err.txt"; then echo "empty labels accepted"; exit 1; fi
grep -q "empty" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }; cat "$tmp/err.txt"
echo "{ not json" > "$tmp/bad-labels.json"
if medlens labels --model "$model" "$gold/images/photo.png" --label-set "$tmp/bad-labels.json" --device cpu 2>"$tmp/err.txt"; then echo "bad JSON accepted"; exit 1; fi
grep -q "not valid JSON" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }; cat "$tmp/err.txt"

echo "--- siglip: medlens embed writes .npy"
medlens embed --model "$model" --image "$gold/images/photo.png" --text "cardiomegaly" --text "edema" -o "$tmp/e.npy" --device cpu
python3 -c "
import sys
b = open('$tmp/e.npy','rb').read()
assert b[:6] == b'\x93NUMPY', b[:6]
h = b[10:10+int.from_bytes(b[8:10],'little')].decode()
assert \"'shape': (3, 32)\" in h, h
assert len(b) == 10 + int.from_bytes(b[8:10],'little') + 3*32*4
print('embed ok:', h.strip())"
echo "siglip suite passed"
