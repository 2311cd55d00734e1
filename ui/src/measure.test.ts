// Expected values derived by hand from the definitions: Pixel Spacing is row spacing \ column
// spacing (PS3.3 10.7.1.3), so a step of one column is the second value in mm and a step of one
// row the first; the pixel in column c, row r has its centre at (c + 0.5, r + 0.5); an ROI holds
// the pixels whose centre is inside the ellipse; SD divides by n. The real-file values are
// checked in the window against numpy (tests/e2e/measure.e2e.mjs).
import { describe as group, expect, it } from "vitest";
import { pixelGeometry as geometry } from "./testing";
import {
  angleOf,
  calibrationOf,
  describe,
  ellipseFromCorners,
  ellipseStats,
  fixed,
  formatArea,
  handleAt,
  imageToScreen,
  initialMeasure,
  lengthOf,
  measureReduce,
  measurementsOf,
  freehandStats,
  pixelInPolygon,
  pixelInRect,
  pixelInside,
  polygonArea,
  probeAt,
  rectFromCorners,
  rectStats,
  screenToImage,
  statsLines,
  suvText,
  valueUnit,
  type MeasureState,
} from "./measure";


// Rows 0.5 mm apart, columns 1.0 mm apart: a pixel 1 mm wide and 0.5 mm tall.
const nonSquare = calibrationOf(geometry({ spacing: [0.5, 1.0], aspect: [0.5, 1.0], calibration: "pixel_spacing" }));

group("calibration", () => {
  it("Pixel Spacing row\\column: width is the second value, height the first", () => {
    expect(nonSquare).toEqual({ sx: 1.0, sy: 0.5, unit: "mm", calibration: "pixel_spacing" });
  });
  it("a detector or magnification-corrected spacing is used as it comes", () => {
    expect(calibrationOf(geometry({ spacing: [0.2, 0.2], aspect: [0.2, 0.2], calibration: "magnification", magnification: 1.5 }))).toEqual({
      sx: 0.2,
      sy: 0.2,
      unit: "mm",
      calibration: "magnification",
    });
  });
  it("no spacing: px, keeping the aspect with the finer side one px", () => {
    expect(calibrationOf(geometry({ aspect: [2, 1], calibration: "aspect" }))).toEqual({ sx: 1, sy: 2, unit: "px", calibration: "aspect" });
    expect(calibrationOf(geometry({}))).toEqual({ sx: 1, sy: 1, unit: "px", calibration: "uncalibrated" });
  });
});

group("length", () => {
  it("3-4-5 in mm on non-square pixels: 4 columns (4 mm) and 6 rows (3 mm)", () => {
    expect(lengthOf({ x: 10, y: 20 }, { x: 14, y: 26 }, nonSquare)).toBeCloseTo(5, 12);
  });
  it("along a row and along a column", () => {
    expect(lengthOf({ x: 0, y: 0 }, { x: 10, y: 0 }, nonSquare)).toBe(10);
    expect(lengthOf({ x: 0, y: 0 }, { x: 0, y: 10 }, nonSquare)).toBe(5);
  });
  it("uncalibrated in px", () => {
    const c = calibrationOf(geometry({}));
    expect(lengthOf({ x: 1, y: 1 }, { x: 4, y: 5 }, c)).toBe(5);
    expect(describe({ id: 1, kind: "length", points: [{ x: 1, y: 1 }, { x: 4, y: 5 }] }, empty, c, "").lines).toEqual(["5.00 px"]);
  });
});

const empty = { values: new Float32Array(0), columns: 0, rows: 0, samples: 1 };

