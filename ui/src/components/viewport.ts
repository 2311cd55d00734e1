// The viewport: a canvas at native image size (windowed by the renderer), zoomed and
// panned by CSS transform, with overlays, mouse/keyboard interaction and cine.
import { h } from "../dom";
import { dragMode, keyAction, wheelAction, type KeyAction } from "../keymap";
import { slicesOf, type SliceRef } from "../library";
import { calibrationText, displaySize, markersFor, mmPerScreenPixel, scaleBar, transformMarkers, type ViewTransform } from "../geometry";
import { createRenderer, type RenderInput, type Renderer } from "../renderer";
import type { NamedWindow, Patient, Series, Study, Window } from "../types";
import { fitZoom, formatDate, formatName, formatWindow, formatZoom, initialView, reduce, type ViewAction, type ViewState } from "../viewmodel";
import { autoWindow, IDENTITY_WINDOW, initialWindow, lutSpan, modalityValues, paletteValues, voiLutValues } from "../windowing";
import type { Frame } from "../types";
import { imageKey, imageToScreen, screenToImage, suvText, type Pt } from "../measure";
import { MeasureController, type MeasureStore } from "./measureController";
import { svg } from "./measureLayer";

export interface ViewportDeps {
  loadFrame(path: string, frame: number): Promise<Frame>;
  onSliceChange(ref: SliceRef | null): void;
  onCommand(a: KeyAction): void; // actions the viewport does not own (tags, export, open)
  onError(message: string): void;
  /** The slice or window changed (the AI panels follow the image on screen). */
  onViewChange?(): void;
  /** Where measurements are kept with their study and exported (none: for this window only). */
  measurements?: MeasureStore;
  /** A message that is not an error (where an export went). */
  onNotice?(message: string): void;
  /** Put before every element id (several viewports on one page: the MPR panes). */
  idPrefix?: string;
  /** A left click (no drag) with the W/L tool, at a point of the image (image pixels). */
  onImageClick?(p: Pt): void;
  /** The overlay's position line for slice `slice`, instead of Image Position (Patient). */
  sliceText?(slice: number): string;
}

/** Lines through a point of the image, across the whole image (the MPR crosshair): a vertical
 *  line at `x` and a horizontal one at `y` (image pixels), each in its own colour. */
export interface Crosshair {
  x: number;
  y: number;
  xColor: string;
  yColor: string;
}

interface Loaded extends RenderInput {
  path: string;
  frame: number;
}

const CACHE_BYTES = 512 * 1024 * 1024;

/** The display transform as the overlay states it ("" when there is none). */
export function transformText(t: ViewTransform): string {
  const parts = [t.rotate ? `turned ${t.rotate}°` : "", t.flipH ? "mirrored ↔" : "", t.flipV ? "mirrored ↕" : ""];
  return parts.filter(Boolean).join(" · ");
}

