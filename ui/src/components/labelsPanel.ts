// Zero-shot labels (MedSigLIP): label sets, an editor, the scoring mode, and probability
// bars for the image on screen, recomputed (debounced, newest request wins) as it changes.
import type { AiApi } from "../aiApi";
import { LABEL_MODES, type LabelMode, type LabelScore, type LabelSet, type LabelsRequest } from "../aiTypes";
import { h } from "../dom";
import type { ImageContextSource } from "../imageContext";
import { type DirMemory, errorMessage, field, InlineError, isGpuFailure, testid } from "./aiCommon";

export const LABELS_DEBOUNCE_MS = 250;

const MODE_TITLES: Record<LabelMode, string> = {
  sigmoid: "sigmoid: each label scored on its own (probabilities need not add up to 1)",
  softmax: "softmax: the labels compete (probabilities add up to 1)",
  paired: "paired: each label against its negation",
};

/** One label per line; blank lines and repeats dropped, order kept. */
export function parseLabels(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim();
    if (l && !seen.has(l)) {
      seen.add(l);
      out.push(l);
    }
  }
  return out;
}

/** Highest probability first; ties keep their order. */
export function sortScores(scores: readonly LabelScore[]): LabelScore[] {
  return [...scores].sort((a, b) => b.probability - a.probability);
}

