#!/usr/bin/env bash
# Runs the fuzz targets, each for SECONDS (default 600): `scripts/fuzz.sh [SECONDS] [TARGET...]`
# (all targets when none is named). Corpora start from the committed seeds (fuzz/seeds/TARGET)
# and, for the DICOM target, the shared corpus (../shared/dicom). Crashes land in
# fuzz/artifacts/TARGET; each fixed one becomes a regression test (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(parse_decode gguf_header safetensors_header spiece config_json tokenizer_json)
fi
shared=${MEDLENS_SHARED_DICOM:-../../shared/dicom}
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  if [ -d "seeds/$t" ]; then
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  fi
  limits=(-rss_limit_mb=4096 -timeout=20 -max_len=2000000)
  if [ "$t" = parse_decode ]; then
    find "$shared" -type f -size -2M -print0 | while IFS= read -r -d '' f; do
      cp -n "$f" "corpus/parse_decode/$(echo "$f" | md5sum | cut -c1-16)" 2>/dev/null || true
    done
  else
    # Model-file parsers: any single allocation above 512 MB is a crash (the issue's bound is
    # 600 MB of peak memory for a hostile file), and so is a run above 2 GB.
    limits=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=20 -max_len=1000000)
  fi
  echo "== $t ($secs s)"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" --sanitizer none --release -- \
    -max_total_time="$secs" "${limits[@]}" -print_final_stats=1
done