group("angle", () => {
  it("a right angle in pixels is not one in mm on non-square pixels", () => {
    // Arms (2, −2) and (2, 2) pixels: 90° on square pixels. In mm (1.0 wide, 0.5 tall) they are
    // (2, −1) and (2, 1): the angle is 2·atan(1/2) = 53.130102…°.
    const v = { x: 10, y: 10 };
    expect(angleOf({ x: 12, y: 8 }, v, { x: 12, y: 12 }, calibrationOf(geometry({})))).toBeCloseTo(90, 12);
    expect(angleOf({ x: 12, y: 8 }, v, { x: 12, y: 12 }, nonSquare)).toBeCloseTo((2 * Math.atan(0.5) * 180) / Math.PI, 12);
    expect(angleOf({ x: 12, y: 8 }, v, { x: 12, y: 12 }, nonSquare)).toBeCloseTo(53.13010235415598, 10);
  });
  it("0°, 180°, order of the arms, and a zero arm", () => {
    const c = calibrationOf(geometry({}));
    expect(angleOf({ x: 5, y: 0 }, { x: 0, y: 0 }, { x: 9, y: 0 }, c)).toBe(0);
    expect(angleOf({ x: 5, y: 0 }, { x: 0, y: 0 }, { x: -9, y: 0 }, c)).toBeCloseTo(180, 12);
    expect(angleOf({ x: 1, y: 0 }, { x: 0, y: 0 }, { x: 1, y: 1 }, c)).toBeCloseTo(45, 12);
    expect(angleOf({ x: 1, y: 1 }, { x: 0, y: 0 }, { x: 1, y: 0 }, c)).toBeCloseTo(45, 12);
    expect(angleOf({ x: 0, y: 0 }, { x: 0, y: 0 }, { x: 1, y: 0 }, c)).toBeNull();
  });
});

