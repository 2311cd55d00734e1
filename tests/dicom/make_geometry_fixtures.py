#!/usr/bin/env python3
"""Small DICOM files for the viewer's geometry tests (tests/e2e/geometry.e2e.mjs), and what
the viewer must show for each, computed here with pydicom + numpy from the tags as read back
from the written files, never with Medlens code.

    python3 tests/dicom/make_geometry_fixtures.py      # writes tests/dicom/geometry/

Outputs (deterministic: fixed UIDs, no dates):
  geometry/*.dcm        one series each, in one study of the patient "Geometry^Fixtures"
  geometry/expected.json per file: rows, columns, the pixel size and where it comes from,
                        the physical width:height, the four orientation markers, the size
                        and mm per pixel of a true-aspect PNG export

The rules, from PS3.3:
  * Pixel Spacing (0028,0030) is row spacing \\ column spacing (10.7.1.3): the first value is
    the pixel's height (vertical), the second its width.
  * Imager Pixel Spacing (0018,1164) is at the detector. Divided by the Estimated
    Radiographic Magnification Factor (0018,1114) it is at the patient. A Pixel Spacing equal
    to it, without Pixel Spacing Calibration Type (0028,0A02), is the detector's size too.
  * Pixel Aspect Ratio (0028,0034) is vertical \\ horizontal, used when there is no spacing.
  * Image Orientation (Patient) (0020,0037): the row direction (towards the right edge) and
    the column direction (towards the bottom edge) in LPS: +x Left, +y Posterior, +z Head. A
    marker lists the components with |cos| >= 0.25, largest first.
  * Patient Orientation (0020,0020): the row direction then the column direction, as letters.
"""
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

OUT = Path(__file__).resolve().parent / "geometry"
# Real files of the shared corpus (../shared/dicom) with the same kinds of geometry: a CT with
# non-square Pixel Spacing and a CR with only Imager Pixel Spacing and Patient Orientation.
CORPUS_ROOT = Path(__file__).resolve().parents[3] / "shared" / "dicom"
CORPUS = ["pydicom/dicomdirtests/98892001/CT2N/6293", "pydicom/dicomdirtests/77654033/CR1/6154"]
THRESHOLD = 0.25
STUDY = "Geometry fixtures"


def uid(name: str) -> str:
    return "2.25." + str(int(hashlib.sha1(f"medlens-geometry-{name}".encode()).hexdigest()[:30], 16))


def ds_number(v: float) -> str:
    """A DS string of at most 16 characters."""
    return pydicom.valuerep.format_number_as_ds(float(v))


def phantom(rows: int, cols: int, dy: float, dx: float) -> np.ndarray:
    """A disk of radius 0.3 × the smaller physical side and a grid every tenth of the larger
    side, drawn in physical units (dy, dx: the pixel's height and width), so the disk is
    round exactly when the pixels are shown at their true aspect."""
    y = (np.arange(rows) + 0.5)[:, None] * dy
    x = (np.arange(cols) + 0.5)[None, :] * dx
    h, w = rows * dy, cols * dx
    r = 0.3 * min(h, w)
    img = np.full((rows, cols), 300, np.uint16)
    img[(x - w / 2) ** 2 + (y - h / 2) ** 2 <= r * r] = 2000
    step = max(h, w) / 10
    img[((x % step) < dx) | ((y % step) < dy)] = 3500
    img[:, :2] = 1000  # a bar at the first columns: which edge is "left" shows in screenshots
    return img


def rotation(deg_z: float, deg_x: float) -> np.ndarray:
    a, b = math.radians(deg_z), math.radians(deg_x)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rz @ rx


def write(name: str, modality: str, rows: int, cols: int, tags: dict, phys: tuple[float, float]) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = {
        "MR": "1.2.840.10008.5.1.4.1.1.4",
        "DX": "1.2.840.10008.5.1.4.1.1.1.1",
        "US": "1.2.840.10008.5.1.4.1.1.6.1",
    }[modality]
    meta.MediaStorageSOPInstanceUID = uid(name + "-sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Geometry^Fixtures"
    ds.PatientID = "GEOM-1"
    ds.StudyInstanceUID = uid("study")
    ds.StudyDescription = STUDY
    ds.SeriesInstanceUID = uid(name + "-series")
    ds.SeriesDescription = name
    ds.SeriesNumber = {"ps_nonsquare": 1, "oblique": 2, "dx_magnified": 3, "dx_detector": 4, "aspect_ratio": 5}[name]
    ds.InstanceNumber = 1
    ds.Modality = modality
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 1800, 3600
    for k, v in tags.items():
        setattr(ds, k, v)
    ds.PixelData = phantom(rows, cols, *phys).tobytes()
    path = OUT / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def pair(ds, keyword):
    v = ds.get(keyword)
    if v is None or len(v) != 2:
        return None
    a, b = float(v[0]), float(v[1])
    return [a, b] if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b) else None


def label(v: np.ndarray) -> str:
    letters = [("L", "R"), ("P", "A"), ("H", "F")]
    order = np.argsort(-np.abs(v), kind="stable")
    return "".join(letters[i][0 if v[i] > 0 else 1] for i in order if abs(v[i]) >= THRESHOLD)


