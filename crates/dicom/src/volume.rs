//! A series as a volume, and its axial, coronal and sagittal reformats (MPR).
//!
//! [`VolumeGeometry::check`] decides from the slices' geometry alone (before any pixel is
//! decoded) whether they stack into a volume: one size, one pixel spacing, one orientation,
//! positions along the slices' normal (no gantry tilt or shear) at an even spacing. Real
//! scanners round Image Position (Patient), so the checks carry tolerances: the bundled MR
//! volume's spacing jitters by ±1% and its positions by 0.09 mm across the plane.
//!
//! Reformats are taken along the volume's own axes, so every output pixel is a stored voxel
//! (no interpolation) and a reformat equals `array[:, j, :]` of the stacked slices. Which axis
//! is axial, coronal or sagittal is the one nearest the patient's S, A or L axis, and each
//! plane is shown as radiologists read it: axial with the patient's left on screen right and
//! posterior down, coronal with left right and feet down, sagittal with posterior right and
//! feet down. Slice numbers run towards the feet (axial), the back (coronal) and the
//! patient's left (sagittal).

use crate::dataset::{DataSet, Tag};
use crate::display::PixelGeometry;
use crate::tags;
use serde::Serialize;

const PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE: Tag = Tag(0x5200, 0x9230);
const SHARED_FUNCTIONAL_GROUPS_SEQUENCE: Tag = Tag(0x5200, 0x9229);
const PLANE_POSITION_SEQUENCE: Tag = Tag(0x0020, 0x9113);

/// Orientations closer than this (cosine of about 0.8°) are the same.
const SAME_DIRECTION: f64 = 0.9999;
/// A step may differ from the mean spacing by this fraction before the spacing is uneven.
const SPACING_TOLERANCE: f64 = 0.05;
/// The slices' line may lean from their normal by this much (degrees) before it is a tilt.
const TILT_TOLERANCE_DEG: f64 = 0.5;
/// Voxels kept as f32: a volume above this many bytes is refused, not allocated.
pub const MAX_VOLUME_BYTES: usize = 1 << 30;

/// What one slice says about where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceGeometry {
    pub rows: u32,
    pub columns: u32,
    pub samples: u16,
    /// Row spacing then column spacing, mm.
    pub spacing: Option<[f64; 2]>,
    /// Image Orientation (Patient): row direction, then column direction.
    pub orientation: Option<[f64; 6]>,
    /// Image Position (Patient) of the first pixel's centre.
    pub position: Option<[f64; 3]>,
}

impl SliceGeometry {
    /// Frame `frame` of `ds` (enhanced multi-frame objects keep the position and orientation
    /// per frame in their functional groups).
    pub fn read(ds: &DataSet, frame: usize) -> SliceGeometry {
        let g = PixelGeometry::read(ds, frame);
        let groups: Vec<&DataSet> =
            ds.items(PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).get(frame).into_iter().chain(ds.items(SHARED_FUNCTIONAL_GROUPS_SEQUENCE).first()).collect();
        let triple = |v: Vec<Option<f64>>| match v.as_slice() {
            [Some(x), Some(y), Some(z)] if [x, y, z].iter().all(|c| c.is_finite()) => Some([*x, *y, *z]),
            _ => None,
        };
        let position = groups
            .iter()
            .find_map(|g| g.items(PLANE_POSITION_SEQUENCE).first().and_then(|i| triple(i.numbers(tags::IMAGE_POSITION_PATIENT))))
            .or_else(|| triple(ds.numbers(tags::IMAGE_POSITION_PATIENT)));
        SliceGeometry {
            rows: ds.int(tags::ROWS).unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
            columns: ds.int(tags::COLUMNS).unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
            samples: ds.int(tags::SAMPLES_PER_PIXEL).unwrap_or(1).clamp(0, 4) as u16,
            // Only Pixel Spacing places voxels in the patient; a detector's spacing does not.
            spacing: if g.calibration == crate::display::Calibration::PixelSpacing { g.spacing } else { None },
            orientation: g.orientation,
            position,
        }
    }
}

