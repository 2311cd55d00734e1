#!/usr/bin/env python3
"""Synthetic LUT / VOI test files and their pydicom display reference.

Usage (from anywhere):
    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/lut/make_lut_reference.py

Writes tests/dicom/lut/files/<name>.dcm (small synthetic DICOM files, Explicit VR Little
Endian) and tests/dicom/lut/expected/<name>.json (see tests/dicom/lut/README.md).
No corpus needed. Outputs are deterministic (UIDs derived from the case name).

Pipeline recorded per file (pydicom 3.0.2, pydicom.pixels.processing):
    arr  = ds.pixel_array                       (stored values)
    mod  = apply_modality_lut(arr, ds)          -> "modality"
    out  = apply_voi_lut(mod, ds, prefer_lut=P) (P = False: our viewer prefers the window)
    norm = (out - y_min) / (y_max - y_min)      (y_min/y_max: pydicom's output range, see README)
    u8   = floor(norm * 255 + 0.5); MONOCHROME1: 255 - u8
"""
from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
import tempfile
import sys
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi, apply_voi_lut, apply_windowing
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
EXPECTED = HERE / "expected"
ROWS, COLS = 64, 32  # non-square on purpose (row-major order); keeps the outputs < 500 KB
N = ROWS * COLS


# ---------------------------------------------------------------------------- helpers

def ramp(lo: int, hi: int) -> np.ndarray:
    """N values from lo to hi inclusive (row-major), integer, monotonic."""
    i = np.arange(N, dtype=np.int64)
    return lo + (i * (hi - lo)) // (N - 1)


