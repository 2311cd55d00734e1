import { describe, expect, it } from "vitest";
import { transformMarkers } from "./geometry";
import { dragWindow, fitZoom, formatDate, formatName, formatWindow, initialView, reduce, type ViewAction } from "./viewmodel";

describe("view model", () => {
  const opened = reduce(initialView(), { type: "open", sliceCount: 20 });
  it("slices clamp to the series", () => {
    expect(reduce(opened, { type: "slice", delta: -1 }).slice).toBe(0);
    expect(reduce(opened, { type: "slice", delta: 9 }).slice).toBe(9);
    expect(reduce(opened, { type: "slice", delta: 99 }).slice).toBe(19);
    expect(reduce(opened, { type: "setSlice", slice: -5 }).slice).toBe(0);
  });
  it("cine wraps around", () => {
    const last = reduce(opened, { type: "setSlice", slice: 19 });
    expect(reduce(last, { type: "cineTick" }).slice).toBe(0);
    expect(reduce(opened, { type: "play", playing: true }).playing).toBe(true);
    const single = reduce(initialView(), { type: "open", sliceCount: 1 });
    expect(reduce(single, { type: "play", playing: true }).playing).toBe(false);
  });
  it("W/L drag: right widens, down raises the level; width never below 1", () => {
    const w = { center: 40, width: 400 };
    const d = dragWindow(w, 10, 5);
    expect(d.width).toBeGreaterThan(400);
    expect(d.center).toBeGreaterThan(40);
    expect(dragWindow({ center: 0, width: 2 }, -1000, 0).width).toBe(1);
    const s = reduce(opened, { type: "wlDrag", dx: 1, dy: 0 });
    expect(s.windowLabel).toBe("manual");
  });
  it("zoom from fit, around an anchor, and back to fit / 1:1", () => {
    const z = reduce(opened, { type: "zoom", factor: 2, fitZoom: 1.5, anchor: { x: 100, y: 0 } });
    expect(z.zoom).toBe(3);
    expect(z.panX).toBe(-100); // the point under the cursor stays put
    expect(reduce(z, { type: "fit" }).zoom).toBeNull();
    expect(reduce(z, { type: "oneToOne" })).toMatchObject({ zoom: 1, panX: 0, panY: 0 });
    expect(reduce(opened, { type: "zoom", factor: 1e9, fitZoom: 1 }).zoom).toBe(64);
  });
  it("a VOI LUT replaces the window until a window is set or dragged", () => {
    const lut = reduce(opened, { type: "setVoiLut", index: 0, span: { center: 2048, width: 4096 }, label: "file: LUT", fileWindowIndex: 0 });
    expect(lut.voiLut).toBe(0);
    expect(reduce(lut, { type: "wlDrag", dx: 5, dy: 0 }).voiLut).toBeNull();
    expect(reduce(lut, { type: "setWindow", window: { center: 1, width: 2 }, label: "x" }).voiLut).toBeNull();
    expect(reduce(lut, { type: "invert" }).voiLut).toBe(0);
  });
  it("the file's VOI function applies to file windows only", () => {
    const f = reduce(opened, { type: "setWindow", window: { center: 1, width: 2 }, label: "file: A", fileWindowIndex: 0, fileVoi: true });
    expect(f.fileVoi).toBe(true);
    expect(reduce(f, { type: "wlDrag", dx: 1, dy: 1 }).fileVoi).toBe(false);
    expect(reduce(f, { type: "setWindow", window: { center: 1, width: 2 }, label: "preset" }).fileVoi).toBe(false);
  });
  it("fps is bounded", () => {
    expect(reduce(opened, { type: "fps", fps: 500 }).fps).toBe(60);
    expect(reduce(opened, { type: "fps", fps: 0 }).fps).toBe(1);
  });
  it("fit zoom", () => {
    expect(fitZoom(800, 600, 256, 256)).toBeCloseTo(600 / 256);
    expect(fitZoom(0, 600, 256, 256)).toBe(1);
  });
  it("formats overlays", () => {
    expect(formatWindow({ center: 40, width: 400 })).toBe("W 400 L 40");
    expect(formatWindow({ center: 40.25, width: 400 })).toBe("W 400 L 40.3");
    expect(formatDate("20240131")).toBe("2024-01-31");
    expect(formatName("Doe^John^Q")).toBe("Doe, John Q");
    expect(formatName("")).toBe("(no name)");
    // PS3.5 H.3 (Japanese) and I.2 (Korean): alphabetic, ideographic, phonetic groups.
    expect(formatName("Yamada^Tarou=山田^太郎=やまだ^たろう")).toBe("Yamada, Tarou (山田 太郎)");
    expect(formatName("Hong^Gildong=洪^吉洞=홍^길동")).toBe("Hong, Gildong (洪 吉洞)");
    expect(formatName("=山田^太郎")).toBe("山田 太郎");
    expect(formatName("==やまだ^たろう")).toBe("やまだ たろう");
    expect(formatName("Wang^XiaoDong=")).toBe("Wang, XiaoDong");
    expect(formatName("Διονυσιος")).toBe("Διονυσιος");
  });

  it("mirrors and turns act on the image as it is on screen; open and reset undo them", () => {
    const run = (...as: ViewAction[]) => as.reduce(reduce, opened).transform;
    expect(run({ type: "rotate", quarters: 1 })).toEqual({ flipH: false, flipV: false, rotate: 90 });
    expect(run({ type: "rotate", quarters: -1 })).toEqual({ flipH: false, flipV: false, rotate: 270 });
    expect(run(...Array<ViewAction>(4).fill({ type: "rotate", quarters: 1 }))).toEqual({ flipH: false, flipV: false, rotate: 0 });
    // Turned, then mirrored left–right on screen: the axial image's markers say what a
    // screen mirror of the turned view says (checked through the markers, by hand).
    const axial = { right: "L", left: "R", bottom: "P", top: "A" };
    const turned = transformMarkers(axial, run({ type: "rotate", quarters: 1 }));
    expect(turned).toEqual({ top: "R", right: "A", bottom: "L", left: "P" });
    const t = run({ type: "rotate", quarters: 1 }, { type: "flip", axis: "h" });
    expect(transformMarkers(axial, t)).toEqual({ top: "R", right: "P", bottom: "L", left: "A" });
    const u = run({ type: "rotate", quarters: 1 }, { type: "flip", axis: "v" });
    expect(transformMarkers(axial, u)).toEqual({ top: "L", right: "A", bottom: "R", left: "P" });
    // Mirroring twice undoes it; both mirrors are a half turn.
    expect(run({ type: "flip", axis: "h" }, { type: "flip", axis: "h" })).toEqual({ flipH: false, flipV: false, rotate: 0 });
    expect(transformMarkers(axial, run({ type: "flip", axis: "h" }, { type: "flip", axis: "v" }))).toEqual(transformMarkers(axial, run({ type: "rotate", quarters: 1 }, { type: "rotate", quarters: 1 })));
    const s = [{ type: "rotate", quarters: 1 }, { type: "flip", axis: "v" }] as ViewAction[];
    expect(reduce(s.reduce(reduce, opened), { type: "reset" }).transform).toEqual(initialView().transform);
    expect(reduce(s.reduce(reduce, opened), { type: "open", sliceCount: 3 }).transform).toEqual(initialView().transform);
  });
});
