// Cases derived by hand from PS3.3 C.7.6.2.1.1 (LPS: +x Left, +y Posterior, +z Head; the
// row direction points to the right edge of the displayed image, the column direction to the
// bottom edge), C.7.6.1.1.1 (Patient Orientation) and 10.7.1.3 (Pixel Spacing row\column).
import { describe, expect, it } from "vitest";
import { pixelGeometry as geometry } from "./testing";
import {
  calibrationText,
  displaySize,
  fitRect,
  markersFor,
  markersFromOrientation,
  markersFromPatientOrientation,
  mmPerScreenPixel,
  orientGeometry,
  orientPixels,
  orientationLabel,
  oppositeLabel,
  pixelScale,
  roundLength,
  scaleBar,
  transformMarkers,
} from "./geometry";


describe("orientation markers", () => {
  it("axial: patient's right on the viewer's left, anterior up", () => {
    expect(markersFromOrientation([1, 0, 0, 0, 1, 0])).toEqual({ right: "L", left: "R", bottom: "P", top: "A" });
  });
  it("coronal: head up, left on the right", () => {
    expect(markersFromOrientation([1, 0, 0, 0, 0, -1])).toEqual({ right: "L", left: "R", bottom: "F", top: "H" });
  });
  it("sagittal: anterior on the left, head up", () => {
    expect(markersFromOrientation([0, 1, 0, 0, 0, -1])).toEqual({ right: "P", left: "A", bottom: "F", top: "H" });
  });
  it("axial turned 30° about the body axis: two letters, larger component first", () => {
    const c = Math.cos(Math.PI / 6); // 0.866
    const s = Math.sin(Math.PI / 6); // 0.5
    // row = (c, s, 0): mostly Left, some Posterior; column = (-s, c, 0): mostly Posterior, some Right.
    expect(markersFromOrientation([c, s, 0, -s, c, 0])).toEqual({ right: "LP", left: "RA", bottom: "PR", top: "AL" });
  });
  it("components under the threshold are left out; three letters when all three count", () => {
    const a = (10 * Math.PI) / 180; // sin 10° = 0.17 < 0.25
    expect(orientationLabel([Math.cos(a), Math.sin(a), 0])).toBe("L");
    // 0.8² + 0.48² + 0.36² = 1: Left 0.8, Posterior 0.48, Head 0.36.
    expect(orientationLabel([0.8, 0.48, 0.36])).toBe("LPH");
    expect(orientationLabel([-0.36, -0.8, -0.48])).toBe("AFR");
    expect(orientationLabel([0.8, 0.48, 0.36], 0.4)).toBe("LP");
  });
  it("unusable orientation gives no markers", () => {
    expect(markersFromOrientation([1, 0, 0, 0, 1])).toBeNull();
    expect(markersFromOrientation([1, 0, 0, 0, NaN, 0])).toBeNull();
  });
  it("Patient Orientation: first value the rows (right edge), second the columns (bottom edge)", () => {
    // A lateral chest, patient's left side towards the detector: rows run to the anterior, columns to the feet.
    expect(markersFromPatientOrientation(["A", "F"])).toEqual({ right: "A", left: "P", bottom: "F", top: "H" });
    expect(markersFromPatientOrientation(["L", "FP"])).toEqual({ right: "L", left: "R", bottom: "FP", top: "HA" });
    expect(oppositeLabel("RAH")).toBe("LPF");
  });
  it("Image Orientation (Patient) comes before Patient Orientation; none without either", () => {
    expect(markersFor(geometry({ orientation: [1, 0, 0, 0, 1, 0], patient_orientation: ["A", "F"] }))?.right).toBe("L");
    expect(markersFor(geometry({ patient_orientation: ["A", "F"] }))?.right).toBe("A");
    expect(markersFor(geometry({}))).toBeNull();
  });
  it("markers follow flips and clockwise turns", () => {
    const axial = { right: "L", left: "R", bottom: "P", top: "A" };
    expect(transformMarkers(axial, { flipH: true, flipV: false, rotate: 0 })).toEqual({ right: "R", left: "L", bottom: "P", top: "A" });
    expect(transformMarkers(axial, { flipH: false, flipV: true, rotate: 0 })).toEqual({ right: "L", left: "R", bottom: "A", top: "P" });
    // Turned 90° clockwise: the old left edge is now at the top, the old top on the right.
    expect(transformMarkers(axial, { flipH: false, flipV: false, rotate: 90 })).toEqual({ top: "R", right: "A", bottom: "L", left: "P" });
    expect(transformMarkers(axial, { flipH: false, flipV: false, rotate: 180 })).toEqual({ top: "P", right: "R", bottom: "A", left: "L" });
  });
});