group("ellipse ROI", () => {
  // A 5 × 4 image, value = 10·row + column.
  const cols = 5;
  const rows = 4;
  const values = Float32Array.from({ length: cols * rows }, (_, i) => 10 * Math.floor(i / cols) + (i % cols));
  const frame = { values, columns: cols, rows, samples: 1 };

  it("pixel centres inside, boundary included", () => {
    // Corners (0,0) and (5,4): centre (2.5, 2), radii 2.5 and 2.
    const e = ellipseFromCorners({ x: 0, y: 0 }, { x: 5, y: 4 });
    expect(e).toEqual({ cx: 2.5, cy: 2, rx: 2.5, ry: 2 });
    // Pixel (2, 0): centre (2.5, 0.5): (0)² + (−1.5/2)² = 0.5625 → inside.
    expect(pixelInside(e, 2, 0)).toBe(true);
    // Pixel (0, 0): centre (0.5, 0.5): (−2/2.5)² + (−1.5/2)² = 0.64 + 0.5625 > 1 → outside.
    expect(pixelInside(e, 0, 0)).toBe(false);
    // Pixel (0, 1): centre (0.5, 1.5): 0.64 + 0.0625 = 0.7025 → inside.
    expect(pixelInside(e, 0, 1)).toBe(true);
    // Exactly on the boundary: corners (0,0)–(2,2) give centre (1,1), radii 1; pixel (1, 0) has
    // centre (1.5, 0.5): 0.25 + 0.25 = 0.5 inside; corners (0.5,0.5)–(2.5,0.5+2): pixel (2,1)
    // centre (2.5, 1.5) is (1)² + 0 = 1 → on the boundary, inside.
    expect(pixelInside(ellipseFromCorners({ x: 0.5, y: 0.5 }, { x: 2.5, y: 2.5 }), 2, 1)).toBe(true);
    expect(pixelInside(ellipseFromCorners({ x: 0.5, y: 0.5 }, { x: 2.5, y: 2.5 }), 2, 0)).toBe(false);
  });

  it("statistics of the pixels inside, by hand", () => {
    // Corners (0,0)–(5,4) on square 1 mm pixels. Inside (by the rule above): row 0 and row 3:
    // columns 1..3 ((±1/2.5)² + 0.5625 = 0.7225 ≤ 1; column 0: 1.2025 > 1); rows 1 and 2: all
    // five columns (column 0: 0.64 + 0.0625 ≤ 1). Values: 1,2,3 · 10..14 · 20..24 · 31,32,33.
    const s = ellipseStats(frame, ellipseFromCorners({ x: 0, y: 0 }, { x: 5, y: 4 }), calibrationOf(geometry({ spacing: [1, 1], aspect: [1, 1], calibration: "pixel_spacing" })));
    const inside = [1, 2, 3, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 31, 32, 33];
    const mean = inside.reduce((a, b) => a + b, 0) / inside.length; // 272 / 16 = 17
    expect(mean).toBe(17);
    const sd = Math.sqrt(inside.reduce((a, b) => a + (b - mean) ** 2, 0) / inside.length);
    expect(s.count).toBe(16);
    expect(s.mean).toBe(17);
    expect(s.sd).toBeCloseTo(sd, 12);
    // Σ(v − 17)² by hand: 256+225+196 + 49+36+25+16+9 + 9+16+25+36+49 + 196+225+256 = 1624.
    expect(s.sd).toBeCloseTo(Math.sqrt(1624 / 16), 12);
    expect(s.min).toBe(1);
    expect(s.max).toBe(33);
    expect(s.area).toBeCloseTo(Math.PI * 2.5 * 2, 12);
  });

  it("area in mm² on non-square pixels, corners in either order, clipped at the edges", () => {
    // 10 columns (10 mm) by 8 rows (4 mm): radii 5 mm and 2 mm.
    const s = ellipseStats(frame, ellipseFromCorners({ x: 8, y: 6 }, { x: -2, y: -2 }), nonSquare);
    expect(s.area).toBeCloseTo(Math.PI * 5 * 2, 12);
    expect(s.unit).toBe("mm");
    expect(s.colour).toBe(false);
    // Every pixel of the 5 × 4 image has its centre inside that ellipse (centre (3, 2), radii 5, 4).
    expect(s.count).toBe(20);
    expect(s.min).toBe(0);
    expect(s.max).toBe(34);
  });

  it("a flat ellipse holds nothing; a colour frame has no statistics", () => {
    expect(ellipseStats(frame, ellipseFromCorners({ x: 1, y: 1 }, { x: 4, y: 1 }), nonSquare).count).toBe(0);
    // Corners (0,0)–(2,2): centre (1,1), radii 1; pixel centres (0.5|1.5, 0.5|1.5) are at
    // 0.25 + 0.25 = 0.5: all four inside, counted; a colour frame has no mean.
    const rgb = ellipseStats({ ...frame, samples: 3 }, ellipseFromCorners({ x: 0, y: 0 }, { x: 2, y: 2 }), nonSquare);
    expect([rgb.count, rgb.mean, rgb.sd, rgb.colour]).toEqual([4, null, null, true]);
    expect(statsLines(rgb, "")).toEqual(["Area 1.6 mm²", "n 4 px (colour: no values)"]);
  });

  it("label lines", () => {
    // π · 2.5 · 2 = 15.71 mm²; SD √(1624/16) = 10.07.
    const s = ellipseStats(frame, ellipseFromCorners({ x: 0, y: 0 }, { x: 5, y: 4 }), calibrationOf(geometry({ spacing: [1, 1], aspect: [1, 1], calibration: "pixel_spacing" })));
    expect(statsLines(s, "HU")).toEqual(["Area 15.7 mm²", "Mean 17.0 HU SD 10.1", "Min 1 Max 33 HU", "n 16 px"]);
    expect(formatArea(1234, "mm")).toBe("12.34 cm²");
    expect(formatArea(12.34, "px")).toBe("12.3 px²");
    expect(fixed(-0.04, 1)).toBe("0.0");
    expect(fixed(-1.25, 1)).toBe("−1.3");
  });
});

