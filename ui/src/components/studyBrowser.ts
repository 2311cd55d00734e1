// Patient → study → series tree with thumbnails, modality, date, description, image count.
import type { PixelGeometry } from "../bindings";
import { h, clear } from "../dom";
import { displaySize, fitRect } from "../geometry";
import { imageCount, type Library } from "../library";
import type { Patient, Series, Study } from "../types";
import { formatDate, formatName } from "../viewmodel";

export interface SeriesContext {
  patient: Patient;
  study: Study;
  series: Series;
}

export class StudyBrowser {
  readonly el = h("div.browser#study-browser");
  private selected: string | null = null;

  constructor(
    private readonly onSelect: (ctx: SeriesContext) => void,
    private readonly drawThumb: (series: Series, canvas: HTMLCanvasElement) => void,
  ) {
    this.render({ patients: [], errors: [] });
  }

  select(uid: string | null): void {
    this.selected = uid;
    for (const el of this.el.querySelectorAll<HTMLElement>(".series"))
      el.classList.toggle("selected", el.dataset.uid === uid);
  }

  render(lib: Library): void {
    clear(this.el);
    if (lib.patients.length === 0) {
      this.el.append(h("div.empty", {}, "Drop DICOM files or folders here, or use File → Open."));
      return;
    }
    for (const p of lib.patients) {
      const pe = h("details.patient", { open: true }, h("summary", {}, h("span.pname", {}, formatName(p.name)), h("span.pid", {}, p.id)));
      for (const st of p.studies) {
        const se = h(
          "details.study",
          { open: true, dataset: { uid: st.uid } },
          h("summary", {}, h("span.sdate", {}, formatDate(st.date)), " ", h("span.sdesc", {}, st.description || "(no description)")),
        );
        for (const s of st.series) {
          const thumb = h("canvas.thumb", { width: 64, height: 64 });
          const item = h(
            "button.series",
            {
              dataset: { uid: s.uid },
              title: s.uid,
              onClick: () => this.onSelect({ patient: p, study: st, series: s }),
            },
            thumb,
            h(
              "div.meta",
              {},
              h("div.sline", {}, h("span.modality", {}, s.modality || "??"), " ", s.number !== null ? `#${s.number}` : ""),
              h("div.sdesc", {}, s.description || "(no description)"),
              h("div.count", {}, `${imageCount(s)} image${imageCount(s) === 1 ? "" : "s"}`),
            ),
          );
          if (s.uid === this.selected) item.classList.add("selected");
          se.append(item);
          this.drawThumb(s, thumb);
        }
        pe.append(se);
      }
      this.el.append(pe);
    }
  }
}

/** A thumbnail of `boxW`×`boxH` of a rendered frame (RGBA at native size), drawn at the
 *  frame's true aspect (non-square pixels stretched as in the viewport), centred. */
export function thumbnailCanvas(rgba: Uint8Array | Uint8ClampedArray, columns: number, rows: number, geometry: PixelGeometry, boxW: number, boxH: number): HTMLCanvasElement {
  const full = document.createElement("canvas");
  full.width = columns;
  full.height = rows;
  full.getContext("2d")?.putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.byteLength), columns, rows), 0, 0);
  const t = document.createElement("canvas");
  t.width = boxW;
  t.height = boxH;
  const d = displaySize(columns, rows, geometry.aspect);
  const r = fitRect(boxW, boxH, d.width, d.height);
  const ctx = t.getContext("2d");
  if (ctx) {
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(full, r.x, r.y, r.w, r.h);
  }
  return t;
}
