// The application shell: wires the components to the Rust side. All state lives in the
// App instance (the library, the viewport's view model); nothing global but the test hook.
import { tauriAiApi } from "./aiApi";
import * as api from "./api";
import { storedDir } from "./components/aiCommon";
import { AiPanels } from "./components/aiPanels";
import { ErrorsPanel } from "./components/errorsPanel";
import { HelpOverlay } from "./components/helpOverlay";
import { IndexProgressBar } from "./components/progress";
import { StudyBrowser, thumbnailCanvas, type SeriesContext } from "./components/studyBrowser";
import { TagBrowser } from "./components/tagBrowser";
import { errorText, Viewport } from "./components/viewport";
import { MprView } from "./components/mprView";
import { exportScaleText, orientGeometry, orientPixels } from "./geometry";
import { h } from "./dom";
import { ImageContextFeed } from "./imageContext";
import type { KeyAction } from "./keymap";
import { emptyLibrary, mergeIndex, seriesCount, slicesOf, studyCount, type Library, type SliceRef } from "./library";
import type { Index, Series } from "./types";
import { initialWindow, modalityValues, paletteValues, renderRgba } from "./windowing";

export class App {
  private lib: Library = emptyLibrary();
  private readonly browser: StudyBrowser;
  private readonly viewport: Viewport;
  private readonly errors = new ErrorsPanel();
  private readonly progress: IndexProgressBar;
  private readonly tagBrowser: TagBrowser;
  private readonly status = h("div.statusline#statusline", {}, "");
  private readonly fps = h("input#cine-fps", { type: "number", min: 1, max: 60, value: "10", title: "Cine frames per second" });
  /** Running index jobs: what their parts added so far, and whether the library was empty
   *  when they started (then the first series that arrives opens). */
  private readonly jobs = new Map<number, { files: number; unreadable: number; parts: number; libraryWasEmpty: boolean }>();
  /** Index parts merged (the test hook's count: big folders arrive in several). */
  private indexParts = 0;
  private thumbQueue: Promise<void> = Promise.resolve();
  private readonly thumbs = new Map<string, HTMLCanvasElement>();
  /** The image on screen, as the AI panels see it. */
  private readonly imageContext = new ImageContextFeed();
  private readonly ai: AiPanels;
  /** The shortcut overlay (`?`), listing keymap.ts's SHORTCUTS. */
  private readonly help = new HelpOverlay();
  /** Axial, coronal and sagittal reformats of the open series (M), shown instead of the viewport. */
  private readonly mpr: MprView;

