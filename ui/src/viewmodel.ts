// The viewport's view model: an immutable state and a reducer. No DOM here.
import type { Window } from "./types";
import { MIN_FILE_WIDTH, sanitizeWindow } from "./windowing";
import type { ViewTransform } from "./geometry";

export interface ViewState {
  slice: number; // 0-based
  sliceCount: number;
  window: Window;
  windowLabel: string; // "file: BRAIN", "preset: Lung", "auto", "manual"
  fileWindowIndex: number;
  /** Whether the window is one of the file's: only then does its VOI LUT Function apply. */
  fileVoi: boolean;
  /** Index of the file's VOI LUT in use instead of the window, if any. */
  voiLut: number | null;
  invert: boolean;
  /** Screen pixels per image pixel; null = fit to the viewport. */
  zoom: number | null;
  panX: number; // screen pixels, from the centred position
  panY: number;
  playing: boolean;
  fps: number;
  /** Mirrored and/or turned on screen (flip first, then a clockwise turn). */
  transform: ViewTransform;
}

export type ViewAction =
  | { type: "open"; sliceCount: number; slice?: number }
  | { type: "slice"; delta: number }
  | { type: "setSlice"; slice: number }
  | { type: "cineTick" }
  | { type: "setWindow"; window: Window; label: string; fileWindowIndex?: number; fileVoi?: boolean }
  | { type: "setVoiLut"; index: number; span: Window; label: string; fileWindowIndex: number }
  | { type: "wlDrag"; dx: number; dy: number }
  | { type: "invert" }
  | { type: "zoom"; factor: number; fitZoom: number; anchor?: { x: number; y: number } }
  | { type: "pan"; dx: number; dy: number }
  | { type: "fit" }
  | { type: "oneToOne" }
  | { type: "play"; playing: boolean }
  | { type: "fps"; fps: number }
  | { type: "reset" }
  /** Mirror the image as it is on screen: left–right ("h") or top–bottom ("v"). */
  | { type: "flip"; axis: "h" | "v" }
  /** Turn the image on screen by a quarter, clockwise (1) or anticlockwise (−1). */
  | { type: "rotate"; quarters: 1 | -1 }
  /** An exact zoom and pan (automation: the e2e tests place the image on whole screen pixels). */
  | { type: "view"; zoom: number | null; panX: number; panY: number };

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 64;

export function initialView(): ViewState {
  return {
    slice: 0,
    sliceCount: 0,
    window: { center: 128, width: 256 },
    windowLabel: "",
    fileWindowIndex: -1,
    fileVoi: false,
    voiLut: null,
    invert: false,
    zoom: null,
    panX: 0,
    panY: 0,
    playing: false,
    fps: 10,
    transform: IDENTITY_TRANSFORM,
  };
}

export const IDENTITY_TRANSFORM: ViewTransform = { flipH: false, flipV: false, rotate: 0 };

const turn = (deg: number): ViewTransform["rotate"] => ((((deg % 360) + 360) % 360) as ViewTransform["rotate"]);

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** W/L drag: horizontal changes width, vertical changes center, in steps proportional to the width. */
export function dragWindow(w: Window, dx: number, dy: number): Window {
  const step = Math.max(w.width / 256, 0.01);
  return sanitizeWindow({ center: w.center + dy * step, width: Math.max(1, w.width + dx * step) });
}

