// @vitest-environment happy-dom
// The mouse and key rules of the measurement tools, on a 100 × 50 image drawn at one screen pixel
// per image pixel with rows 0.5 mm and columns 1 mm apart (expected numbers by hand).
import { describe, expect, it } from "vitest";
import type { FrameHeader } from "../bindings";
import { MeasureController } from "./measureController";

function setup(modality = "CT") {
  const el = document.createElement("div");
  const canvas = document.createElement("canvas");
  canvas.getBoundingClientRect = () => ({ left: 0, top: 0, width: 100, height: 50, right: 100, bottom: 50, x: 0, y: 0, toJSON: () => ({}) });
  el.getBoundingClientRect = () => ({ left: 0, top: 0, width: 200, height: 100, right: 200, bottom: 100, x: 0, y: 0, toJSON: () => ({}) });
  const header = {
    rows: 50,
    columns: 100,
    samples: 1,
    rescale_type: "",
    geometry: { spacing: [0.5, 1], aspect: [0.5, 1], calibration: "pixel_spacing", magnification: null, orientation: null, patient_orientation: null },
  } as unknown as FrameHeader;
  // value = column − 1024 (HU-like)
  const values = Float32Array.from({ length: 5000 }, (_, i) => (i % 100) - 1024);
  let key = "a.dcm#0";
  const c = new MeasureController({ el, canvas: () => canvas, image: () => ({ key, header, values }), modality: () => modality });
  const mouse = (type: string, x: number, y: number, button = 0, shiftKey = false) => new MouseEvent(type, { clientX: x, clientY: y, button, shiftKey });
  return { c, mouse, show: (k: string) => (key = k) };
}

describe("measurement controller", () => {
  it("with the W/L tool, or with Shift or the right button, a press is not a measurement", () => {
    const { c, mouse } = setup();
    expect(c.mouseDown(mouse("mousedown", 10, 10))).toBe(false);
    c.handle({ type: "tool", tool: "length" });
    expect(c.mouseDown(mouse("mousedown", 10, 10, 0, true))).toBe(false);
    expect(c.mouseDown(mouse("mousedown", 10, 10, 2))).toBe(false);
    expect(c.info().draftPoints).toBe(0);
  });

  it("two clicks or one drag make a length; a jitter of a few pixels is a click", () => {
    const { c, mouse } = setup();
    c.handle({ type: "tool", tool: "length" });
    expect(c.mouseDown(mouse("mousedown", 10, 10))).toBe(true);
    c.mouseUp(mouse("mouseup", 12, 11)); // 2.2 px: still a click
    expect(c.info().draftPoints).toBe(1);
    c.mouseDown(mouse("mousedown", 50, 40));
    c.mouseUp(mouse("mouseup", 50, 40));
    // 40 columns × 1 mm and 30 rows × 0.5 mm: √(40² + 15²) = 42.72 mm
    expect(c.info().items.map((d) => [d.length, d.lines])).toEqual([[Math.hypot(40, 15), ["42.72 mm"]]]);
    c.mouseDown(mouse("mousedown", 0, 0));
    c.mouseUp(mouse("mouseup", 30, 20));
    const second = c.info().items[1]!;
    expect(second.points).toEqual([
      { x: 0, y: 0 },
      { x: 30, y: 20 },
    ]);
    expect(second.length).toBeCloseTo(Math.hypot(30, 10), 12);
  });

  it("an angle: a drag to the vertex, then a click", () => {
    const { c, mouse } = setup();
    c.handle({ type: "tool", tool: "angle" });
    c.mouseDown(mouse("mousedown", 70, 0));
    c.mouseUp(mouse("mouseup", 50, 20));
    expect(c.info().draftPoints).toBe(2);
    c.mouseDown(mouse("mousedown", 70, 40));
    c.mouseUp(mouse("mouseup", 70, 40));
    // arms (20, −20) and (20, 20) pixels = (20, −10) and (20, 10) mm: 2·atan(1/2)
    expect(c.info().items[0]!.angle).toBeCloseTo((2 * Math.atan(0.5) * 180) / Math.PI, 12);
  });

  it("Esc cancels the draft, a second Esc returns to W/L; the toolbar follows", () => {
    const { c, mouse } = setup();
    c.handle({ type: "tool", tool: "ellipse" });
    c.mouseDown(mouse("mousedown", 10, 10));
    expect(c.info().draftPoints).toBe(1);
    c.handle({ type: "cancelMeasure" });
    expect([c.info().draftPoints, c.tool]).toEqual([0, "ellipse"]);
    c.handle({ type: "cancelMeasure" });
    expect(c.tool).toBe("wl");
    expect(c.toolbar.el.querySelector("button.active")?.id).toBe("tool-wl");
    expect(c.handle({ type: "invert" })).toBe(false);
  });

  it("each image keeps its own; clear empties the one on screen", () => {
    const { c, mouse, show } = setup();
    c.handle({ type: "tool", tool: "length" });
    c.mouseDown(mouse("mousedown", 10, 10));
    c.mouseUp(mouse("mouseup", 20, 10));
    show("a.dcm#1");
    c.render();
    expect(c.info().items).toEqual([]);
    c.mouseDown(mouse("mousedown", 10, 10));
    show("a.dcm#0");
    c.render();
    expect(c.info().draftPoints).toBe(0); // a draft does not follow to another image
    expect(c.info().items.length).toBe(1);
    c.handle({ type: "clearMeasurements" });
    expect(c.info().items).toEqual([]);
  });

  it("the probe: the pixel under the cursor and its value with the unit", () => {
    const { c, mouse } = setup();
    c.mouseMove(mouse("mousemove", 3.5, 2.5));
    expect(c.probe.textContent).toBe("x 3 y 2: −1021 HU");
    c.mouseMove(mouse("mousemove", 150, 2));
    expect(c.probe.textContent).toBe("");
    const mr = setup("MR");
    mr.c.mouseMove(mr.mouse("mousemove", 99.9, 49.9));
    expect(mr.c.probe.textContent).toBe("x 99 y 49: −925");
  });
});
