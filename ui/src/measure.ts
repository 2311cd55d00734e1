// Measurements on an image: length, angle, ellipse, rectangle and freehand ROI statistics and
// the value probe, in the
// same calibration the geometry work derives (PixelGeometry: Pixel Spacing, Imager Pixel
// Spacing at the detector or ÷ magnification, Pixel Aspect Ratio). Pure maths and an
// immutable per-image store; no DOM (tests: measure.test.ts; the real window:
// tests/e2e/measure.e2e.mjs against tests/dicom/measure/make_measure_reference.py).
//
// Coordinates. A point is in continuous image coordinates: x along the row (towards higher
// column numbers), y down the column (towards higher row numbers). The pixel in column c, row
// r covers [c, c+1) × [r, r+1); its centre is (c + 0.5, r + 0.5). Physical coordinates are
// x · column spacing, y · row spacing (Pixel Spacing is row spacing \ column spacing, PS3.3
// 10.7.1.3), so lengths and angles are measured in mm whatever the pixels' aspect.
//
// Uncalibrated images (no spacing) are measured in "px": the pixel's aspect (Pixel Aspect
// Ratio, else 1:1) is kept, with the finer direction one px long, exactly as the viewport
// draws them; nothing is ever called mm without a spacing.
import type { Calibration, PixelGeometry, SavedMeasurement } from "./bindings";
import { pixelScale, type ViewTransform } from "./geometry";

export interface Pt {
  x: number;
  y: number;
}

/** Size of one pixel across (`sx`, its width) and down (`sy`, its height) in `unit`. */
export interface Calib {
  sx: number;
  sy: number;
  unit: "mm" | "px";
  calibration: Calibration;
}

export function calibrationOf(g: PixelGeometry): Calib {
  const s = g.spacing;
  if (s && s[0] > 0 && s[1] > 0 && Number.isFinite(s[0]) && Number.isFinite(s[1])) return { sx: s[1], sy: s[0], unit: "mm", calibration: g.calibration };
  const { sx, sy } = pixelScale(g.aspect);
  return { sx, sy, unit: "px", calibration: g.calibration };
}

/** The distance between two points in the calibration's unit. */
export function lengthOf(a: Pt, b: Pt, c: Calib): number {
  return Math.hypot((b.x - a.x) * c.sx, (b.y - a.y) * c.sy);
}

/** The angle at `vertex` between the arms to `a` and `b`, in degrees (0 … 180), measured in
 *  physical space (so non-square pixels give the true angle); null when an arm has no length. */
export function angleOf(a: Pt, vertex: Pt, b: Pt, c: Calib): number | null {
  const ux = (a.x - vertex.x) * c.sx;
  const uy = (a.y - vertex.y) * c.sy;
  const vx = (b.x - vertex.x) * c.sx;
  const vy = (b.y - vertex.y) * c.sy;
  if ((ux === 0 && uy === 0) || (vx === 0 && vy === 0)) return null;
  // atan2 of cross and dot: accurate near 0° and 180°, where acos of the cosine is not.
  return (Math.atan2(Math.abs(ux * vy - uy * vx), ux * vx + uy * vy) * 180) / Math.PI;
}

/** An axis-aligned ellipse given by two opposite corners of its bounding box. */
export interface Ellipse {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
}

export function ellipseFromCorners(a: Pt, b: Pt): Ellipse {
  return { cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2, rx: Math.abs(b.x - a.x) / 2, ry: Math.abs(b.y - a.y) / 2 };
}

/** Whether a pixel is in the ROI: its centre (c + 0.5, r + 0.5) satisfies
 *  ((x − cx) / rx)² + ((y − cy) / ry)² ≤ 1 (the boundary counts as inside). An ellipse with a
 *  zero radius holds no pixel. Written as the reference script writes it (numpy, float64). */
export function pixelInside(e: Ellipse, col: number, row: number): boolean {
  if (!(e.rx > 0 && e.ry > 0)) return false;
  const u = (col + 0.5 - e.cx) / e.rx;
  const v = (row + 0.5 - e.cy) / e.ry;
  return u * u + v * v <= 1;
}