/// Why a series is not a volume. Slice numbers are 1-based, in the order given.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NotAVolume {
    #[error("a volume needs at least 3 slices; this series has {0}")]
    TooFewSlices(usize),
    #[error("slice {slice} has no {what}, so it cannot be placed in the patient")]
    NoGeometry { slice: usize, what: &'static str },
    #[error("slice {slice} is colour ({samples} samples per pixel); reformats are for grey images")]
    NotGrey { slice: usize, samples: u16 },
    #[error("slice {slice} is {columns}×{rows} where slice 1 is {columns0}×{rows0}")]
    SizeDiffers { slice: usize, rows: u32, columns: u32, rows0: u32, columns0: u32 },
    #[error("slice {slice}'s pixel spacing {spacing:?} mm differs from slice 1's {spacing0:?} mm")]
    SpacingDiffers { slice: usize, spacing: [f64; 2], spacing0: [f64; 2] },
    #[error("mixed orientations: slice {slice} is turned {degrees:.1}° from slice 1")]
    MixedOrientation { slice: usize, degrees: f64 },
    #[error("slices {a} and {b} are at the same position ({at:.2} mm along the normal)")]
    SamePosition { a: usize, b: usize, at: f64 },
    #[error("the slices are stacked {degrees:.1}° off their normal (gantry tilt or a sheared stack)")]
    Tilted { degrees: f64 },
    #[error("the slice spacing varies from {min:.3} to {max:.3} mm (missing slices or a mixed series)")]
    UnevenSpacing { min: f64, max: f64 },
    #[error("the volume would take {bytes} bytes, above the {limit} byte limit")]
    TooLarge { bytes: usize, limit: usize },
}

/// A checked stack: voxel (i, j, k) is column i, row j of slice `order[k]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumeGeometry {
    /// Columns, rows, slices.
    pub dims: [usize; 3],
    /// mm between voxel centres along i, j, k (k: the mean slice spacing).
    pub spacing: [f64; 3],
    /// Unit vectors of i, j, k in the patient (LPS).
    pub axes: [[f64; 3]; 3],
    /// Position of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Index in the given slices of volume slice k.
    pub order: Vec<usize>,
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

impl VolumeGeometry {
    pub fn check(slices: &[SliceGeometry]) -> Result<VolumeGeometry, NotAVolume> {
        if slices.len() < 3 {
            return Err(NotAVolume::TooFewSlices(slices.len()));
        }
        let first = &slices[0];
        let mut places = Vec::with_capacity(slices.len());
        for (n, s) in slices.iter().enumerate() {
            let slice = n + 1;
            if s.samples != 1 {
                return Err(NotAVolume::NotGrey { slice, samples: s.samples });
            }
            if (s.rows, s.columns) != (first.rows, first.columns) {
                return Err(NotAVolume::SizeDiffers { slice, rows: s.rows, columns: s.columns, rows0: first.rows, columns0: first.columns });
            }
            let spacing = s.spacing.ok_or(NotAVolume::NoGeometry { slice, what: "Pixel Spacing" })?;
            let o = s.orientation.ok_or(NotAVolume::NoGeometry { slice, what: "Image Orientation (Patient)" })?;
            let p = s.position.ok_or(NotAVolume::NoGeometry { slice, what: "Image Position (Patient)" })?;
            let spacing0 = first.spacing.unwrap_or(spacing);
            if (0..2).any(|a| (spacing[a] - spacing0[a]).abs() > 1e-3 * spacing0[a].max(1.0)) {
                return Err(NotAVolume::SpacingDiffers { slice, spacing, spacing0 });
            }
            places.push((o, p));
        }
        let o0 = places[0].0;
        let (row_dir, col_dir) = ([o0[0], o0[1], o0[2]], [o0[3], o0[4], o0[5]]);
        for (n, (o, _)) in places.iter().enumerate() {
            let c = dot(row_dir, [o[0], o[1], o[2]]).min(dot(col_dir, [o[3], o[4], o[5]]));
            if c < SAME_DIRECTION {
                return Err(NotAVolume::MixedOrientation { slice: n + 1, degrees: c.clamp(-1.0, 1.0).acos().to_degrees() });
            }
        }
        let normal = cross(row_dir, col_dir);
        let mut order: Vec<usize> = (0..slices.len()).collect();
        let along: Vec<f64> = places.iter().map(|(_, p)| dot(*p, normal)).collect();
        order.sort_by(|&a, &b| along[a].total_cmp(&along[b]));
        let steps: Vec<f64> = order.windows(2).map(|w| along[w[1]] - along[w[0]]).collect();
        if let Some(k) = steps.iter().position(|&d| d < 1e-3) {
            return Err(NotAVolume::SamePosition { a: order[k] + 1, b: order[k + 1] + 1, at: along[order[k]] });
        }
        let (p0, p1) = (places[order[0]].1, places[*order.last().unwrap()].1);
        let span = sub(p1, p0);
        let lean = (dot(span, normal) / norm(span)).clamp(-1.0, 1.0).acos().to_degrees();
        if lean > TILT_TOLERANCE_DEG {
            return Err(NotAVolume::Tilted { degrees: lean });
        }
        let mean = (along[*order.last().unwrap()] - along[order[0]]) / (slices.len() - 1) as f64;
        let (min, max) = steps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &d| (lo.min(d), hi.max(d)));
        if (max - mean).max(mean - min) > SPACING_TOLERANCE * mean {
            return Err(NotAVolume::UnevenSpacing { min, max });
        }
        let s = first.spacing.unwrap();
        let dims = [first.columns as usize, first.rows as usize, slices.len()];
        let bytes = dims.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX);
        if bytes > MAX_VOLUME_BYTES {
            return Err(NotAVolume::TooLarge { bytes, limit: MAX_VOLUME_BYTES });
        }
        Ok(VolumeGeometry { dims, spacing: [s[1], s[0], mean], axes: [row_dir, col_dir, normal], origin: p0, order })
    }

    /// Position (LPS, mm) of voxel (i, j, k), fractional indices allowed.
    pub fn position(&self, ijk: [f64; 3]) -> [f64; 3] {
        let mut p = self.origin;
        for a in 0..3 {
            for (c, pc) in p.iter_mut().enumerate() {
                *pc += ijk[a] * self.spacing[a] * self.axes[a][c];
            }
        }
        p
    }
}

