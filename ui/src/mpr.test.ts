import { describe, expect, it } from "vitest";
import { centreOf, inPlane, pointText, positionOf, slabSlices, slicePositionText, voxelOf } from "./mpr";
import type { MprInfo, PlaneLayout } from "./types";

// The layouts medlens_dicom::volume gives a 5 × 4 × 3 axial stack at 0.5 × 0.5 × 2 mm (its
// own test checks the same three), with the stack's origin moved to (10, 20, 30).
const use = (axis: number, reversed = false) => ({ axis, reversed });
const plane = (p: PlaneLayout["plane"], slice: PlaneLayout["slice"], column: PlaneLayout["slice"], row: PlaneLayout["slice"], dims: number[]): PlaneLayout => ({
  plane: p,
  slice,
  column,
  row,
  count: dims[slice.axis]!,
  width: dims[column.axis]!,
  height: dims[row.axis]!,
  pixel_spacing: [0, 0],
  slice_spacing: 0,
  orientation: [1, 0, 0, 0, 1, 0],
});
const dims = [5, 4, 3];
const info: MprInfo = {
  dims: [5, 4, 3],
  spacing: [0.5, 0.5, 2],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  origin: [10, 20, 30],
  planes: [
    plane("axial", use(2, true), use(0), use(1), dims),
    plane("coronal", use(1), use(0), use(2, true), dims),
    plane("sagittal", use(0), use(1), use(2, true), dims),
  ],
};
const [axial, coronal, sagittal] = info.planes as [PlaneLayout, PlaneLayout, PlaneLayout];

describe("MPR maths", () => {
  it("finds a pane's pixel in the volume, and back, in every plane", () => {
    // Axial slice 0 is the top of the stack (k = 2); its pixels are the stored slice's.
    expect(voxelOf(info, axial, 0, 3.7, 1.2)).toEqual([3, 1, 2]);
    // Coronal: rows run down from the top slice.
    expect(voxelOf(info, coronal, 1, 4, 0)).toEqual([4, 1, 2]);
    expect(voxelOf(info, sagittal, 2, 3, 2)).toEqual([2, 3, 0]);
    for (const l of info.planes)
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 4; j++)
          for (let k = 0; k < 3; k++) {
            const q = inPlane(info, l, [i, j, k]);
            expect(voxelOf(info, l, q.slice, q.col + 0.5, q.row + 0.5)).toEqual([i, j, k]);
          }
  });

  it("clamps a click outside the image to its edge", () => {
    expect(voxelOf(info, axial, 9, -3, 40)).toEqual([0, 3, 0]);
  });

  it("places voxels in the patient and states slice positions", () => {
    expect(positionOf(info, [2, 1, 2])).toEqual([11, 20.5, 34]);
    expect(centreOf(info)).toEqual([2, 2, 1]);
    // Axial slice 2 is k = 0: z = 30; coronal slice 3 is j = 3: y = 21.5.
    expect(slicePositionText(info, axial, 2)).toBe("z 30.00 mm");
    expect(slicePositionText(info, coronal, 3)).toBe("y 21.50 mm");
    expect(slicePositionText(info, sagittal, 0)).toBe("x 10.00 mm");
    expect(pointText([-1.234, 0, -0.001])).toBe("(−1.23, 0.00, 0.00) mm");
  });

  it("counts a slab's slices from its thickness", () => {
    expect(slabSlices(0, 2)).toBe(1);
    expect(slabSlices(-4, 2)).toBe(1);
    expect(slabSlices(10, 2)).toBe(5);
    expect(slabSlices(3, 2)).toBe(2);
    expect(slabSlices(0.4, 2)).toBe(1);
    expect(slabSlices(10, 0)).toBe(1);
  });
});