export class Viewport {
  readonly el: HTMLElement;
  private readonly stage: HTMLElement;
  private renderer: Renderer;
  private readonly ov = {
    tl: h("div.ov.tl#ov-tl"),
    tr: h("div.ov.tr#ov-tr"),
    bl: h("div.ov.bl#ov-bl"),
    br: h("div.ov.br#ov-br"),
  };
  /** Orientation markers at the middle of each edge (empty when the file gives none). */
  private readonly marks = {
    top: h("div.mark.top#ov-mark-top"),
    bottom: h("div.mark.bottom#ov-mark-bottom"),
    left: h("div.mark.left#ov-mark-left"),
    right: h("div.mark.right#ov-mark-right"),
  };
  private readonly scaleLabel = h("div.scale-label#scale-bar-label");
  private readonly scaleLine = h("div.scale-line#scale-bar-line");
  private readonly scale = h("div.scale-bar#scale-bar", { hidden: true }, this.scaleLine, this.scaleLabel);
  private readonly message = h("div.vmsg#viewport-message", {}, "No series open");
  private view: ViewState = initialView();
  private ctx: { patient: Patient; study: Study; series: Series } | null = null;
  private slices: SliceRef[] = [];
  private current: Loaded | null = null;
  /** The slice `current` was loaded for (its instance names the image for measurements). */
  private currentRef: SliceRef | null = null;
  private readonly cache = new Map<string, Loaded>();
  private cacheBytes = 0;
  private loadToken = 0;
  private cineTimer: number | null = null;
  /** A drag under way; `reduced`: a W/L drag drawing below native size (dragResolution). */
  private drag: { x: number; y: number; mode: "wl" | "pan"; moved: number; reduced: boolean } | null = null;
  private crosshair: Crosshair | null = null;
  private readonly crossLayer = svg("svg", { class: "crosshair-layer", "aria-hidden": "true" });
  private normal: [number, number, number] | null = null;
  private error: string | null = null;
  /** The VOI LUT whose output is in the renderer's texture (null: modality values). */
  private uploadedLut: number | null = null;
  /** Length, angle, ellipse and rectangle ROI tools, the value probe (measureController.ts). */
  readonly measure: MeasureController;

  constructor(private readonly deps: ViewportDeps) {
    const canvas = h("canvas", { id: "viewport-canvas", class: "image" });
    this.stage = h("div.stage", {}, canvas);
    this.el = h("div.viewport#viewport", { tabindex: 0 }, this.stage, this.message, this.ov.tl, this.ov.tr, this.ov.bl, this.ov.br,
      this.marks.top, this.marks.bottom, this.marks.left, this.marks.right, this.scale);
    this.renderer = createRenderer(canvas);
    this.el.dataset.renderer = this.renderer.kind;
    this.measure = new MeasureController({
      el: this.el,
      canvas: () => this.canvas,
      image: () => {
        const [cur, ref, ctx] = [this.current, this.currentRef, this.ctx];
        if (!cur || !ref || !ctx || this.error) return null;
        const sop = ref.instance.sop_instance_uid;
        return { key: imageKey(sop, ref.frame), ref: { study: ctx.study.uid, sop, frame: ref.frame, path: cur.path }, header: cur.header, values: cur.values };
      },
      modality: () => this.ctx?.series.modality ?? "",
      transform: () => this.view.transform,
      store: deps.measurements,
      report: (message, error) => (error ? deps.onError(message) : deps.onNotice?.(message)),
    });
    this.stage.after(this.measure.layer.el);
    this.measure.layer.el.before(this.crossLayer);
    const prefix = deps.idPrefix;
    if (prefix) for (const e of [this.el, ...this.el.querySelectorAll("[id]"), this.measure.probe]) if (e.id) e.id = prefix + e.id;
    this.bindInput();
    new ResizeObserver(() => this.layout()).observe(this.el);
  }

  get state(): ViewState {
    return this.view;
  }

  get rendererKind(): string {
    return this.renderer.kind;
  }

  get currentSlice(): SliceRef | null {
    return this.slices[this.view.slice] ?? null;
  }

  get currentFrame(): Loaded | null {
    return this.current;
  }

  get canvas(): HTMLCanvasElement {
    return this.renderer.canvas;
  }

  /** Why the current slice cannot be shown, if it cannot. */
  get viewError(): string | null {
    return this.error;
  }

  get seriesUid(): string | null {
    return this.ctx?.series.uid ?? null;
  }

  /** Open a series at its middle slice (or `slice`). */
  async open(ctx: { patient: Patient; study: Study; series: Series }, slice?: number): Promise<void> {
    this.stopCine();
    this.ctx = ctx;
    this.slices = slicesOf(ctx.series);
    this.normal = seriesNormal(ctx.series);
    this.view = reduce(this.view, { type: "open", sliceCount: this.slices.length, slice: slice ?? 0 });
    this.view = { ...this.view, windowLabel: "", fileWindowIndex: -1 };
    this.current = null;
    this.currentRef = null;
    this.error = null;
    await this.loadSlice(true);
    this.el.focus();
  }