group("rectangle ROI", () => {
  // The same 5 × 4 image, value = 10·row + column.
  const cols = 5;
  const rows = 4;
  const values = Float32Array.from({ length: cols * rows }, (_, i) => 10 * Math.floor(i / cols) + (i % cols));
  const frame = { values, columns: cols, rows, samples: 1 };
  const mm1 = calibrationOf(geometry({ spacing: [1, 1], aspect: [1, 1], calibration: "pixel_spacing" }));

  it("corners in either order; pixel centres inside, boundary included", () => {
    expect(rectFromCorners({ x: 4, y: 3 }, { x: 1, y: 0.5 })).toEqual({ x0: 1, y0: 0.5, x1: 4, y1: 3 });
    const r = rectFromCorners({ x: 1, y: 0.5 }, { x: 4, y: 3 });
    // Pixel (0, 0): centre (0.5, 0.5) is left of x0 = 1 → outside.
    expect(pixelInRect(r, 0, 0)).toBe(false);
    // Pixel (1, 0): centre (1.5, 0.5): y exactly on y0 → inside.
    expect(pixelInRect(r, 1, 0)).toBe(true);
    // Pixel (3, 2): centre (3.5, 2.5) → inside; pixel (4, 2): centre (4.5, 2.5) right of x1 → outside.
    expect(pixelInRect(r, 3, 2)).toBe(true);
    expect(pixelInRect(r, 4, 2)).toBe(false);
    // Pixel (1, 3): centre (1.5, 3.5) below y1 = 3 → outside.
    expect(pixelInRect(r, 1, 3)).toBe(false);
  });

  it("statistics of the pixels inside, by hand", () => {
    // Corners (1, 0.5)–(4, 3): columns 1..3 (centres 1.5..3.5), rows 0..2 (centres 0.5..2.5).
    // Values 1,2,3 · 11,12,13 · 21,22,23: mean 108 / 9 = 12; Σ(v − 12)² by rows:
    // (121+100+81) + (1+0+1) + (81+100+121) = 606; SD √(606/9) = 8.21.
    const s = rectStats(frame, rectFromCorners({ x: 1, y: 0.5 }, { x: 4, y: 3 }), mm1);
    expect([s.count, s.mean, s.min, s.max]).toEqual([9, 12, 1, 23]);
    expect(s.sd).toBeCloseTo(Math.sqrt(606 / 9), 12);
    // The rectangle's own area (3 × 2.5 mm), not the pixel count.
    expect(s.area).toBeCloseTo(7.5, 12);
    expect(statsLines(s, "HU")).toEqual(["Area 7.5 mm²", "Mean 12.0 HU SD 8.2", "Min 1 Max 23 HU", "n 9 px"]);
  });

  it("area on non-square pixels, clipped at the edges; flat holds nothing; colour has no values", () => {
    // 10 columns (10 mm) by 8 rows (4 mm) = 40 mm²; the whole 5 × 4 image is inside.
    const s = rectStats(frame, rectFromCorners({ x: 8, y: 6 }, { x: -2, y: -2 }), nonSquare);
    expect(s.area).toBeCloseTo(40, 12);
    expect([s.count, s.min, s.max, s.unit]).toEqual([20, 0, 34, "mm"]);
    expect(rectStats(frame, rectFromCorners({ x: 1, y: 1 }, { x: 4, y: 1 }), nonSquare).count).toBe(0);
    const rgb = rectStats({ ...frame, samples: 3 }, rectFromCorners({ x: 0, y: 0 }, { x: 2, y: 2 }), nonSquare);
    expect([rgb.count, rgb.mean, rgb.colour]).toEqual([4, null, true]);
  });

  it("described like an ellipse, with its own kind", () => {
    const d = describe({ id: 7, kind: "rect", points: [{ x: 1, y: 0.5 }, { x: 4, y: 3 }] }, frame, mm1, "");
    expect([d.kind, d.stats?.count, d.lines[0]]).toEqual(["rect", 9, "Area 7.5 mm²"]);
  });

  it("on a PET with an SUV factor, also in SUVbw (each statistic times the factor)", () => {
    const plain = describe({ id: 7, kind: "rect", points: [{ x: 1, y: 0.5 }, { x: 4, y: 3 }] }, frame, mm1, "");
    const d = describe({ id: 7, kind: "rect", points: [{ x: 1, y: 0.5 }, { x: 4, y: 3 }] }, frame, mm1, "", 0.01);
    const s = plain.stats!;
    expect(plain.suv).toBeUndefined();
    expect(d.suv).toEqual({ mean: s.mean! * 0.01, sd: s.sd! * 0.01, min: s.min! * 0.01, max: s.max! * 0.01 });
    expect(d.lines).toEqual([...plain.lines, `SUVbw mean ${fixed(s.mean! * 0.01, 2)} SD ${fixed(s.sd! * 0.01, 2)} max ${fixed(s.max! * 0.01, 2)}`]);
    // Lengths have no values to convert.
    expect(describe({ id: 8, kind: "length", points: [{ x: 0, y: 0 }, { x: 3, y: 4 }] }, frame, mm1, "", 0.01).suv).toBeUndefined();
  });

  it("the overlay says SUVbw, or why a PET has none", () => {
    expect(suvText({ suv: { factor: 2 }, suv_missing: null })).toBe("SUVbw");
    expect(suvText({ suv: null, suv_missing: "no Patient's Weight (0010,1030)" })).toBe("no SUV: no Patient's Weight (0010,1030)");
    expect(suvText({ suv: null, suv_missing: null })).toBe("");
    expect(suvText(undefined)).toBe("");
  });
});

