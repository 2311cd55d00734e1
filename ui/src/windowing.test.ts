import { describe, expect, it } from "vitest";
import { pixelGeometry } from "./testing";
import type { FrameHeader } from "./types";
import {
  autoWindow,
  decodeFrameMessage,
  displayByte,
  effectiveInvert,
  initialWindow,
  IDENTITY_WINDOW,
  lutSpan,
  modalityValues,
  paletteValues,
  voiLutValues,
  renderRgba,
  voi,
} from "./windowing";

function header(over: Partial<FrameHeader> = {}): FrameHeader {
  return {
    rows: 2,
    columns: 2,
    samples: 1,
    kind: "i16",
    bits_stored: 16,
    slope: 1,
    intercept: 0,
    modality_lut: null,
    windows: [],
    voi_function: "LINEAR",
    monochrome1: false,
    rescale_type: "",
    pixel_spacing: null,
    geometry: pixelGeometry(),
    presets: [],
    palette: null,
    voi_luts: [],
    suv: null,
    suv_missing: null,
    ...over,
  };
}

describe("VOI LINEAR (PS3.3 C.11.2.1.2.1)", () => {
  const w = { center: 40, width: 400 };
  it("clips below and above the window", () => {
    expect(voi(40 - 0.5 - 399 / 2, w)).toBe(0);
    expect(voi(-1000, w)).toBe(0);
    expect(voi(40 - 0.5 + 399 / 2 + 0.001, w)).toBe(255);
    expect(voi(5000, w)).toBe(255);
  });
  it("is linear inside, with the half-pixel centre", () => {
    expect(voi(39.5, w)).toBeCloseTo(127.5, 9);
    expect(voi(39.5 + 399 / 4, w)).toBeCloseTo(127.5 + 255 / 4, 9);
  });
  it("width 1 is a threshold at c - 0.5", () => {
    const t = { center: 100, width: 1 };
    expect(voi(99.5, t)).toBe(0);
    expect(voi(99.6, t)).toBe(255);
  });
  it("matches the standard's worked numbers for c=2048 w=4096 on 12-bit data", () => {
    const ww = { center: 2048, width: 4096 };
    expect(displayByte(0, ww, "LINEAR", false)).toBe(0);
    expect(displayByte(4095, ww, "LINEAR", false)).toBe(255);
    expect(displayByte(2048, ww, "LINEAR", false)).toBe(128);
  });
  it("LINEAR_EXACT keeps a file window narrower than 1", () => {
    const w = { center: 2000.25, width: 0.5 };
    expect(displayByte(2000, w, "LINEAR_EXACT", false)).toBe(0);
    expect(displayByte(2000.4, w, "LINEAR_EXACT", false)).toBe(204);
    expect(displayByte(2001, w, "LINEAR_EXACT", false)).toBe(255);
    expect(initialWindow(header({ windows: [{ name: "", ...w }], voi_function: "LINEAR_EXACT" }), new Float32Array(1))).toEqual(w);
  });
  it("LINEAR_EXACT and SIGMOID", () => {
    const ww = { center: 0, width: 100 };
    expect(voi(-50, ww, "LINEAR_EXACT")).toBe(0);
    expect(voi(0, ww, "LINEAR_EXACT")).toBeCloseTo(127.5);
    expect(voi(0, ww, "SIGMOID")).toBeCloseTo(127.5);
    expect(voi(1000, ww, "SIGMOID")).toBeCloseTo(255);
  });
});

describe("modality values", () => {
  it("applies rescale slope and intercept", () => {
    const h = header({ slope: 2, intercept: -1024 });
    expect(Array.from(modalityValues(h, new Int16Array([0, 1, 512, 1000])))).toEqual([-1024, -1022, 0, 976]);
  });
  it("applies a modality LUT, clamping outside its range", () => {
    const h = header({ kind: "u16", modality_lut: { first_mapped: 10, data: [100, 200, 300] } });
    expect(Array.from(modalityValues(h, new Uint16Array([0, 10, 11, 12, 99])))).toEqual([100, 100, 200, 300, 300]);
  });
});

