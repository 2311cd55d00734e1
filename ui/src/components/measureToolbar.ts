// The measurement tools in the toolbar: W/L, length, angle, ellipse, rectangle, freehand (one
// is pressed), "Clear" for the image on screen and "Export" for its study's measurements (CSV
// and JSON). The same actions as the keys in keymap.ts.
import { h } from "../dom";
import type { KeyAction } from "../keymap";
import type { Tool } from "../measure";

const TOOLS: readonly { tool: Tool; label: string; title: string }[] = [
  { tool: "wl", label: "W/L", title: "Window / level with the left button (V)" },
  { tool: "length", label: "Length", title: "Measure a length: click or drag two points (L)" },
  { tool: "angle", label: "Angle", title: "Measure an angle: arm end, vertex, arm end (G)" },
  { tool: "ellipse", label: "Ellipse", title: "Ellipse ROI: drag the bounding box (E)" },
  { tool: "rect", label: "Rect", title: "Rectangle ROI: drag from corner to corner (B)" },
  { tool: "freehand", label: "Freehand", title: "Freehand ROI: draw the outline with the button held (D)" },
];

export class MeasureToolbar {
  readonly el: HTMLElement;
  private readonly buttons = new Map<Tool, HTMLButtonElement>();

  constructor(act: (a: KeyAction) => void) {
    const tools = TOOLS.map(({ tool, label, title }) => {
      const b = h("button", { id: `tool-${tool}`, title, "aria-pressed": "false", onClick: () => act({ type: "tool", tool }) }, label);
      this.buttons.set(tool, b);
      return b;
    });
    const clear = h("button#measure-clear", { title: "Clear this image's measurements (Delete)", onClick: () => act({ type: "clearMeasurements" }) }, "Clear");
    const exp = h("button#measure-export", { title: "Export this study's measurements as CSV, JSON and a DICOM SR (TID 1500)", onClick: () => act({ type: "exportMeasurements" }) }, "Export");
    this.el = h("span.measure-tools", { role: "group", "aria-label": "Measurement tools" }, ...tools, clear, exp);
    this.setTool("wl");
  }

  setTool(tool: Tool): void {
    for (const [t, b] of this.buttons) {
      b.classList.toggle("active", t === tool);
      b.setAttribute("aria-pressed", String(t === tool));
    }
  }
}
