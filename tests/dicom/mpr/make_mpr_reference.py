#!/usr/bin/env python3
"""What the MPR view must show (tests/e2e/mpr.e2e.mjs and crates/dicom/tests/mpr.rs), computed
here with pydicom + numpy from the files' own tags and pixels, never with Medlens code: the
bundled MR volume (20 oblique slices), a real CT volume of the shared corpus (pydicom's
dicomdirtests CT5N: 5 axial slices, 2.5 mm apart), and a real CT series that is not a volume
(77654033/CT2: a slice 200 mm from the other three).

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
    along the plane's slice axis (along k: the mean distance between slices), and at most the
    plane's slice count.
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
CORPUS = REPO.parent / "shared" / "dicom"
CT = "pydicom/dicomdirtests/98892001/CT5N"
CT_NOT_A_VOLUME = "pydicom/dicomdirtests/77654033/CT2"
OUT = Path(__file__).with_name("expected.json")
SLAB_MM = 21.0
CLICK = {"plane": "axial", "col": 100, "row": 140}

L, P, F = np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, -1.0])
PLANES = {"axial": (2, F, L, P), "coronal": (1, P, L, F), "sagittal": (0, L, P, F)}


def digest(img):
    return hashlib.sha256(np.ascontiguousarray(img, dtype="<f4").tobytes()).hexdigest()


class Volume:
    def __init__(self, files):
        self.ds = [pydicom.dcmread(f) for f in files]
        iop = np.array(self.ds[0].ImageOrientationPatient, dtype=float)
        self.row_dir, self.col_dir = iop[:3], iop[3:]
        normal = np.cross(self.row_dir, self.col_dir)
        along = np.array([np.dot(np.array(d.ImagePositionPatient, dtype=float), normal) for d in self.ds])
        self.order = np.argsort(along, kind="stable")
        self.steps = np.diff(along[self.order])
        # [k, j, i]: slice, row, column.
        self.vol = np.stack([apply_modality_lut(self.ds[n].pixel_array, self.ds[n]).astype(np.float32) for n in self.order])
        self.ps = [float(v) for v in self.ds[0].PixelSpacing]  # row spacing, column spacing
        mean_step = (along[self.order[-1]] - along[self.order[0]]) / (len(self.ds) - 1)
        # Volume axes as numpy axes: i -> 2, j -> 1, k -> 0.
        self.axis_dir = {"i": self.row_dir, "j": self.col_dir, "k": normal}
        self.axis_np = {"i": 2, "j": 1, "k": 0}
        self.axis_mm = {"i": self.ps[1], "j": self.ps[0], "k": mean_step}

    def layout(self, name):
        patient_axis, towards, right, down = PLANES[name]
        ad = self.axis_dir
        slice_ax = max(ad, key=lambda a: abs(ad[a][patient_axis]))
        rest = [a for a in ad if a != slice_ax]
        col_ax = max(rest, key=lambda a: abs(np.dot(ad[a], right)))
        row_ax = [a for a in rest if a != col_ax][0]
        flip = lambda a, d: bool(np.dot(ad[a], d) < 0)
        return slice_ax, flip(slice_ax, towards), col_ax, flip(col_ax, right), row_ax, flip(row_ax, down)

    def plane_stack(self, name):
        """The plane's images as an array [slice, row, column]."""
        s, s_rev, c, c_rev, r, r_rev = self.layout(name)
        a = np.transpose(self.vol, (self.axis_np[s], self.axis_np[r], self.axis_np[c]))
        if s_rev:
            a = a[::-1]
        if r_rev:
            a = a[:, ::-1]
        if c_rev:
            a = a[:, :, ::-1]
        return np.ascontiguousarray(a)

    def planes(self):
        out = {}
        for name in PLANES:
            st = self.plane_stack(name)
            s, s_rev, c, c_rev, r, r_rev = self.layout(name)
            count = st.shape[0]
            n = max(1, round(SLAB_MM / self.axis_mm[s]))
            mip = []
            m = min(n, count)  # a slab thicker than the volume is the whole volume
            for idx in range(count):
                first = min(max(idx - (m - 1) // 2, 0), count - m)
                mip.append(digest(st[first:first + m].max(axis=0)))
            out[name] = {
                "count": count,
                "width": st.shape[2],
                "height": st.shape[1],
                "pixel_spacing": [self.axis_mm[r], self.axis_mm[c]],
                "slice_spacing": self.axis_mm[s],
                "slices": [digest(st[i]) for i in range(count)],
                "slab_slices": n,
                "mip": mip,
                "min": float(st.min()),
                "max": float(st.max()),
            }
        return out

    def dims(self):
        return [self.vol.shape[2], self.vol.shape[1], self.vol.shape[0]]

    # A click on the axial pane at (col, row) of the slice on screen: the voxel under it, and
    # the coronal and sagittal slices through that voxel.
    def plane_slice_through(self, name, ijk):
        s, s_rev, *_ = self.layout(name)
        count = self.vol.shape[self.axis_np[s]]
        return count - 1 - ijk[s] if s_rev else ijk[s]

    def ijk_of_axial(self, axial_slice, col, row):
        s, s_rev, c, c_rev, r, r_rev = self.layout("axial")
        dims = {"i": self.vol.shape[2], "j": self.vol.shape[1], "k": self.vol.shape[0]}
        ijk = {}
        ijk[s] = dims[s] - 1 - axial_slice if s_rev else axial_slice
        ijk[c] = dims[c] - 1 - col if c_rev else col
        ijk[r] = dims[r] - 1 - row if r_rev else row
        return ijk

    def position(self, ijk):
        # The slice's own Image Position (Patient), then along its rows and columns.
        ipp = np.array(self.ds[self.order[ijk["k"]]].ImagePositionPatient, dtype=float)
        return (ipp + ijk["i"] * self.ps[1] * self.row_dir + ijk["j"] * self.ps[0] * self.col_dir).tolist()


mr = Volume(sorted(SAMPLE.glob("*.dcm")))
clicks = []
for axial_slice in (9, 3):
    ijk = mr.ijk_of_axial(axial_slice, CLICK["col"], CLICK["row"])
    # The axial image holds the voxel's value at (row, col).
    v = mr.plane_stack("axial")[axial_slice, CLICK["row"], CLICK["col"]]
    assert v == mr.vol[ijk["k"], ijk["j"], ijk["i"]]
    clicks.append({
        "axial_slice": axial_slice,
        "voxel": [ijk["i"], ijk["j"], ijk["k"]],
        "coronal_slice": int(mr.plane_slice_through("coronal", ijk)),
        "sagittal_slice": int(mr.plane_slice_through("sagittal", ijk)),
        "value": float(v),
        "position": mr.position(ijk),
    })

ct = Volume(sorted((CORPUS / CT).iterdir()))
gap = Volume(sorted((CORPUS / CT_NOT_A_VOLUME).iterdir()))
OUT.write_text(json.dumps({
    "generator": "tests/dicom/mpr/make_mpr_reference.py (pydicom %s, numpy %s)" % (pydicom.__version__, np.__version__),
    "series": "samples/mr-volume",
    "dims": mr.dims(),
    "slab_mm": SLAB_MM,
    "click": CLICK,
    "clicks": clicks,
    "planes": mr.planes(),
    "ct": {"series": CT, "modality": str(ct.ds[0].Modality), "dims": ct.dims(), "planes": ct.planes()},
    # Not a volume: its steps along the normal (mm), far from even.
    "ct_not_a_volume": {"series": CT_NOT_A_VOLUME, "steps_mm": gap.steps.tolist()},
}, indent=1) + "\n")
print(f"wrote {OUT}: MR dims {mr.dims()}, CT dims {ct.dims()}, the other CT's steps {gap.steps.round(2).tolist()}")
