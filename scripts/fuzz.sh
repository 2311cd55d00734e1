#!/usr/bin/env bash
# Runs the fuzz targets, each for SECONDS (default 600): `scripts/fuzz.sh [SECONDS] [TARGET...]`
# (all targets when none is named); with MEDLENS_FUZZ_RUNS=N, each for N executions instead.
# MEDLENS_FUZZ_TARGET_DIR puts the build outside the checkout. Corpora start from the committed seeds (fuzz/seeds/TARGET)
# and, for the DICOM target, the shared corpus (../shared/dicom). Crashes land in
# fuzz/artifacts/TARGET; each fixed one becomes a regression test (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(parse_decode plain_image gguf_header safetensors_header spiece config_json tokenizer_json)
fi
shared=${MEDLENS_SHARED_DICOM:-../../shared/dicom}
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  # The committed corpus (minimized with -merge=1 at the end of a campaign) seeds a fresh one.
  if [ -f "corpora/$t.tar.xz" ]; then
    tar -xJf "corpora/$t.tar.xz" -C corpus --skip-old-files
  fi
  if [ -d "seeds/$t" ]; then
    cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  fi
  limits=(-rss_limit_mb=4096 -timeout=20 -max_len=2000000)
  if [ "$t" = parse_decode ]; then
    find "$shared" -type f -size -2M -print0 | while IFS= read -r -d '' f; do
      cp -n "$f" "corpus/parse_decode/$(echo "$f" | md5sum | cut -c1-16)" 2>/dev/null || true
    done
  elif [ "$t" = plain_image ]; then
    # Plain images: the decoded image is bounded at 256 MiB (plain::MAX_BYTES); no single
    # allocation may pass issue 16's 600 MB.
    limits=(-rss_limit_mb=2048 -malloc_limit_mb=600 -timeout=20 -max_len=1000000)
  else
    # Model-file parsers: any single allocation above 512 MB is a crash (the issue's bound is
    # 600 MB of peak memory for a hostile file), and so is a run above 2 GB.
    limits=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=20 -max_len=1000000)
  fi
  # MEDLENS_FUZZ_MAX_LEN caps the input size (larger corpus files are read truncated): smaller
  # inputs run many times faster where a full-size file is slow to go through (spiece, DICOM).
  if [ -n "${MEDLENS_FUZZ_MAX_LEN:-}" ]; then limits+=(-max_len="$MEDLENS_FUZZ_MAX_LEN"); fi
  echo "== $t ($secs s)"
  # MEDLENS_FUZZ_RUNS=N stops each target after N executions instead (the issue's count).
  stop=(-max_total_time="$secs")
  if [ -n "${MEDLENS_FUZZ_RUNS:-}" ]; then stop=(-runs="$MEDLENS_FUZZ_RUNS"); fi
  # MEDLENS_FUZZ_SANITIZER=none runs the DICOM and plain-image targets without
  # AddressSanitizer (several times faster; for long counts beside a sanitized run).
  if { [ "$t" = parse_decode ] || [ "$t" = plain_image ]; } && [ "${MEDLENS_FUZZ_SANITIZER:-address}" = none ]; then
    build=(--sanitizer none --no-default-features)
    unset CFLAGS CXXFLAGS
  elif [ "$t" = parse_decode ] || [ "$t" = plain_image ]; then
    # The decoders in C and C++ (OpenJPEG, CharLS, libjpeg-turbo, built from source) under
    # AddressSanitizer, with the Rust around them; without the engine, so the build stays
    # small. Leak checks off: the codecs' one-time tables are not leaks worth a crash.
    build=(--sanitizer address --no-default-features)
    export CFLAGS="-fsanitize=address -fno-omit-frame-pointer" CXXFLAGS="-fsanitize=address -fno-omit-frame-pointer"
    limits+=(-detect_leaks=0)
  else
    # Safe Rust only: no sanitizer needed to find a panic or an allocation the bytes do not
    # justify.
    build=(--sanitizer none)
    unset CFLAGS CXXFLAGS
  fi
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "${build[@]}" --release ${MEDLENS_FUZZ_TARGET_DIR:+--target-dir "$MEDLENS_FUZZ_TARGET_DIR"} -- \
    "${stop[@]}" "${limits[@]}" -print_final_stats=1
done