/** An axis-aligned rectangle given by two opposite corners: x0 ≤ x1, y0 ≤ y1. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function rectFromCorners(a: Pt, b: Pt): Rect {
  return { x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y), x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y) };
}

/** Whether a pixel is in a rectangle ROI: its centre (c + 0.5, r + 0.5) lies in [x0, x1] ×
 *  [y0, y1] (the boundary counts as inside). A rectangle with no width or height holds none. */
export function pixelInRect(r: Rect, col: number, row: number): boolean {
  if (!(r.x1 > r.x0 && r.y1 > r.y0)) return false;
  const x = col + 0.5;
  const y = row + 0.5;
  return x >= r.x0 && x <= r.x1 && y >= r.y0 && y <= r.y1;
}

/** Statistics of the modality values of the pixels inside an ROI. `count` is the number of
 *  pixels; `sd` is the population standard deviation (divided by n, numpy's default); `area` is
 *  the shape's own area (π·rx·ry for an ellipse, width·height for a rectangle) in the
 *  calibration's unit squared, not the pixel count. */
export interface RoiStats {
  count: number;
  mean: number | null;
  sd: number | null;
  min: number | null;
  max: number | null;
  area: number;
  unit: "mm" | "px";
  /** A colour frame: pixels are counted, but R, G, B have no single value to average. */
  colour: boolean;
}

/** A frame's values: `samples` interleaved per pixel, top row first (the viewport's modality
 *  values; only single-sample frames have statistics). */
export interface FrameValues {
  values: ArrayLike<number>;
  columns: number;
  rows: number;
  samples: number;
}

/** Whether a pixel is in a freehand ROI (the closed polygon through `poly`): its centre
 *  (c + 0.5, r + 0.5) passes the even-odd crossing test, edge by edge, written as the
 *  reference script writes it (same operations in the same order, so the same answer on an
 *  edge). A polygon of fewer than three points holds nothing. */
