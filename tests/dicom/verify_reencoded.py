#!/usr/bin/env python3
"""Verify re-encoded files decode (pydicom) bit-identical to their source; write index.json.

Usage: verify_reencoded.py MADE.tsv CORPUS_DIR OUT_INDEX_JSON   (called by make_reencoded.sh)
A file pydicom cannot verify is deleted and left out of the index (reported on stderr).
"""
from __future__ import annotations

import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
from pydicom import dcmread

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_reference import write_json  # noqa: E402


def main() -> int:
    made, corpus, index_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    base = index_path.parent.parent  # tests/dicom
    entries, dropped = [], []
    for line in made.read_text().splitlines():
        rel, src, tool, nf_src = line.split("\t")
        nf_src = int(nf_src) if nf_src else None  # only the first nf_src source frames
        path = base / rel
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sds = dcmread(corpus / src)
                ds = dcmread(path)
                a, b = sds.pixel_array, ds.pixel_array
                if nf_src:
                    a = a[:nf_src]
            same = a.shape == b.shape and np.array_equal(a.astype("<i8"), b.astype("<i8"))
            why = None if same else f"pixels differ (shape {a.shape} vs {b.shape}, dtype {a.dtype} vs {b.dtype})"
        except Exception as exc:  # noqa: BLE001
            why = f"{type(exc).__name__}: {exc}"
        if why:
            dropped.append((rel, why))
            path.unlink(missing_ok=True)
            continue
        nf = int(ds.get("NumberOfFrames", 1) or 1)
        spp = int(ds.SamplesPerPixel)
        full = b.reshape((nf, int(ds.Rows), int(ds.Columns)) + ((spp,) if spp > 1 else ()))
        entries.append({
            "file": rel,
            "source": src,
            "source_frames": nf_src,  # null: all frames; n: the source's first n frames
            "transfer_syntax_uid": str(ds.file_meta.TransferSyntaxUID),
            "tool": f"{tool} <source> <file>",
            "photometric": str(ds.PhotometricInterpretation),
            "source_photometric": str(sds.PhotometricInterpretation),
            "bits_allocated": int(ds.BitsAllocated), "bits_stored": int(ds.BitsStored),
            "pixel_representation": int(ds.PixelRepresentation),
            "planar_configuration": int(ds.PlanarConfiguration) if "PlanarConfiguration" in ds else None,
            "frames": nf, "rows": int(ds.Rows), "columns": int(ds.Columns), "samples": spp,
            "bytes": path.stat().st_size,
            # same convention as reference/pixels.json: pydicom default pixel_array,
            # shape (frames, rows, cols[, samples]), as '<i8', C order
            "sha256": hashlib.sha256(np.ascontiguousarray(full.astype("<i8")).tobytes()).hexdigest(),
        })
    write_json(index_path, entries)
    for rel, why in dropped:
        print(f"DROPPED {rel}: {why}", file=sys.stderr)
    print(f"index.json: {len(entries)} verified, {len(dropped)} dropped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