describe("rendering", () => {
  it("MONOCHROME1 is inverted after VOI, and the user invert flips it back", () => {
    const h = header({ monochrome1: true });
    expect(effectiveInvert(h, false)).toBe(true);
    expect(effectiveInvert(h, true)).toBe(false);
    const values = new Float32Array([0, 255, 0, 255]);
    const rgba = renderRgba({ header: h, values }, { center: 128, width: 256 }, false);
    expect(Array.from(rgba.slice(0, 8))).toEqual([255, 255, 255, 255, 0, 0, 0, 255]);
  });
  it("shifts 16-bit colour down by the bits its maximum needs", () => {
    const h = header({ samples: 3, kind: "u16", rows: 1, columns: 1 });
    const rgba = renderRgba({ header: h, values: new Float32Array([1000, 2000, 4095]) }, { center: 0, width: 1 }, false);
    expect(Array.from(rgba)).toEqual([1000 >> 4, 2000 >> 4, 4095 >> 4, 255]);
  });
  it("shows colour frames as RGB", () => {
    const h = header({ samples: 3, kind: "u8", rows: 1, columns: 1 });
    const rgba = renderRgba({ header: h, values: new Float32Array([10, 20, 30]) }, { center: 0, width: 1 }, false);
    expect(Array.from(rgba)).toEqual([10, 20, 30, 255]);
  });
});

describe("VOI LUT", () => {
  it("maps modality values through the LUT to 8 bits, identity window shows it", () => {
    const lut = { name: "L", first_mapped: 10, bits: 12, data: [0, 2048, 4095] };
    const v = voiLutValues(new Float32Array([0, 11, 11.7, 100]), lut);
    expect(Array.from(v).map((x) => Math.round(x))).toEqual([0, 128, 128, 255]);
    const bytes = Array.from(v).map((x) => displayByte(x, IDENTITY_WINDOW, "LINEAR", false));
    expect(bytes).toEqual([0, 128, 128, 255]);
    for (let x = 0; x <= 255; x++) expect(displayByte(x, IDENTITY_WINDOW, "LINEAR", false)).toBe(x);
    expect(lutSpan(lut)).toEqual({ center: 11.5, width: 3 });
  });
});

describe("palette colour", () => {
  it("looks indices up in 16-bit tables, clamped, shifted to 8 bits", () => {
    const ch = (scale: number) => ({ first_mapped: 1, bits: 16, data: [0, 256 * scale, 65535] });
    const h = header({ kind: "u8", rows: 1, columns: 3, palette: [ch(1), ch(2), ch(3)] });
    const r = paletteValues(h, new Uint8Array([0, 2, 9]))!;
    expect(r.header.samples).toBe(3);
    expect(Array.from(r.values)).toEqual([0, 0, 0, 1, 2, 3, 255, 255, 255]);
    expect(paletteValues(header(), new Int16Array(4))).toBeNull();
  });
});

describe("windows", () => {
  it("auto window spans the bulk of the values", () => {
    const values = new Float32Array(10000);
    for (let i = 0; i < values.length; i++) values[i] = i % 1000;
    values[0] = 100000; // one hot pixel must not flatten the image
    const w = autoWindow(values);
    expect(w.center).toBeGreaterThan(400);
    expect(w.center).toBeLessThan(600);
    expect(w.width).toBeGreaterThan(900);
    expect(w.width).toBeLessThan(1300);
  });
  it("initial window is the file's first window, else auto", () => {
    const values = new Float32Array([0, 100]);
    expect(initialWindow(header({ windows: [{ name: "X", center: 40, width: 80 }] }), values)).toEqual({ center: 40, width: 80 });
    expect(initialWindow(header(), values).width).toBeGreaterThan(50);
  });
});

describe("binary frame message", () => {
  it("decodes header and aligned stored values", () => {
    const h = header({ kind: "u16" });
    const json = new TextEncoder().encode(JSON.stringify(h));
    const off = Math.ceil((8 + json.length) / 8) * 8;
    const buf = new ArrayBuffer(off + 8);
    const dv = new DataView(buf);
    "MLF1".split("").forEach((c, i) => dv.setUint8(i, c.charCodeAt(0)));
    dv.setUint32(4, json.length, true);
    new Uint8Array(buf, 8).set(json);
    new Uint16Array(buf, off, 4).set([1, 2, 65535, 4]);
    const f = decodeFrameMessage(buf);
    expect(f.header.rows).toBe(2);
    expect(Array.from(f.stored)).toEqual([1, 2, 65535, 4]);
  });
  it("rejects a truncated message", () => {
    const json = new TextEncoder().encode(JSON.stringify(header()));
    const buf = new ArrayBuffer(8 + json.length + 2);
    const dv = new DataView(buf);
    "MLF1".split("").forEach((c, i) => dv.setUint8(i, c.charCodeAt(0)));
    dv.setUint32(4, json.length, true);
    new Uint8Array(buf, 8).set(json);
    expect(() => decodeFrameMessage(buf)).toThrow(/truncated/);
  });
});