  /** Keep the open series in step with a library update (more slices may have arrived). */
  refreshSeries(series: Series): void {
    if (!this.ctx || this.ctx.series.uid !== series.uid) return;
    const cur = this.currentSlice;
    this.ctx = { ...this.ctx, series };
    this.slices = slicesOf(series);
    this.normal = seriesNormal(series);
    const idx = cur ? this.slices.findIndex((s) => s.instance.path === cur.instance.path && s.frame === cur.frame) : 0;
    this.view = { ...this.view, sliceCount: this.slices.length, slice: Math.max(0, idx) };
    this.updateOverlays();
  }

  dispatch(a: ViewAction): void {
    const prev = this.view;
    this.view = reduce(prev, a);
    if (this.view.slice !== prev.slice) void this.loadSlice(false);
    else if (this.view.voiLut !== prev.voiLut) {
      this.upload();
      this.draw();
    } else if (this.view.window !== prev.window || this.view.invert !== prev.invert) this.draw();
    if (this.view.playing !== prev.playing || this.view.fps !== prev.fps) this.syncCine();
    this.layout();
    this.updateOverlays();
    if (this.view.slice !== prev.slice || this.view.window !== prev.window) this.deps.onViewChange?.();
  }

  /** Apply a keyboard action that belongs to the viewport; others go to the app. */
  handle(a: KeyAction): void {
    switch (a.type) {
      case "slice":
        return this.dispatch({ type: "slice", delta: a.delta });
      case "sliceTo":
        return this.dispatch({ type: "setSlice", slice: a.where === "first" ? 0 : this.slices.length - 1 });
      case "preset":
        return this.applyPreset(a.index);
      case "fileWindow":
        return this.nextFileWindow();
      case "autoWindow":
        return this.autoWindow();
      case "invert":
        return this.dispatch({ type: "invert" });
      case "zoom":
        return this.dispatch({ type: "zoom", factor: a.factor, fitZoom: this.fitZoom() });
      case "fit":
        return this.dispatch({ type: "fit" });
      case "oneToOne":
        return this.dispatch({ type: "oneToOne" });
      case "cine":
        return this.dispatch({ type: "play", playing: !this.view.playing });
      case "reset":
        return this.dispatch({ type: "reset" });
      case "flip":
        return this.dispatch({ type: "flip", axis: a.axis });
      case "rotate":
        return this.dispatch({ type: "rotate", quarters: a.quarters });
      default:
        if (!this.measure.handle(a)) this.deps.onCommand(a);
    }
  }

  presets(): NamedWindow[] {
    return this.current?.header.presets ?? [];
  }

  fileWindows(): NamedWindow[] {
    return this.current?.header.windows ?? [];
  }

  applyPreset(i: number): void {
    const p = this.presets()[i];
    if (p) this.dispatch({ type: "setWindow", window: p, label: `preset ${i + 1}: ${p.name}` });
  }

  /** Cycle through the file's windows, then its VOI LUTs. */
  nextFileWindow(): void {
    const ws = this.fileWindows();
    const luts = this.current?.header.voi_luts ?? [];
    const n = ws.length + luts.length;
    if (!n) return;
    const i = (this.view.fileWindowIndex + 1) % n;
    this.applyFileVoi(i);
  }

  private applyFileVoi(i: number): void {
    const ws = this.fileWindows();
    const w = ws[i];
    if (w) return this.dispatch({ type: "setWindow", window: w, label: `file: ${w.name || i + 1}`, fileWindowIndex: i, fileVoi: true });
    const lut = this.current?.header.voi_luts?.[i - ws.length];
    if (lut)
      this.dispatch({ type: "setVoiLut", index: i - ws.length, span: lutSpan(lut), label: `file VOI LUT: ${lut.name || i - ws.length + 1}`, fileWindowIndex: i });
  }

