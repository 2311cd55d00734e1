#!/usr/bin/env python3
"""Independent pydicom reference data for crates/dicom.

Usage (from anywhere):
    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/make_reference.py            # pixels.json + arrays + render
    python3 tests/dicom/make_reference.py pixels     # only pixels.json (+ arrays/)
    python3 tests/dicom/make_reference.py render     # only render.json (+ render/)

Corpus: $MEDLENS_SHARED_DICOM, else ../shared/dicom relative to the repo root.
Outputs go to tests/dicom/reference/ (see tests/dicom/README.md for the formats).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder, pixel_array

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = Path(os.environ.get("MEDLENS_SHARED_DICOM", REPO / ".." / "shared" / "dicom")).resolve()
OUT = HERE / "reference"

# Transfer syntaxes whose decoded values may legitimately differ from the encoder
# input (and between decoders, by rounding).
# Record which decoding plugin pydicom used (it tries gdcm, pylibjpeg, pillow/pyjpegls/
# pydicom in a fixed order per transfer syntax and returns the first success).
from pydicom.pixels.decoders import base as _dbase  # noqa: E402

_PLUGINS_USED: set[str] = set()
_orig_decode_frame = _dbase.DecodeRunner._decode_frame


def _recording_decode_frame(self, src):
    out = _orig_decode_frame(self, src)
    _PLUGINS_USED.add(self._previous[0])
    return out


_dbase.DecodeRunner._decode_frame = _recording_decode_frame

LOSSY_TS = {
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 & 4)
    "1.2.840.10008.1.2.4.52", "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.54",
    "1.2.840.10008.1.2.4.55", "1.2.840.10008.1.2.4.56", "1.2.840.10008.1.2.4.59",
    "1.2.840.10008.1.2.4.60", "1.2.840.10008.1.2.4.61", "1.2.840.10008.1.2.4.62",
    "1.2.840.10008.1.2.4.63", "1.2.840.10008.1.2.4.64",  # retired lossy JPEG processes
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Lossy (Near-Lossless)
    "1.2.840.10008.1.2.4.91",  # JPEG 2000 (lossy or lossless)
    "1.2.840.10008.1.2.4.93",  # JPEG 2000 Part 2 multi-component (lossy or lossless)
    "1.2.840.10008.1.2.4.203",  # HTJ2K (lossy or lossless)
}


def read_manifest() -> list[str]:
    lines = (CORPUS / "MANIFEST.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert header[0] == "path", header
    return [ln.split("\t")[0] for ln in lines[1:] if ln.strip()]


def read_ds(path: Path):
    """dcmread; files without a File Meta header are retried with force=True."""
    try:
        return dcmread(path), False
    except InvalidDicomError:
        return dcmread(path, force=True), True


def sha256_i8(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr.astype("<i8")).tobytes()).hexdigest()


def getint(ds, kw, bad: dict | None = None):
    """int value of an element; None when absent/empty/unparseable (then noted in `bad`)."""
    v = ds.get(kw)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        if bad is not None:
            bad[kw] = str(v)
        return None


def mangle(rel: str) -> str:
    return rel.replace("/", "__")


def decoded_photometric(ds, raw: bool):
    """Photometric interpretation of the array pydicom returns (decoder metadata)."""
    ts = ds.file_meta.TransferSyntaxUID
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, meta = get_decoder(ts).as_array(ds, raw=raw, index=0)
    return str(meta.get("photometric_interpretation"))


def full_shape(ds, arr):
    """(frames, rows, cols[, samples]) whatever pydicom returned."""
    frames = getint(ds, "NumberOfFrames") or 1
    spp = getint(ds, "SamplesPerPixel") or 1
    shp = (frames, int(ds.Rows), int(ds.Columns)) + ((spp,) if spp > 1 else ())
    return arr.reshape(shp)


def make_pixels() -> dict:
    arrays_dir = OUT / "arrays"
    arrays_dir.mkdir(parents=True, exist_ok=True)
    for old in arrays_dir.glob("*.npy.gz"):
        old.unlink()
    result = {}
    for rel in read_manifest():
        path = CORPUS / rel
        e = {
            "decodes": False, "error": None, "forced": False, "warnings": [],
            "rows": None, "columns": None, "frames": None, "samples": None,
            "bits_allocated": None, "bits_stored": None, "pixel_representation": None,
            "photometric": None, "transfer_syntax_uid": None,
            "dtype": None, "shape": None, "sha256": None, "lossy": False,
            "min": None, "max": None,
        }
        result[rel] = e
        try:
            with warnings.catch_warnings(record=True) as rl:
                warnings.simplefilter("always")
                ds, forced = read_ds(path)
                ds.get("NumberOfFrames")  # values are parsed lazily: surface their warnings here
        except Exception as exc:  # noqa: BLE001
            e["error"] = f"{type(exc).__name__}: {exc}"
            continue
        if rl:
            e["read_warnings"] = sorted({str(w.message) for w in rl})
        e["forced"] = forced
        fm = getattr(ds, "file_meta", None)
        ts = fm.get("TransferSyntaxUID") if fm is not None else None
        e["transfer_syntax_uid"] = str(ts) if ts else None
        bad: dict = {}
        e["rows"] = getint(ds, "Rows", bad)
        e["columns"] = getint(ds, "Columns", bad)
        nf = ds.get("NumberOfFrames")
        e["frames"] = getint(ds, "NumberOfFrames", bad) if nf not in (None, "") else (1 if "PixelData" in ds else None)
        e["samples"] = getint(ds, "SamplesPerPixel", bad)
        e["bits_allocated"] = getint(ds, "BitsAllocated", bad)
        e["bits_stored"] = getint(ds, "BitsStored", bad)
        e["pixel_representation"] = getint(ds, "PixelRepresentation", bad)
        if bad:
            e["unparseable"] = bad  # e.g. badVR.dcm NumberOfFrames "1A"
        pi = ds.get("PhotometricInterpretation")
        e["photometric"] = str(pi) if pi is not None else None
        e["lossy"] = bool((str(ts) in LOSSY_TS) or str(ds.get("LossyImageCompression", "")).strip() == "01")
        if not any(t in ds for t in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            e["error"] = "no pixel data element"
            continue
        _PLUGINS_USED.clear()
        try:
            with warnings.catch_warnings(record=True) as wl:
                warnings.simplefilter("always")
                arr = ds.pixel_array  # pydicom 3 default processing
            e["warnings"] = sorted({str(w.message) for w in wl})
        except Exception as exc:  # noqa: BLE001
            e["error"] = f"{type(exc).__name__}: {exc}"
            continue
        e["decodes"] = True
        # compressed syntaxes only; null for native (uncompressed) pixel data
        e["plugin"] = ",".join(sorted(_PLUGINS_USED)) or None
        e["dtype"] = arr.dtype.str
        e["shape"] = list(arr.shape)
        full = full_shape(ds, arr)
        e["sha256"] = sha256_i8(full)
        e["min"] = int(arr.min())
        e["max"] = int(arr.max())
        if e["samples"] and e["samples"] > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = pixel_array(ds, raw=True)
            e["output_photometric"] = decoded_photometric(ds, raw=False)
            e["raw_photometric"] = decoded_photometric(ds, raw=True)
            if raw.shape != arr.shape or not np.array_equal(raw, arr):
                e["sha256_raw"] = sha256_i8(full_shape(ds, raw))
                e["raw_min"] = int(raw.min())
                e["raw_max"] = int(raw.max())
        if e["photometric"] == "PALETTE COLOR":
            rgb = apply_color_lut(arr, ds)
            e["palette_rgb_dtype"] = rgb.dtype.str
            e["palette_rgb_shape"] = list(rgb.shape)
            e["palette_rgb_sha256"] = sha256_i8(rgb)
        if e["lossy"]:
            f0 = full[0].astype("<i4")
            name = f"{mangle(rel)}.f0.npy.gz"
            buf = io.BytesIO()
            np.save(buf, f0, allow_pickle=False)
            with open(arrays_dir / name, "wb") as fh:
                with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
                    gz.write(buf.getvalue())
            e["array_f0"] = f"arrays/{name}"
    return result


def versions() -> dict:
    import importlib.metadata as md
    out = {}
    for p in ["pydicom", "numpy", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg",
              "pylibjpeg-rle", "pillow"]:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def write_json(path: Path, obj) -> None:
    """Pretty enough to diff: one top-level entry (dict) or item (list) per line."""
    if isinstance(obj, dict):
        body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in obj.items())
        path.write_text("{\n" + body + "\n}\n")
    else:
        body = ",\n".join(f" {json.dumps(v)}" for v in obj)
        path.write_text("[\n" + body + "\n]\n")


def main(argv: list[str]) -> int:
    what = argv[1:] or ["pixels", "render"]
    import importlib.util
    if importlib.util.find_spec("gdcm") is not None:
        print("WARNING: python-gdcm is installed; pydicom will decode with it before "
              "pylibjpeg and lossy references will not match the committed ones", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    if "pixels" in what:
        files = make_pixels()
        write_json(OUT / "pixels.json", files)
        write_json(OUT / "versions.json", versions())
        n = sum(1 for v in files.values() if v["decodes"])
        print(f"pixels.json: {len(files)} files, {n} decode", file=sys.stderr)
    if "render" in what:
        from render_reference import make_render  # tests/dicom/render_reference.py
        make_render(OUT, CORPUS)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main(sys.argv))