export function pixelInPolygon(poly: readonly Pt[], col: number, row: number): boolean {
  const n = poly.length;
  if (n < 3) return false;
  const x = col + 0.5;
  const y = row + 0.5;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const a = poly[i]!;
    const b = poly[j]!;
    if (a.y > y !== b.y > y && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/** The polygon's own area in pixels² (the shoelace formula; any orientation). */
export function polygonArea(poly: readonly Pt[]): number {
  let twice = 0;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) twice += poly[j]!.x * poly[i]!.y - poly[i]!.x * poly[j]!.y;
  return Math.abs(twice) / 2;
}

export function freehandStats(f: FrameValues, poly: readonly Pt[], c: Calib): RoiStats {
  const xs = poly.map((p) => p.x);
  const ys = poly.map((p) => p.y);
  const box = { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
  return regionStats(f, box, poly.length >= 3, (col, row) => pixelInPolygon(poly, col, row), polygonArea(poly) * c.sx * c.sy, c);
}

export function ellipseStats(f: FrameValues, e: Ellipse, c: Calib): RoiStats {
  const area = Math.PI * e.rx * c.sx * e.ry * c.sy;
  const box = { x0: e.cx - e.rx, y0: e.cy - e.ry, x1: e.cx + e.rx, y1: e.cy + e.ry };
  return regionStats(f, box, e.rx > 0 && e.ry > 0, (col, row) => pixelInside(e, col, row), area, c);
}

export function rectStats(f: FrameValues, r: Rect, c: Calib): RoiStats {
  const area = (r.x1 - r.x0) * c.sx * (r.y1 - r.y0) * c.sy;
  return regionStats(f, r, r.x1 > r.x0 && r.y1 > r.y0, (col, row) => pixelInRect(r, col, row), area, c);
}

/** The statistics over the pixels `inside` accepts, looking only at those near `box` (the
 *  region's bounding box in image coordinates); none unless the region is `nonEmpty`. */
function regionStats(f: FrameValues, box: Rect, nonEmpty: boolean, inside: (col: number, row: number) => boolean, area: number, c: Calib): RoiStats {
  const colour = f.samples !== 1;
  const out: RoiStats = { count: 0, mean: null, sd: null, min: null, max: null, area, unit: c.unit, colour };
  if (!nonEmpty) return out;
  // Rows and columns that can hold a centre inside, clipped to the image.
  const r0 = Math.max(0, Math.floor(box.y0 - 1));
  const r1 = Math.min(f.rows - 1, Math.ceil(box.y1 + 1));
  const c0 = Math.max(0, Math.floor(box.x0 - 1));
  const c1 = Math.min(f.columns - 1, Math.ceil(box.x1 + 1));
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let r = r0; r <= r1; r++)
    for (let col = c0; col <= c1; col++) {
      if (!inside(col, r)) continue;
      n++;
      if (colour) continue;
      const v = f.values[r * f.columns + col]!;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  if (n === 0 || colour) return { ...out, count: n };
  const mean = sum / n;
  // Second pass for the deviations: no cancellation for large values with a small spread.
  let ss = 0;
  for (let r = r0; r <= r1; r++)
    for (let col = c0; col <= c1; col++) {
      if (!inside(col, r)) continue;
      const d = f.values[r * f.columns + col]! - mean;
      ss += d * d;
    }
  return { count: n, mean, sd: Math.sqrt(ss / n), min, max, area, unit: c.unit, colour };
}

/** The value under a point: the pixel holding it (0-based column and row) and its values
 *  (one, or R, G, B); null outside the image. */
export function probeAt(f: FrameValues, p: Pt): { col: number; row: number; values: number[] } | null {
  const col = Math.floor(p.x);
  const row = Math.floor(p.y);
  if (!(col >= 0 && row >= 0 && col < f.columns && row < f.rows)) return null;
  const at = (row * f.columns + col) * f.samples;
  return { col, row, values: Array.from({ length: f.samples }, (_, k) => f.values[at + k]!) };
}

/** The unit of a frame's modality values: Rescale Type (0028,1054) when it names one (not
 *  "US", unspecified); HU for CT, whose rescaled values are Hounsfield units (PS3.3 C.8.2.1.1.4)
 *  when it is absent; otherwise none. */
export function valueUnit(rescaleType: string, modality: string): string {
  const t = rescaleType.trim();
  if (t && t.toUpperCase() !== "US") return t;
  return modality.trim().toUpperCase() === "CT" ? "HU" : "";
}

/** Screen ↔ image: `box` is the drawn image's client rectangle (its CSS box after zoom, pan
 *  and the display transform `t`: a turn by quarters keeps it axis-aligned), so a point keeps
 *  its place in the image whatever the view. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

const NO_TRANSFORM: ViewTransform = { flipH: false, flipV: false, rotate: 0 };

export function screenToImage(x: number, y: number, box: Box, columns: number, rows: number, t: ViewTransform = NO_TRANSFORM): Pt {
  // Where in the box, as fractions; undo the turns (a clockwise quarter sends (u, v) to
  // (1 − v, u)), then the mirrors.
  let u = (x - box.left) / box.width;
  let v = (y - box.top) / box.height;
  for (let k = 0; k < t.rotate / 90; k++) [u, v] = [v, 1 - u];
  if (t.flipH) u = 1 - u;
  if (t.flipV) v = 1 - v;
  return { x: u * columns, y: v * rows };
}

export function imageToScreen(p: Pt, box: Box, columns: number, rows: number, t: ViewTransform = NO_TRANSFORM): { x: number; y: number } {
  let u = p.x / columns;
  let v = p.y / rows;
  if (t.flipH) u = 1 - u;
  if (t.flipV) v = 1 - v;
  for (let k = 0; k < t.rotate / 90; k++) [u, v] = [1 - v, u];
  return { x: box.left + u * box.width, y: box.top + v * box.height };
}

// --- Formatting -----------------------------------------------------------------------------

/** A number with `d` decimals, a true minus sign, no "-0". */
export function fixed(v: number, d: number): string {
  const s = v.toFixed(d);
  return (/^-0(\.0*)?$/.test(s) ? s.slice(1) : s).replace(/^-/, "−");
}

export function formatLength(v: number, unit: "mm" | "px"): string {
  return `${fixed(v, 2)} ${unit}`;
}

export function formatAngle(deg: number): string {
  return `${fixed(deg, 1)}°`;
}

/** mm² below 1000 mm², then cm² (what a report uses for larger regions); px² uncalibrated. */
export function formatArea(v: number, unit: "mm" | "px"): string {
  if (unit === "px") return `${fixed(v, 1)} px²`;
  return v < 1000 ? `${fixed(v, 1)} mm²` : `${fixed(v / 100, 2)} cm²`;
}

/** A modality value: integers as they are, others with one decimal. */
export function formatValue(v: number): string {
  return Number.isInteger(v) ? fixed(v, 0) : fixed(v, 1);
}

/** An ROI's statistics in SUVbw: the values times the image's SUV factor (PET). */
export interface SuvStats {
  mean: number;
  sd: number;
  min: number;
  max: number;
}

export function suvStats(s: RoiStats, factor: number): SuvStats | null {
  if (s.mean === null || s.sd === null || s.min === null || s.max === null) return null;
  return { mean: s.mean * factor, sd: s.sd * factor, min: s.min * factor, max: s.max * factor };
}

/** PET: "SUVbw" when values convert (the basis in its tooltip), else why not; "" otherwise. */
export function suvText(h: { suv: { factor: number } | null; suv_missing: string | null } | undefined): string {
  if (h?.suv) return "SUVbw";
  return h?.suv_missing ? `no SUV: ${h.suv_missing}` : "";
}

/** The SUV line of an ROI ("SUVbw mean 2.41 SD 0.30 max 5.30"). */
export function suvLine(s: SuvStats): string {
  return `SUVbw mean ${fixed(s.mean, 2)} SD ${fixed(s.sd, 2)} max ${fixed(s.max, 2)}`;
}

export function statsLines(s: RoiStats, valueUnitText: string): string[] {
  const u = valueUnitText ? ` ${valueUnitText}` : "";
  const lines = [`Area ${formatArea(s.area, s.unit)}`];
  if (s.mean === null || s.sd === null || s.min === null || s.max === null) lines.push(`n ${s.count} px${s.colour ? " (colour: no values)" : ""}`);
  else
    lines.push(
      `Mean ${fixed(s.mean, 1)}${u} SD ${fixed(s.sd, 1)}`,
      `Min ${formatValue(s.min)} Max ${formatValue(s.max)}${u}`,
      `n ${s.count} px`,
    );
  return lines;
}

// --- The per-image store --------------------------------------------------------------------

export type Tool = "wl" | "length" | "angle" | "ellipse" | "rect" | "freehand";
export type MeasureKind = Exclude<Tool, "wl">;

/** Points a measurement takes: a length's two ends; an angle's first arm end, vertex and
 *  second arm end; an ellipse's two opposite bounding-box corners; a rectangle's two opposite
 *  corners. A freehand outline takes any number (at least three, up to `FREEHAND_MAX`): it is
 *  finished by a "close" action, not by a count. */
export const POINTS: Readonly<Record<MeasureKind, number>> = { length: 2, angle: 3, ellipse: 2, rect: 2, freehand: Infinity };

/** Vertices a freehand outline keeps at most (the Rust side refuses more). */
export const FREEHAND_MAX = 10_000;

/** The ROI kinds (those with statistics over their pixels). */
export const isRoi = (k: MeasureKind): k is "ellipse" | "rect" | "freehand" => k === "ellipse" || k === "rect" || k === "freehand";

export interface Measurement {
  id: number;
  kind: MeasureKind;
  points: readonly Pt[];
}

export interface Draft {
  kind: MeasureKind;
  image: string;
  points: readonly Pt[];
  cursor: Pt | null;
}

/** Measurements belong to the image they were drawn on (a key naming the file and frame).
 *  Ids are unique across images; `selected` is the one whose handles are shown, which Delete
 *  removes. */
export interface MeasureState {
  tool: Tool;
  byImage: ReadonlyMap<string, readonly Measurement[]>;
  draft: Draft | null;
  nextId: number;
  selected: number | null;
}

export type MeasureAction =
  | { type: "tool"; tool: Tool }
  | { type: "place"; image: string; at: Pt }
  | { type: "move"; image: string; at: Pt }
  | { type: "cancel" }
  /** Finish the freehand outline being drawn (three points or more; fewer are dropped). */
  | { type: "close"; image: string }
  | { type: "clear"; image: string }
  | { type: "image"; image: string | null }
  /** Measurements read back from where they were saved, appended with new ids. */
  | { type: "restore"; items: readonly { image: string; kind: MeasureKind; points: readonly Pt[] }[] }
  /** Move point `index` of measurement `id` (a dragged handle). */
  | { type: "edit"; image: string; id: number; index: number; at: Pt }
  | { type: "select"; id: number | null }
  | { type: "remove"; image: string; id: number };

export function initialMeasure(): MeasureState {
  return { tool: "wl", byImage: new Map(), draft: null, nextId: 1, selected: null };
}

export function measurementsOf(s: MeasureState, image: string | null): readonly Measurement[] {
  return image === null ? [] : (s.byImage.get(image) ?? []);
}

export function measureReduce(s: MeasureState, a: MeasureAction): MeasureState {
  switch (a.type) {
    case "tool":
      return { ...s, tool: a.tool, draft: null };
    case "place": {
      if (s.tool === "wl") return s;
      const kind = s.tool;
      const prior = s.draft && s.draft.image === a.image && s.draft.kind === kind ? s.draft.points : [];
      if (prior.length >= FREEHAND_MAX) return s;
      const points = [...prior, a.at];
      if (points.length < POINTS[kind]) return { ...s, draft: { kind, image: a.image, points, cursor: a.at } };
      const byImage = new Map(s.byImage);
      byImage.set(a.image, [...measurementsOf(s, a.image), { id: s.nextId, kind, points }]);
      return { ...s, byImage, draft: null, nextId: s.nextId + 1 };
    }
    case "move":
      return s.draft && s.draft.image === a.image ? { ...s, draft: { ...s.draft, cursor: a.at } } : s;
    case "cancel":
      return s.draft ? { ...s, draft: null } : s;
    case "close": {
      const d = s.draft;
      if (!d || d.image !== a.image || d.kind !== "freehand") return s;
      if (d.points.length < 3) return { ...s, draft: null };
      const byImage = new Map(s.byImage);
      byImage.set(a.image, [...measurementsOf(s, a.image), { id: s.nextId, kind: d.kind, points: d.points }]);
      return { ...s, byImage, draft: null, nextId: s.nextId + 1 };
    }
    case "clear": {
      if (!s.byImage.has(a.image) && !s.draft) return s;
      const gone = measurementsOf(s, a.image);
      const byImage = new Map(s.byImage);
      byImage.delete(a.image);
      const selected = gone.some((m) => m.id === s.selected) ? null : s.selected;
      return { ...s, byImage, selected, draft: s.draft?.image === a.image ? null : s.draft };
    }
    case "edit": {
      const list = measurementsOf(s, a.image);
      const i = list.findIndex((m) => m.id === a.id);
      const m = list[i];
      if (!m || a.index < 0 || a.index >= m.points.length) return s;
      const points = m.points.map((p, k) => (k === a.index ? a.at : p));
      const byImage = new Map(s.byImage);
      byImage.set(a.image, list.map((x, k) => (k === i ? { ...m, points } : x)));
      return { ...s, byImage };
    }
    case "select":
      return s.selected === a.id ? s : { ...s, selected: a.id };
    case "restore": {
      if (!a.items.length) return s;
      const byImage = new Map(s.byImage);
      let nextId = s.nextId;
      for (const it of a.items) byImage.set(it.image, [...(byImage.get(it.image) ?? []), { id: nextId++, kind: it.kind, points: it.points }]);
      return { ...s, byImage, nextId };
    }
    case "remove": {
      const list = measurementsOf(s, a.image);
      if (!list.some((m) => m.id === a.id)) return s;
      const byImage = new Map(s.byImage);
      const rest = list.filter((m) => m.id !== a.id);
      if (rest.length) byImage.set(a.image, rest);
      else byImage.delete(a.image);
      return { ...s, byImage, selected: s.selected === a.id ? null : s.selected };
    }
    case "image":
      // A draft stays on the image it was started on; another image on screen drops it.
      return s.draft && s.draft.image !== a.image ? { ...s, draft: null } : s;
  }
}

/** The handle (measurement id and point index) nearest to the screen point `at` within
 *  `radius` screen pixels, the later-drawn measurement winning a tie; null when none is that
 *  close. `toScreen` maps image points to the same screen coordinates as `at`. */
export function handleAt(
  items: readonly { id: number; points: readonly Pt[] }[],
  at: { x: number; y: number },
  toScreen: (p: Pt) => { x: number; y: number },
  radius: number,
): { id: number; index: number } | null {
  let best: { id: number; index: number } | null = null;
  let bestD = radius;
  for (const m of items)
    m.points.forEach((p, index) => {
      const q = toScreen(p);
      const d = Math.hypot(q.x - at.x, q.y - at.y);
      if (d <= bestD) {
        bestD = d;
        best = { id: m.id, index };
      }
    });
  return best;
}

/** What a measurement shows: its label lines and its numbers (for tests and export). */
export interface Described {
  id: number;
  kind: MeasureKind;
  points: readonly Pt[];
  lines: string[];
  length?: number;
  angle?: number | null;
  stats?: RoiStats;
  unit: "mm" | "px";
  /** The unit of an ROI's values (HU, a Rescale Type), empty when they have none. */
  valueUnit?: string;
  /** PET with an SUV: the ROI's statistics in SUVbw. */
  suv?: SuvStats;
}

export function describe(m: { id: number; kind: MeasureKind; points: readonly Pt[] }, f: FrameValues, c: Calib, valueUnitText: string, suvFactor: number | null = null): Described {
  const d = describeIn(m, f, c, valueUnitText);
  const suv = d.stats && suvFactor !== null ? suvStats(d.stats, suvFactor) : null;
  return suv ? { ...d, suv, lines: [...d.lines, suvLine(suv)] } : d;
}

function describeIn(m: { id: number; kind: MeasureKind; points: readonly Pt[] }, f: FrameValues, c: Calib, valueUnitText: string): Described {
  const base = { id: m.id, kind: m.kind, points: m.points, unit: c.unit };
  const [a, b, d] = m.points;
  if (m.kind === "length" && a && b) {
    const length = lengthOf(a, b, c);
    return { ...base, length, lines: [formatLength(length, c.unit)] };
  }
  if (m.kind === "angle" && a && b && d) {
    const angle = angleOf(a, b, d, c);
    return { ...base, angle, lines: [angle === null ? "—°" : formatAngle(angle)] };
  }
  if (m.kind === "ellipse" && a && b) {
    const stats = ellipseStats(f, ellipseFromCorners(a, b), c);
    return { ...base, stats, valueUnit: valueUnitText, lines: statsLines(stats, valueUnitText) };
  }
  if (m.kind === "rect" && a && b) {
    const stats = rectStats(f, rectFromCorners(a, b), c);
    return { ...base, stats, valueUnit: valueUnitText, lines: statsLines(stats, valueUnitText) };
  }
  if (m.kind === "freehand" && m.points.length >= 3) {
    const stats = freehandStats(f, m.points, c);
    return { ...base, stats, valueUnit: valueUnitText, lines: statsLines(stats, valueUnitText) };
  }
  return { ...base, lines: [] };
}

// --- Saved with the study, exported -----------------------------------------------------------

/** The image a measurement is on, as it is saved: its study, SOP Instance UID, frame and file. */
export interface ImageRef {
  study: string;
  sop: string;
  frame: number;
  path: string;
}

/** The store's key of an image: measurements follow the instance, wherever its file is. */
export const imageKey = (sop: string, frame: number): string => `${sop}#${frame}`;

/** A described measurement as it is saved and exported, with the numbers it shows. */
export function toSaved(ref: ImageRef, d: Described): SavedMeasurement {
  const s = d.stats;
  const num = (v: number | null | undefined) => (v === undefined || v === null || !Number.isFinite(v) ? null : v);
  return {
    sop_instance_uid: ref.sop,
    frame: ref.frame,
    path: ref.path,
    kind: d.kind,
    points: d.points.map((p) => [p.x, p.y] as [number, number]),
    unit: d.unit,
    length: num(d.length),
    angle: num(d.angle),
    area: num(s?.area),
    mean: num(s?.mean),
    sd: num(s?.sd),
    min: num(s?.min),
    max: num(s?.max),
    count: s ? s.count : null,
    value_unit: d.valueUnit ?? "",
    suv_mean: num(d.suv?.mean),
    suv_sd: num(d.suv?.sd),
    suv_min: num(d.suv?.min),
    suv_max: num(d.suv?.max),
  };
}

/** A saved measurement back in the store's terms (its numbers are recomputed when shown). */
export function fromSaved(r: SavedMeasurement): { image: string; kind: MeasureKind; points: Pt[] } {
  return { image: imageKey(r.sop_instance_uid, r.frame), kind: r.kind, points: r.points.map(([x, y]) => ({ x, y })) };
}
