// CPU fallback W/L on a 1024×1024 16-bit image (the WebGL2 path is measured in the app by
// the end-to-end suite: tests/artifacts/viewer/wl-benchmark.json).
import { bench, describe } from "vitest";
import { pixelGeometry } from "./testing";
import type { FrameHeader } from "./types";
import { modalityValues, renderRgba } from "./windowing";

const n = 1024;
const header: FrameHeader = {
  rows: n,
  columns: n,
  samples: 1,
  kind: "u16",
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
};
const stored = new Uint16Array(n * n);
for (let i = 0; i < stored.length; i++) stored[i] = (i * 2654435761) % 4096;
const values = modalityValues(header, stored);
const out = new Uint8ClampedArray(n * n * 4);
let k = 0;

describe("W/L 1024×1024 16-bit", () => {
  bench("CPU renderRgba (fallback path)", () => {
    k = (k + 1) % 100;
    renderRgba({ header, values }, { center: 2000 + k, width: 3000 + k }, false, out);
  });
  bench("stored → modality values (once per slice)", () => {
    modalityValues(header, stored);
  });
});
