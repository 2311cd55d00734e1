// MPR maths: where a pane's pixel is in the volume, where a volume point is in each pane,
// and where it is in the patient. The Rust side (`medlens_dicom::volume`) decides how each
// plane cuts the volume (`PlaneLayout`: which volume axis is its slices, columns and rows,
// and which run backwards); this file only follows those layouts, so the panes and the
// reformatted pixels cannot disagree.
import type { MprInfo, PlaneLayout } from "./types";

/** A voxel: column, row, slice of the stored stack. */
export type Ijk = [number, number, number];

type AxisUse = PlaneLayout["slice"];

/** Plane index `n` along `u` ↔ volume index (the same map both ways). */
function along(u: AxisUse, n: number, len: number): number {
  return u.reversed ? len - 1 - n : n;
}

function clampInt(v: number, len: number): number {
  return Math.min(len - 1, Math.max(0, Math.floor(v)));
}

/** The stack's size along volume axis `a`. */
function dim(info: MprInfo, a: number): number {
  return info.dims[a] ?? 1;
}

/** The voxel under pixel (col, row) of slice `slice` of a plane (clamped to the volume). */
export function voxelOf(info: MprInfo, l: PlaneLayout, slice: number, col: number, row: number): Ijk {
  const ijk: Ijk = [0, 0, 0];
  for (const [u, n] of [[l.slice, slice], [l.column, col], [l.row, row]] as const) {
    const len = dim(info, u.axis);
    ijk[u.axis] = along(u, clampInt(n, len), len);
  }
  return ijk;
}

/** Where voxel `ijk` is in a plane: its slice, column and row. */
export function inPlane(info: MprInfo, l: PlaneLayout, ijk: Ijk): { slice: number; col: number; row: number } {
  const at = (u: AxisUse) => along(u, ijk[u.axis] ?? 0, dim(info, u.axis));
  return { slice: at(l.slice), col: at(l.column), row: at(l.row) };
}

/** Position of a voxel's centre in the patient (LPS, mm). */
export function positionOf(info: MprInfo, ijk: Ijk): [number, number, number] {
  const p: [number, number, number] = [...info.origin];
  info.axes.forEach((axis, a) => axis.forEach((v, c) => (p[c] = (p[c] ?? 0) + (ijk[a] ?? 0) * (info.spacing[a] ?? 0) * v)));
  return p;
}

/** The volume's middle voxel. */
export function centreOf(info: MprInfo): Ijk {
  return [Math.floor(info.dims[0] / 2), Math.floor(info.dims[1] / 2), Math.floor(info.dims[2] / 2)];
}

/** Slices in a slab `mm` thick (0 or less: one, a thin slice). */
export function slabSlices(mm: number, sliceSpacing: number): number {
  if (!(mm > 0) || !(sliceSpacing > 0)) return 1;
  return Math.max(1, Math.round(mm / sliceSpacing));
}

/** The patient coordinate a plane's slices step along: z for axial, y coronal, x sagittal. */
const AXIS_OF = { axial: 2, coronal: 1, sagittal: 0 } as const;
const AXIS_NAME = ["x", "y", "z"] as const;

/** A plane's slice position as the overlay states it: the patient coordinate its slices step
 *  along, at the slice's centre ("z −12.30 mm", LPS). */
export function slicePositionText(info: MprInfo, l: PlaneLayout, slice: number): string {
  const ijk = voxelOf(info, l, slice, dim(info, l.column.axis) / 2, dim(info, l.row.axis) / 2);
  const a = AXIS_OF[l.plane];
  return `${AXIS_NAME[a]} ${fmt(positionOf(info, ijk)[a])} mm`;
}

/** A point in the patient, "(x, y, z) mm" with true minus signs. */
export function pointText(p: readonly number[]): string {
  return `(${p.map(fmt).join(", ")}) mm`;
}

function fmt(v: number): string {
  const s = v.toFixed(2);
  return s === "-0.00" ? "0.00" : s.replace("-", "−");
}
