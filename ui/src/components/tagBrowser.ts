// Tag browser for the current instance, filterable by tag, keyword or value.
import { h, clear } from "../dom";
import type { TagEntry } from "../types";

export function filterTags(tags: TagEntry[], query: string): TagEntry[] {
  const q = query.trim().toLowerCase().replace(/[(),\s]/g, "");
  if (!q) return tags;
  return tags.filter((t) => {
    const tag = t.tag.toLowerCase().replace(/[(),\s]/g, "");
    return tag.includes(q) || t.keyword.toLowerCase().includes(q) || t.value.toLowerCase().includes(q);
  });
}

export class TagBrowser {
  readonly el: HTMLElement;
  private readonly input = h("input#tag-search", { type: "search", placeholder: "Search tag, keyword or value" });
  private readonly table = h("tbody");
  private readonly title = h("div.tpath", {}, "");
  private tags: TagEntry[] = [];

  constructor(onClose: () => void) {
    this.input.addEventListener("input", () => this.renderRows());
    this.el = h(
      "section.tags#tag-browser",
      { hidden: true },
      h("header", {}, h("h3", {}, "Tags"), h("button.close", { onClick: onClose, title: "Close (T)" }, "×")),
      this.title,
      this.input,
      h("div.tscroll", {}, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Tag"), h("th", {}, "VR"), h("th", {}, "Keyword"), h("th", {}, "Value"))), this.table)),
    );
  }

  get visible(): boolean {
    return !this.el.hidden;
  }

  setVisible(v: boolean): void {
    this.el.hidden = !v;
  }

  show(path: string, tags: TagEntry[]): void {
    this.title.textContent = path;
    this.tags = tags;
    this.renderRows();
  }

  showError(path: string, message: string): void {
    this.title.textContent = `${path}: ${message}`;
    this.tags = [];
    this.renderRows();
  }

  private renderRows(): void {
    clear(this.table);
    for (const t of filterTags(this.tags, this.input.value).slice(0, 2000)) {
      this.table.append(
        h(
          "tr",
          {},
          h("td.ttag", { style: `padding-left:${0.3 + t.depth}em` }, t.tag),
          h("td", {}, t.vr),
          h("td", {}, t.keyword),
          h("td.tval", { title: t.value }, t.value),
        ),
      );
    }
  }
}
