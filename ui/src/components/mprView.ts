// The MPR view: the open series' volume in three panes (axial, coronal, sagittal), each a
// Viewport over the reformats the Rust side cuts (so each pane windows, zooms, mirrors, marks
// its orientation and measures like the main view), with linked crosshairs (a click in one
// pane moves the other two to that point), one window for all three, and a thick-slab
// maximum intensity projection. The planes' layouts come from the Rust side (mpr.ts).
import { h } from "../dom";
import { slicesOf } from "../library";
import { centreOf, inPlane, pointText, positionOf, slabSlices, slicePositionText, voxelOf, type Ijk } from "../mpr";
import type { Frame, MprInfo, MprSlice, Patient, Plane, PlaneLayout, Series, Study, Window } from "../types";
import type { KeyAction } from "../keymap";
import { errorText, Viewport } from "./viewport";

export interface MprApi {
  open(slices: MprSlice[]): Promise<MprInfo>;
  plane(plane: Plane, index: number, slab: number): Promise<Frame>;
  close(): Promise<void>;
}

export interface MprDeps {
  api: MprApi;
  onError(message: string): void;
  onNotice(message: string): void;
  /** Keys the panes do not own (M closes the view, T the tags, …). */
  onCommand(a: KeyAction): void;
}

type Ctx = { patient: Patient; study: Study; series: Series };

/** Each plane's colour: its pane's title and its line in the other panes. */
export const PLANE_COLOURS: Record<Plane, string> = { axial: "#ff6b6b", coronal: "#63d463", sagittal: "#6ba8ff" };

const TITLES: Record<Plane, string> = { axial: "Axial", coronal: "Coronal", sagittal: "Sagittal" };

interface Pane {
  layout: PlaneLayout;
  vp: Viewport;
}

export class MprView {
  readonly el = h("div.mpr#mpr", { hidden: true });
  private readonly slabInput = h("input#mpr-slab", { type: "number", min: 0, step: 1, value: "0", title: "Slab thickness in mm for a maximum intensity projection (0: thin slices)" });
  private readonly pointLine = h("span#mpr-point", {}, "");
  private readonly grid = h("div.mpr-grid");
  private info: MprInfo | null = null;
  private ctx: Ctx | null = null;
  private panes: Pane[] = [];
  private point: Ijk = [0, 0, 0];
  private slabMm = 0;
  private opening = 0;
  private linking = false;

  constructor(private readonly deps: MprDeps) {
    this.slabInput.addEventListener("change", () => void this.setSlab(Number(this.slabInput.value) || 0));
    this.el.append(
      h(
        "div.mpr-bar",
        {},
        h("span.mpr-title", {}, "MPR"),
        h("label", {}, "Slab MIP ", this.slabInput, " mm"),
        h("span.mpr-point-label", {}, "Crosshair (LPS) "),
        this.pointLine,
        h("button#mpr-close", { title: "Back to the stack (M)", onClick: () => this.deps.onCommand({ type: "mpr" }) }, "Close MPR"),
      ),
      this.grid,
    );
  }

  get isOpen(): boolean {
    return this.info !== null;
  }

  /** Build the volume of `ctx`'s series and show its three planes at its centre; false (and
   *  the reason reported) when the series is not a volume. */
  async open(ctx: Ctx): Promise<boolean> {
    const token = ++this.opening;
    const slices = slicesOf(ctx.series).map((r) => ({ path: r.instance.path, frame: r.frame }));
    let info: MprInfo;
    try {
      info = await this.deps.api.open(slices);
    } catch (e) {
      if (token === this.opening) this.deps.onError(`MPR of series ${ctx.series.number ?? ""} ${ctx.series.description}: ${errorText(e)}`.replace(/ +/g, " "));
      return false;
    }
    if (token !== this.opening) return false;
    this.info = info;
    this.ctx = ctx;
    this.point = centreOf(info);
    this.panes = info.planes.map((layout) => this.pane(layout));
    this.grid.replaceChildren(
      ...this.panes.map((p) =>
        h("section.mpr-pane", { dataset: { plane: p.layout.plane } }, h("div.mpr-pane-title", { style: `color: ${PLANE_COLOURS[p.layout.plane]}` }, TITLES[p.layout.plane]), p.vp.el),
      ),
    );
    this.el.hidden = false;
    await this.showAll();
    this.deps.onNotice(`MPR: ${info.dims[0]}×${info.dims[1]}×${info.dims[2]} voxels, ${info.spacing.map((s) => s.toFixed(3)).join(" × ")} mm`);
    return true;
  }

  close(): void {
    this.opening++;
    this.info = null;
    this.ctx = null;
    for (const p of this.panes) p.vp.stopCine();
    this.panes = [];
    this.grid.replaceChildren();
    this.el.hidden = true;
    void this.deps.api.close().catch(() => undefined);
  }

