// Measurement interaction for the viewport: the tool in use, mouse placement of points, Esc and
// clear, the value probe under the cursor, and drawing through MeasureLayer. The state is the
// immutable per-image store of measure.ts, held here (one per viewport, nothing global).
//
// Placing points: with a tool chosen, each left press places a point; a press that is dragged
// more than a few screen pixels places another where it is released (so a length or an ellipse
// is one drag, an angle a drag to the vertex and a click). A freehand outline is drawn with the
// button held: a point every few screen pixels, closed on release. Shift, right or middle drag
// still pan.
//
// Editing: a left press on a measurement's point (its handle; an ROI's are its two corners),
// with any tool and no measurement being drawn, selects that measurement and drags the point;
// the numbers follow live. Delete removes the selected measurement (else clears the image's);
// Esc deselects; a press elsewhere deselects too.
//
// Keeping: with a store (the app's data folder), each study's measurements are read back the
// first time one of its images is shown and saved again shortly after every change; they are
// keyed by SOP Instance UID and frame, so they follow the instance wherever its file is. A study
// whose saved file cannot be read is not saved over (the error is reported; what was saved is
// kept). Export writes the study's measurements as CSV and JSON.
import { h } from "../dom";
import type { FrameHeader, MeasurementsExported, SavedMeasurement } from "../bindings";
import type { ViewTransform } from "../geometry";
import { dragMode, type KeyAction } from "../keymap";
import {
  calibrationOf,
  describe,
  fixed,
  formatValue,
  fromSaved,
  handleAt,
  initialMeasure,
  isRoi,
  measureReduce,
  measurementsOf,
  POINTS,
  probeAt,
  screenToImage,
  imageToScreen,
  toSaved,
  valueUnit,
  type Described,
  type ImageRef,
  type MeasureAction,
  type Measurement,
  type Pt,
  type Tool,
} from "../measure";
import { MeasureLayer } from "./measureLayer";
import { MeasureToolbar } from "./measureToolbar";

/** Where measurements are kept with their study, and exported (the Rust side's
 *  `measurements_*` commands). */
export interface MeasureStore {
  load(study: string): Promise<SavedMeasurement[]>;
  save(study: string, items: SavedMeasurement[]): Promise<void>;
  /** Null when the user cancelled the folder dialog. */
  export(study: string, items: SavedMeasurement[]): Promise<MeasurementsExported | null>;
}

/** What the controller needs from the viewport. */
export interface MeasureHost {
  /** The viewport element: the layer covers it. */
  readonly el: HTMLElement;
  /** The drawn image (its client box is where the image is on screen). */
  canvas(): HTMLCanvasElement;
  /** The image on screen: `key` is `imageKey(ref.sop, ref.frame)`; `values` are its modality
   *  values. */
  image(): { key: string; ref: ImageRef; header: FrameHeader; values: Float32Array } | null;
  modality(): string;
  /** How the image is mirrored and turned on screen (none when absent). */
  transform?(): ViewTransform;
  /** Without one, measurements live as long as the window. */
  store?: MeasureStore;
  /** A message for the user (an error, or where an export went). */
  report?(message: string, error: boolean): void;
}

/** Saves wait this long after a change (a dragged point changes the store at mouse rate). */
export const SAVE_DELAY_MS = 400;

type Img = NonNullable<ReturnType<MeasureHost["image"]>>;

/** A press further than this (screen px) from where it started places a second point. */
const DRAG_PX = 4;
/** A press this close (screen px) to a measurement's point grabs it. */
const HANDLE_PX = 6;
/** A freehand outline takes a point where the mouse has moved this far (screen px) from the
 *  last one. */
const OUTLINE_STEP_PX = 3;
/** Bounding-box pixels above which a draft ROI shows no live statistics. */
const DRAFT_STATS_MAX_PX = 1_000_000;

