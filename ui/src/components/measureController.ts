// Measurement interaction for the viewport: the tool in use, mouse placement of points, Esc and
// clear, the value probe under the cursor, and drawing through MeasureLayer. The state is the
// immutable per-image store of measure.ts, held here (one per viewport, nothing global).
//
// Placing points: with a tool chosen, each left press places a point; a press that is dragged
// more than a few screen pixels places another where it is released (so a length or an ellipse
// is one drag, an angle a drag to the vertex and a click). Shift, right or middle drag still pan.
import { h } from "../dom";
import type { FrameHeader } from "../bindings";
import { dragMode, type KeyAction } from "../keymap";
import {
  calibrationOf,
  describe,
  formatValue,
  initialMeasure,
  measureReduce,
  measurementsOf,
  POINTS,
  probeAt,
  screenToImage,
  imageToScreen,
  valueUnit,
  type Described,
  type MeasureAction,
  type Pt,
  type Tool,
} from "../measure";
import { MeasureLayer } from "./measureLayer";
import { MeasureToolbar } from "./measureToolbar";

/** What the controller needs from the viewport. */
export interface MeasureHost {
  /** The viewport element: the layer covers it. */
  readonly el: HTMLElement;
  /** The drawn image (its client box is where the image is on screen). */
  canvas(): HTMLCanvasElement;
  /** The image on screen: `key` names its file and frame; `values` are its modality values. */
  image(): { key: string; header: FrameHeader; values: Float32Array } | null;
  modality(): string;
}

/** A press further than this (screen px) from where it started places a second point. */
const DRAG_PX = 4;
/** Bounding-box pixels above which a draft ROI shows no live statistics. */
const DRAFT_STATS_MAX_PX = 1_000_000;

export class MeasureController {
  readonly layer = new MeasureLayer();
  readonly toolbar: MeasureToolbar;
  /** The value under the cursor, for the overlay corner. */
  readonly probe = h("div#ov-probe");
  private state = initialMeasure();
  private press: { x: number; y: number; open: boolean } | null = null;
  /** Described measurements by image and id (their statistics need a pass over the pixels). */
  private readonly described = new Map<string, Described>();

  constructor(private readonly host: MeasureHost) {
    this.toolbar = new MeasureToolbar((a) => this.handle(a));
  }

  get tool(): Tool {
    return this.state.tool;
  }

  /** The viewport's keys and buttons that belong here; false for any other action. */
  handle(a: KeyAction): boolean {
    switch (a.type) {
      case "tool":
        this.apply({ type: "tool", tool: a.tool });
        return true;
      case "cancelMeasure":
        // Esc: cancel the measurement being drawn; with none, back to the W/L tool.
        this.apply(this.state.draft ? { type: "cancel" } : { type: "tool", tool: "wl" });
        return true;
      case "clearMeasurements": {
        const img = this.host.image();
        if (img) {
          for (const k of [...this.described.keys()]) if (k.startsWith(`${img.key}|`)) this.described.delete(k);
          this.apply({ type: "clear", image: img.key });
        }
        return true;
      }
      default:
        return false;
    }
  }

  /** A press on the viewport; true when it placed a point (the caller starts no drag). */
  mouseDown(e: MouseEvent): boolean {
    if (this.state.tool === "wl" || dragMode(e, true) !== "measure") return false;
    const img = this.host.image();
    if (!img) return false;
    this.apply({ type: "place", image: img.key, at: this.toImage(e.clientX, e.clientY, img.header) });
    this.press = { x: e.clientX, y: e.clientY, open: this.state.draft !== null };
    return true;
  }

  mouseMove(e: MouseEvent): void {
    const img = this.host.image();
    if (!img) return this.setProbe("");
    const at = this.toImage(e.clientX, e.clientY, img.header);
    const p = probeAt({ values: img.values, columns: img.header.columns, rows: img.header.rows, samples: img.header.samples }, at);
    if (!p) this.setProbe("");
    else if (p.values.length === 1) {
      const unit = valueUnit(img.header.rescale_type, this.host.modality());
      this.setProbe(`x ${p.col} y ${p.row}: ${formatValue(p.values[0]!)}${unit ? ` ${unit}` : ""}`);
    } else this.setProbe(`x ${p.col} y ${p.row}: R ${p.values[0]} G ${p.values[1]} B ${p.values[2]}`);
    if (this.state.draft) this.apply({ type: "move", image: img.key, at });
  }

