// The measurement overlay: an SVG over the viewport in screen pixels. Measurements are kept in
// image coordinates (measure.ts) and mapped to the screen on every draw through the image's
// drawn box, so they stay on their pixels under zoom, pan and the true-aspect stretch, while
// lines and labels keep a constant on-screen size.
import type { Described, Pt } from "../measure";

const NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and children (the overlays draw in screen pixels). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

export type ToScreen = (p: Pt) => { x: number; y: number };

export class MeasureLayer {
  readonly el: SVGSVGElement;

  constructor() {
    this.el = svg("svg", { class: "measure-layer", id: "measure-layer", "aria-hidden": "true" });
  }

  /** Draw the image's measurements and the one being drawn (`draft`, its points so far with the
   *  cursor as the next one, described as if finished); the `selected` one shows a handle on
   *  each of its points (an ROI's are its two corners). */
  render(items: readonly Described[], draft: Described | null, toScreen: ToScreen, selected: number | null): void {
    const groups = items.map((d) => this.item(d, toScreen, false, d.id === selected));
    if (draft) groups.push(this.item(draft, toScreen, true, false));
    this.el.replaceChildren(...groups);
  }

  private item(d: Described, toScreen: ToScreen, draft: boolean, selected: boolean): SVGGElement {
    const s = d.points.map(toScreen);
    const g = svg("g", { class: `measurement ${d.kind}${draft ? " draft" : ""}${selected ? " selected" : ""}`, "data-kind": d.kind, "data-id": d.id });
    let anchor = s[s.length - 1] ?? { x: 0, y: 0 };
    if (d.kind === "ellipse" && s.length >= 2) {
      const [a, b] = [s[0]!, s[1]!];
      const cx = (a.x + b.x) / 2;
      const cy = (a.y + b.y) / 2;
      g.append(svg("ellipse", { cx, cy, rx: Math.abs(b.x - a.x) / 2, ry: Math.abs(b.y - a.y) / 2 }));
      anchor = { x: Math.max(a.x, b.x), y: Math.min(a.y, b.y) };
    } else if (d.kind === "freehand" && s.length >= 2) {
      // Being drawn: the path so far; finished: the closed outline.
      const pts = s.map((p) => `${p.x},${p.y}`).join(" ");
      g.append(draft ? svg("polyline", { points: pts }) : svg("polygon", { points: pts }));
      anchor = s.reduce((a, p) => (p.x > a.x || (p.x === a.x && p.y < a.y) ? p : a), s[0]!);
    } else if (d.kind === "rect" && s.length >= 2) {
      const [a, b] = [s[0]!, s[1]!];
      g.append(svg("rect", { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(b.x - a.x), height: Math.abs(b.y - a.y) }));
      anchor = { x: Math.max(a.x, b.x), y: Math.min(a.y, b.y) };
    } else if (s.length >= 2) {
      g.append(svg("polyline", { points: s.map((p) => `${p.x},${p.y}`).join(" ") }));
      if (d.kind === "angle" && s.length === 3) anchor = s[1]!;
    }
    if (d.kind === "length" || d.kind === "angle") for (const p of s) g.append(svg("circle", { cx: p.x, cy: p.y, r: 2.5 }));
    if (selected) for (const p of s) g.append(svg("rect", { class: "handle", x: p.x - 4, y: p.y - 4, width: 8, height: 8 }));
    if (s.length >= 2 && d.lines.length) {
      const text = svg("text", { x: anchor.x + 8, y: anchor.y - 6, class: "measure-label" });
      d.lines.forEach((line, i) => text.append(svg("tspan", { x: anchor.x + 8, dy: i === 0 ? 0 : "1.25em" }, line)));
      g.append(text);
    }
    return g;
  }
}