group("freehand ROI", () => {
  // The same 5 × 4 image, value = 10·row + column.
  const cols = 5;
  const rows = 4;
  const values = Float32Array.from({ length: cols * rows }, (_, i) => 10 * Math.floor(i / cols) + (i % cols));
  const frame = { values, columns: cols, rows, samples: 1 };
  const mm1 = calibrationOf(geometry({ spacing: [1, 1], aspect: [1, 1], calibration: "pixel_spacing" }));
  const P = (...xy: number[]) => Array.from({ length: xy.length / 2 }, (_, i) => ({ x: xy[2 * i]!, y: xy[2 * i + 1]! }));

  it("area by the shoelace formula, either orientation", () => {
    expect(polygonArea(P(0, 0, 4, 0, 4, 3))).toBe(6);
    expect(polygonArea(P(4, 3, 4, 0, 0, 0))).toBe(6);
    // An L: the 3 × 3 square less the 2 × 1 strip at its top right = 7.
    expect(polygonArea(P(0, 0, 1, 0, 1, 1, 3, 1, 3, 3, 0, 3))).toBe(7);
  });

  it("pixel centres by the even-odd rule", () => {
    // Triangle (0,0), (5,0), (0,4): inside where x/5 + y/4 < 1.
    const t = P(0, 0, 5, 0, 0, 4);
    // Pixel (0,0): centre (0.5, 0.5): 0.1 + 0.125 < 1 → inside; pixel (3, 1): (3.5, 1.5):
    // 0.7 + 0.375 > 1 → outside; pixel (2, 1): (2.5, 1.5): 0.5 + 0.375 < 1 → inside.
    expect([pixelInPolygon(t, 0, 0), pixelInPolygon(t, 3, 1), pixelInPolygon(t, 2, 1)]).toEqual([true, false, true]);
    // A self-crossing bow tie (0,0) (4,4) (4,0) (0,4): the centre (2, 2) region is crossed twice.
    const bow = P(0, 0, 4, 4, 4, 0, 0, 4);
    expect(pixelInPolygon(bow, 0, 1)).toBe(true); // (0.5, 1.5): in the left wing
    expect(pixelInPolygon(bow, 1, 0)).toBe(false); // (1.5, 0.5): between the wings
    expect(pixelInPolygon(P(0, 0, 4, 4), 1, 1)).toBe(false); // two points hold nothing
  });

  it("statistics of the pixels inside, by hand", () => {
    // Triangle (0,0), (5,0), (0,4): row 0 (y 0.5, x < 5·(1 − 0.125) = 4.375): columns 0..3;
    // row 1 (y 1.5, x < 3.125): 0..2; row 2 (y 2.5, x < 1.875): 0..1; row 3 (y 3.5, x < 0.625): 0.
    // Values 0,1,2,3 · 10,11,12 · 20,21 · 30: n 10, Σ 110, mean 11.
    const s = freehandStats(frame, P(0, 0, 5, 0, 0, 4), mm1);
    expect([s.count, s.mean, s.min, s.max]).toEqual([10, 11, 0, 30]);
    // Σ(v − 11)² = 121+100+81+64 + 1+0+1 + 81+100 + 361 = 910.
    expect(s.sd).toBeCloseTo(Math.sqrt(910 / 10), 12);
    expect(s.area).toBe(10);
    // On 1 mm × 0.5 mm pixels the same outline is 5 mm²; fewer than three points hold nothing.
    expect(freehandStats(frame, P(0, 0, 5, 0, 0, 4), nonSquare).area).toBe(5);
    expect(freehandStats(frame, P(0, 0, 5, 0), mm1).count).toBe(0);
  });
});

