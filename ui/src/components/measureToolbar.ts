// The measurement tools in the toolbar: W/L, length, angle, ellipse (one is pressed) and
// "Clear" for the image on screen. The same actions as the keys in keymap.ts.
import { h } from "../dom";
import type { KeyAction } from "../keymap";
import type { Tool } from "../measure";

const TOOLS: readonly { tool: Tool; label: string; title: string }[] = [
  { tool: "wl", label: "W/L", title: "Window / level with the left button (V)" },
  { tool: "length", label: "Length", title: "Measure a length: click or drag two points (L)" },
  { tool: "angle", label: "Angle", title: "Measure an angle: arm end, vertex, arm end (G)" },
  { tool: "ellipse", label: "Ellipse", title: "Ellipse ROI: drag the bounding box (E)" },
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
    this.el = h("span.measure-tools", { role: "group", "aria-label": "Measurement tools" }, ...tools, clear);
    this.setTool("wl");
  }

  setTool(tool: Tool): void {
    for (const [t, b] of this.buttons) {
      b.classList.toggle("active", t === tool);
      b.setAttribute("aria-pressed", String(t === tool));
    }
  }
}
