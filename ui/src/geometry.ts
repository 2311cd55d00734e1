// Image geometry for the viewer: true aspect of non-square pixels, orientation markers,
// the scale bar and the name of the calibration. Pure maths, no DOM (tests: geometry.test.ts).
//
// Conventions (PS3.3 C.7.6.2.1.1): the patient coordinate system is LPS, +x towards the
// patient's Left, +y Posterior, +z Head. Image Orientation (Patient) gives the direction of
// the first row (towards higher column numbers, i.e. to the right of the displayed image)
// and of the first column (towards higher row numbers, i.e. down). Pixel Spacing and Pixel
// Aspect Ratio are given vertical first (row spacing \ column spacing).
import type { Calibration, PixelGeometry } from "./bindings";

/** How many screen units one pixel spans across (`sx`) and down (`sy`): the finer pixel
 *  size is 1, so 1:1 zoom shows the finer direction at one screen pixel per image pixel. */
export function pixelScale(aspect: readonly [number, number]): { sx: number; sy: number } {
  const [v, h] = aspect;
  if (!(v > 0 && h > 0 && Number.isFinite(v) && Number.isFinite(h))) return { sx: 1, sy: 1 };
  const unit = Math.min(v, h);
  return { sx: h / unit, sy: v / unit };
}

/** The image's size in screen units at zoom 1: columns × pixel width, rows × pixel height. */
export function displaySize(columns: number, rows: number, aspect: readonly [number, number]): { width: number; height: number } {
  const { sx, sy } = pixelScale(aspect);
  return { width: columns * sx, height: rows * sy };
}

/** Where an image goes in a box (a thumbnail): as large as fits at its true aspect, centred. */
export function fitRect(boxW: number, boxH: number, width: number, height: number): { x: number; y: number; w: number; h: number } {
  if (!(width > 0 && height > 0)) return { x: 0, y: 0, w: 0, h: 0 };
  const s = Math.min(boxW / width, boxH / height);
  const w = width * s;
  const h = height * s;
  return { x: (boxW - w) / 2, y: (boxH - h) / 2, w, h };
}

/** Components below this (|cos| < 0.25, about 14.5° off the axis) are left out of a marker,
 *  so a slightly tilted slice is still labelled with one letter. */
export const OBLIQUE_THRESHOLD = 0.25;

const POSITIVE = ["L", "P", "H"] as const;
const NEGATIVE = ["R", "A", "F"] as const;

/** The letters for a direction in LPS: the components at or above `threshold` in absolute
 *  value, largest first, each as the side it points to ("L" for +x, "R" for −x …). */
export function orientationLabel(v: readonly [number, number, number], threshold = OBLIQUE_THRESHOLD): string {
  return [0, 1, 2]
    .filter((i) => Math.abs(v[i]!) >= threshold)
    .sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!) || a - b)
    .map((i) => (v[i]! > 0 ? POSITIVE[i] : NEGATIVE[i]))
    .join("");
}

/** The letters on the four sides of the displayed image. */
export interface Markers {
  top: string;
  bottom: string;
  left: string;
  right: string;
}

/** Markers from Image Orientation (Patient): the right edge is where the row direction
 *  points, the bottom edge where the column direction points, the others the opposite. */
export function markersFromOrientation(iop: readonly number[], threshold = OBLIQUE_THRESHOLD): Markers | null {
  if (iop.length !== 6 || !iop.every(Number.isFinite)) return null;
  const row: [number, number, number] = [iop[0]!, iop[1]!, iop[2]!];
  const col: [number, number, number] = [iop[3]!, iop[4]!, iop[5]!];
  const neg = (v: [number, number, number]): [number, number, number] => [-v[0], -v[1], -v[2]];
  return {
    right: orientationLabel(row, threshold),
    left: orientationLabel(neg(row), threshold),
    bottom: orientationLabel(col, threshold),
    top: orientationLabel(neg(col), threshold),
  };
}

const OPPOSITE: Record<string, string> = { A: "P", P: "A", R: "L", L: "R", H: "F", F: "H" };

/** The opposite direction of a Patient Orientation value ("AF" → "PH"). */
export function oppositeLabel(s: string): string {
  return [...s].map((c) => OPPOSITE[c] ?? c).join("");
}

/** Markers from Patient Orientation (0020,0020) (projection images): its first value is the
 *  direction of the rows (the right edge), its second that of the columns (the bottom edge). */
export function markersFromPatientOrientation(po: readonly [string, string]): Markers {
  return { right: po[0], left: oppositeLabel(po[0]), bottom: po[1], top: oppositeLabel(po[1]) };
}

/** The markers of a frame: from Image Orientation (Patient), else Patient Orientation. */
export function markersFor(g: PixelGeometry | undefined | null): Markers | null {
  if (!g) return null;
  if (g.orientation) return markersFromOrientation(g.orientation);
  if (g.patient_orientation) return markersFromPatientOrientation(g.patient_orientation);
  return null;
}