  /** Put the current frame in the renderer: modality values, or a VOI LUT's output. */
  private upload(): void {
    const img = this.current;
    if (!img) return;
    const li = this.view.voiLut;
    const lut = li !== null ? img.header.voi_luts?.[li] : undefined;
    if (lut && img.header.samples === 1) {
      this.renderer.setImage({ header: { ...img.header, voi_function: "LINEAR" }, values: voiLutValues(img.values, lut) });
      this.uploadedLut = li;
    } else {
      this.renderer.setImage(img);
      this.uploadedLut = null;
    }
  }

  autoWindow(): void {
    if (this.current) this.dispatch({ type: "setWindow", window: autoWindow(this.current.values), label: "auto" });
  }

  setWindow(w: Window, label = "manual"): void {
    this.dispatch({ type: "setWindow", window: w, label });
  }

  /** The fraction of the native size a W/L drag draws at: the image's size on screen in device
   *  pixels, when that is well below the native size (1: native). */
  private dragResolution(): number {
    const d = this.displaySize();
    const hd = this.current?.header;
    if (!d || !hd) return 1;
    const z = this.effectiveZoom() * (window.devicePixelRatio || 1);
    const s = Math.max((d.width * z) / hd.columns, (d.height * z) / hd.rows);
    return s < 0.75 ? s : 1;
  }