  constructor(root: HTMLElement) {
    this.progress = new IndexProgressBar(() => void api.cancelIndex());
    this.tagBrowser = new TagBrowser(() => this.toggleTags(false));
    this.browser = new StudyBrowser(
      (ctx) => void this.openSeries(ctx),
      (s, c) => this.queueThumb(s, c),
    );
    this.viewport = new Viewport({
      loadFrame: api.loadFrame,
      onSliceChange: (ref) => this.onSlice(ref),
      onCommand: (a) => this.command(a),
      onError: (m) => this.setStatus(m, true),
      onViewChange: () => this.publishImageContext(),
      measurements: { load: api.measurementsLoad, save: api.measurementsSave, export: api.measurementsExport },
      onNotice: (m) => this.setStatus(m, false),
    });
    this.mpr = new MprView({
      api: { open: api.mprOpen, plane: api.mprPlane, close: api.mprClose },
      onError: (m) => this.setStatus(m, true),
      onNotice: (m) => this.setStatus(m, false),
      onCommand: (a) => this.command(a),
    });
    this.ai = new AiPanels({ api: tauriAiApi, context: this.imageContext, exportDir: storedDir(localStorageOrNull()) });
    this.fps.addEventListener("change", () => this.viewport.dispatch({ type: "fps", fps: Number(this.fps.value) || 10 }));
    const btn = (id: string, label: string, title: string, f: () => void) => h("button", { id, title, onClick: f }, label);
    const v = this.viewport;
    const toolbar = h(
      "header.toolbar",
      {},
      h("span.brand", {}, "Medlens"),
      btn("open-files", "Open files…", "Open DICOM files (Ctrl+O)", () => void this.open(false)),
      btn("open-folder", "Open folder…", "Open a folder of DICOM files", () => void this.open(true)),
      this.progress.el,
      h("span.sep"),
      btn("zoom-out", "−", "Zoom out (−)", () => v.handle({ type: "zoom", factor: 0.8 })),
      btn("zoom-in", "+", "Zoom in (+)", () => v.handle({ type: "zoom", factor: 1.25 })),
      btn("zoom-fit", "Fit", "Fit to window (F)", () => v.handle({ type: "fit" })),
      btn("zoom-1", "1:1", "One image pixel per screen pixel (0)", () => v.handle({ type: "oneToOne" })),
      h("span.sep"),
      btn("wl-file", "File W/L", "Next window from the file (W)", () => v.handle({ type: "fileWindow" })),
      btn("wl-auto", "Auto W/L", "Auto window (A)", () => v.handle({ type: "autoWindow" })),
      btn("invert", "Invert", "Invert (I)", () => v.handle({ type: "invert" })),
      btn("rotate-left", "⟲", "Turn 90° anticlockwise ([)", () => v.handle({ type: "rotate", quarters: -1 })),
      btn("rotate-right", "⟳", "Turn 90° clockwise (])", () => v.handle({ type: "rotate", quarters: 1 })),
      btn("flip-h", "⇆", "Mirror left–right (H)", () => v.handle({ type: "flip", axis: "h" })),
      btn("flip-v", "⇅", "Mirror top–bottom (J)", () => v.handle({ type: "flip", axis: "v" })),
      btn("mpr-toggle", "MPR", "Axial, coronal and sagittal reformats of the series (M)", () => void this.toggleMpr()),
      h("span.sep"),
      v.measure.toolbar.el,
      h("span.sep"),
      btn("cine", "▶ Cine", "Play / stop (Space)", () => v.handle({ type: "cine" })),
      this.fps,
      h("span.unit", {}, "fps"),
      h("span.sep"),
      btn("toggle-tags", "Tags", "Tag browser (T)", () => this.toggleTags()),
      btn("export-png", "Export PNG", "Export the current image with its window (Ctrl+E)", () => void this.exportPng()),
      btn("help", "?", "Keyboard shortcuts and mouse (?)", () => this.help.toggle()),
    );
    root.append(
      toolbar,
      h(
        "div.main",
        {},
        h("aside.left", {}, h("h2", {}, "Studies"), this.browser.el, this.errors.el),
        h("main.center", {}, this.viewport.el, this.mpr.el),
        h("aside.right", {}, this.tagBrowser.el, this.ai.el),
      ),
      this.status,
      h("div.drop-hint", {}, "Drop DICOM files or folders to open them"),
      this.help.el,
    );
    this.help.attach(document);
    void this.listen();
    this.installTestHook();
  }

  private async listen(): Promise<void> {
    await api.onDragHover((over) => document.body.classList.toggle("drag-over", over));
    await api.onIndexStarted((e) => {
      this.jobs.set(e.job, { files: 0, unreadable: 0, parts: 0, libraryWasEmpty: studyCount(this.lib) === 0 });
      this.progress.show(0, 0, e.paths.join(", "));
    });
    await api.onIndexProgress((p) => this.progress.show(p.done, p.total, ""));
    await api.onIndexPart((p) => this.addIndexPart(p.job, p.index, null));
    await api.onIndexDone((d) => this.addIndexPart(d.job, d.index, d.cancelled));
    await api.onMenu((id) => {
      if (id === "open-files") void this.open(false);
      else if (id === "open-folder") void this.open(true);
      else if (id === "export-png") void this.exportPng();
    });
    // Listeners are in place: now ask for the bundled sample (first start only).
    try {
      await api.openSample();
    } catch (e) {
      this.setStatus(`Sample study: ${errorText(e)}`, true);
    }
  }

  /** Merge a part of a job's index (`cancelled` null: more parts follow) and show it; the
   *  first series to arrive opens when the library was empty. */
  private addIndexPart(job: number, index: Index, cancelled: boolean | null): void {
    const j = this.jobs.get(job) ?? { files: 0, unreadable: 0, parts: 0, libraryWasEmpty: false };
    j.parts++;
    this.indexParts++;
    j.files += index.patients.reduce((n, p) => n + p.studies.reduce((m, s) => m + s.series.reduce((k, se) => k + se.instances.length, 0), 0), 0);
    j.unreadable += index.errors.length;
    this.lib = mergeIndex(this.lib, index);
    this.browser.render(this.lib);
    this.errors.render(this.lib.errors);
    const uid = this.viewport.seriesUid;
    const open = uid ? this.findSeries(uid) : null;
    if (open) this.viewport.refreshSeries(open.series);
    else if (j.libraryWasEmpty && !this.mpr.isOpen) {
      const first = this.firstSeries();
      if (first) void this.openSeries(first);
    }
    if (cancelled === null) {
      this.jobs.set(job, j);
      this.setStatus(`Indexing: ${j.files} file${j.files === 1 ? "" : "s"} so far…`);
      return;
    }
    this.jobs.delete(job);
    if (this.jobs.size === 0) this.progress.hide();
    this.setStatus(
      `${cancelled ? "Indexing cancelled: " : ""}${j.files} file${j.files === 1 ? "" : "s"} indexed, ${j.unreadable} unreadable; ${studyCount(this.lib)} stud${studyCount(this.lib) === 1 ? "y" : "ies"}, ${seriesCount(this.lib)} series open`,
      j.unreadable > 0,
    );
  }