group("probe and screen mapping", () => {
  it("the pixel holding a point, and its value(s)", () => {
    const f = { values: Float32Array.from([1, 2, 3, 4, 5, 6]), columns: 3, rows: 2, samples: 1 };
    expect(probeAt(f, { x: 2.99, y: 1.0 })).toEqual({ col: 2, row: 1, values: [6] });
    expect(probeAt(f, { x: 3, y: 0 })).toBeNull();
    expect(probeAt(f, { x: -0.01, y: 0 })).toBeNull();
    const rgb = { values: Float32Array.from([1, 2, 3, 4, 5, 6]), columns: 2, rows: 1, samples: 3 };
    expect(probeAt(rgb, { x: 1.5, y: 0.5 })).toEqual({ col: 1, row: 0, values: [4, 5, 6] });
  });
  it("screen and image coordinates round-trip through the drawn box", () => {
    const box = { left: 100, top: 50, width: 600, height: 200 }; // 120 × 80 image drawn 3:1 wide
    expect(screenToImage(100, 50, box, 120, 80)).toEqual({ x: 0, y: 0 });
    expect(screenToImage(700, 250, box, 120, 80)).toEqual({ x: 120, y: 80 });
    expect(screenToImage(400, 150, box, 120, 80)).toEqual({ x: 60, y: 40 });
    expect(imageToScreen({ x: 60, y: 40 }, box, 120, 80)).toEqual({ x: 400, y: 150 });
  });
  it("screen and image coordinates under every mirror and quarter turn", () => {
    // A 120 × 80 image; its drawn box after a quarter turn is 80 wide, 120 tall (zoom 1).
    const upright = { left: 10, top: 20, width: 120, height: 80 };
    const turned = { left: 10, top: 20, width: 80, height: 120 };
    // Turned 90° clockwise: the image's top-left corner is at the box's top right, its
    // top-right corner at the bottom right.
    const r90 = { flipH: false, flipV: false, rotate: 90 } as const;
    expect(imageToScreen({ x: 0, y: 0 }, turned, 120, 80, r90)).toEqual({ x: 90, y: 20 });
    expect(imageToScreen({ x: 120, y: 0 }, turned, 120, 80, r90)).toEqual({ x: 90, y: 140 });
    // Mirrored left–right: column 30 is 30 from the right edge.
    expect(imageToScreen({ x: 30, y: 10 }, upright, 120, 80, { flipH: true, flipV: false, rotate: 0 })).toEqual({ x: 100, y: 30 });
    for (const rotate of [0, 90, 180, 270] as const)
      for (const flipH of [false, true])
        for (const flipV of [false, true]) {
          const t = { flipH, flipV, rotate };
          const box = rotate % 180 ? turned : upright;
          for (const p of [{ x: 0, y: 0 }, { x: 30.5, y: 10.25 }, { x: 120, y: 80 }]) {
            const s = imageToScreen(p, box, 120, 80, t);
            const back = screenToImage(s.x, s.y, box, 120, 80, t);
            expect(back.x).toBeCloseTo(p.x, 9);
            expect(back.y).toBeCloseTo(p.y, 9);
          }
        }
  });
  it("value units: Rescale Type, else HU for CT", () => {
    expect(valueUnit("", "CT")).toBe("HU");
    expect(valueUnit("US", "CT")).toBe("HU");
    expect(valueUnit("OD", "CR")).toBe("OD");
    expect(valueUnit("", "MR")).toBe("");
  });
});

