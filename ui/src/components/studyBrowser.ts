// Patient → study → series tree with thumbnails, modality, date, description, image count.
import { h, clear } from "../dom";
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
