// Indexing progress bar with a cancel button.
import { h } from "../dom";

export class IndexProgressBar {
  readonly el: HTMLElement;
  private readonly bar = h("progress#index-progress", { max: 1, value: 0 });
  private readonly label = h("span.plabel", {}, "");

  constructor(onCancel: () => void) {
    this.el = h("div.progress#index-status", { hidden: true }, this.label, this.bar, h("button#cancel-index", { onClick: onCancel }, "Cancel"));
  }

  show(done: number, total: number, what: string): void {
    this.el.hidden = false;
    this.bar.max = Math.max(1, total);
    this.bar.value = done;
    this.label.textContent = total ? `Indexing ${done}/${total}` : `Scanning ${what}`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
