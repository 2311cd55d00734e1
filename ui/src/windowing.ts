// Display pipeline maths (PS3.3 C.11): modality LUT / rescale, then VOI window, then
// MONOCHROME1 / user inversion. This is the reference the WebGL shader mirrors and the
// CPU fallback renderer uses; it matches `medlens render` (crates/dicom render.rs) to ±1.
import type { Frame, FrameHeader, StoredPixels, VoiFunction, VoiLut, Window } from "./types";

/** Stored values → modality values (rescale slope/intercept or modality LUT). */
export function modalityValues(header: FrameHeader, stored: StoredPixels): Float32Array {
  const out = new Float32Array(stored.length);
  const lut = header.modality_lut;
  if (lut && lut.data.length > 0) {
    const last = lut.data.length - 1;
    const first = lut.first_mapped;
    const data = lut.data;
    for (let i = 0; i < stored.length; i++) {
      let k = (stored[i] as number) - first;
      if (k < 0) k = 0;
      else if (k > last) k = last;
      out[i] = data[k] as number;
    }
    return out;
  }
  const m = header.slope;
  const b = header.intercept;
  if (m === 1 && b === 0) {
    for (let i = 0; i < stored.length; i++) out[i] = stored[i] as number;
  } else {
    for (let i = 0; i < stored.length; i++) out[i] = (stored[i] as number) * m + b;
  }
  return out;
}

/**
 * PALETTE COLOR: indices → interleaved 8-bit RGB (each table entry shifted down to 8
 * bits, as `medlens render` does). Returns the values and the header of an RGB frame.
 */
export function paletteValues(header: FrameHeader, stored: StoredPixels): { header: FrameHeader; values: Float32Array } | null {
  const pal = header.palette;
  if (!pal || header.samples !== 1) return null;
  const n = stored.length;
  const out = new Float32Array(n * 3);
  pal.forEach((ch, c) => {
    const last = ch.data.length - 1;
    const shift = ch.bits > 8 ? ch.bits - 8 : 0;
    for (let i = 0; i < n; i++) {
      let k = Math.floor(stored[i] as number) - ch.first_mapped;
      if (k < 0) k = 0;
      else if (k > last) k = last;
      out[i * 3 + c] = Math.min(255, (ch.data[k] as number) >> shift);
    }
  });
  return { header: { ...header, samples: 3, palette: null }, values: out };
}

/**
 * A VOI LUT applied to modality values, to the 8-bit scale (unrounded): lut(x) / (2^bits − 1) · 255.
 * Shown through IDENTITY_WINDOW, which maps 0..255 onto itself.
 */
export function voiLutValues(values: Float32Array, lut: VoiLut): Float32Array {
  const out = new Float32Array(values.length);
  const last = lut.data.length - 1;
  const scale = 255 / (2 ** lut.bits - 1);
  for (let i = 0; i < values.length; i++) {
    let k = Math.floor(values[i] as number) - lut.first_mapped;
    if (k < 0) k = 0;
    else if (k > last) k = last;
    out[i] = (lut.data[k] as number) * scale;
  }
  return out;
}

/** LINEAR with this window is the identity on 0..255. */
export const IDENTITY_WINDOW: Window = { center: 128, width: 256 };

/** The window that spans a VOI LUT's input range (where W/L dragging starts from a LUT). */
export function lutSpan(lut: VoiLut): Window {
  const width = Math.max(1, lut.data.length);
  return { center: lut.first_mapped + width / 2, width };
}

/**
 * Clamp a window to something displayable: finite numbers, width at least `minWidth`
 * (1 for LINEAR; a file's LINEAR_EXACT window may be narrower, down to > 0).
 */
export function sanitizeWindow(w: Window, minWidth = 1): Window {
  const center = Number.isFinite(w.center) ? w.center : 0;
  const width = Number.isFinite(w.width) && w.width >= minWidth ? w.width : minWidth;
  return { center, width };
}

/** The narrowest width kept for a file's own window. */
export const MIN_FILE_WIDTH = 1e-6;

/** One modality value through the VOI function, to an 8-bit output in [0, 255] (unrounded). */
export function voi(x: number, w: Window, fn: VoiFunction = "LINEAR"): number {
  const c = w.center;
  const width = w.width;
  switch (fn) {
    case "LINEAR_EXACT": {
      if (x <= c - width / 2) return 0;
      if (x > c + width / 2) return 255;
      return ((x - c) / width + 0.5) * 255;
    }
    case "SIGMOID":
      return 255 / (1 + Math.exp((-4 * (x - c)) / width));
    case "LINEAR":
    default: {
      const lo = c - 0.5 - (width - 1) / 2;
      const hi = c - 0.5 + (width - 1) / 2;
      if (x <= lo) return 0;
      if (x > hi) return 255;
      return ((x - (c - 0.5)) / (width - 1) + 0.5) * 255;
    }
  }
}