/// The three reformats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    Axial,
    Coronal,
    Sagittal,
}

impl Plane {
    pub const ALL: [Plane; 3] = [Plane::Axial, Plane::Coronal, Plane::Sagittal];

    /// The patient directions (LPS unit vectors) of the slice number, screen right and screen
    /// down.
    fn directions(self) -> [[f64; 3]; 3] {
        const L: [f64; 3] = [1.0, 0.0, 0.0];
        const P: [f64; 3] = [0.0, 1.0, 0.0];
        const F: [f64; 3] = [0.0, 0.0, -1.0];
        match self {
            Plane::Axial => [F, L, P],
            Plane::Coronal => [P, L, F],
            Plane::Sagittal => [L, P, F],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Plane::Axial => "axial",
            Plane::Coronal => "coronal",
            Plane::Sagittal => "sagittal",
        }
    }
}

/// One volume axis as a plane uses it: which axis, and whether it runs backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AxisUse {
    pub axis: usize,
    pub reversed: bool,
}

impl AxisUse {
    /// The volume index along this axis for plane index `n` of `len`.
    pub fn index(self, n: usize, len: usize) -> usize {
        if self.reversed {
            len - 1 - n
        } else {
            n
        }
    }
}

/// How a plane cuts the volume: its slice, column and row axes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PlaneLayout {
    pub plane: Plane,
    pub slice: AxisUse,
    pub column: AxisUse,
    pub row: AxisUse,
    /// Slices, columns, rows.
    pub count: usize,
    pub width: usize,
    pub height: usize,
    /// Row spacing then column spacing (DICOM order), mm.
    pub pixel_spacing: [f64; 2],
    /// mm between slices.
    pub slice_spacing: f64,
    /// Image Orientation (Patient) of the plane: screen right, then screen down (LPS).
    pub orientation: [f64; 6],
}

/// Which volume axis is axial, coronal and sagittal: the assignment with the largest total
/// agreement between each axis and its patient axis (S, A, L), so an oblique stack still gets
/// one plane per axis.
fn assign(g: &VolumeGeometry) -> [usize; 3] {
    // The patient axis index (LPS component) each plane's slices run along: z, y, x.
    let patient = [2usize, 1, 0];
    let mut best = ([0, 1, 2], f64::MIN);
    for perm in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
        let score: f64 = (0..3).map(|p| g.axes[perm[p]][patient[p]].abs()).sum();
        if score > best.1 + 1e-12 {
            best = (perm, score);
        }
    }
    best.0
}

impl VolumeGeometry {
    /// The layout of `plane`.
    pub fn layout(&self, plane: Plane) -> PlaneLayout {
        let normals = assign(self);
        let p = Plane::ALL.iter().position(|&q| q == plane).unwrap();
        let slice_axis = normals[p];
        let [towards, right, down] = plane.directions();
        let others: Vec<usize> = (0..3).filter(|&a| a != slice_axis).collect();
        // The in-plane axis nearer screen right is the columns; the other is the rows.
        let (col_axis, row_axis) = if dot(self.axes[others[0]], right).abs() >= dot(self.axes[others[1]], right).abs() {
            (others[0], others[1])
        } else {
            (others[1], others[0])
        };
        let use_of = |axis: usize, dir: [f64; 3]| AxisUse { axis, reversed: dot(self.axes[axis], dir) < 0.0 };
        let (slice, column, row) = (use_of(slice_axis, towards), use_of(col_axis, right), use_of(row_axis, down));
        let signed = |u: AxisUse| {
            let s = if u.reversed { -1.0 } else { 1.0 };
            self.axes[u.axis].map(|c| c * s)
        };
        let (r, d) = (signed(column), signed(row));
        PlaneLayout {
            plane,
            slice,
            column,
            row,
            count: self.dims[slice.axis],
            width: self.dims[column.axis],
            height: self.dims[row.axis],
            pixel_spacing: [self.spacing[row.axis], self.spacing[column.axis]],
            slice_spacing: self.spacing[slice.axis],
            orientation: [r[0], r[1], r[2], d[0], d[1], d[2]],
        }
    }
}

