#!/usr/bin/env python3
"""What the MPR view must show (tests/e2e/mpr.e2e.mjs and crates/dicom/tests/mpr.rs), computed
here with pydicom + numpy from the bundled MR volume's own tags and pixels, never with Medlens
code.

    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/mpr/make_mpr_reference.py   # writes tests/dicom/mpr/expected.json

The definitions (the ones crates/dicom/src/volume.rs documents):
  * The volume: every slice's modality values (pydicom's apply_modality_lut, as float32),
    stacked in order of Image Position (Patient) projected on the slices' normal (row
    direction x column direction of Image Orientation (Patient)): vol[k, j, i] is column i,
    row j of the k-th slice by that order.
  * Each plane's slices are taken along the volume axis nearest a patient axis (LPS): axial
    along z, coronal along y, sagittal along x. On screen a plane's columns run along the
    in-plane axis nearest the patient's left (axial, coronal) or posterior (sagittal), its
    rows along the one nearest posterior (axial) or the feet (coronal, sagittal); an axis
    that runs the other way is read backwards. Slice numbers run towards the feet (axial),
    the back (coronal) and the patient's left (sagittal).
  * A slab of n slices around slice s is the voxel-wise maximum over slices
    first .. first+n-1, first = min(max(s - (n-1)//2, 0), count - n); n = max(1,
    round(mm / slice spacing)) for a slab `mm` thick, the slice spacing being the voxel size
    along the plane's slice axis (along k: the mean distance between slices).
  * Images are hashed as sha256 of their float32 little-endian values, row by row.
"""
import hashlib
import json
from pathlib import Path

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "samples/mr-volume"
OUT = Path(__file__).with_name("expected.json")
SLAB_MM = 21.0
CLICK = {"plane": "axial", "col": 100, "row": 140}

files = sorted(SAMPLE.glob("*.dcm"))
ds = [pydicom.dcmread(f) for f in files]
iop = np.array(ds[0].ImageOrientationPatient, dtype=float)
row_dir, col_dir = iop[:3], iop[3:]
normal = np.cross(row_dir, col_dir)
along = np.array([np.dot(np.array(d.ImagePositionPatient, dtype=float), normal) for d in ds])
order = np.argsort(along, kind="stable")
vol = np.stack([apply_modality_lut(ds[n].pixel_array, ds[n]).astype(np.float32) for n in order])  # [k, j, i]
ps = [float(v) for v in ds[0].PixelSpacing]  # row spacing, column spacing
mean_step = (along[order[-1]] - along[order[0]]) / (len(ds) - 1)
# Volume axes as numpy axes: i -> 2, j -> 1, k -> 0.
axis_dir = {"i": row_dir, "j": col_dir, "k": normal}
axis_np = {"i": 2, "j": 1, "k": 0}
axis_mm = {"i": ps[1], "j": ps[0], "k": mean_step}

L, P, F = np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, -1.0])
PLANES = {"axial": (2, F, L, P), "coronal": (1, P, L, F), "sagittal": (0, L, P, F)}


def layout(name):
    patient_axis, towards, right, down = PLANES[name]
    slice_ax = max(axis_dir, key=lambda a: abs(axis_dir[a][patient_axis]))
    rest = [a for a in axis_dir if a != slice_ax]
    col_ax = max(rest, key=lambda a: abs(np.dot(axis_dir[a], right)))
    row_ax = [a for a in rest if a != col_ax][0]
    flip = lambda a, d: bool(np.dot(axis_dir[a], d) < 0)
    return slice_ax, flip(slice_ax, towards), col_ax, flip(col_ax, right), row_ax, flip(row_ax, down)


def plane_stack(name):
    """The plane's images as an array [slice, row, column]."""
    s, s_rev, c, c_rev, r, r_rev = layout(name)
    a = np.transpose(vol, (axis_np[s], axis_np[r], axis_np[c]))
    if s_rev:
        a = a[::-1]
    if r_rev:
        a = a[:, ::-1]
    if c_rev:
        a = a[:, :, ::-1]
    return np.ascontiguousarray(a)


def digest(img):
    return hashlib.sha256(np.ascontiguousarray(img, dtype="<f4").tobytes()).hexdigest()


planes = {}
for name in PLANES:
    st = plane_stack(name)
    s, s_rev, c, c_rev, r, r_rev = layout(name)
    count = st.shape[0]
    n = max(1, round(SLAB_MM / axis_mm[s]))
    mip = []
    for idx in range(count):
        first = min(max(idx - (n - 1) // 2, 0), count - n)
        mip.append(digest(st[first:first + n].max(axis=0)))
    planes[name] = {
        "count": count,
        "width": st.shape[2],
        "height": st.shape[1],
        "pixel_spacing": [axis_mm[r], axis_mm[c]],
        "slice_spacing": axis_mm[s],
        "slices": [digest(st[i]) for i in range(count)],
        "slab_slices": n,
        "mip": mip,
        "min": float(st.min()),
        "max": float(st.max()),
    }

# A click on the axial pane at (col, row) of the slice on screen: the voxel under it, and the
# coronal and sagittal slices through that voxel.
def plane_slice_through(name, ijk):
    s, s_rev, *_ = layout(name)
    idx = ijk[s]
    count = vol.shape[axis_np[s]]
    return count - 1 - idx if s_rev else idx


def ijk_of_axial(axial_slice, col, row):
    s, s_rev, c, c_rev, r, r_rev = layout("axial")
    dims = {"i": vol.shape[2], "j": vol.shape[1], "k": vol.shape[0]}
    ijk = {}
    ijk[s] = dims[s] - 1 - axial_slice if s_rev else axial_slice
    ijk[c] = dims[c] - 1 - col if c_rev else col
    ijk[r] = dims[r] - 1 - row if r_rev else row
    return ijk


def position(ijk):
    # The slice's own Image Position (Patient), then along its rows and columns.
    ipp = np.array(ds[order[ijk["k"]]].ImagePositionPatient, dtype=float)
    return (ipp + ijk["i"] * ps[1] * row_dir + ijk["j"] * ps[0] * col_dir).tolist()


clicks = []
for axial_slice in (9, 3):
    ijk = ijk_of_axial(axial_slice, CLICK["col"], CLICK["row"])
    cor = plane_slice_through("coronal", ijk)
    sag = plane_slice_through("sagittal", ijk)
    # The axial image holds the voxel's value at (row, col).
    v = plane_stack("axial")[axial_slice, CLICK["row"], CLICK["col"]]
    assert v == vol[ijk["k"], ijk["j"], ijk["i"]]
    clicks.append({
        "axial_slice": axial_slice,
        "voxel": [ijk["i"], ijk["j"], ijk["k"]],
        "coronal_slice": int(cor),
        "sagittal_slice": int(sag),
        "value": float(v),
        "position": position(ijk),
    })

OUT.write_text(json.dumps({
    "generator": "tests/dicom/mpr/make_mpr_reference.py (pydicom %s, numpy %s)" % (pydicom.__version__, np.__version__),
    "series": "samples/mr-volume",
    "dims": [vol.shape[2], vol.shape[1], vol.shape[0]],
    "slab_mm": SLAB_MM,
    "click": CLICK,
    "clicks": clicks,
    "planes": planes,
}, indent=1) + "\n")
print(f"wrote {OUT}: dims {vol.shape[::-1]}, layouts " + ", ".join(f"{n} {layout(n)}" for n in PLANES))