describe("pixels as the display shows them", () => {
  // A 3 × 2 image whose pixel (x, y) holds the value 10·y + x (in R; G, B, A mark it too).
  const w = 3;
  const h = 2;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set([10 * y + x, 1, 2, 255], (y * w + x) * 4);
  const grid = (o: { rgba: Uint8Array; width: number; height: number }) =>
    Array.from({ length: o.height }, (_, y) => Array.from({ length: o.width }, (_, x) => o.rgba[(y * o.width + x) * 4]));
  const t = (rotate: 0 | 90 | 180 | 270, flipH = false, flipV = false) => ({ flipH, flipV, rotate });

  it("turns and mirrors, by hand", () => {
    expect(grid(orientPixels(rgba, w, h, t(0)))).toEqual([[0, 1, 2], [10, 11, 12]]);
    // A clockwise quarter: the left column (0, 10) becomes the top row, read right to left.
    expect(grid(orientPixels(rgba, w, h, t(90)))).toEqual([[10, 0], [11, 1], [12, 2]]);
    expect(grid(orientPixels(rgba, w, h, t(180)))).toEqual([[12, 11, 10], [2, 1, 0]]);
    expect(grid(orientPixels(rgba, w, h, t(270)))).toEqual([[2, 12], [1, 11], [0, 10]]);
    expect(grid(orientPixels(rgba, w, h, t(0, true)))).toEqual([[2, 1, 0], [12, 11, 10]]);
    expect(grid(orientPixels(rgba, w, h, t(0, false, true)))).toEqual([[10, 11, 12], [0, 1, 2]]);
    // Mirrored left–right, then turned clockwise.
    expect(grid(orientPixels(rgba, w, h, t(90, true)))).toEqual([[12, 2], [11, 1], [10, 0]]);
    expect(orientPixels(rgba, w, h, t(90)).rgba.slice(0, 4)).toEqual(Uint8Array.from([10, 1, 2, 255]));
  });

  it("a quarter turn swaps the pixel's height and width, and the spacings", () => {
    const g = { spacing: [0.5, 1.0] as [number, number], aspect: [0.5, 1.0] as [number, number], calibration: "pixel_spacing" as const, magnification: null, orientation: null, patient_orientation: null };
    expect(orientGeometry(g, t(90))).toMatchObject({ spacing: [1.0, 0.5], aspect: [1.0, 0.5] });
    expect(orientGeometry(g, t(180, true))).toBe(g);
  });
});

describe("true aspect", () => {
  it("Pixel Spacing row\\column: 0.5 mm between rows, 1 mm between columns = pixels twice as wide as tall", () => {
    expect(pixelScale([0.5, 1])).toEqual({ sx: 2, sy: 1 });
    // 120 columns × 1 mm by 80 rows × 0.5 mm = 120 mm × 40 mm: 3:1 on screen.
    expect(displaySize(120, 80, [0.5, 1])).toEqual({ width: 240, height: 80 });
    // Pixel Aspect Ratio 4\3: pixels 4 tall for 3 wide.
    const d = displaySize(300, 200, [4, 3]);
    expect(d.width / d.height).toBeCloseTo((300 * 3) / (200 * 4), 12);
  });
  it("bad aspects fall back to square", () => {
    expect(pixelScale([0, 1])).toEqual({ sx: 1, sy: 1 });
    expect(pixelScale([NaN, 1])).toEqual({ sx: 1, sy: 1 });
  });
  it("thumbnails fit the box at the true aspect, centred", () => {
    const r = fitRect(64, 64, 240, 80);
    expect(r.w).toBeCloseTo(64, 9);
    expect(r.h).toBeCloseTo(64 / 3, 9);
    expect(r.y).toBeCloseTo((64 - 64 / 3) / 2, 9);
  });
});

describe("scale bar and calibration", () => {
  it("round lengths are 1, 2 or 5 × 10^k", () => {
    expect([37, 50, 0.9, 9.99, 1, 199].map(roundLength)).toEqual([20, 50, 0.5, 5, 1, 100]);
    expect(roundLength(0)).toBe(0);
  });
  it("the bar follows the zoom", () => {
    // 0.5 mm pixels at zoom 2: 0.25 mm per screen pixel; 200 px = 50 mm.
    const g = geometry({ spacing: [0.5, 1], aspect: [0.5, 1], calibration: "pixel_spacing" });
    expect(mmPerScreenPixel(g, 2)).toBe(0.25);
    expect(scaleBar(0.25, 200)).toEqual({ mm: 50, px: 200, label: "50 mm" });
    expect(scaleBar(0.25, 150)).toEqual({ mm: 20, px: 80, label: "20 mm" });
    expect(mmPerScreenPixel(geometry({}), 2)).toBeNull();
  });
  it("names where the size comes from", () => {
    expect(calibrationText(geometry({ spacing: [0.5, 1], aspect: [0.5, 1], calibration: "pixel_spacing" }))).toBe("Pixel Spacing: 0.5×1 mm");
    expect(calibrationText(geometry({ spacing: [0.2, 0.2], aspect: [0.2, 0.2], calibration: "detector" }))).toBe("Imager Pixel Spacing (detector): 0.2×0.2 mm");
    expect(calibrationText(geometry({ spacing: [0.16, 0.16], aspect: [0.16, 0.16], calibration: "magnification", magnification: 1.25 }))).toBe(
      "Imager Pixel Spacing ÷ magnification 1.25: 0.16×0.16 mm",
    );
    expect(calibrationText(geometry({ aspect: [4, 3], calibration: "aspect" }))).toBe("uncalibrated (Pixel Aspect Ratio): 4:3");
    expect(calibrationText(geometry({}))).toBe("uncalibrated");
  });
});
