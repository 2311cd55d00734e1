#!/usr/bin/env python3
"""What the viewer's measurement tools must show (tests/e2e/measure.e2e.mjs), computed here
with pydicom + numpy from the files' own tags and pixels, never with Medlens code.

    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/measure/make_measure_reference.py   # writes tests/dicom/measure/expected.json

The definitions (the same ones ui/src/measure.ts documents):
  * Points are continuous image coordinates: x along a row (towards higher column numbers),
    y down a column. The pixel in column c, row r covers [c, c+1) x [r, r+1); its centre is
    (c + 0.5, r + 0.5).
  * Calibration, as tests/dicom/make_geometry_fixtures.py derives it (PS3.3 10.7.1.3 and
    C.8.11.7.1): Pixel Spacing (row spacing \\ column spacing), else Imager Pixel Spacing
    (÷ Estimated Radiographic Magnification Factor when present). Physical x = x · column
    spacing, y = y · row spacing, in mm. Without a spacing the unit is "px": Pixel Aspect Ratio
    (vertical \\ horizontal) scaled so the finer side is 1, else 1 \\ 1.
  * Length: the Euclidean distance in physical units. Angle: at the vertex, between the arms,
    in degrees, in physical units.
  * Ellipse ROI from two opposite bounding-box corners: centre (cx, cy), radii (rx, ry) in
    pixels. A pixel is inside when ((c+0.5-cx)/rx)^2 + ((r+0.5-cy)/ry)^2 <= 1. Statistics over
    the modality values (Rescale Slope/Intercept; pydicom's apply_modality_lut): mean,
    population SD (numpy's default ddof=0), min, max, count. Area = pi · rx · ry in physical
    units squared (the ellipse's own area, not the pixel count).
  * Rectangle ROI from two opposite corners: x0 <= x1, y0 <= y1. A pixel is inside when
    x0 <= c+0.5 <= x1 and y0 <= r+0.5 <= y1. The same statistics; area = (x1-x0)·sx ·
    (y1-y0)·sy.
  * Freehand ROI: the closed polygon through its vertices. A pixel is inside when its centre
    passes the even-odd crossing test; area by the shoelace formula, times sx·sy.
  * Probe: the pixel holding a point and its modality value.

The e2e test sets a zoom of a power of two and a pan that puts the image's corner on a whole
screen pixel, so each point here is exactly under a whole screen pixel and the mouse places it
exactly (it checks the placed points). This script checks that moving any ROI corner by
`tolerance_px` changes no pixel's membership, so float rounding in the screen-to-image mapping
cannot change the statistics.
"""
import json
import math
from itertools import product
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CORPUS_ROOT = REPO.parent / "shared" / "dicom"
TOLERANCE_PX = 1e-6


def spacing_of(ds):
    def pair(keyword):
        v = ds.get(keyword)
        if v is None or len(v) != 2:
            return None
        a, b = float(v[0]), float(v[1])
        return (a, b) if a > 0 and b > 0 else None

    ps, ips = pair("PixelSpacing"), pair("ImagerPixelSpacing")
    ermf = ds.get("EstimatedRadiographicMagnificationFactor")
    copy = ps is not None and ips is not None and np.allclose(ps, ips, rtol=1e-6, atol=0) and "PixelSpacingCalibrationType" not in ds
    if ps is not None and not copy:
        return ps, "mm"
    if ips is not None and ermf is not None and float(ermf) > 0:
        return (ips[0] / float(ermf), ips[1] / float(ermf)), "mm"
    if ips is not None:
        return ips, "mm"
    ratio = pair("PixelAspectRatio") or (1.0, 1.0)
    unit = min(ratio)
    return (ratio[0] / unit, ratio[1] / unit), "px"


def inside(shape, rows, cols, pts):
    """The ROI's pixel mask and its area in pixels squared."""
    y = (np.arange(rows) + 0.5)[:, None]
    x = (np.arange(cols) + 0.5)[None, :]
    if shape == "freehand":
        mask = np.zeros((rows, cols), dtype=bool)
        n = len(pts)
        twice = 0.0
        for i in range(n):
            (ax, ay), (bx, by) = pts[i], pts[i - 1]
            crosses = (ay > y) != (by > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                mask ^= crosses & (x < (bx - ax) * (y - ay) / (by - ay) + ax)
            twice += bx * ay - ax * by
        return mask, abs(twice) / 2
    a, b = pts
    if shape == "ellipse":
        cx, cy = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
        rx, ry = abs(b[0] - a[0]) / 2, abs(b[1] - a[1]) / 2
        return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1, math.pi * rx * ry
    x0, x1 = sorted((a[0], b[0]))
    y0, y1 = sorted((a[1], b[1]))
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), (x1 - x0) * (y1 - y0)


def shifts(pts, d):
    """The points moved by up to d: every combination for two points, each vertex alone in x
    and in y for an outline."""
    if len(pts) == 2:
        for da in product((-d, 0, d), repeat=4):
            yield [(pts[0][0] + da[0], pts[0][1] + da[1]), (pts[1][0] + da[2], pts[1][1] + da[3])]
        return
    for i, axis, delta in product(range(len(pts)), (0, 1), (-d, d)):
        moved = [list(p) for p in pts]
        moved[i][axis] += delta
        yield [tuple(p) for p in moved]