/// A stack of modality values (f32), voxel (i, j, k) at `i + dims[0] * (j + dims[1] * k)`.
#[derive(Clone, Debug)]
pub struct Volume {
    pub geometry: VolumeGeometry,
    pub values: Vec<f32>,
}

/// One reformatted image.
#[derive(Clone, Debug, PartialEq)]
pub struct Reformat {
    pub layout: PlaneLayout,
    /// The first slice of the slab and how many (a maximum intensity projection over them).
    pub first: usize,
    pub slab: usize,
    /// Modality values, row by row.
    pub values: Vec<f32>,
    /// Position (LPS) of the centre of the slab's first pixel.
    pub position: [f64; 3],
}

impl Volume {
    /// Stack decoded slices (modality values, in the order [`VolumeGeometry::check`] was
    /// given) as the geometry says.
    pub fn assemble(geometry: VolumeGeometry, mut slice: impl FnMut(usize) -> Result<Vec<f32>, String>) -> Result<Volume, String> {
        let plane = geometry.dims[0] * geometry.dims[1];
        let mut values = Vec::with_capacity(plane * geometry.dims[2]);
        for &n in &geometry.order {
            let v = slice(n)?;
            if v.len() != plane {
                return Err(format!("slice {} has {} values where {plane} are needed", n + 1, v.len()));
            }
            values.extend_from_slice(&v);
        }
        Ok(Volume { geometry, values })
    }

