// Fixtures shared by the unit tests and benchmarks; the app never imports this module.
import type { PixelGeometry } from "./bindings";

/** A frame's geometry: square, uncalibrated pixels with no orientation, unless `g` says
 * otherwise. */
export const pixelGeometry = (g: Partial<PixelGeometry> = {}): PixelGeometry => ({
  spacing: null,
  aspect: [1, 1],
  calibration: "uncalibrated",
  magnification: null,
  orientation: null,
  patient_orientation: null,
  ...g,
});
