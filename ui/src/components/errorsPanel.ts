// Files that could not be read, each with its reason. The rest of a drop still loads.
import { h, clear } from "../dom";
import type { FileError } from "../types";

export class ErrorsPanel {
  readonly el = h("div.errors#errors-panel", { hidden: true });

  render(errors: FileError[]): void {
    clear(this.el);
    this.el.hidden = errors.length === 0;
    if (!errors.length) return;
    const list = h("ul");
    for (const e of errors) list.append(h("li.error-item", { title: e.path }, h("span.epath", {}, e.path), h("span.ereason", {}, e.error)));
    this.el.append(
      h("details", { open: true }, h("summary", {}, `${errors.length} file${errors.length === 1 ? "" : "s"} could not be read`), list),
    );
  }
}