    /// Slice `index` of `plane` (0-based, in the plane's slice order), as a maximum intensity
    /// projection over `slab` slices centred on it (1: the slice itself; clipped at the ends).
    pub fn reformat(&self, plane: Plane, index: usize, slab: usize) -> Option<Reformat> {
        let layout = self.geometry.layout(plane);
        if index >= layout.count {
            return None;
        }
        let slab = slab.clamp(1, layout.count);
        let first = index.saturating_sub((slab - 1) / 2).min(layout.count - slab);
        let d = self.geometry.dims;
        let stride = [1, d[0], d[0] * d[1]];
        let (w, h) = (layout.width, layout.height);
        let mut values = vec![f32::NEG_INFINITY; w * h];
        for s in first..first + slab {
            let base = layout.slice.index(s, layout.count) * stride[layout.slice.axis];
            for r in 0..h {
                let row_base = base + layout.row.index(r, h) * stride[layout.row.axis];
                let out = &mut values[r * w..(r + 1) * w];
                for (c, o) in out.iter_mut().enumerate() {
                    let v = self.values[row_base + layout.column.index(c, w) * stride[layout.column.axis]];
                    if v > *o {
                        *o = v;
                    }
                }
            }
        }
        let mut ijk = [0.0; 3];
        ijk[layout.slice.axis] = layout.slice.index(first, layout.count) as f64;
        ijk[layout.column.axis] = layout.column.index(0, w) as f64;
        ijk[layout.row.axis] = layout.row.index(0, h) as f64;
        let position = self.geometry.position(ijk);
        Some(Reformat { layout, first, slab, values, position })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axial(n: usize, step: f64, tilt: f64) -> Vec<SliceGeometry> {
        (0..n)
            .map(|k| SliceGeometry {
                rows: 4,
                columns: 5,
                samples: 1,
                spacing: Some([0.5, 0.5]),
                orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
                position: Some([0.0, tilt * k as f64, step * k as f64]),
            })
            .collect()
    }

    #[test]
    fn a_plain_axial_stack_is_a_volume_in_position_order() {
        let mut s = axial(4, 2.0, 0.0);
        s.swap(0, 3);
        let g = VolumeGeometry::check(&s).unwrap();
        assert_eq!(g.dims, [5, 4, 4]);
        assert_eq!(g.spacing, [0.5, 0.5, 2.0]);
        assert_eq!(g.order, vec![3, 1, 2, 0]);
        assert_eq!(g.origin, [0.0, 0.0, 0.0]);
        let a = g.layout(Plane::Axial);
        // Axial slices run towards the feet: slice 0 is the top of the stack.
        assert_eq!((a.slice, a.column, a.row), (AxisUse { axis: 2, reversed: true }, AxisUse { axis: 0, reversed: false }, AxisUse { axis: 1, reversed: false }));
        let c = g.layout(Plane::Coronal);
        assert_eq!((c.slice.axis, c.column.axis, c.row), (1, 0, AxisUse { axis: 2, reversed: true }));
        assert_eq!((c.width, c.height, c.count, c.pixel_spacing), (5, 4, 4, [2.0, 0.5]));
        assert_eq!(c.orientation, [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]);
        let sg = g.layout(Plane::Sagittal);
        assert_eq!((sg.slice.axis, sg.column.axis, sg.row.axis, sg.width, sg.height, sg.count), (0, 1, 2, 4, 4, 5));
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(VolumeGeometry::check(&axial(2, 2.0, 0.0)), Err(NotAVolume::TooFewSlices(2)));
        assert!(matches!(VolumeGeometry::check(&axial(5, 2.0, 0.5)), Err(NotAVolume::Tilted { degrees }) if (degrees - 14.04).abs() < 0.01));
        let mut gap = axial(5, 2.0, 0.0);
        gap.remove(2);
        assert_eq!(VolumeGeometry::check(&gap), Err(NotAVolume::UnevenSpacing { min: 2.0, max: 4.0 }));
        let mut twice = axial(4, 2.0, 0.0);
        twice[3].position = twice[1].position;
        assert!(matches!(VolumeGeometry::check(&twice), Err(NotAVolume::SamePosition { .. })));
        let mut turned = axial(4, 2.0, 0.0);
        turned[2].orientation = Some([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]);
        assert!(matches!(VolumeGeometry::check(&turned), Err(NotAVolume::MixedOrientation { slice: 3, degrees }) if (degrees - 90.0).abs() < 1e-9));
        let mut colour = axial(4, 2.0, 0.0);
        colour[1].samples = 3;
        assert_eq!(VolumeGeometry::check(&colour), Err(NotAVolume::NotGrey { slice: 2, samples: 3 }));
        let mut bare = axial(4, 2.0, 0.0);
        bare[0].position = None;
        assert_eq!(VolumeGeometry::check(&bare), Err(NotAVolume::NoGeometry { slice: 1, what: "Image Position (Patient)" }));
        let mut small = axial(4, 2.0, 0.0);
        small[3].rows = 3;
        assert!(matches!(VolumeGeometry::check(&small), Err(NotAVolume::SizeDiffers { slice: 4, .. })));
        let mut big = axial(3, 2.0, 0.0);
        for s in &mut big {
            (s.rows, s.columns) = (1 << 14, 1 << 14);
        }
        assert!(matches!(VolumeGeometry::check(&big), Err(NotAVolume::TooLarge { .. })));
        // Rounded positions (1% spacing jitter, a small in-plane wobble) are still a volume.
        let mut jitter = axial(6, 2.0, 0.0);
        jitter[2].position = Some([0.02, 0.0, 4.02]);
        assert!(VolumeGeometry::check(&jitter).is_ok());
    }

    #[test]
    fn reformats_read_voxels_and_project_slabs() {
        let g = VolumeGeometry::check(&axial(3, 2.0, 0.0)).unwrap();
        let values: Vec<f32> = (0..60).map(|v| v as f32).collect();
        let vol = Volume { geometry: g, values };
        // Axial slice 0 is the top slice (k = 2), unflipped in plane.
        let a = vol.reformat(Plane::Axial, 0, 1).unwrap();
        assert_eq!(a.values, (40..60).map(|v| v as f32).collect::<Vec<_>>());
        assert_eq!(a.position, [0.0, 0.0, 4.0]);
        // Coronal slice j = 1: rows from the top slice down, columns i.
        let c = vol.reformat(Plane::Coronal, 1, 1).unwrap();
        let want: Vec<f32> = [2usize, 1, 0].iter().flat_map(|&k| (0..5).map(move |i| (i + 5 + 20 * k) as f32)).collect();
        assert_eq!(c.values, want);
        // A 3-slice MIP of a volume rising with k is its top slice's values.
        let mip = vol.reformat(Plane::Axial, 1, 3).unwrap();
        assert_eq!((mip.first, mip.slab, &mip.values), (0, 3, &a.values));
        // Clipped at the end: slab of 2 around the last slice starts one before it.
        assert_eq!(vol.reformat(Plane::Axial, 2, 2).unwrap().first, 1);
        assert!(vol.reformat(Plane::Sagittal, 5, 1).is_none());
    }
}
