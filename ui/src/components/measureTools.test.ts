// @vitest-environment happy-dom
// The toolbar buttons send the keymap's actions and show the tool in use; the layer draws each
// measurement where its image points land on the screen.
import { describe, expect, it } from "vitest";
import type { KeyAction } from "../keymap";
import { MeasureLayer } from "./measureLayer";
import { MeasureToolbar } from "./measureToolbar";

describe("measurement toolbar", () => {
  it("buttons pick tools and clear; the pressed one follows the tool", () => {
    const got: KeyAction[] = [];
    const t = new MeasureToolbar((a) => got.push(a));
    for (const id of ["tool-length", "tool-angle", "tool-ellipse", "tool-rect", "tool-wl", "measure-clear", "measure-export"]) t.el.querySelector<HTMLButtonElement>(`#${id}`)!.click();
    expect(got).toEqual([
      { type: "tool", tool: "length" },
      { type: "tool", tool: "angle" },
      { type: "tool", tool: "ellipse" },
      { type: "tool", tool: "rect" },
      { type: "tool", tool: "wl" },
      { type: "clearMeasurements" },
      { type: "exportMeasurements" },
    ]);
    t.setTool("angle");
    expect([...t.el.querySelectorAll("button.active")].map((b) => b.id)).toEqual(["tool-angle"]);
    expect(t.el.querySelector("#tool-angle")!.getAttribute("aria-pressed")).toBe("true");
  });
});

describe("measurement layer", () => {
  it("maps image points to the screen and writes the label lines", () => {
    const layer = new MeasureLayer();
    // An image drawn at 4 screen px per pixel across and 2 down, offset by (10, 20).
    const toScreen = (p: { x: number; y: number }) => ({ x: 10 + 4 * p.x, y: 20 + 2 * p.y });
    layer.render(
      [
        { id: 1, kind: "length", points: [{ x: 0, y: 0 }, { x: 5, y: 5 }], lines: ["7.07 mm"], unit: "mm" },
        { id: 2, kind: "ellipse", points: [{ x: 10, y: 10 }, { x: 20, y: 30 }], lines: ["Area 1.0 mm²", "n 3 px"], unit: "mm" },
        { id: 3, kind: "rect", points: [{ x: 20, y: 30 }, { x: 10, y: 10 }], lines: ["Area 2.0 mm²", "n 4 px"], unit: "mm" },
      ],
      { id: 0, kind: "angle", points: [{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 1 }], lines: ["90.0°"], unit: "mm" },
      toScreen,
      1,
    );
    const g = [...layer.el.querySelectorAll("g.measurement")];
    expect(g.map((x) => x.getAttribute("data-kind"))).toEqual(["length", "ellipse", "rect", "angle"]);
    expect(g[0]!.querySelector("polyline")!.getAttribute("points")).toBe("10,20 30,30");
    // The selected length shows a handle (8 × 8 screen px) centred on each end; no other has any.
    expect(g[0]!.classList.contains("selected")).toBe(true);
    expect([...g[0]!.querySelectorAll("rect.handle")].map((r) => [Number(r.getAttribute("x")) + 4, Number(r.getAttribute("y")) + 4])).toEqual([
      [10, 20],
      [30, 30],
    ]);
    expect(g.slice(1).map((x) => x.querySelectorAll("rect.handle").length)).toEqual([0, 0, 0]);
    const e = g[1]!.querySelector("ellipse")!;
    expect(["cx", "cy", "rx", "ry"].map((k) => Number(e.getAttribute(k)))).toEqual([70, 60, 20, 20]);
    expect([...g[1]!.querySelectorAll("tspan")].map((t) => t.textContent)).toEqual(["Area 1.0 mm²", "n 3 px"]);
    // The rectangle from its corners in either order: top-left (50, 40), 40 × 40 screen px.
    const r = g[2]!.querySelector("rect")!;
    expect(["x", "y", "width", "height"].map((k) => Number(r.getAttribute(k)))).toEqual([50, 40, 40, 40]);
    expect(g[2]!.querySelectorAll("circle").length).toBe(0);
    expect(g[3]!.classList.contains("draft")).toBe(true);
  });
});