def roi(values, sy, sx, shape, *pts):
    rows, cols = values.shape
    mask, area_px = inside(shape, rows, cols, pts)
    # No pixel centre on the boundary: a point shift within the tolerance changes nothing.
    for moved in shifts(pts, TOLERANCE_PX):
        m2, _ = inside(shape, rows, cols, moved)
        assert np.array_equal(m2, mask), f"{shape} ROI {pts} is not robust to a shift to {moved}"
    v = values[mask]
    return {
        "shape": shape,
        "corners": [list(p) for p in pts],
        "count": int(mask.sum()),
        "mean": float(v.mean()),
        "sd": float(v.std()),
        "min": float(v.min()),
        "max": float(v.max()),
        "area": area_px * sx * sy,
    }


def length(sy, sx, a, b):
    return math.hypot((b[0] - a[0]) * sx, (b[1] - a[1]) * sy)


def angle(sy, sx, a, v, c):
    u = np.array([(a[0] - v[0]) * sx, (a[1] - v[1]) * sy])
    w = np.array([(c[0] - v[0]) * sx, (c[1] - v[1]) * sy])
    return math.degrees(math.acos(np.clip(u @ w / (np.linalg.norm(u) * np.linalg.norm(w)), -1, 1)))


def case(path, label, lengths, angles, rois, probes):
    ds = pydicom.dcmread(path)
    values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    (sy, sx), unit = spacing_of(ds)
    rows, cols = values.shape
    return {
        "file": label,
        "modality": str(ds.Modality),
        "rows": rows,
        "columns": cols,
        "pixel_size": [sy, sx],
        "unit": unit,
        "lengths": [{"points": [list(a), list(b)], "length": length(sy, sx, a, b)} for a, b in lengths],
        "angles": [{"points": [list(a), list(v), list(c)], "angle": angle(sy, sx, a, v, c)} for a, v, c in angles],
        "rois": [roi(values, sy, sx, shape, *pts) for shape, *pts in rois],
        "probes": [{"point": list(p), "col": int(p[0]), "row": int(p[1]), "value": float(values[int(p[1]), int(p[0])])} for p in probes],
    }


def main():
    cases = [
        # A real CT (Rescale Intercept −1024: values in HU), square 0.661468 mm pixels.
        case(
            CORPUS_ROOT / "pydicom/CT_small.dcm",
            "pydicom/CT_small.dcm",
            lengths=[((80.5, 100.5), (120.5, 80.5))],
            angles=[((30.5, 40.5), (64.5, 64.5), (100.5, 40.5))],
            rois=[
                ("ellipse", (30.0, 84.0), (70.0, 104.0)),
                ("rect", (84.0, 40.0), (60.0, 60.0)),
                ("freehand", (20.0, 20.0), (41.0, 30.0), (36.0, 50.0), (16.0, 44.0)),
            ],
            probes=[(40.5, 92.5), (10.5, 10.5)],
        ),
        # Non-square pixels (0.5 mm tall, 1.0 mm wide): a right angle in pixels is 53.13° in mm.
        case(
            REPO / "tests/dicom/geometry/ps_nonsquare.dcm",
            "ps_nonsquare.dcm",
            lengths=[((10.5, 10.5), (50.5, 70.5))],
            angles=[((70.5, 20.5), (50.5, 40.5), (70.5, 60.5))],
            rois=[
                ("ellipse", (40.0, 20.0), (80.0, 60.0)),
                ("rect", (90.0, 10.0), (110.0, 70.0)),
                ("freehand", (11.0, 40.0), (30.0, 50.0), (20.0, 70.0)),
            ],
            probes=[(60.5, 40.5)],
        ),
        # No spacing, Pixel Aspect Ratio 4:3: measured in px (areas in px²), never mm.
        case(
            REPO / "tests/dicom/geometry/aspect_ratio.dcm",
            "aspect_ratio.dcm",
            lengths=[((10.5, 10.5), (40.5, 40.5))],
            angles=[],
            # y on multiples of 3 px: at a power-of-two zoom the 4:3 rows land on whole screen pixels.
            rois=[("rect", (50.0, 12.0), (80.0, 39.0))],
            probes=[],
        ),
        # PET in Bq/ml (tests/dicom/suv/make_suv_fixtures.py: a hot sphere, 4 mm pixels); the
        # SUVbw factor is that script's, computed with pydicom from the file's tags.
        case(
            REPO / "tests/dicom/suv/pet_start.dcm",
            "pet_start.dcm",
            lengths=[((10.5, 10.5), (50.5, 40.5))],
            angles=[],
            rois=[("ellipse", (32.0, 16.0), (48.0, 32.0)), ("rect", (2.0, 44.0), (12.0, 60.0))],
            probes=[(40.5, 24.5), (5.5, 50.5)],
        ),
    ]
    suv = json.loads((REPO / "tests/dicom/suv/expected.json").read_text())["files"]
    for c in cases:
        f = suv.get(c["file"], {}).get("factor")
        if f is not None:
            c["suv_factor"] = f
            for r in c["rois"]:
                r["suv"] = {k: r[k] * f for k in ("mean", "sd", "min", "max")}
            for p in c["probes"]:
                p["suv"] = p["value"] * f
    out = {
        "pydicom": pydicom.__version__,
        "numpy": np.__version__,
        "tolerance_px": TOLERANCE_PX,
        "cases": cases,
    }
    (HERE / "expected.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=1)[:3000])


if __name__ == "__main__":
    main()