group("per-image store", () => {
  const at = (x: number, y: number) => ({ x, y });
  const run = (s: MeasureState, ...as: Parameters<typeof measureReduce>[1][]) => as.reduce(measureReduce, s);

  it("W/L tool places nothing; a length takes two points, an angle three", () => {
    let s = run(initialMeasure(), { type: "place", image: "a#0", at: at(1, 1) });
    expect(s.draft).toBeNull();
    s = run(s, { type: "tool", tool: "length" }, { type: "place", image: "a#0", at: at(1, 1) });
    expect(s.draft?.points).toEqual([at(1, 1)]);
    s = run(s, { type: "move", image: "a#0", at: at(3, 3) });
    expect(s.draft?.cursor).toEqual(at(3, 3));
    s = run(s, { type: "place", image: "a#0", at: at(4, 5) });
    expect(s.draft).toBeNull();
    expect(measurementsOf(s, "a#0")).toEqual([{ id: 1, kind: "length", points: [at(1, 1), at(4, 5)] }]);
    s = run(s, { type: "tool", tool: "angle" }, ...[at(0, 0), at(1, 1)].map((p) => ({ type: "place" as const, image: "a#0", at: p })));
    expect(s.draft?.points.length).toBe(2);
    s = run(s, { type: "place", image: "a#0", at: at(2, 0) });
    expect(measurementsOf(s, "a#0").map((m) => m.kind)).toEqual(["length", "angle"]);
  });

  it("each image keeps its own; Escape (cancel) drops only the draft; clear empties one image", () => {
    let s = run(initialMeasure(), { type: "tool", tool: "ellipse" });
    s = run(s, { type: "place", image: "a#0", at: at(0, 0) }, { type: "place", image: "a#0", at: at(2, 2) });
    s = run(s, { type: "image", image: "b#0" }, { type: "place", image: "b#0", at: at(0, 0) }, { type: "place", image: "b#0", at: at(3, 3) });
    expect(measurementsOf(s, "a#0").length).toBe(1);
    expect(measurementsOf(s, "b#0").length).toBe(1);
    s = run(s, { type: "place", image: "b#0", at: at(1, 1) }, { type: "cancel" });
    expect(s.draft).toBeNull();
    expect(measurementsOf(s, "b#0").length).toBe(1);
    // A draft started on one image is dropped when another is shown, not finished there.
    s = run(s, { type: "place", image: "b#0", at: at(1, 1) }, { type: "image", image: "a#0" });
    expect(s.draft).toBeNull();
    s = run(s, { type: "clear", image: "a#0" });
    expect(measurementsOf(s, "a#0")).toEqual([]);
    expect(measurementsOf(s, "b#0").length).toBe(1);
  });

  it("edit moves one point of one measurement; select and remove; clear drops a selection it removes", () => {
    const place = (image: string, ...ps: ReturnType<typeof at>[]) => ps.map((p) => ({ type: "place" as const, image, at: p }));
    let s = run(initialMeasure(), { type: "tool", tool: "length" }, ...place("a#0", at(0, 0), at(4, 0)), ...place("a#0", at(1, 1), at(2, 2)), ...place("b#0", at(5, 5), at(6, 6)));
    const before = measurementsOf(s, "a#0");
    s = run(s, { type: "edit", image: "a#0", id: 1, index: 1, at: at(4, 3) });
    expect(measurementsOf(s, "a#0")).toEqual([{ id: 1, kind: "length", points: [at(0, 0), at(4, 3)] }, before[1]]);
    expect(measurementsOf(s, "a#0")[1]).toBe(before[1]); // the other one is untouched
    // An edit naming another image, an unknown id or a point that does not exist changes nothing.
    for (const bad of [
      { type: "edit" as const, image: "b#0", id: 1, index: 0, at: at(9, 9) },
      { type: "edit" as const, image: "a#0", id: 99, index: 0, at: at(9, 9) },
      { type: "edit" as const, image: "a#0", id: 1, index: 2, at: at(9, 9) },
    ])
      expect(run(s, bad)).toBe(s);
    s = run(s, { type: "select", id: 2 });
    expect(s.selected).toBe(2);
    s = run(s, { type: "remove", image: "a#0", id: 2 });
    expect([measurementsOf(s, "a#0").map((m) => m.id), s.selected]).toEqual([[1], null]);
    s = run(s, { type: "remove", image: "a#0", id: 1 });
    expect(s.byImage.has("a#0")).toBe(false);
    // Clearing b#0 drops its selected measurement's selection; clearing another keeps it.
    s = run(s, { type: "select", id: 3 }, { type: "clear", image: "a#0" });
    expect(s.selected).toBe(3);
    s = run(s, { type: "clear", image: "b#0" });
    expect(s.selected).toBeNull();
  });

  it("a freehand outline takes points until it is closed; fewer than three are dropped", () => {
    const place = (...ps: ReturnType<typeof at>[]) => ps.map((p) => ({ type: "place" as const, image: "a#0", at: p }));
    let s = run(initialMeasure(), { type: "tool", tool: "freehand" }, ...place(at(0, 0), at(5, 0), at(5, 5), at(0, 5)));
    expect(s.draft?.points.length).toBe(4);
    s = run(s, { type: "close", image: "a#0" });
    expect([s.draft, measurementsOf(s, "a#0")]).toEqual([null, [{ id: 1, kind: "freehand", points: [at(0, 0), at(5, 0), at(5, 5), at(0, 5)] }]]);
    s = run(s, ...place(at(1, 1), at(2, 2)), { type: "close", image: "a#0" });
    expect([s.draft, measurementsOf(s, "a#0").length]).toEqual([null, 1]);
    // "close" finishes only a freehand draft on its own image.
    s = run(s, { type: "tool", tool: "length" }, ...place(at(1, 1)), { type: "close", image: "a#0" });
    expect(s.draft?.points.length).toBe(1);
  });

  it("handleAt: the nearest point within the radius, in screen pixels", () => {
    const items = [
      { id: 1, points: [at(0, 0), at(10, 0)] },
      { id: 2, points: [at(10, 1)] },
    ];
    const twice = (p: { x: number; y: number }) => ({ x: 2 * p.x, y: 2 * p.y }); // 2 screen px per image px
    expect(handleAt(items, { x: 1, y: 1 }, twice, 6)).toEqual({ id: 1, index: 0 });
    // (20, 0) and (20, 2) are both within 6 px of (20, 1.5): the nearer, id 2's point, wins.
    expect(handleAt(items, { x: 20, y: 1.5 }, twice, 6)).toEqual({ id: 2, index: 0 });
    expect(handleAt(items, { x: 20, y: 0.5 }, twice, 6)).toEqual({ id: 1, index: 1 });
    expect(handleAt(items, { x: 10, y: 10 }, twice, 6)).toBeNull();
    expect(handleAt([], { x: 0, y: 0 }, twice, 6)).toBeNull();
  });
});