  /** The view as the tests read it. */
  state(): {
    open: boolean;
    point: Ijk;
    position: [number, number, number] | null;
    slabMm: number;
    panes: { plane: Plane; slice: number; count: number; width: number; height: number; slab: number; window: Window; error: string | null; loaded: boolean }[];
  } {
    const info = this.info;
    return {
      open: !!info,
      point: [...this.point],
      position: info ? positionOf(info, this.point) : null,
      slabMm: this.slabMm,
      panes: this.panes.map((p) => ({
        plane: p.layout.plane,
        slice: p.vp.state.slice,
        count: p.layout.count,
        width: p.layout.width,
        height: p.layout.height,
        slab: this.slabOf(p.layout),
        window: p.vp.state.window,
        error: p.vp.viewError,
        loaded: p.vp.currentFrame?.frame === p.vp.state.slice && p.vp.currentFrame.path === this.pathOf(p.layout),
      })),
    };
  }

  /** The modality values of a pane's image on screen. */
  values(plane: Plane): Float32Array | null {
    return this.panes.find((p) => p.layout.plane === plane)?.vp.currentFrame?.values ?? null;
  }

  private slabOf(l: PlaneLayout): number {
    return slabSlices(this.slabMm, l.slice_spacing);
  }

  private pathOf(l: PlaneLayout): string {
    return `mpr:${l.plane}:${this.slabOf(l)}`;
  }

  private pane(layout: PlaneLayout): Pane {
    const plane = layout.plane;
    const vp: Viewport = new Viewport({
      idPrefix: `mpr-${plane}-`,
      // The path names the slab, so each slab's images are cached apart.
      loadFrame: (path, frame) => this.deps.api.plane(plane, frame, Number(path.split(":")[2]) || 1),
      onSliceChange: (ref) => {
        if (ref && this.info) {
          this.point[layout.slice.axis] = voxelOf(this.info, layout, ref.frame, 0, 0)[layout.slice.axis] ?? 0;
          this.drawCrosshairs();
        }
      },
      onCommand: (a) => this.deps.onCommand(a),
      onError: (m) => this.deps.onError(m),
      onNotice: (m) => this.deps.onNotice(m),
      onViewChange: () => this.linkWindow(vp),
      onImageClick: (p) => this.moveTo(vp, layout, p.x, p.y),
      sliceText: (slice) => this.sliceText(layout, slice),
    });
    return { layout, vp };
  }

  private sliceText(l: PlaneLayout, slice: number): string {
    if (!this.info) return "";
    const n = this.slabOf(l);
    return slicePositionText(this.info, l, slice) + (n > 1 ? ` · MIP ${n} slices (${(n * l.slice_spacing).toFixed(1)} mm)` : "");
  }

  private series(l: PlaneLayout): Series {
    const s = this.ctx!.series;
    return {
      uid: `mpr-${l.plane}`,
      modality: s.modality,
      number: s.number,
      description: `${TITLES[l.plane]} MPR · ${s.description}`.trim(),
      instances: [
        {
          path: this.pathOf(l),
          sop_instance_uid: "",
          sop_class_uid: "",
          instance_number: null,
          image_position: null,
          rows: l.height,
          columns: l.width,
          frames: l.count,
          samples_per_pixel: 1,
          bits_allocated: 32,
          photometric: "MONOCHROME2",
          transfer_syntax: "",
        },
      ],
    };
  }

  /** Every pane at the crosshair's slice (panes keep their window across a slab change). */
  private async showAll(): Promise<void> {
    const info = this.info;
    const ctx = this.ctx;
    if (!info || !ctx) return;
    await Promise.all(
      this.panes.map(async (p) => {
        const w = p.vp.currentFrame ? p.vp.state.window : null;
        await p.vp.open({ ...ctx, series: this.series(p.layout) }, inPlane(info, p.layout, this.point).slice);
        if (w) p.vp.setWindow(w, "linked");
      }),
    );
    this.drawCrosshairs();
  }

  private async setSlab(mm: number): Promise<void> {
    this.slabMm = Math.max(0, mm);
    await this.showAll();
  }

  /** A click in a pane: the crosshair moves there and the other panes show its slices. */
  private moveTo(vp: Viewport, l: PlaneLayout, x: number, y: number): void {
    const info = this.info;
    if (!info) return;
    this.point = voxelOf(info, l, vp.state.slice, x, y);
    for (const p of this.panes)
      if (p.vp !== vp) {
        const s = inPlane(info, p.layout, this.point).slice;
        if (p.vp.state.slice !== s) p.vp.dispatch({ type: "setSlice", slice: s });
      }
    this.drawCrosshairs();
  }

  private drawCrosshairs(): void {
    const info = this.info;
    if (!info) return;
    const planeOn = (axis: number) => this.panes.find((p) => p.layout.slice.axis === axis)?.layout.plane ?? "axial";
    for (const p of this.panes) {
      const q = inPlane(info, p.layout, this.point);
      p.vp.setCrosshair({ x: q.col + 0.5, y: q.row + 0.5, xColor: PLANE_COLOURS[planeOn(p.layout.column.axis)], yColor: PLANE_COLOURS[planeOn(p.layout.row.axis)] });
    }
    this.pointLine.textContent = pointText(positionOf(info, this.point));
  }

  /** One window for the three panes. */
  private linkWindow(from: Viewport): void {
    if (this.linking) return;
    this.linking = true;
    try {
      const w = from.state.window;
      for (const p of this.panes) if (p.vp !== from && (p.vp.state.window.center !== w.center || p.vp.state.window.width !== w.width)) p.vp.setWindow(w, "linked");
    } finally {
      this.linking = false;
    }
  }
}
