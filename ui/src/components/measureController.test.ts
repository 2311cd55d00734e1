// @vitest-environment happy-dom
// The mouse and key rules of the measurement tools, on a 100 × 50 image drawn at one screen pixel
// per image pixel with rows 0.5 mm and columns 1 mm apart (expected numbers by hand).
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FrameHeader, SavedMeasurement } from "../bindings";
import { MeasureController, SAVE_DELAY_MS, type MeasureStore } from "./measureController";

function setup(modality = "CT", store?: MeasureStore) {
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
  // Images by store key (SOP Instance UID # frame); all in study 1.2 unless `study` says.
  let key = "1.2.3.1#0";
  let study = "1.2";
  const image = () => {
    const [sop, frame] = key.split("#");
    return { key, ref: { study, sop: sop!, frame: Number(frame), path: `/data/${sop}.dcm` }, header, values };
  };
  const reports: [string, boolean][] = [];
  const c = new MeasureController({ el, canvas: () => canvas, image, modality: () => modality, store, report: (m, e) => reports.push([m, e]) });
  const mouse = (type: string, x: number, y: number, button = 0, shiftKey = false) => new MouseEvent(type, { clientX: x, clientY: y, button, shiftKey });
  return {
    c,
    mouse,
    reports,
    show: (k: string, inStudy = "1.2") => {
      key = k;
      study = inStudy;
    },
  };
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
    show("1.2.3.1#1");
    c.render();
    expect(c.info().items).toEqual([]);
    c.mouseDown(mouse("mousedown", 10, 10));
    show("1.2.3.1#0");
    c.render();
    expect(c.info().draftPoints).toBe(0); // a draft does not follow to another image
    expect(c.info().items.length).toBe(1);
    c.handle({ type: "clearMeasurements" });
    expect(c.info().items).toEqual([]);
  });

  it("a press on a point grabs it with any tool: the numbers follow the drag; Delete removes only the selected", () => {
    const { c, mouse } = setup();
    c.handle({ type: "tool", tool: "length" });
    c.mouseDown(mouse("mousedown", 10, 10));
    c.mouseUp(mouse("mouseup", 50, 10)); // 40 mm
    c.mouseDown(mouse("mousedown", 10, 40));
    c.mouseUp(mouse("mouseup", 30, 40)); // 20 mm
    c.handle({ type: "tool", tool: "wl" });
    // 3 px from the first length's right end: grabbed (not a W/L drag), and it is selected.
    expect(c.mouseDown(mouse("mousedown", 52, 12))).toBe(true);
    expect(c.info().selected).toBe(1);
    c.mouseMove(mouse("mousemove", 70, 10));
    expect(c.info().items[0]!.lines).toEqual(["60.00 mm"]);
    c.mouseMove(mouse("mousemove", 10, 30));
    c.mouseUp(mouse("mouseup", 10, 30));
    // (10, 10) to (10, 30): 20 rows × 0.5 mm.
    expect(c.info().items.map((d) => d.lines[0])).toEqual(["10.00 mm", "20.00 mm"]);
    expect(c.info().items[0]!.points).toEqual([
      { x: 10, y: 10 },
      { x: 10, y: 30 },
    ]);
    expect(c.layer.el.querySelectorAll("g.selected rect.handle").length).toBe(2);
    // Esc deselects (the tool stays); Delete with nothing selected clears the image.
    c.handle({ type: "cancelMeasure" });
    expect([c.info().selected, c.tool]).toEqual([null, "wl"]);
    c.mouseDown(mouse("mousedown", 30, 41));
    c.mouseUp(mouse("mouseup", 30, 41));
    expect(c.info().selected).toBe(2);
    c.handle({ type: "deleteMeasurement" });
    expect(c.info().items.map((d) => d.id)).toEqual([1]);
    expect(c.info().selected).toBeNull();
    c.handle({ type: "deleteMeasurement" });
    expect(c.info().items).toEqual([]);
  });

  it("an ROI's corner drags with live statistics; a press away from every point deselects", () => {
    const { c, mouse } = setup();
    c.handle({ type: "tool", tool: "rect" });
    c.mouseDown(mouse("mousedown", 10, 0));
    c.mouseUp(mouse("mouseup", 20, 10));
    // Columns 10..19, rows 0..9: values column − 1024, mean −1009.5; area 10 mm × 5 mm.
    expect(c.info().items[0]!.stats).toMatchObject({ count: 100, mean: -1009.5, area: 50 });
    c.mouseDown(mouse("mousedown", 20, 10));
    c.mouseMove(mouse("mousemove", 30, 10));
    // Live while dragging: columns 10..29, mean −1004.5.
    expect(c.info().items[0]!.stats).toMatchObject({ count: 200, mean: -1004.5, area: 100 });
    c.mouseUp(mouse("mouseup", 30, 10));
    expect(c.info().selected).toBe(1);
    // With the rectangle tool, a press elsewhere deselects and starts a new rectangle.
    c.mouseDown(mouse("mousedown", 60, 30));
    expect([c.info().selected, c.info().draftPoints]).toEqual([null, 1]);
    c.mouseUp(mouse("mouseup", 60, 30));
    // While a measurement is drawn, a press on another's point places a point instead.
    expect(c.mouseDown(mouse("mousedown", 30, 10))).toBe(true);
    c.mouseUp(mouse("mouseup", 30, 10));
    expect(c.info().items.map((d) => d.points)).toEqual([
      [
        { x: 10, y: 0 },
        { x: 30, y: 10 },
      ],
      [
        { x: 60, y: 30 },
        { x: 30, y: 10 },
      ],
    ]);
    expect(c.info().selected).toBeNull();
  });

  it("freehand: points while the button is held (every few pixels), closed on release", () => {
    const { c, mouse } = setup();
    c.handle({ type: "tool", tool: "freehand" });
    c.mouseDown(mouse("mousedown", 10, 10));
    c.mouseMove(mouse("mousemove", 11, 11)); // 1.4 px from the last point: not taken
    c.mouseMove(mouse("mousemove", 30, 10));
    c.mouseMove(mouse("mousemove", 30, 30));
    expect(c.info().draftPoints).toBe(3);
    c.mouseUp(mouse("mouseup", 10, 30));
    expect(c.info().draftPoints).toBe(0);
    const [d] = c.info().items;
    expect(d!.points).toEqual([
      { x: 10, y: 10 },
      { x: 30, y: 10 },
      { x: 30, y: 30 },
      { x: 10, y: 30 },
    ]);
    // Columns 10..29, rows 10..29 (centres inside the 20 × 20 square): 400 pixels; 20 mm × 10 mm.
    expect(d!.stats).toMatchObject({ count: 400, area: 200, mean: -1004.5 });
    expect(c.layer.el.querySelector("g.freehand polygon")!.getAttribute("points")).toBe("10,10 30,10 30,30 10,30");
    // Moving the mouse without the button adds nothing; a click alone draws nothing.
    c.mouseMove(mouse("mousemove", 50, 40));
    c.mouseDown(mouse("mousedown", 60, 40));
    c.mouseUp(mouse("mouseup", 60, 40));
    expect(c.info().items.length).toBe(1);
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

describe("measurements kept with their study", () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  const saved = (sop: string, frame: number, points: [number, number][], length: number): SavedMeasurement => ({
    sop_instance_uid: sop,
    frame,
    path: `/old/${sop}.dcm`,
    kind: "length",
    points,
    unit: "mm",
    length,
    angle: null,
    area: null,
    mean: null,
    sd: null,
    min: null,
    max: null,
    count: null,
    value_unit: "",
    suv_mean: null,
    suv_sd: null,
    suv_min: null,
    suv_max: null,
  });
  function fakeStore(files: Map<string, SavedMeasurement[]>, fail = false) {
    const calls: { load: string[]; save: [string, SavedMeasurement[]][]; export: [string, SavedMeasurement[]][] } = { load: [], save: [], export: [] };
    const store: MeasureStore = {
      load: (study) => {
        calls.load.push(study);
        return fail ? Promise.reject(new Error(`/data/measurements/${study}.json: not a Medlens measurements file`)) : Promise.resolve(files.get(study) ?? []);
      },
      save: (study, items) => {
        calls.save.push([study, items]);
        files.set(study, items);
        return Promise.resolve();
      },
      export: (study, items) => {
        calls.export.push([study, items]);
        return Promise.resolve({ csv: "/e/m.csv", json: "/e/m.json", sr: "/e/m-sr.dcm", sr_skipped: null });
      },
    };
    return { store, calls };
  }

  it("read back when the study's first image is shown, recomputed on screen, saved after each change, exported", async () => {
    vi.useFakeTimers();
    // Saved earlier: a length on this image and one on another image of the study, never shown here.
    const elsewhere = saved("1.2.3.7", 3, [[1, 1], [2, 2]], 1.12);
    const files = new Map([["1.2", [saved("1.2.3.1", 0, [[10, 10], [50, 10]], 39.9), elsewhere]]]);
    const { store, calls } = fakeStore(files);
    const { c, mouse, reports, show } = setup("CT", store);
    c.render();
    c.render();
    await flush();
    expect(calls.load).toEqual(["1.2"]);
    // The length is back on its image, its number recomputed from the frame (40 columns × 1 mm).
    expect(c.info().items.map((d) => [d.kind, d.lines])).toEqual([["length", ["40.00 mm"]]]);
    expect(calls.save).toEqual([]);
    // A rectangle: saved once, SAVE_DELAY_MS after the change, with the numbers it shows.
    c.handle({ type: "tool", tool: "rect" });
    c.mouseDown(mouse("mousedown", 10, 20));
    c.mouseUp(mouse("mouseup", 20, 30));
    vi.advanceTimersByTime(SAVE_DELAY_MS - 1);
    expect(calls.save).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls.save.length).toBe(1);
    const [study, items] = calls.save[0]!;
    expect(study).toBe("1.2");
    expect(items.map((r) => [r.sop_instance_uid, r.frame, r.kind, r.length])).toEqual([
      ["1.2.3.1", 0, "length", 40],
      ["1.2.3.1", 0, "rect", null],
      ["1.2.3.7", 3, "length", 1.12],
    ]);
    // Columns 10..19, rows 20..29: values column − 1024; 10 mm × 5 mm; HU for CT.
    expect(items[1]).toMatchObject({ path: "/data/1.2.3.1.dcm", points: [[10, 20], [20, 30]], unit: "mm", area: 50, count: 100, mean: -1009.5, min: -1014, max: -1005, value_unit: "HU" });
    expect(items[2]).toBe(elsewhere); // never shown: saved as it was read
    // Another study: read on its first image, saved on its own.
    show("1.9.1#0", "1.9");
    c.render();
    await flush();
    c.handle({ type: "tool", tool: "length" });
    c.mouseDown(mouse("mousedown", 0, 0));
    c.mouseUp(mouse("mouseup", 30, 0));
    vi.advanceTimersByTime(SAVE_DELAY_MS);
    expect(calls.load).toEqual(["1.2", "1.9"]);
    expect(calls.save.map(([s, it]) => [s, it.length])).toEqual([
      ["1.2", 3],
      ["1.9", 1],
    ]);
    // Export: the study on screen, as it is saved.
    c.handle({ type: "exportMeasurements" });
    await flush();
    expect(calls.export).toEqual([["1.9", files.get("1.9")]]);
    expect(reports).toEqual([["Measurements exported: /e/m.csv, /e/m.json and /e/m-sr.dcm", false]]);
  });

  it("a file that cannot be read is reported and never saved over", async () => {
    vi.useFakeTimers();
    const { store, calls } = fakeStore(new Map(), true);
    const { c, mouse, reports } = setup("CT", store);
    c.render();
    await flush();
    expect(reports.length).toBe(1);
    expect(reports[0]![0]).toMatch(/^Saved measurements of study 1\.2 could not be read, and will not be saved over: \/data\/measurements\/1\.2\.json: not a Medlens/);
    expect(reports[0]![1]).toBe(true);
    c.handle({ type: "tool", tool: "length" });
    c.mouseDown(mouse("mousedown", 0, 0));
    c.mouseUp(mouse("mouseup", 30, 0));
    vi.advanceTimersByTime(10 * SAVE_DELAY_MS);
    expect(c.info().items.length).toBe(1); // still measurable
    expect(calls.save).toEqual([]);
  });
});