  private findSeries(uid: string): SeriesContext | null {
    for (const patient of this.lib.patients)
      for (const study of patient.studies) for (const series of study.series) if (series.uid === uid) return { patient, study, series };
    return null;
  }

  private firstSeries(): SeriesContext | null {
    const patient = this.lib.patients[0];
    const study = patient?.studies[0];
    const series = study?.series[0];
    return patient && study && series ? { patient, study, series } : null;
  }

  private async openSeries(ctx: SeriesContext): Promise<void> {
    if (this.mpr.isOpen) this.closeMpr();
    this.browser.select(ctx.series.uid);
    await this.viewport.open(ctx);
  }

  private onSlice(ref: SliceRef | null): void {
    this.publishImageContext();
    if (ref && this.tagBrowser.visible) void this.loadTags(ref.instance.path);
  }

  /** Tell the AI panels which image (file, frame, window) is on screen. */
  private publishImageContext(): void {
    const ref = this.viewport.currentSlice;
    this.imageContext.publish(
      ref
        ? { path: ref.instance.path, frame: ref.frame, window: this.viewport.state.window, sopInstanceUid: ref.instance.sop_instance_uid || null }
        : null,
    );
  }

  /** Only the newest request may fill the tag browser: an older file's tags arriving late
   *  (scrolling fast, or the tags of the image shown before a jump) are dropped. */
  private tagsRequest = 0;

  private async loadTags(path: string): Promise<void> {
    const request = ++this.tagsRequest;
    try {
      const tags = await api.tags(path);
      if (request === this.tagsRequest) this.tagBrowser.show(path, tags);
    } catch (e) {
      if (request === this.tagsRequest) this.tagBrowser.showError(path, errorText(e));
    }
  }

  private toggleTags(show?: boolean): void {
    const v = show ?? !this.tagBrowser.visible;
    this.tagBrowser.setVisible(v);
    const ref = this.viewport.currentSlice;
    if (v && ref) void this.loadTags(ref.instance.path);
  }

  /** Open the MPR view of the series on screen, or close it. */
  private async toggleMpr(): Promise<void> {
    if (this.mpr.isOpen) return this.closeMpr();
    const uid = this.viewport.seriesUid;
    const ctx = uid ? this.findSeries(uid) : null;
    if (!ctx) return this.setStatus("MPR: open a series first", true);
    this.setStatus("MPR: building the volume…");
    if (await this.mpr.open(ctx)) {
      this.viewport.stopCine();
      this.viewport.el.hidden = true;
    }
  }

  private closeMpr(): void {
    this.mpr.close();
    this.viewport.el.hidden = false;
    this.viewport.el.focus();
  }

  private command(a: KeyAction): void {
    if (a.type === "mpr") void this.toggleMpr();
    else if (a.type === "tags") this.toggleTags();
    else if (a.type === "export") void this.exportPng();
    else if (a.type === "open") void this.open(false);
    else if (a.type === "openFolder") void this.open(true);
  }

  private async open(folder: boolean): Promise<void> {
    try {
      await api.openDialog(folder);
    } catch (e) {
      this.setStatus(`Open: ${errorText(e)}`, true);
    }
  }

  /** Export the current image at native size with the current window, turned and mirrored as
   *  on screen; returns the saved path. */
  async exportPng(): Promise<string | null> {
    const f = this.viewport.currentFrame;
    if (!f) {
      this.setStatus("Nothing to export: open a series first", true);
      return null;
    }
    const t = this.viewport.state.transform;
    const native = this.viewport.readPixels();
    const { width, height, rgba } = orientPixels(native.rgba, native.width, native.height, t);
    const base = f.path.split(/[\\/]/).pop()?.replace(/\.[^.]*$/, "") || "image";
    try {
      const saved = await api.exportPng(rgba, width, height, `${base}-f${f.frame + 1}.png`, orientGeometry(f.header.geometry, t));
      if (saved) this.setStatus(`Exported ${saved.path} (${exportScaleText(saved)})`);
      return saved?.path ?? null;
    } catch (e) {
      this.setStatus(`Export failed: ${errorText(e)}`, true);
      return null;
    }
  }

  private setStatus(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle("error", error);
  }