  mouseUp(e: MouseEvent): void {
    const p = this.press;
    this.press = null;
    if (!p || !p.open || Math.hypot(e.clientX - p.x, e.clientY - p.y) <= DRAG_PX) return;
    const img = this.host.image();
    if (img && this.state.draft?.image === img.key) this.apply({ type: "place", image: img.key, at: this.toImage(e.clientX, e.clientY, img.header) });
  }

  mouseLeave(): void {
    this.setProbe("");
  }

  /** Redraw for the image on screen at the current zoom and pan (and drop a draft left on
   *  another image). */
  render(): void {
    const img = this.host.image();
    if (this.state.draft && this.state.draft.image !== img?.key) this.state = measureReduce(this.state, { type: "image", image: img?.key ?? null });
    if (!img) return this.layer.render([], null, () => ({ x: 0, y: 0 }));
    const box = this.host.canvas().getBoundingClientRect();
    const origin = this.host.el.getBoundingClientRect();
    const { columns, rows } = img.header;
    const toScreen = (p: Pt) => {
      const s = imageToScreen(p, box, columns, rows);
      return { x: s.x - origin.left, y: s.y - origin.top };
    };
    const d = this.state.draft;
    let draft: Described | null = null;
    if (d) {
      const pts = d.cursor && d.points.length < POINTS[d.kind] ? [...d.points, d.cursor] : d.points;
      const [a, b] = pts;
      // While dragging, statistics only for an ROI a pass can cover at mouse rate; a larger
      // one shows its area until it is placed.
      const big = d.kind === "ellipse" && a && b && Math.abs((b.x - a.x) * (b.y - a.y)) > DRAFT_STATS_MAX_PX;
      draft = big ? this.describe({ ...img, header: { ...img.header, samples: 1, columns: 0, rows: 0 } }, { id: 0, kind: d.kind, points: pts }) : this.describe(img, { id: 0, kind: d.kind, points: pts });
      if (big) draft = { ...draft, lines: draft.lines.slice(0, 1) };
    }
    this.layer.render(this.current(img), draft, toScreen);
  }

  /** The measurements of the image on screen, described (the test hook's view). */
  info(): { tool: Tool; image: string | null; draftPoints: number; items: Described[] } {
    const img = this.host.image();
    return { tool: this.state.tool, image: img?.key ?? null, draftPoints: this.state.draft?.points.length ?? 0, items: img ? this.current(img) : [] };
  }

  private current(img: NonNullable<ReturnType<MeasureHost["image"]>>): Described[] {
    return measurementsOf(this.state, img.key).map((m) => {
      const k = `${img.key}|${m.id}`;
      let d = this.described.get(k);
      if (!d) {
        d = this.describe(img, m);
        this.described.set(k, d);
      }
      return d;
    });
  }

  private describe(img: NonNullable<ReturnType<MeasureHost["image"]>>, m: Parameters<typeof describe>[0]): Described {
    const f = { values: img.values, columns: img.header.columns, rows: img.header.rows, samples: img.header.samples };
    return describe(m, f, calibrationOf(img.header.geometry), valueUnit(img.header.rescale_type, this.host.modality()));
  }

  private toImage(x: number, y: number, header: FrameHeader): Pt {
    return screenToImage(x, y, this.host.canvas().getBoundingClientRect(), header.columns, header.rows);
  }

  private setProbe(text: string): void {
    if (this.probe.textContent !== text) this.probe.textContent = text;
  }

  private apply(a: MeasureAction): void {
    const prev = this.state;
    this.state = measureReduce(prev, a);
    if (this.state.tool !== prev.tool) {
      this.toolbar.setTool(this.state.tool);
      this.host.el.dataset.tool = this.state.tool;
    }
    if (this.state !== prev) this.render();
  }
}