def base_ds(name: str, *, bits_stored: int, signed: bool, photometric: str = "MONOCHROME2",
            modality: str = "OT") -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    sop_uid = generate_uid(entropy_srcs=["medlens-lut", name, "sop"])
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = "20260101"
    ds.ContentDate = "20260101"
    ds.Modality = modality
    ds.ConversionType = "SYN"
    ds.PatientName = "MEDLENS^LUT"
    ds.PatientID = "LUT-" + name
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["medlens-lut", "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["medlens-lut", name, "series"])
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImageComments = f"medlens synthetic LUT test case {name}"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows = ROWS
    ds.Columns = COLS
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    return ds


def set_pixels(ds: Dataset, values: np.ndarray) -> None:
    dt = "<i2" if ds.PixelRepresentation else "<u2"
    bs = ds.BitsStored
    lo, hi = ((-(1 << (bs - 1)), (1 << (bs - 1)) - 1) if ds.PixelRepresentation
              else (0, (1 << bs) - 1))
    assert values.min() >= lo and values.max() <= hi, (values.min(), values.max(), lo, hi)
    ds.PixelData = values.astype(dt).reshape(ROWS, COLS).tobytes()
    ds["PixelData"].VR = "OW"


def lut_item(n_entries: int, first: int, bits: int, data: list[int], *,
             desc_vr: str = "US", packed8: bool = False, explanation: str = "") -> Dataset:
    """LUT item: LUT Descriptor (VR US or SS; the 1st value is always written as US by pydicom),
    LUT Data as OW little endian, one entry per 16-bit word (or two 8-bit entries per word
    when packed8)."""
    assert len(data) == n_entries
    item = Dataset()
    item.add_new(0x00283002, desc_vr, [n_entries % 65536, first, bits])
    if explanation:
        item.LUTExplanation = explanation
    if packed8:
        raw = bytes(data)
        if len(raw) % 2:
            raw += b"\0"
    else:
        raw = struct.pack(f"<{n_entries}H", *data)
    item.add_new(0x00283006, "OW", raw)
    return item


def gamma_lut(n: int, bits: int, gamma: float) -> list[int]:
    top = (1 << bits) - 1
    return [int(math.floor(top * (k / (n - 1)) ** gamma + 0.5)) for k in range(n)]


# ---------------------------------------------------------------------------- cases
# Each case returns (dataset, info) where info has "prefer_lut" and a description.

def case_a():
    ds = base_ds("a_mlut_u16", bits_stored=16, signed=False)
    set_pixels(ds, ramp(0, 4400))  # LUT maps 100..4195: below and above covered
    ds.ModalityLUTSequence = [lut_item(4096, 100, 16, gamma_lut(4096, 16, 0.5),
                                       explanation="gamma 0.5")]
    ds.ModalityLUTType = "US"  # unspecified
    ds.WindowCenter = 30000
    ds.WindowWidth = 40000
    return ds, "16-bit unsigned, Modality LUT Sequence [4096, 100, 16] (gamma 0.5, OW), " \
               "window 30000/40000 LINEAR on the LUT output"


def case_b():
    ds = base_ds("b_mlut_s16", bits_stored=16, signed=True)
    set_pixels(ds, ramp(-1500, 1500))  # LUT maps -1024..1023
    ds.ModalityLUTSequence = [lut_item(2048, -1024, 16, gamma_lut(2048, 16, 2.0),
                                       desc_vr="SS", explanation="gamma 2.0")]
    ds.ModalityLUTType = "US"
    ds.WindowCenter = 20000
    ds.WindowWidth = 30000
    return ds, "16-bit SIGNED, Modality LUT Sequence [2048, -1024, 16] with LUT Descriptor " \
               "VR SS (first value written as US 2048, second as SS -1024), gamma 2.0, window 20000/30000"


def case_b2():
    ds = base_ds("b2_mlut_s16_desc_us", bits_stored=16, signed=True)
    set_pixels(ds, ramp(-1500, 1500))
    ds.ModalityLUTSequence = [lut_item(2048, 65536 - 1024, 16, gamma_lut(2048, 16, 2.0),
                                       desc_vr="US", explanation="gamma 2.0")]
    ds.ModalityLUTType = "US"
    ds.WindowCenter = 20000
    ds.WindowWidth = 30000
    return ds, "as b but LUT Descriptor written with VR US [2048, 64512, 16] (64512 = -1024 as " \
               "two's complement). pydicom takes 64512 literally (see README)"


def voi_12bit(name: str, bits: int, n: int = 2048, first: int = 1000, packed8: bool = False):
    ds = base_ds(name, bits_stored=12, signed=False)
    set_pixels(ds, ramp(0, 4095))
    ds.VOILUTSequence = [lut_item(n, first, bits, gamma_lut(n, bits, 0.6), packed8=packed8,
                                  explanation=f"gamma 0.6, {bits}-bit")]
    return ds


def case_c8():
    return voi_12bit("c8_vlut_12s_8bit", 8), \
        "12-bit stored, VOI LUT Sequence [2048, 1000, 8] (one 8-bit entry per 16-bit word), no window"


def case_c12():
    return voi_12bit("c12_vlut_12s_12bit", 12), \
        "12-bit stored, VOI LUT Sequence [2048, 1000, 12], no window"


def case_c16():
    return voi_12bit("c16_vlut_12s_16bit", 16), \
        "12-bit stored, VOI LUT Sequence [2048, 1000, 16], no window"


def case_d():
    ds = base_ds("d_window_and_vlut", bits_stored=12, signed=False)
    set_pixels(ds, ramp(0, 4095))
    ds.VOILUTSequence = [lut_item(4096, 0, 16, gamma_lut(4096, 16, 0.6), explanation="gamma 0.6")]
    ds.WindowCenter = 1500
    ds.WindowWidth = 1000
    return ds, "12-bit stored, both window 1500/1000 (LINEAR) and VOI LUT [4096, 0, 16]; " \
               "u8 = window (prefer_lut=False), u8_lut = the LUT (prefer_lut=True, pydicom's default)"


def case_e():
    ds = base_ds("e_linear_exact", bits_stored=12, signed=False, modality="CT")
    set_pixels(ds, ramp(0, 4095))
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.RescaleType = "HU"
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    ds.VOILUTFunction = "LINEAR_EXACT"
    return ds, "12-bit stored, rescale 1/-1024, window 40/400, VOI LUT Function LINEAR_EXACT"


def case_e2():
    ds = base_ds("e2_linear_exact_w1", bits_stored=12, signed=False)
    set_pixels(ds, ramp(0, 4095))
    ds.WindowCenter = "2000.25"
    ds.WindowWidth = "0.5"
    ds.VOILUTFunction = "LINEAR_EXACT"
    return ds, "12-bit stored, LINEAR_EXACT with width 0.5 < 1 (allowed for LINEAR_EXACT, " \
               "not for LINEAR), centre 2000.25"


def case_f():
    ds = base_ds("f_sigmoid", bits_stored=12, signed=False)
    set_pixels(ds, ramp(0, 4095))
    ds.WindowCenter = 2048
    ds.WindowWidth = 1000
    ds.VOILUTFunction = "SIGMOID"
    return ds, "12-bit stored, window 2048/1000, VOI LUT Function SIGMOID"


def case_f2():
    ds = base_ds("f2_sigmoid_signed_rescale", bits_stored=16, signed=True, modality="CT")
    set_pixels(ds, ramp(-2000, 3000))
    ds.RescaleSlope = "0.5"
    ds.RescaleIntercept = "-100"
    ds.WindowCenter = 200
    ds.WindowWidth = 600
    ds.VOILUTFunction = "SIGMOID"
    return ds, "16-bit signed, rescale 0.5/-100, window 200/600 SIGMOID"


def case_g():
    ds = base_ds("g_mono1_rescale", bits_stored=12, signed=False, photometric="MONOCHROME1")
    set_pixels(ds, ramp(0, 4095))
    ds.RescaleSlope = 2
    ds.RescaleIntercept = -100
    ds.WindowCenter = "3000.5"
    ds.WindowWidth = 2001
    return ds, "MONOCHROME1, 12-bit stored, rescale 2/-100, window 3000.5/2001 LINEAR; u8 inverted"


def case_h():
    return voi_12bit("h_vlut_8bit_packed", 8, n=2048, packed8=True), \
        "12-bit stored, VOI LUT [2048, 1000, 8] with the 8-bit entries packed two per 16-bit " \
        "word (LUT Data 1024 words). pydicom 3.0.2 cannot read it (struct.error): expected values " \
        "come from the numpy spec lookup only"


CASES = [case_a, case_b, case_b2, case_c8, case_c12, case_c16, case_d, case_e, case_e2,
         case_f, case_f2, case_g, case_h]


# ---------------------------------------------------------------------------- reference

def pydicom_range(ds: Dataset, voi: str):
    """The output range of pydicom's VOI step (copied logic, see README)."""
    if voi == "lut":
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        return 0.0, float(2 ** bits - 1)
    if ds.get("ModalityLUTSequence"):
        y_min, y_max = 0.0, float(2 ** int(ds.ModalityLUTSequence[0].LUTDescriptor[2]) - 1)
    elif ds.PixelRepresentation == 0:
        y_min, y_max = 0.0, float(2 ** ds.BitsStored - 1)
    else:
        y_min, y_max = float(-(2 ** (ds.BitsStored - 1))), float(2 ** (ds.BitsStored - 1) - 1)
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        s, i = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        y_min, y_max = y_min * s + i, y_max * s + i
    return y_min, y_max


def to_u8(out: np.ndarray, y_min: float, y_max: float, mono1: bool):
    norm = (out.astype(np.float64) - y_min) / (y_max - y_min)
    x = norm * 255.0
    u8 = np.floor(x + 0.5).astype(np.int64)
    assert u8.min() >= 0 and u8.max() <= 255
    # pixels whose x is within 1e-6 of a .5 boundary: float rounding may go either way
    frac = x - np.floor(x)
    ties = np.nonzero(np.abs(frac - 0.5) < 1e-6)[0]
    if mono1:
        u8 = 255 - u8
    return norm, u8, ties


def read_lut(item: Dataset, packed8: bool = False) -> tuple[int, int, int, np.ndarray]:
    desc = [int(v) for v in item.LUTDescriptor]
    n = desc[0] or 65536
    raw = bytes(item.LUTData)
    if packed8:
        data = np.frombuffer(raw, dtype=np.uint8)[:n]
    else:
        data = np.frombuffer(raw, dtype="<u2")[:n]
    return n, desc[1], desc[2], data.astype(np.int64)


def spec_lut(x: np.ndarray, n: int, first: int, data: np.ndarray) -> np.ndarray:
    """PS3.3 C.11.1.1 / C.11.2.1.1: values below the first mapped one get the first entry,
    above the last one the last entry."""
    idx = np.clip(x.astype(np.int64) - first, 0, n - 1)
    return data[idx]


def spec_window(x: np.ndarray, func: str, c: float, w: float) -> np.ndarray:
    """Independent PS3.3 formulas, output in [0, 1]."""
    x = x.astype(np.float64)
    if func == "LINEAR":
        lo, hi = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            y = (x - (c - 0.5)) / (w - 1) + 0.5
        return np.where(x <= lo, 0.0, np.where(x > hi, 1.0, y))
    if func == "LINEAR_EXACT":
        y = (x - c) / w + 0.5
        return np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 1.0, y))
    if func == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    raise ValueError(func)