  /** Series thumbnails: the middle slice, windowed, drawn one at a time off the critical path. */
  private queueThumb(series: Series, canvas: HTMLCanvasElement): void {
    const cached = this.thumbs.get(series.uid);
    if (cached) {
      canvas.getContext("2d")?.drawImage(cached, 0, 0);
      return;
    }
    this.thumbQueue = this.thumbQueue.then(async () => {
      const slices = slicesOf(series);
      const mid = slices[Math.floor(slices.length / 2)];
      if (!mid) return;
      try {
        const frame = await api.loadFrame(mid.instance.path, mid.frame);
        const pal = paletteValues(frame.header, frame.stored);
        const img = pal ?? { header: frame.header, values: modalityValues(frame.header, frame.stored) };
        const rgba = renderRgba(img, initialWindow(img.header, img.values), false);
        const t = thumbnailCanvas(rgba, frame.header.columns, frame.header.rows, frame.header.geometry, canvas.width, canvas.height);
        this.thumbs.set(series.uid, t);
        for (const c of document.querySelectorAll<HTMLButtonElement>(".series"))
          if (c.dataset.uid === series.uid) c.querySelector("canvas")?.getContext("2d")?.drawImage(t, 0, 0);
      } catch {
        canvas.classList.add("broken");
      }
    });
  }

  /** Automation hook for the end-to-end tests and benchmarks (reads state, drives the same code paths). */
  private installTestHook(): void {
    const v = this.viewport;
    const hook = {
      info: () => ({
        renderer: v.rendererKind,
        studies: studyCount(this.lib),
        series: seriesCount(this.lib),
        errors: this.lib.errors,
        indexing: this.jobs.size > 0,
        indexParts: this.indexParts,
        seriesUid: v.seriesUid,
        slice: v.state.slice,
        sliceCount: v.state.sliceCount,
        path: v.currentFrame?.path ?? null,
        viewError: v.viewError,
        frame: v.currentFrame?.frame ?? null,
        window: v.state.window,
        voiLut: v.state.voiLut,
        windowLabel: v.state.windowLabel,
        fileVoi: v.state.fileVoi,
        zoom: v.state.zoom,
        invert: v.state.invert,
        transform: v.state.transform,
        studyUids: this.lib.patients.flatMap((p) => p.studies.map((s) => s.uid)),
      }),
      seriesList: () =>
        this.lib.patients.flatMap((p) =>
          p.studies.flatMap((st) =>
            st.series.map((se) => ({
              uid: se.uid,
              study: st.uid,
              modality: se.modality,
              description: se.description,
              images: slicesOf(se).length,
              paths: se.instances.map((i) => i.path),
              rows: se.instances[0]?.rows ?? 0,
              bits: se.instances[0]?.bits_allocated ?? 0,
            })),
          ),
        ),
      /** Open the series holding `path` at that file's first frame. */
      openAt: (path: string) => {
        for (const patient of this.lib.patients)
          for (const study of patient.studies)
            for (const series of study.series) {
              const k = slicesOf(series).findIndex((r) => r.instance.path === path);
              if (k >= 0) {
                this.browser.select(series.uid);
                void this.viewport.open({ patient, study, series }, k);
                return true;
              }
            }
        return false;
      },
      openSeries: (uid: string) => {
        const ctx = this.findSeries(uid);
        if (ctx) void this.openSeries(ctx);
        return !!ctx;
      },
      setWindow: (center: number, width: number) => v.setWindow({ center, width }),
      /** Grey (R channel) of the rendered image, base64, top row first. */
      readGrey: () => {
        const { width, height, rgba } = v.readPixels();
        const grey = new Uint8Array(width * height);
        for (let i = 0; i < grey.length; i++) grey[i] = rgba[i * 4]!;
        return { width, height, grey: base64(grey) };
      },
      exportPng: () => this.exportPng(),
      /** The image context the AI panels use (path, frame, window, SOP Instance UID). */
      aiContext: () => this.imageContext.current(),
      /** ms per W/L frame: at native size, or (`drag`) at the size a W/L drag draws at. */
      benchmark: (n: number, drag = false) => v.benchmark(n, drag),
      /** Set an exact zoom (screen px per finer image pixel; null = fit) and pan. */
      setView: (zoom: number | null, panX: number, panY: number) => v.dispatch({ type: "view", zoom, panX, panY }),
      /** The tool in use and the measurements of the image on screen, with their numbers. */
      measurements: () => v.measure.info(),
      /** The MPR view: open, crosshair voxel and position, each pane's slice, size, slab, window. */
      mpr: () => this.mpr.state(),
      /** A pane's modality values (Float32, little-endian), base64. */
      mprValues: (plane: "axial" | "coronal" | "sagittal") => {
        const v = this.mpr.values(plane);
        return v ? base64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) : null;
      },
    };
    (window as unknown as { __medlens: typeof hook }).__medlens = hook;
  }
}

/** Bytes as base64, for the test hook's replies (in chunks: one call's arguments are bounded). */
function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function localStorageOrNull(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