  /** Draw `n` W/L steps synchronously; returns ms per frame (GPU work included). `drag`: at
   *  the resolution a W/L drag draws at (as the user sees it while dragging). */
  benchmark(n: number, drag = false): number {
    if (!this.current) return NaN;
    const w0 = this.view.window;
    if (drag) {
      this.renderer.setResolution(this.dragResolution());
      this.draw();
    }
    this.renderer.finish();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      this.renderer.draw({ center: w0.center + (i % 50), width: w0.width + (i % 30) }, this.view.invert, "LINEAR");
      this.renderer.finish();
    }
    const ms = (performance.now() - t0) / n;
    this.renderer.setResolution(1);
    this.draw();
    return ms;
  }

  /** RGBA of the rendered image at native size, top row first. */
  readPixels(): { width: number; height: number; rgba: Uint8Array } {
    return { width: this.canvas.width, height: this.canvas.height, rgba: this.renderer.read() };
  }

  private async loadSlice(first: boolean): Promise<void> {
    const ref = this.slices[this.view.slice];
    const token = ++this.loadToken;
    if (!ref) {
      this.message.textContent = "No images in this series";
      this.message.hidden = false;
      this.deps.onSliceChange(null);
      return;
    }
    let img: Loaded;
    try {
      img = await this.fetch(ref);
    } catch (e) {
      if (token !== this.loadToken) return;
      const msg = `${ref.instance.path} (frame ${ref.frame + 1}): ${errorText(e)}`;
      this.error = msg;
      this.message.textContent = `Cannot display ${msg}`;
      this.message.hidden = false;
      this.deps.onError(msg);
      this.updateOverlays();
      return;
    }
    if (token !== this.loadToken) return;
    this.error = null;
    this.message.hidden = true;
    const sizeChanged = !this.current || this.current.header.rows !== img.header.rows || this.current.header.columns !== img.header.columns;
    this.current = img;
    this.currentRef = ref;
    if (first || !this.view.windowLabel) {
      const lut = img.header.voi_luts?.[0];
      if (!img.header.windows.length && lut) {
        // No window but a VOI LUT: the LUT is the file's VOI (as `medlens render` does).
        this.view = reduce(this.view, { type: "setVoiLut", index: 0, span: lutSpan(lut), label: `file VOI LUT: ${lut.name || 1}`, fileWindowIndex: 0 });
      } else {
        const w = initialWindow(img.header, img.values);
        const label = img.header.windows.length ? `file: ${img.header.windows[0]!.name || 1}` : "auto";
        const fromFile = img.header.windows.length > 0;
        this.view = reduce(this.view, { type: "setWindow", window: w, label, fileWindowIndex: fromFile ? 0 : -1, fileVoi: fromFile });
      }
    }
    this.upload();
    this.draw();
    if (sizeChanged) this.layout();
    this.updateOverlays();
    this.deps.onSliceChange(ref);
    if (first) void this.prefetch();
  }

  private async fetch(ref: SliceRef): Promise<Loaded> {
    const key = `${ref.instance.path}#${ref.frame}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const frame = await this.deps.loadFrame(ref.instance.path, ref.frame);
    const pal = paletteValues(frame.header, frame.stored);
    const img: Loaded = pal
      ? { ...pal, path: ref.instance.path, frame: ref.frame }
      : { header: frame.header, values: modalityValues(frame.header, frame.stored), path: ref.instance.path, frame: ref.frame };
    this.cache.set(key, img);
    this.cacheBytes += img.values.byteLength;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= CACHE_BYTES) break;
      this.cache.delete(k);
      this.cacheBytes -= v.values.byteLength;
    }
    return img;
  }

  /** Load the rest of the series in the background so scrolling and cine are smooth. */
  private async prefetch(): Promise<void> {
    const series = this.ctx?.series.uid;
    for (const ref of [...this.slices]) {
      if (this.ctx?.series.uid !== series || this.cacheBytes > CACHE_BYTES * 0.8) return;
      try {
        await this.fetch(ref);
      } catch {
        /* reported when the slice is shown */
      }
    }
  }

  private draw(): void {
    const img = this.current;
    if (!img) return;
    if (this.uploadedLut !== null) this.renderer.draw(IDENTITY_WINDOW, this.view.invert, "LINEAR");
    else this.renderer.draw(this.view.window, this.view.invert, this.view.fileVoi ? img.header.voi_function : "LINEAR");
  }

  /** The image's size on screen at zoom 1: non-square pixels at their true aspect. */
  private displaySize(): { width: number; height: number } | null {
    const hd = this.current?.header;
    return hd ? displaySize(hd.columns, hd.rows, hd.geometry.aspect) : null;
  }

  private fitZoom(): number {
    const d = this.displaySize();
    if (!d) return 1;
    // A quarter turn puts the image's width along the viewport's height.
    const across = this.view.transform.rotate % 180 === 0 ? d : { width: d.height, height: d.width };
    return fitZoom(this.el.clientWidth, this.el.clientHeight, across.width, across.height);
  }

  private effectiveZoom(): number {
    return this.view.zoom ?? this.fitZoom();
  }

  private layout(): void {
    const d = this.displaySize();
    const c = this.canvas;
    if (!d) return;
    const z = this.effectiveZoom();
    // The canvas keeps the native pixels (readback and export are the windowed image); its
    // CSS box has the true aspect, so the browser stretches the coarser direction.
    c.style.width = `${d.width}px`;
    c.style.height = `${d.height}px`;
    // Right to left: mirror, turn (both about the image's centre), zoom, then pan.
    const t = this.view.transform;
    const orient = t.rotate || t.flipH || t.flipV ? ` rotate(${t.rotate}deg) scale(${t.flipH ? -1 : 1}, ${t.flipV ? -1 : 1})` : "";
    c.style.transform = `translate(-50%, -50%) translate(${this.view.panX}px, ${this.view.panY}px) scale(${z})${orient}`;
    c.style.imageRendering = z >= 2 ? "pixelated" : "auto";
    this.updateOverlays();
  }

  private updateOverlays(): void {
    const ctx = this.ctx;
    const ref = this.currentSlice;
    if (!ctx) return;
    const line = (...parts: string[]) => h("div", {}, ...parts);
    this.ov.tl.replaceChildren(
      line(formatName(ctx.patient.name)),
      line(`ID ${ctx.patient.id}`),
      line(`${formatDate(ctx.study.date)} ${ctx.study.description}`.trim()),
    );
    this.ov.tr.replaceChildren(
      line(`${ctx.series.modality} #${ctx.series.number ?? "?"}`),
      line(ctx.series.description),
      line(this.current ? `${this.current.header.columns}×${this.current.header.rows}` : ""),
      h("div#ov-calib", {}, this.current ? calibrationText(this.current.header.geometry) : ""),
      h("div#ov-suv", { title: this.current?.header.suv?.basis ?? "" }, suvText(this.current?.header)),
    );
    const pos = ref?.instance.image_position;
    const along = pos && this.normal ? pos[0] * this.normal[0] + pos[1] * this.normal[1] + pos[2] * this.normal[2] : null;
    const sliceLine = h("div#ov-slice", {}, `Slice ${this.view.slice + 1}/${this.view.sliceCount}`);
    this.ov.bl.replaceChildren(
      sliceLine,
      this.deps.sliceText
        ? h("div.pos", {}, this.deps.sliceText(this.view.slice))
        : line(along !== null ? `Pos ${along.toFixed(2)} mm` : ref && ref.instance.frames > 1 ? `Frame ${ref.frame + 1}/${ref.instance.frames}` : ""),
      line(this.view.playing ? `▶ ${this.view.fps} fps` : ""),
      this.measure.probe,
    );
    this.ov.br.replaceChildren(
      h("div#ov-wl", {}, formatWindow(this.view.window)),
      line(this.view.windowLabel + (this.view.invert ? " · inverted" : "")),
      h("div#ov-orient", {}, transformText(this.view.transform)),
      h("div#ov-zoom", {}, `Zoom ${formatZoom(this.effectiveZoom())}`),
    );
    this.updateGeometry();
  }

  /** Orientation markers and the scale bar of the frame on screen, at the current zoom. */
  private updateGeometry(): void {
    const g = this.current?.header.geometry;
    const found = this.error ? null : markersFor(g);
    const m = found && transformMarkers(found, this.view.transform);
    for (const side of ["top", "bottom", "left", "right"] as const) this.marks[side].textContent = m?.[side] ?? "";
    const mmPerPx = this.error ? null : mmPerScreenPixel(g, this.effectiveZoom());
    // At most a quarter of the viewport's width, so it never crowds the corner text.
    const bar = mmPerPx ? scaleBar(mmPerPx, Math.max(40, this.el.clientWidth / 4)) : null;
    this.scale.hidden = !bar;
    if (bar) {
      this.scaleLine.style.width = `${bar.px}px`;
      this.scaleLabel.textContent = bar.label;
      this.scale.dataset.mm = String(bar.mm);
      this.scale.dataset.px = String(bar.px);
    }
    this.measure.render();
    this.drawCrosshair();
  }

  /** Show (or, with null, hide) the crosshair. */
  setCrosshair(c: Crosshair | null): void {
    this.crosshair = c;
    this.drawCrosshair();
  }

  private drawCrosshair(): void {
    const c = this.crosshair;
    const hd = this.current?.header;
    if (!c || !hd || this.error) return this.crossLayer.replaceChildren();
    const box = this.canvas.getBoundingClientRect();
    const origin = this.el.getBoundingClientRect();
    const at = (p: Pt) => {
      const s = imageToScreen(p, box, hd.columns, hd.rows, this.view.transform);
      return { x: s.x - origin.left, y: s.y - origin.top };
    };
    const line = (a: Pt, b: Pt, color: string, which: string) => {
      const [p, q] = [at(a), at(b)];
      return svg("line", { x1: p.x, y1: p.y, x2: q.x, y2: q.y, stroke: color, class: which });
    };
    this.crossLayer.replaceChildren(
      line({ x: c.x, y: 0 }, { x: c.x, y: hd.rows }, c.xColor, "cross-x"),
      line({ x: 0, y: c.y }, { x: hd.columns, y: c.y }, c.yColor, "cross-y"),
    );
  }

  private syncCine(): void {
    this.stopTimer();
    if (this.view.playing) this.cineTimer = window.setInterval(() => this.dispatch({ type: "cineTick" }), 1000 / this.view.fps);
  }

  private stopTimer(): void {
    if (this.cineTimer !== null) window.clearInterval(this.cineTimer);
    this.cineTimer = null;
  }

  stopCine(): void {
    this.stopTimer();
    if (this.view.playing) this.view = { ...this.view, playing: false };
  }

  /** Mouse and keys. What they do is decided in keymap.ts (keyAction, dragMode, wheelAction),
   *  whose SHORTCUTS table is the help overlay's list; keymap.test.ts keeps the two in step. */
  private bindInput(): void {
    const el = this.el;
    el.addEventListener("contextmenu", (e) => e.preventDefault());
    el.addEventListener("mousedown", (e) => {
      el.focus();
      if (!this.current) return;
      if (this.measure.mouseDown(e)) {
        e.preventDefault();
        return;
      }
      const mode = dragMode(e);
      if (!mode || mode === "measure") return;
      this.drag = { x: e.clientX, y: e.clientY, mode, moved: 0, reduced: false };
      e.preventDefault();
    });
    window.addEventListener("mousemove", (e) => {
      const d = this.drag;
      if (!d) return;
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      d.x = e.clientX;
      d.y = e.clientY;
      d.moved += Math.abs(dx) + Math.abs(dy);
      if (dx === 0 && dy === 0) return;
      if (d.mode === "wl" && !d.reduced) {
        const r = this.dragResolution();
        if (r < 1) {
          this.renderer.setResolution(r);
          d.reduced = true;
        }
      }
      if (d.mode === "wl") this.dispatch({ type: "wlDrag", dx, dy });
      else this.dispatch({ type: "pan", dx, dy });
    });
    window.addEventListener("mouseup", (e) => {
      const d = this.drag;
      this.drag = null;
      if (d?.reduced) {
        // The drag's last window at native size.
        this.renderer.setResolution(1);
        this.draw();
      }
      const hd = this.current?.header;
      if (d?.mode === "wl" && d.moved < 3 && hd && this.deps.onImageClick)
        this.deps.onImageClick(screenToImage(e.clientX, e.clientY, this.canvas.getBoundingClientRect(), hd.columns, hd.rows, this.view.transform));
      this.measure.mouseUp(e);
    });
    el.addEventListener("mousemove", (e) => this.measure.mouseMove(e));
    el.addEventListener("mouseleave", () => this.measure.mouseLeave());
    el.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const w = wheelAction(e);
        if (w?.type === "zoom") {
          const r = el.getBoundingClientRect();
          const anchor = { x: e.clientX - r.left - r.width / 2, y: e.clientY - r.top - r.height / 2 };
          this.dispatch({ type: "zoom", factor: w.zoomIn ? 1.15 : 1 / 1.15, fitZoom: this.fitZoom(), anchor });
        } else if (w?.type === "slice") {
          this.dispatch({ type: "slice", delta: w.delta });
        }
      },
      { passive: false },
    );
    el.addEventListener("keydown", (e) => {
      const a = keyAction(e);
      if (!a) return;
      e.preventDefault();
      this.handle(a);
    });
  }
}

function seriesNormal(series: Series): [number, number, number] | null {
  const first = series.instances[0]?.image_position;
  const last = series.instances[series.instances.length - 1]?.image_position;
  if (!first || !last) return null;
  const n: [number, number, number] = [last[0] - first[0], last[1] - first[1], last[2] - first[2]];
  const len = Math.hypot(...n);
  return len > 0 ? [n[0] / len, n[1] / len, n[2] / len] : [0, 0, 1];
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}