export class MeasureController {
  readonly layer = new MeasureLayer();
  readonly toolbar: MeasureToolbar;
  /** The value under the cursor, for the overlay corner. */
  readonly probe = h("div#ov-probe");
  private state = initialMeasure();
  private press: { x: number; y: number; open: boolean } | null = null;
  /** The handle being dragged. */
  private grab: { id: number; index: number } | null = null;
  /** Each measurement described once (ROI statistics need a pass over the pixels); an edit
   *  makes a new measurement object, so its entry is simply never found again. */
  private readonly described = new WeakMap<Measurement, Described>();
  /** The image of each store key that has been shown or restored (a save needs its study). */
  private readonly images = new Map<string, ImageRef>();
  /** Measurements read back and not described since: saved as they were read. */
  private readonly restored = new WeakMap<Measurement, SavedMeasurement>();
  /** Studies asked for (or read); those whose file could not be read are never saved over. */
  private readonly studies = new Map<string, "loading" | "ready" | "unreadable">();
  private readonly saveTimers = new Map<string, ReturnType<typeof setTimeout>>();

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
        // Esc: cancel the measurement being drawn; else deselect; else back to the W/L tool.
        if (this.state.draft) this.apply({ type: "cancel" });
        else if (this.selectedHere() !== null) this.apply({ type: "select", id: null });
        else this.apply({ type: "tool", tool: "wl" });
        return true;
      case "deleteMeasurement": {
        // Delete: the selected measurement, else all of the image's.
        const img = this.host.image();
        const id = this.selectedHere();
        if (img && id !== null) this.apply({ type: "remove", image: img.key, id });
        else if (img) this.apply({ type: "clear", image: img.key });
        return true;
      }
      case "clearMeasurements": {
        const img = this.host.image();
        if (img) this.apply({ type: "clear", image: img.key });
        return true;
      }
      case "exportMeasurements":
        void this.exportStudy();
        return true;
      default:
        return false;
    }
  }

  /** A press on the viewport; true when it placed or grabbed a point (the caller starts no
   *  drag). */
  mouseDown(e: MouseEvent): boolean {
    if (dragMode(e, true) !== "measure") return false;
    const img = this.host.image();
    if (!img) return false;
    if (!this.state.draft) {
      const origin = this.host.el.getBoundingClientRect();
      const hit = handleAt(measurementsOf(this.state, img.key), { x: e.clientX - origin.left, y: e.clientY - origin.top }, this.screenMap(img), HANDLE_PX);
      if (hit) {
        this.grab = hit;
        this.apply({ type: "select", id: hit.id });
        return true;
      }
      if (this.state.selected !== null) this.apply({ type: "select", id: null });
    }
    if (this.state.tool === "wl") return false;
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
      const suv = img.header.suv ? ` · SUVbw ${fixed(p.values[0]! * img.header.suv.factor, 2)}` : "";
      this.setProbe(`x ${p.col} y ${p.row}: ${formatValue(p.values[0]!)}${unit ? ` ${unit}` : ""}${suv}`);
    } else this.setProbe(`x ${p.col} y ${p.row}: R ${p.values[0]} G ${p.values[1]} B ${p.values[2]}`);
    if (this.grab) this.apply({ type: "edit", image: img.key, ...this.grab, at });
    else if (this.state.draft?.kind === "freehand" && this.press) {
      const last = this.state.draft.points[this.state.draft.points.length - 1];
      const s = last && this.screenMap(img)(last);
      const origin = this.host.el.getBoundingClientRect();
      if (!s || Math.hypot(e.clientX - origin.left - s.x, e.clientY - origin.top - s.y) >= OUTLINE_STEP_PX) this.apply({ type: "place", image: img.key, at });
    } else if (this.state.draft) this.apply({ type: "move", image: img.key, at });
  }

  mouseUp(e: MouseEvent): void {
    if (this.grab) {
      // The last move placed the point; the full statistics are computed now.
      this.grab = null;
      this.render();
      return;
    }
    const p = this.press;
    this.press = null;
    const img0 = this.host.image();
    if (p && img0 && this.state.draft?.kind === "freehand" && this.state.draft.image === img0.key) {
      // Released: the outline ends where the button came up, and closes.
      const at = this.toImage(e.clientX, e.clientY, img0.header);
      const pts = this.state.draft.points;
      const last = pts[pts.length - 1]!;
      if (at.x !== last.x || at.y !== last.y) this.apply({ type: "place", image: img0.key, at });
      this.apply({ type: "close", image: img0.key });
      return;
    }
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
    if (img) this.seen(img);
    if (this.state.draft && this.state.draft.image !== img?.key) this.state = measureReduce(this.state, { type: "image", image: img?.key ?? null });
    if (!img) return this.layer.render([], null, () => ({ x: 0, y: 0 }), null);
    const d = this.state.draft;
    let draft: Described | null = null;
    if (d) {
      const pts = d.cursor && d.points.length < POINTS[d.kind] ? [...d.points, d.cursor] : d.points;
      draft = this.describeLive(img, { id: 0, kind: d.kind, points: pts });
    }
    this.layer.render(this.current(img), draft, this.screenMap(img), this.selectedHere());
  }

  /** The measurements of the image on screen, described, and the selected one's id (the
   *  test hook's view). */
  info(): { tool: Tool; image: string | null; draftPoints: number; selected: number | null; items: Described[] } {
    const img = this.host.image();
    return { tool: this.state.tool, image: img?.key ?? null, draftPoints: this.state.draft?.points.length ?? 0, selected: this.selectedHere(), items: img ? this.current(img) : [] };
  }

  /** The selected measurement's id when it is on the image on screen. */
  private selectedHere(): number | null {
    const img = this.host.image();
    const id = this.state.selected;
    return img && id !== null && measurementsOf(this.state, img.key).some((m) => m.id === id) ? id : null;
  }

  private current(img: Img): Described[] {
    return measurementsOf(this.state, img.key).map((m) => {
      if (this.grab?.id === m.id) return this.describeLive(img, m);
      let d = this.described.get(m);
      if (!d) {
        d = this.describe(img, m);
        this.described.set(m, d);
      }
      return d;
    });
  }

  /** A measurement being drawn or dragged: statistics only for an ROI a pass can cover at
   *  mouse rate; a larger one shows its area until it is released. */
  private describeLive(img: Img, m: Parameters<typeof describe>[0]): Described {
    const xs = m.points.map((p) => p.x);
    const ys = m.points.map((p) => p.y);
    const big = isRoi(m.kind) && m.points.length >= 2 && (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys)) > DRAFT_STATS_MAX_PX;
    if (!big) return this.describe(img, m);
    const d = this.describe({ ...img, header: { ...img.header, samples: 1, columns: 0, rows: 0 } }, m);
    return { ...d, lines: d.lines.slice(0, 1) };
  }

  /** Image points to the layer's coordinates (the viewport's client box) at the current
   *  zoom and pan. */
  private screenMap(img: Img): (p: Pt) => { x: number; y: number } {
    const box = this.host.canvas().getBoundingClientRect();
    const origin = this.host.el.getBoundingClientRect();
    const { columns, rows } = img.header;
    const t = this.host.transform?.();
    return (p: Pt) => {
      const s = imageToScreen(p, box, columns, rows, t);
      return { x: s.x - origin.left, y: s.y - origin.top };
    };
  }

  private describe(img: Img, m: Parameters<typeof describe>[0]): Described {
    const f = { values: img.values, columns: img.header.columns, rows: img.header.rows, samples: img.header.samples };
    return describe(m, f, calibrationOf(img.header.geometry), valueUnit(img.header.rescale_type, this.host.modality()), img.header.suv?.factor ?? null);
  }

  private toImage(x: number, y: number, header: FrameHeader): Pt {
    return screenToImage(x, y, this.host.canvas().getBoundingClientRect(), header.columns, header.rows, this.host.transform?.());
  }

  /** The image on screen is known by its study; its study's saved measurements are read the
   *  first time. */
  private seen(img: Img): void {
    this.images.set(img.key, img.ref);
    const store = this.host.store;
    const study = img.ref.study;
    if (!store || this.studies.has(study)) return;
    this.studies.set(study, "loading");
    store.load(study).then(
      (items) => {
        this.studies.set(study, "ready");
        this.restore(study, items);
        // Drawn while the file was being read: saved now, with what was read.
        if (this.records(study).length > items.length) this.scheduleSave(study);
      },
      (e: unknown) => {
        this.studies.set(study, "unreadable");
        this.host.report?.(`Saved measurements of study ${study} could not be read, and will not be saved over: ${e instanceof Error ? e.message : String(e)}`, true);
      },
    );
  }

  private restore(study: string, items: readonly SavedMeasurement[]): void {
    if (!items.length) return;
    const first = this.state.nextId;
    const back = items.map(fromSaved);
    this.state = measureReduce(this.state, { type: "restore", items: back });
    back.forEach((it, i) => {
      const r = items[i]!;
      if (!this.images.has(it.image)) this.images.set(it.image, { study, sop: r.sop_instance_uid, frame: r.frame, path: r.path });
      const m = measurementsOf(this.state, it.image).find((x) => x.id === first + i);
      if (m) this.restored.set(m, r);
    });
    this.render();
  }

  /** The study's measurements as saved: described ones with the numbers they show, restored
   *  ones never shown as they were read. */
  private records(study: string): SavedMeasurement[] {
    const img = this.host.image();
    const out: SavedMeasurement[] = [];
    for (const [key, list] of this.state.byImage) {
      const ref = this.images.get(key);
      if (ref?.study !== study) continue;
      for (const m of list) {
        const d = this.described.get(m) ?? (img?.key === key ? this.describe(img, m) : null);
        const r = d ? toSaved(ref, d) : this.restored.get(m);
        if (r) out.push(r);
      }
    }
    return out;
  }

  private scheduleSave(study: string): void {
    const store = this.host.store;
    if (!store || this.studies.get(study) !== "ready") return;
    clearTimeout(this.saveTimers.get(study));
    this.saveTimers.set(
      study,
      setTimeout(() => {
        this.saveTimers.delete(study);
        store.save(study, this.records(study)).catch((e: unknown) => this.host.report?.(`Measurements of study ${study} were not saved: ${e instanceof Error ? e.message : String(e)}`, true));
      }, SAVE_DELAY_MS),
    );
  }

  private async exportStudy(): Promise<void> {
    const img = this.host.image();
    const store = this.host.store;
    if (!img || !store) return;
    const items = this.records(img.ref.study);
    if (!items.length) return this.host.report?.("This study has no measurements to export", true);
    try {
      const out = await store.export(img.ref.study, items);
      if (out) this.host.report?.(`Measurements exported: ${out.csv}, ${out.json}${out.sr ? ` and ${out.sr}` : `; no DICOM SR: ${out.sr_skipped ?? "not written"}`}`, false);
    } catch (e) {
      this.host.report?.(`Measurements not exported: ${e instanceof Error ? e.message : String(e)}`, true);
    }
  }

  private setProbe(text: string): void {
    if (this.probe.textContent !== text) this.probe.textContent = text;
  }

  private apply(a: MeasureAction): void {
    const prev = this.state;
    this.state = measureReduce(prev, a);
    if (this.state.byImage !== prev.byImage && "image" in a && a.image) {
      const study = this.images.get(a.image)?.study;
      if (study) this.scheduleSave(study);
    }
    if (this.state.tool !== prev.tool) {
      this.toolbar.setTool(this.state.tool);
      this.host.el.dataset.tool = this.state.tool;
    }
    if (this.state !== prev) this.render();
  }
}