/** A display transform: mirrored left–right and/or top–bottom first, then turned clockwise. */
export interface ViewTransform {
  flipH: boolean;
  flipV: boolean;
  rotate: 0 | 90 | 180 | 270;
}

/** RGBA pixels (`width` × `height`, top row first) as the display transform shows them: the
 *  pixel at (x, y) moves where the mirror, then the clockwise quarter turns, put it. */
export function orientPixels(rgba: Uint8Array, width: number, height: number, t: ViewTransform): { rgba: Uint8Array; width: number; height: number } {
  const quarter = t.rotate % 180 !== 0;
  const [w2, h2] = quarter ? [height, width] : [width, height];
  const out = new Uint8Array(rgba.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let u = t.flipH ? width - 1 - x : x;
      let v = t.flipV ? height - 1 - y : y;
      let [cw, ch] = [width, height];
      // One clockwise quarter: (u, v) in a cw × ch image goes to (ch − 1 − v, u) in ch × cw.
      for (let k = 0; k < t.rotate / 90; k++) {
        [u, v] = [ch - 1 - v, u];
        [cw, ch] = [ch, cw];
      }
      const from = (y * width + x) * 4;
      out.set(rgba.subarray(from, from + 4), (v * w2 + u) * 4);
    }
  return { rgba: out, width: w2, height: h2 };
}

/** A frame's geometry as the display transform shows it: a quarter turn swaps the pixel's
 *  height and width (and the row and column spacings). */
export function orientGeometry(g: PixelGeometry, t: ViewTransform): PixelGeometry {
  if (t.rotate % 180 === 0) return g;
  const swap = <T>(p: [T, T]): [T, T] => [p[1], p[0]];
  return { ...g, spacing: g.spacing ? swap(g.spacing) : null, aspect: swap(g.aspect) };
}

/** Markers after a display transform: they follow the image's edges. */
export function transformMarkers(m: Markers, t: ViewTransform): Markers {
  let r = { ...m };
  if (t.flipH) r = { ...r, left: r.right, right: r.left };
  if (t.flipV) r = { ...r, top: r.bottom, bottom: r.top };
  for (let k = 0; k < t.rotate / 90; k++) r = { top: r.left, right: r.top, bottom: r.right, left: r.bottom };
  return r;
}

/** The name of where the size comes from, as shown beside the scale. */
export function calibrationLabel(c: Calibration): string {
  switch (c) {
    case "pixel_spacing":
      return "Pixel Spacing";
    case "detector":
      return "Imager Pixel Spacing (detector)";
    case "magnification":
      return "Imager Pixel Spacing ÷ magnification";
    case "aspect":
      return "uncalibrated (Pixel Aspect Ratio)";
    case "uncalibrated":
      return "uncalibrated";
  }
}

/** The corner text: the calibration, with the pixel size (row × column, mm) when known. */
export function calibrationText(g: PixelGeometry): string {
  const label = calibrationLabel(g.calibration);
  if (g.spacing) {
    const m = g.calibration === "magnification" && g.magnification ? ` ${formatMm(g.magnification)}` : "";
    return `${label}${m}: ${formatMm(g.spacing[0])}×${formatMm(g.spacing[1])} mm`;
  }
  if (g.calibration === "aspect") return `${label}: ${formatMm(g.aspect[0])}:${formatMm(g.aspect[1])}`;
  return label;
}

/** Up to 4 significant decimals, no trailing zeros. */
export function formatMm(v: number): string {
  return String(Number(v.toPrecision(4)));
}

/** The largest 1, 2 or 5 × 10^k that is at most `max` (0 for nothing positive). */
export function roundLength(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 0;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [5, 2, 1]) if (m * p <= max * (1 + 1e-9)) return m * p;
  return p;
}

/** A scale bar of a round length no longer than `maxPx` screen pixels. */
export function scaleBar(mmPerScreenPx: number, maxPx: number): { mm: number; px: number; label: string } | null {
  const mm = roundLength(maxPx * mmPerScreenPx);
  if (!(mm > 0)) return null;
  return { mm, px: mm / mmPerScreenPx, label: `${formatMm(mm)} mm` };
}

/** mm per screen pixel at a zoom (screen pixels per finer image pixel); null if uncalibrated. */
export function mmPerScreenPixel(g: PixelGeometry | undefined | null, zoom: number): number | null {
  if (!g?.spacing || !(zoom > 0)) return null;
  return Math.min(g.spacing[0], g.spacing[1]) / zoom;
}

/** The scale an export reply states, for the status line. */
export function exportScaleText(e: { width: number; height: number; mm_per_pixel: number | null; calibration: string }): string {
  const mm = e.mm_per_pixel !== null ? `, ${formatMm(e.mm_per_pixel)} mm per pixel` : "";
  return `${e.width}×${e.height}${mm}, ${e.calibration}`;
}
