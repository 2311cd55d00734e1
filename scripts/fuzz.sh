#!/usr/bin/env bash
# Runs the DICOM fuzz target for SECONDS (default 600), corpus seeded from ../shared/dicom.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
mkdir -p corpus/parse_decode
shared=${MEDLENS_SHARED_DICOM:-../../shared/dicom}
find "$shared" -type f -size -2M -print0 | while IFS= read -r -d '' f; do
  cp -n "$f" "corpus/parse_decode/$(echo "$f" | md5sum | cut -c1-16)" 2>/dev/null || true
done
RUSTC_BOOTSTRAP=1 cargo fuzz run parse_decode --sanitizer none --release -- \
  -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20 -max_len=2000000 -print_final_stats=1