def expected(path: Path, name: str | None = None) -> dict:
    ds = pydicom.dcmread(path, force=True)
    rows, cols = int(ds.Rows), int(ds.Columns)
    ps, ips = pair(ds, "PixelSpacing"), pair(ds, "ImagerPixelSpacing")
    ermf = ds.get("EstimatedRadiographicMagnificationFactor")
    copy = ps is not None and ips is not None and np.allclose(ps, ips, rtol=1e-6, atol=0) and "PixelSpacingCalibrationType" not in ds
    if ps is not None and not copy:
        spacing, calibration, label_text = ps, "pixel_spacing", "Pixel Spacing"
    elif ips is not None and ermf is not None and float(ermf) > 0:
        spacing = [s / float(ermf) for s in ips]
        calibration, label_text = "magnification", "Imager Pixel Spacing ÷ magnification"
    elif ips is not None:
        spacing, calibration, label_text = ips, "detector", "Imager Pixel Spacing (detector)"
    else:
        spacing = None
        ratio = pair(ds, "PixelAspectRatio")
        calibration, label_text = ("aspect", "uncalibrated (Pixel Aspect Ratio)") if ratio else ("uncalibrated", "uncalibrated")
    aspect = spacing or pair(ds, "PixelAspectRatio") or [1.0, 1.0]
    markers = None
    if "ImageOrientationPatient" in ds:
        iop = np.array([float(x) for x in ds.ImageOrientationPatient])
        row, col = iop[:3] / np.linalg.norm(iop[:3]), iop[3:] / np.linalg.norm(iop[3:])
        markers = {"right": label(row), "left": label(-row), "bottom": label(col), "top": label(-col)}
    elif "PatientOrientation" in ds:
        opposite = str.maketrans("APRLHF", "PALRFH")
        r, c = (str(x) for x in ds.PatientOrientation)
        markers = {"right": r, "left": r.translate(opposite), "bottom": c, "top": c.translate(opposite)}
    unit = min(aspect)
    return {
        "file": name or path.name,
        "series_description": str(ds.get("SeriesDescription", "")),
        "rows": rows,
        "columns": cols,
        "spacing_mm": spacing,
        "aspect": aspect,
        "calibration": calibration,
        "calibration_label": label_text,
        # Physical width : height of the whole image (what the screen must show).
        "width_over_height": cols * aspect[1] / (rows * aspect[0]),
        "markers": markers,
        # A true-aspect export: the finer pixel size kept, the coarser direction resampled.
        "export_width": int(round(cols * aspect[1] / unit)),
        "export_height": int(round(rows * aspect[0] / unit)),
        "export_mm_per_pixel": min(spacing) if spacing else None,
    }


def main() -> None:
    OUT.mkdir(exist_ok=True)
    files = []
    # Non-square pixels: rows 0.5 mm apart, columns 1.0 mm apart (120 mm × 40 mm); axial.
    files.append(write("ps_nonsquare", "MR", 80, 120, {
        "PixelSpacing": ["0.5", "1.0"],
        "ImageOrientationPatient": ["1", "0", "0", "0", "1", "0"],
        "ImagePositionPatient": ["-60", "-20", "0"],
    }, (0.5, 1.0)))
    # Oblique: axial turned 30° about z after 25° about x, square 0.8 mm pixels.
    r = rotation(30, 25)
    iop = [ds_number(v) for v in np.concatenate([r[:, 0], r[:, 1]])]
    files.append(write("oblique", "MR", 96, 96, {
        "PixelSpacing": ["0.8", "0.8"],
        "ImageOrientationPatient": iop,
        "ImagePositionPatient": ["-40", "-40", "10"],
    }, (0.8, 0.8)))
    # Projection radiograph: 0.2 mm detector pixels, magnification 1.25 (0.16 mm at the patient).
    files.append(write("dx_magnified", "DX", 100, 80, {
        "ImagerPixelSpacing": ["0.2", "0.2"],
        "EstimatedRadiographicMagnificationFactor": "1.25",
        "PatientOrientation": ["A", "F"],
    }, (0.16, 0.16)))
    # Non-square detector pixels (0.3 high, 0.15 wide), Pixel Spacing only a copy of them.
    files.append(write("dx_detector", "DX", 60, 120, {
        "ImagerPixelSpacing": ["0.3", "0.15"],
        "PixelSpacing": ["0.3", "0.15"],
        "PatientOrientation": ["L", "F"],
    }, (0.3, 0.15)))
    # Only Pixel Aspect Ratio: pixels 4 high for 3 wide, nothing in mm, no orientation.
    files.append(write("aspect_ratio", "US", 60, 90, {"PixelAspectRatio": ["4", "3"]}, (4.0, 3.0)))
    corpus = [expected(CORPUS_ROOT / rel, rel) for rel in CORPUS]
    out = {
        "threshold": THRESHOLD,
        "pydicom": pydicom.__version__,
        "numpy": np.__version__,
        "files": [expected(p) for p in files],
        "corpus": corpus,
    }
    (OUT / "expected.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(files)} files and expected.json to {OUT}")


if __name__ == "__main__":
    main()