def reference(name: str, path: Path, desc: str) -> dict:
    packed8 = name.startswith("h_")
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("always")
        ds = dcmread(path)
        arr = ds.pixel_array
    mono1 = ds.PhotometricInterpretation == "MONOCHROME1"
    has_win = "WindowCenter" in ds and "WindowWidth" in ds
    has_vlut = bool(ds.get("VOILUTSequence"))
    voi = "window" if has_win else ("lut" if has_vlut else "none")
    func = str(ds.get("VOILUTFunction", "LINEAR")).upper() if voi == "window" else None

    flat = arr.reshape(-1)
    rec: dict = {
        "file": f"files/{name}.dcm",
        "description": desc,
        "rows": int(ds.Rows), "columns": int(ds.Columns),
        "bits_stored": int(ds.BitsStored), "pixel_representation": int(ds.PixelRepresentation),
        "photometric": str(ds.PhotometricInterpretation),
        "stored_min": int(flat.min()), "stored_max": int(flat.max()),
    }

    # ---- modality LUT
    if ds.get("ModalityLUTSequence"):
        n, first, bits, data = read_lut(ds.ModalityLUTSequence[0])
        rec["modality_lut"] = {"type": "lut", "descriptor": [int(v) for v in
                               ds.ModalityLUTSequence[0].LUTDescriptor],
                               "descriptor_vr": ds.ModalityLUTSequence[0]["LUTDescriptor"].VR,
                               "data_words": len(ds.ModalityLUTSequence[0].LUTData) // 2}
        mod_spec = spec_lut(flat, n, first if ds.PixelRepresentation == 0 or
                            ds.ModalityLUTSequence[0]["LUTDescriptor"].VR == "SS"
                            else (first - 65536 if first >= 32768 else first), data)
    elif "RescaleSlope" in ds and "RescaleIntercept" in ds:
        rec["modality_lut"] = {"type": "rescale", "slope": float(ds.RescaleSlope),
                               "intercept": float(ds.RescaleIntercept)}
        mod_spec = flat * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    else:
        rec["modality_lut"] = {"type": "none"}
        mod_spec = flat
    try:
        mod = apply_modality_lut(arr, ds)
        rec["pydicom_modality_error"] = None
        rec["modality_source"] = "pydicom"
    except Exception as exc:  # noqa: BLE001
        # pydicom cannot apply it: continue with the spec modality output (as pydicom's
        # own dtype for a LUT: uint<bits>) so the VOI step is still pydicom's
        rec["pydicom_modality_error"] = f"{type(exc).__name__}: {exc}"
        rec["modality_source"] = "spec (pydicom failed)"
        bits = int(ds.ModalityLUTSequence[0].LUTDescriptor[2])
        mod = np.asarray(mod_spec).astype(f"uint{bits}").reshape(arr.shape)
    mflat = mod.reshape(-1)
    rec["modality_dtype"] = str(mod.dtype)
    # floats that are integral are written as ints (JSON 1024 instead of 1024.0)
    rec["modality"] = [(int(v) if float(v).is_integer() else float(v)) if mod.dtype.kind == "f"
                       else int(v) for v in mflat]
    rec["modality_matches_spec"] = bool(np.array_equal(mflat.astype(np.float64),
                                                       np.asarray(mod_spec, dtype=np.float64)))

    # ---- VOI
    rec["voi"] = voi
    rec["function"] = func
    if has_win:
        rec["center"] = float(ds.WindowCenter if ds["WindowCenter"].VM == 1 else ds.WindowCenter[0])
        rec["width"] = float(ds.WindowWidth if ds["WindowWidth"].VM == 1 else ds.WindowWidth[0])
    if has_vlut:
        vitem = ds.VOILUTSequence[0]
        n, first, bits, vdata = read_lut(vitem, packed8)
        rec["voi_lut"] = {"descriptor": [int(v) for v in vitem.LUTDescriptor],
                          "descriptor_vr": vitem["LUTDescriptor"].VR,
                          "packed_8bit": packed8, "data_words": len(vitem.LUTData) // 2}

    if voi == "none":
        raise SystemExit(f"{name}: no VOI")

    # pydicom: apply_voi_lut with prefer_lut=False (our viewer's order: window first)
    try:
        out = apply_voi_lut(mod, ds, prefer_lut=False)
        err = None
    except Exception as exc:  # noqa: BLE001
        out, err = None, f"{type(exc).__name__}: {exc}"
    if voi == "window":
        win = apply_windowing(mod, ds)
        assert out is not None and np.array_equal(out, win)

    y_min, y_max = pydicom_range(ds, voi)
    rec["y_min"], rec["y_max"] = y_min, y_max
    if voi == "window":
        spec_norm = spec_window(np.asarray(mod_spec), func, rec["center"], rec["width"])
    else:
        spec_norm = spec_lut(np.asarray(mod_spec), n, first, vdata) / float(2 ** bits - 1)
    spec_x = spec_norm * 255.0
    spec_u8 = np.floor(spec_x + 0.5).astype(np.int64)
    if mono1:
        spec_u8 = 255 - spec_u8

    if out is not None:
        oflat = out.reshape(-1)
        rec["pydicom_dtype"] = str(out.dtype)
        norm, u8, ties = to_u8(oflat, y_min, y_max, mono1)
        rec["pydicom_out_min"] = float(oflat.min())
        rec["pydicom_out_max"] = float(oflat.max())
        rec["u8"] = [int(v) for v in u8]
        rec["ties"] = [int(v) for v in ties]
        rec["max_abs_norm_diff_vs_spec"] = float(np.max(np.abs(norm - spec_norm)))
        diff = np.nonzero(u8 != spec_u8)[0]
        rec["u8_matches_spec"] = bool(diff.size == 0)
        rec["u8_spec_mismatch_count"] = int(diff.size)
        rec["u8_spec_mismatch_not_ties"] = int(np.setdiff1d(diff, ties).size)
        rec["u8_source"] = "pydicom" if rec["modality_source"] == "pydicom" else \
            "spec modality + pydicom VOI"
        if rec["u8_spec_mismatch_not_ties"]:
            # pydicom is wrong here (c8: 8-bit VOI LUT index wraps, see README):
            # u8 = the PS3.3 value, pydicom's own result kept as u8_pydicom
            rec["u8_pydicom"] = rec["u8"]
            rec["u8"] = [int(v) for v in spec_u8]
            rec["u8_source"] = "spec (pydicom result differs, kept in u8_pydicom)"
        rec["pydicom_error"] = None
    else:
        rec["pydicom_error"] = err
        rec["u8"] = [int(v) for v in spec_u8]
        rec["u8_source"] = "spec (pydicom failed)"
        rec["ties"] = []

    # both window and LUT: also what the LUT gives (pydicom's default prefer_lut=True)
    if has_win and has_vlut:
        out_l = apply_voi_lut(mod, ds)  # prefer_lut=True
        assert np.array_equal(out_l, apply_voi(mod, ds))
        ly_min, ly_max = pydicom_range(ds, "lut")
        _, u8l, _ = to_u8(out_l.reshape(-1), ly_min, ly_max, mono1)
        rec["u8_lut"] = [int(v) for v in u8l]
        rec["lut_y_min"], rec["lut_y_max"] = ly_min, ly_max
        spec_l = np.floor(spec_lut(np.asarray(mod_spec), n, first, vdata)
                          / float(2 ** bits - 1) * 255 + 0.5).astype(np.int64)
        rec["u8_lut_matches_spec"] = bool(np.array_equal(u8l, spec_l))

    rec["warnings"] = [str(w.message) for w in wlist]
    return rec


def check_dcmtk(index: list[dict]) -> None:
    """Optional second opinion: dcmtk's dcm2pnm (+Wi 1 window / +Wl 1 VOI LUT, 8-bit PGM).
    Adds dcmtk_max_abs_diff / dcmtk_diff_count (vs u8) to index.json; not used for u8."""
    exe = shutil.which("dcm2pnm")
    if not exe:
        return
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        for entry in index:
            name = Path(entry["file"]).stem
            rec = json.loads((EXPECTED / f"{name}.json").read_text())
            opt = "+Wl" if entry["voi"] == "lut" else "+Wi"
            out = Path(tmp) / f"{name}.pgm"
            r = subprocess.run([exe, "-q", opt, "1", "+op", str(HERE / entry["file"]), str(out)],
                               capture_output=True, text=True)
            if r.returncode or not out.exists():
                entry["dcmtk"] = f"dcm2pnm failed rc={r.returncode}: {r.stderr.strip()[:200]}"
                continue
            px = np.frombuffer(out.read_bytes()[-N:], dtype=np.uint8).astype(np.int64)
            d = np.abs(px - np.asarray(rec["u8"]))
            entry["dcmtk"] = f"{ver[0].strip('$ ') if ver else 'dcm2pnm'} {opt} 1"
            entry["dcmtk_max_abs_diff"] = int(d.max())
            entry["dcmtk_diff_count"] = int((d > 0).sum())


def main() -> int:
    FILES.mkdir(exist_ok=True)
    EXPECTED.mkdir(exist_ok=True)
    index = []
    for fn in CASES:
        ds, desc = fn()
        name = ds.PatientID[len("LUT-"):]
        path = FILES / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        rec = reference(name, path, desc)
        (EXPECTED / f"{name}.json").write_text(json.dumps(rec, separators=(",", ":")) + "\n")
        index.append({k: rec.get(k) for k in (
            "file", "description", "voi", "function", "center", "width", "y_min", "y_max",
            "u8_source", "pydicom_modality_error", "pydicom_error", "u8_matches_spec", "u8_spec_mismatch_count",
            "modality_matches_spec", "ties")})
        index[-1]["ties"] = len(rec["ties"])
        print(f"{name}: voi={rec['voi']} y=[{rec['y_min']}, {rec['y_max']}] "
              f"src={rec['u8_source']} spec_match={rec.get('u8_matches_spec')} "
              f"mism={rec.get('u8_spec_mismatch_count')} ties={len(rec['ties'])} "
              f"mod_match={rec['modality_matches_spec']} "
              f"moderr={rec['pydicom_modality_error']} err={rec['pydicom_error']}")
    check_dcmtk(index)
    versions = {"python": sys.version.split()[0], "pydicom": pydicom.__version__,
                "numpy": np.__version__}
    (EXPECTED / "index.json").write_text(json.dumps({"versions": versions, "cases": index},
                                                    indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