/** Output byte for a modality value: VOI, rounding, then inversion. */
export function displayByte(x: number, w: Window, fn: VoiFunction, invert: boolean): number {
  let y = Math.round(voi(x, w, fn));
  if (y < 0) y = 0;
  else if (y > 255) y = 255;
  return invert ? 255 - y : y;
}

/** Whether the displayed grey scale is inverted: MONOCHROME1 xor the user's invert toggle. */
export function effectiveInvert(header: FrameHeader, userInvert: boolean): boolean {
  return header.monochrome1 !== userInvert;
}

/**
 * CPU renderer: modality values → RGBA bytes for a window. Used when WebGL2 is missing
 * and as the reference in tests. For colour frames (samples 3) values are shown as is
 * (scaled to 8 bits), honouring only inversion.
 */
export function renderRgba(
  frame: { header: FrameHeader; values: Float32Array },
  w: Window,
  invert: boolean,
  out?: Uint8ClampedArray,
): Uint8ClampedArray {
  const { header, values } = frame;
  const n = header.rows * header.columns;
  const rgba = out ?? new Uint8ClampedArray(n * 4);
  if (header.samples === 3) {
    const div = 2 ** colourShift(values);
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < 3; s++) {
        let v = Math.min(255, Math.floor(Math.max(0, values[i * 3 + s] as number) / div));
        if (invert) v = 255 - v;
        rgba[i * 4 + s] = v;
      }
      rgba[i * 4 + 3] = 255;
    }
    return rgba;
  }
  const fn = header.voi_function;
  const win = sanitizeWindow(w, fn === "LINEAR" ? 1 : MIN_FILE_WIDTH);
  const inv = effectiveInvert(header, invert);
  for (let i = 0; i < n; i++) {
    const y = displayByte(values[i] as number, win, fn, inv);
    const o = i * 4;
    rgba[o] = y;
    rgba[o + 1] = y;
    rgba[o + 2] = y;
    rgba[o + 3] = 255;
  }
  return rgba;
}

/**
 * Colour frames are shown as is, shifted down to 8 bits by the bits their largest value
 * needs (as `medlens render` does): 8-bit RGB unchanged, 16-bit RGB >> (bits - 8).
 */
export function colourShift(values: Float32Array): number {
  const { max } = valueRange(values);
  const bits = max >= 1 ? Math.floor(Math.log2(max)) + 1 : 1;
  return Math.max(0, bits - 8);
}

/** Min and max of modality values (finite only). */
export function valueRange(values: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return { min: 0, max: 0 };
  return { min, max };
}

/**
 * Auto window: the 0.5th to 99.5th percentile of modality values (a 4096-bin histogram),
 * so a few hot or padding pixels do not flatten the image.
 */
export function autoWindow(values: Float32Array): Window {
  const { min, max } = valueRange(values);
  if (max <= min) return { center: min + 0.5, width: 1 };
  const bins = 4096;
  const hist = new Uint32Array(bins);
  const scale = (bins - 1) / (max - min);
  for (let i = 0; i < values.length; i++) hist[Math.floor(((values[i] as number) - min) * scale)]!++;
  const lowCount = values.length * 0.005;
  const highCount = values.length * 0.995;
  let acc = 0;
  let lo = 0;
  let hi = bins - 1;
  for (let b = 0; b < bins; b++) {
    acc += hist[b] as number;
    if (acc > lowCount) {
      lo = b;
      break;
    }
  }
  acc = 0;
  for (let b = 0; b < bins; b++) {
    acc += hist[b] as number;
    if (acc >= highCount) {
      hi = b;
      break;
    }
  }
  const vlo = min + lo / scale;
  const vhi = min + (hi + 1) / scale;
  const width = Math.max(1, vhi - vlo);
  return { center: (vlo + vhi) / 2, width };
}

/** The window a freshly opened frame starts with: the file's first window, else auto. */
export function initialWindow(header: FrameHeader, values: Float32Array): Window {
  const first = header.windows[0];
  if (first && first.width > 0) return { center: first.center, width: first.width };
  return autoWindow(values);
}

/** Decode the binary frame message of `load_frame` (see src-tauri/src/frame.rs). */
export function decodeFrameMessage(buf: ArrayBuffer): Frame {
  const view = new DataView(buf);
  const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
  if (magic !== "MLF1") throw new Error(`bad frame message (magic ${JSON.stringify(magic)})`);
  const jsonLen = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, jsonLen))) as FrameHeader;
  const offset = Math.ceil((8 + jsonLen) / 8) * 8;
  const count = header.rows * header.columns * header.samples;
  const ctor = { u8: Uint8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array, f32: Float32Array }[header.kind];
  if (!ctor) throw new Error(`unknown pixel kind ${header.kind}`);
  const need = offset + count * ctor.BYTES_PER_ELEMENT;
  if (buf.byteLength < need) throw new Error(`frame message truncated: ${buf.byteLength} < ${need} bytes`);
  return { header, stored: new ctor(buf, offset, count) };
}