export function reduce(s: ViewState, a: ViewAction): ViewState {
  switch (a.type) {
    case "open":
      return {
        ...s,
        sliceCount: a.sliceCount,
        slice: clamp(a.slice ?? 0, 0, Math.max(0, a.sliceCount - 1)),
        zoom: null,
        panX: 0,
        panY: 0,
        playing: false,
        invert: false,
        voiLut: null,
        transform: IDENTITY_TRANSFORM,
      };
    case "slice":
      return { ...s, slice: clamp(s.slice + a.delta, 0, Math.max(0, s.sliceCount - 1)) };
    case "setSlice":
      return { ...s, slice: clamp(a.slice, 0, Math.max(0, s.sliceCount - 1)) };
    case "cineTick":
      return s.sliceCount > 0 ? { ...s, slice: (s.slice + 1) % s.sliceCount } : s;
    case "setWindow":
      return {
        ...s,
        window: sanitizeWindow(a.window, a.fileVoi ? MIN_FILE_WIDTH : 1),
        windowLabel: a.label,
        fileWindowIndex: a.fileWindowIndex ?? s.fileWindowIndex,
        fileVoi: a.fileVoi ?? false,
        voiLut: null,
      };
    case "setVoiLut":
      return { ...s, voiLut: a.index, fileVoi: true, window: sanitizeWindow(a.span), windowLabel: a.label, fileWindowIndex: a.fileWindowIndex };
    case "wlDrag":
      // Dragging from a VOI LUT continues as a linear window over the LUT's input range.
      return { ...s, window: dragWindow(s.window, a.dx, a.dy), windowLabel: "manual", voiLut: null, fileVoi: false };
    case "invert":
      return { ...s, invert: !s.invert };
    case "zoom": {
      const current = s.zoom ?? a.fitZoom;
      const zoom = clamp(current * a.factor, MIN_ZOOM, MAX_ZOOM);
      const k = zoom / current;
      // Keep the anchor (screen offset from the viewport centre) fixed under the cursor.
      const ax = a.anchor?.x ?? 0;
      const ay = a.anchor?.y ?? 0;
      return { ...s, zoom, panX: ax - (ax - s.panX) * k, panY: ay - (ay - s.panY) * k };
    }
    case "pan":
      return { ...s, panX: s.panX + a.dx, panY: s.panY + a.dy };
    case "fit":
      return { ...s, zoom: null, panX: 0, panY: 0 };
    case "oneToOne":
      return { ...s, zoom: 1, panX: 0, panY: 0 };
    case "play":
      return { ...s, playing: a.playing && s.sliceCount > 1 };
    case "fps":
      return { ...s, fps: clamp(Math.round(a.fps), 1, 60) };
    case "reset":
      return { ...s, zoom: null, panX: 0, panY: 0, invert: false, transform: IDENTITY_TRANSFORM };
    case "flip": {
      // A mirror on screen after the turn equals the same mirror of the image before a turn
      // the other way (M·R(θ) = R(−θ)·M), so the state stays "flip, then turn".
      const t = s.transform;
      const flipped = a.axis === "h" ? { ...t, flipH: !t.flipH } : { ...t, flipV: !t.flipV };
      return { ...s, transform: { ...flipped, rotate: turn(-t.rotate) } };
    }
    case "rotate":
      return { ...s, transform: { ...s.transform, rotate: turn(s.transform.rotate + 90 * a.quarters) } };
    case "view":
      return { ...s, zoom: a.zoom === null ? null : clamp(a.zoom, MIN_ZOOM, MAX_ZOOM), panX: a.panX, panY: a.panY };
  }
}

/** The zoom that fits an image into a viewport. */
export function fitZoom(viewW: number, viewH: number, cols: number, rows: number): number {
  if (cols <= 0 || rows <= 0 || viewW <= 0 || viewH <= 0) return 1;
  return Math.min(viewW / cols, viewH / rows);
}

/** Overlay text for the viewport corners. */
export function formatWindow(w: Window): string {
  const f = (v: number) => (Math.abs(v - Math.round(v)) < 1e-6 ? String(Math.round(v)) : v.toFixed(1));
  return `W ${f(w.width)} L ${f(w.center)}`;
}

export function formatZoom(zoom: number): string {
  return `${Math.round(zoom * 100)}%`;
}

/** DICOM DA (YYYYMMDD) → YYYY-MM-DD; anything else unchanged. */
export function formatDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da;
}

/** DICOM PN (Family^Given^Middle^Prefix^Suffix) → "Family, Given Middle". */
/** A Person Name for display: the alphabetic group as "Family, Given Middle", then the
 *  ideographic group (else the phonetic one) in its own order, "Family Given", in parentheses
 *  (PS3.5 6.2.1.2: `alphabetic=ideographic=phonetic`, components split by `^`). A name with
 *  only an ideographic or phonetic group shows that group. */
export function formatName(pn: string): string {
  const [alphabetic = "", ideographic = "", phonetic = ""] = pn.split("=");
  const [family = "", given = "", middle = ""] = alphabetic.split("^");
  const rest = [given, middle].filter((x) => x.trim()).join(" ");
  const latin = family && rest ? `${family}, ${rest}` : family || rest;
  const other = (ideographic.trim() ? ideographic : phonetic)
    .split("^")
    .slice(0, 3)
    .filter((x) => x.trim())
    .join(" ");
  if (latin && other) return `${latin} (${other})`;
  return latin || other || "(no name)";
}