export function formatProbability(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

export interface LabelsPanelOptions {
  api: Pick<AiApi, "labelsCompute" | "labelSetsList" | "labelSetsSave" | "labelsExportCsv" | "choosePath" | "useCpu">;
  context: ImageContextSource;
  exportDir: DirMemory;
  debounceMs?: number;
  /** Asks the user a yes/no question (replacing a saved set); `window.confirm` by default. */
  confirm?: (message: string) => boolean;
}

export class LabelsPanel {
  readonly el: HTMLElement;
  private readonly api: LabelsPanelOptions["api"];
  private readonly ctx: ImageContextSource;
  private readonly exportDir: DirMemory;
  private readonly debounceMs: number;
  private readonly confirm: (message: string) => boolean;
  private sets: LabelSet[] = [];
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private shown: { scores: LabelScore[]; path: string } | null = null;
  private readonly unsubscribe: () => void;

  private readonly setSelect = h("select", testid("labels-set"));
  private readonly editor = h("textarea.ai-labels", { ...testid("labels-editor"), rows: 6, spellcheck: "false", placeholder: "One label per line" });
  private readonly setName = h("input", { ...testid("labels-set-name"), type: "text", placeholder: "Set name", spellcheck: "false" });
  private readonly saveBtn = h("button", { ...testid("labels-save"), type: "button" }, "Save set");
  private readonly mode = h("select", testid("labels-mode"), ...LABEL_MODES.map((m) => h("option", { value: m, title: MODE_TITLES[m] }, m)));
  private readonly auto = h("input", { ...testid("labels-auto"), type: "checkbox", checked: true });
  private readonly computeBtn = h("button", { ...testid("labels-compute"), type: "button" }, "Compute");
  private readonly status = h("span.ai-status", testid("labels-status"));
  private readonly bars = h("div.lbars", testid("labels-bars"));
  private readonly dir = h("input.ai-dir", { ...testid("labels-export-dir"), type: "text", placeholder: "Export folder", spellcheck: "false" });
  private readonly chooseDirBtn = h("button", { ...testid("labels-export-choose"), type: "button", title: "Choose the export folder in a dialog" }, "Choose…");
  private readonly csvBtn = h("button", { ...testid("labels-export-csv"), type: "button", disabled: true }, "Export CSV");
  private readonly exportResult = h("div.ai-dim", testid("labels-export-result"));
  private readonly error = new InlineError("labels-error");
  private readonly cpuBtn = h(
    "button",
    { ...testid("labels-run-cpu"), type: "button", hidden: true, title: "The GPU failed: run the models on this computer's processor from now on (slower)" },
    "Run on the CPU",
  );

  constructor(opts: LabelsPanelOptions) {
    this.api = opts.api;
    this.ctx = opts.context;
    this.exportDir = opts.exportDir;
    this.debounceMs = opts.debounceMs ?? LABELS_DEBOUNCE_MS;
    this.confirm = opts.confirm ?? ((m) => globalThis.confirm?.(m) ?? false);
    this.mode.title = "How label scores become probabilities";
    this.dir.value = this.exportDir.get();
    this.setSelect.addEventListener("change", () => this.applySet(this.setSelect.value));
    this.editor.addEventListener("input", () => this.changed());
    this.mode.addEventListener("change", () => this.changed());
    this.auto.addEventListener("change", () => this.changed());
    this.computeBtn.addEventListener("click", () => this.computeNow());
    this.saveBtn.addEventListener("click", () => void this.saveSet());
    this.csvBtn.addEventListener("click", () => void this.exportCsv());
    this.chooseDirBtn.addEventListener("click", () => void this.chooseDir());
    this.cpuBtn.addEventListener("click", () => void this.runOnCpu());
    this.el = h(
      "section.ai-panel#ai-labels",
      { ...testid("labels-panel"), "data-state": "idle" },
      h("h3", {}, "Zero-shot labels"),
      h("div.ai-row", {}, field("Label set", this.setSelect), field("Mode", this.mode)),
      this.editor,
      h("div.ai-row", {}, this.setName, this.saveBtn),
      h("div.ai-row", {}, h("label.check", { title: "Recompute when the image, window or labels change" }, this.auto, " Auto"), this.computeBtn, this.status),
      this.error.el,
      h("div.ai-row", {}, this.cpuBtn),
      this.bars,
      h("div.ai-row", {}, field("Export to", this.dir), this.chooseDirBtn),
      h("div.ai-row", {}, this.csvBtn),
      this.exportResult,
    );
    this.unsubscribe = this.ctx.subscribe(() => {
      if (this.auto.checked) this.schedule();
    });
    void this.loadSets();
  }

  /** The scores on display, highest first. */
  get scores(): LabelScore[] {
    return this.shown?.scores ?? [];
  }

  destroy(): void {
    this.unsubscribe();
    this.cancelTimer();
    this.seq++;
  }

  private async loadSets(select?: string): Promise<void> {
    try {
      this.sets = await this.api.labelSetsList();
    } catch (e) {
      this.error.show(`Label sets: ${errorMessage(e)}`);
      this.sets = [];
    }
    const previous = select ?? this.setSelect.value;
    this.setSelect.replaceChildren(
      h("option", { value: "" }, "(custom)"),
      ...this.sets.map((s) => h("option", { value: s.name }, s.builtin ? `${s.name} (built in)` : s.name)),
    );
    if (previous && this.sets.some((s) => s.name === previous)) this.setSelect.value = previous;
    else if (!this.editor.value.trim() && this.sets[0]) this.applySet(this.sets[0].name);
    else if (this.auto.checked) this.schedule();
  }

  private applySet(name: string): void {
    const set = this.sets.find((s) => s.name === name);
    if (!set) return;
    this.setSelect.value = set.name;
    this.editor.value = set.labels.join("\n");
    this.setName.value = set.builtin ? "" : set.name;
    this.changed();
  }

  private changed(): void {
    if (this.auto.checked) this.schedule();
  }

  /** Compute after the debounce delay; newer changes restart the wait. */
  schedule(): void {
    this.cancelTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.compute();
    }, this.debounceMs);
  }

  computeNow(): void {
    this.cancelTimer();
    void this.compute();
  }

  private cancelTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async compute(): Promise<void> {
    const seq = ++this.seq;
    const ctx = this.ctx.current();
    const labels = parseLabels(this.editor.value);
    this.error.clear();
    this.cpuBtn.hidden = true;
    if (!ctx || !labels.length) {
      this.el.dataset.state = "idle";
      this.render(null);
      this.status.textContent = ctx ? "No labels" : "No image open";
      return;
    }
    const req: LabelsRequest = {
      path: ctx.path,
      frame: ctx.frame,
      window: { center: ctx.window.center, width: ctx.window.width },
      labels,
      mode: this.mode.value as LabelMode,
    };
    this.el.dataset.state = "computing";
    this.status.textContent = "Computing…";
    try {
      const res = await this.api.labelsCompute(req);
      if (seq !== this.seq) return; // a newer request is on its way
      this.el.dataset.state = "idle";
      this.render({ scores: sortScores(res.scores), path: req.path });
      this.status.textContent = `${req.mode} · ${Math.round(res.ms)} ms${res.cached ? " · cached" : ""}`;
      this.status.dataset.cached = String(res.cached);
      if (res.audit_error) this.error.show(`Not in the audit log: ${res.audit_error}`);
    } catch (e) {
      if (seq !== this.seq) return;
      this.el.dataset.state = "idle";
      this.render(null);
      this.status.textContent = "";
      const message = errorMessage(e);
      this.error.show(`Labels failed: ${message}`);
      this.cpuBtn.hidden = !isGpuFailure(message);
    }
  }

  /** After a GPU failure: switch every model to the CPU, then compute again. */
  async runOnCpu(): Promise<void> {
    this.cpuBtn.disabled = true;
    try {
      await this.api.useCpu();
    } catch (e) {
      this.error.show(`Switching to the CPU failed: ${errorMessage(e)}`);
      return;
    } finally {
      this.cpuBtn.disabled = false;
    }
    this.cpuBtn.hidden = true;
    this.computeNow();
  }

  private render(shown: { scores: LabelScore[]; path: string } | null): void {
    this.shown = shown;
    this.csvBtn.disabled = !shown || shown.scores.length === 0;
    this.bars.replaceChildren(
      ...(shown?.scores ?? []).map((s) => {
        const pct = Math.max(0, Math.min(1, s.probability)) * 100;
        const fill = h("div.lfill");
        fill.style.width = `${pct}%`;
        return h(
          "div.lbar",
          { ...testid("labels-bar"), "data-label": s.label, "data-probability": String(s.probability), title: `${s.label}: ${s.probability}` },
          h("span.lname", {}, s.label),
          h("div.ltrack", {}, fill),
          h("span.lvalue", {}, formatProbability(s.probability)),
        );
      }),
    );
  }

  private async saveSet(): Promise<void> {
    this.error.clear();
    const name = this.setName.value.trim();
    const labels = parseLabels(this.editor.value);
    if (!name) return this.error.show("Name the label set first.");
    if (!labels.length) return this.error.show("The label set is empty.");
    if (this.sets.some((s) => s.name === name && s.builtin)) return this.error.show(`"${name}" is a built-in set; choose another name.`);
    const replace = this.sets.some((s) => s.name === name && !s.builtin);
    if (replace && !this.confirm(`Replace the saved label set "${name}"?`)) return;
    try {
      await this.api.labelSetsSave(name, labels, replace);
      this.exportResult.textContent = `Saved label set "${name}".`;
      await this.loadSets(name);
    } catch (e) {
      this.error.show(`Save failed: ${errorMessage(e)}`);
    }
  }

  /** The export folder from a native dialog (which grants it to the app). */
  private async chooseDir(): Promise<void> {
    this.error.clear();
    try {
      const dir = await this.api.choosePath(true, "Export folder");
      if (dir) {
        this.dir.value = dir;
        this.exportDir.set(dir);
      }
    } catch (e) {
      this.error.show(`Choose failed: ${errorMessage(e)}`);
    }
  }

  private async exportCsv(): Promise<void> {
    const shown = this.shown;
    if (!shown) return;
    this.error.clear();
    const dir = this.dir.value.trim();
    if (!dir) return this.error.show("Choose a folder to export to.");
    this.exportDir.set(dir);
    try {
      const saved = await this.api.labelsExportCsv({ dir, rows: shown.scores, path: shown.path });
      this.exportResult.textContent = `Saved ${saved.path}`;
      this.exportResult.dataset.path = saved.path;
    } catch (e) {
      this.error.show(`Export failed: ${errorMessage(e)}`);
    }
  }
}
