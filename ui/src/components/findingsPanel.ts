// Draft findings (MedGemma): template + editable prompts, sampling, streamed text,
// timings, the exact thumbnail the model saw, copy and export with provenance.
import type { AiApi } from "../aiApi";
import type { FindingsEvent, FindingsExportFormat, FindingsRequest, FindingsTemplate, Provenance, Sampling } from "../aiTypes";
import { h } from "../dom";
import type { ImageContext, ImageContextSource } from "../imageContext";
import { addToken, rateStats, startRate, type TokenRate, type TokenRateStats } from "../tokenRate";
import { type DirMemory, errorMessage, field, InlineError, testid } from "./aiCommon";

export const DRAFT_BANNER = "DRAFT: research use only, not for diagnosis";

/** The most tokens the back end accepts for one draft (`ai::MAX_NEW_TOKENS`). */
export const MAX_TOKENS = 8192;

export const DEFAULT_SAMPLING: Sampling = { greedy: true, temperature: 0.7, top_k: 64, top_p: 0.95, seed: 42, max_tokens: 512 };

export interface SamplingFields {
  greedy: boolean;
  temperature: string;
  top_k: string;
  top_p: string;
  seed: string;
  max_tokens: string;
}

/** Validate the sampling controls; a string is the reason they are not usable. */
export function parseSampling(f: SamplingFields): Sampling | string {
  const num = (s: string) => (s.trim() === "" ? NaN : Number(s));
  const temperature = num(f.temperature);
  const top_k = num(f.top_k);
  const top_p = num(f.top_p);
  const seed = num(f.seed);
  const max_tokens = num(f.max_tokens);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 10) return "Temperature must be a number from 0 to 10.";
  if (!Number.isInteger(top_k) || top_k < 0) return "Top-k must be a whole number ≥ 0 (0 = off).";
  if (!Number.isFinite(top_p) || top_p <= 0 || top_p > 1) return "Top-p must be greater than 0 and at most 1.";
  if (!Number.isSafeInteger(seed) || seed < 0) return "Seed must be a whole number ≥ 0.";
  if (!Number.isInteger(max_tokens) || max_tokens < 1 || max_tokens > MAX_TOKENS) return `Max tokens must be a whole number from 1 to ${MAX_TOKENS}.`;
  return { greedy: f.greedy, temperature, top_k, top_p, seed, max_tokens };
}

export function describeContext(ctx: ImageContext | null): string {
  if (!ctx) return "No image open";
  const name = ctx.path.split(/[\\/]/).pop() || ctx.path;
  return `${name} · frame ${ctx.frame + 1} · W ${round(ctx.window.width)} L ${round(ctx.window.center)}`;
}

const round = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

export interface FindingsPanelOptions {
  api: Pick<AiApi, "findingsTemplates" | "findingsStart" | "findingsStop" | "findingsExport" | "choosePath" | "useCpu">;
  context: ImageContextSource;
  exportDir: DirMemory;
  clipboard?: Pick<Clipboard, "writeText"> | null;
  /** Random numbers in [0, 1) for new seeds. */
  random?: () => number;
  /** Clock in ms for the live time to first token and tokens/s (default performance.now). */
  now?: () => number;
}

/** What the status line says during each stage before the first token. */
export const STAGE_TEXT: Readonly<Record<FindingsStage, string>> = {
  load: "Loading the model…",
  vision: "Encoding the image…",
  prefill: "Reading the prompt…",
};

type FindingsStage = Extract<FindingsEvent, { type: "stage" }>["stage"];

interface Run {
  readonly id: number;
  job: number | null;
  stopping: boolean;
  /** The stage in progress and when it began (the status line counts its seconds). */
  stage: { name: FindingsStage; since: number } | null;
  /** Tensors read of the model being loaded (the load stage shows them). */
  loaded: { done: number; total: number } | null;
  ticker: ReturnType<typeof setInterval> | null;
  /** Arrival times of the token events, for the live figures. */
  rate: TokenRate;
}

export class FindingsPanel {
  readonly el: HTMLElement;
  private readonly api: FindingsPanelOptions["api"];
  private readonly ctx: ImageContextSource;
  private readonly exportDir: DirMemory;
  private readonly clipboard: Pick<Clipboard, "writeText"> | null;
  private readonly random: () => number;
  private readonly now: () => number;
  private templates: FindingsTemplate[] = [];
  private run: Run | null = null;
  private runs = 0;
  private result: { text: string; provenance: Provenance } | null = null;
  private readonly unsubscribe: () => void;

  private readonly target = h("div.ai-target", testid("findings-target"));
  private readonly template = h("select", testid("findings-template"));
  private readonly system = h("textarea.ai-system", { ...testid("findings-system"), rows: 3, spellcheck: "false" });
  private readonly prompt = h("textarea.ai-prompt", { ...testid("findings-prompt"), rows: 3, spellcheck: "false" });
  private readonly greedy = h("input", { ...testid("findings-greedy"), type: "checkbox" });
  private readonly temperature = h("input", { ...testid("findings-temperature"), type: "number", min: "0", max: "10", step: "0.05" });
  private readonly topK = h("input", { ...testid("findings-top-k"), type: "number", min: "0", step: "1" });
  private readonly topP = h("input", { ...testid("findings-top-p"), type: "number", min: "0", max: "1", step: "0.01" });
  private readonly seed = h("input", { ...testid("findings-seed"), type: "number", min: "0", step: "1" });
  private readonly maxTokens = h("input", { ...testid("findings-max-tokens"), type: "number", min: "1", max: String(MAX_TOKENS), step: "1" });
  private readonly generateBtn = h("button.primary", { ...testid("findings-generate"), type: "button" }, "Generate");
  private readonly stopBtn = h("button", { ...testid("findings-stop"), type: "button", disabled: true }, "Stop");
  private readonly rerunBtn = h("button", { ...testid("findings-rerun"), type: "button", disabled: true, title: "Generate again with a new random seed" }, "Re-run");
  private readonly status = h("span.ai-status", testid("findings-status"), "");
  private readonly thumbnail = h("img.ai-thumb", { ...testid("findings-thumbnail"), alt: "Image sent to the model", hidden: true });
  private readonly promptTokens = h("div.ai-dim", testid("findings-prompt-tokens"));
  private readonly text = h("div.ai-text", { ...testid("findings-text"), "aria-live": "polite" });
  private readonly ttft = h("span.ai-metric", testid("findings-ttft"));
  private readonly tps = h("span.ai-metric", testid("findings-tps"));
  private readonly copyBtn = h("button", { ...testid("findings-copy"), type: "button", disabled: true }, "Copy");
  private readonly dir = h("input.ai-dir", { ...testid("findings-export-dir"), type: "text", placeholder: "Export folder", spellcheck: "false" });
  private readonly chooseDirBtn = h("button", { ...testid("findings-export-choose"), type: "button", title: "Choose the export folder in a dialog" }, "Choose…");
  private readonly exportBtns: Record<FindingsExportFormat, HTMLButtonElement>;
  private readonly exportResult = h("div.ai-dim", testid("findings-export-result"));
  private readonly error = new InlineError("findings-error");
  private readonly cpuBtn = h(
    "button",
    { ...testid("findings-run-cpu"), type: "button", hidden: true, title: "The GPU failed: run the models on this computer's processor from now on (slower)" },
    "Run on the CPU",
  );

  constructor(opts: FindingsPanelOptions) {
    this.api = opts.api;
    this.ctx = opts.context;
    this.exportDir = opts.exportDir;
    this.clipboard = opts.clipboard === undefined ? (globalThis.navigator?.clipboard ?? null) : opts.clipboard;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => performance.now());
    this.setSampling(DEFAULT_SAMPLING);
    this.dir.value = this.exportDir.get();
    const exportBtn = (format: FindingsExportFormat, label: string, title: string) =>
      h("button", { ...testid(`findings-export-${format}`), type: "button", disabled: true, title, onClick: () => void this.export(format) }, label);
    this.exportBtns = {
      md: exportBtn("md", "Markdown", "Save the draft as Markdown with its provenance"),
      json: exportBtn("json", "JSON", "Save the draft and its full provenance as JSON"),
      sr: exportBtn("sr", "DICOM SR", "Save the draft as a DICOM Structured Report"),
    };
    this.template.addEventListener("change", () => this.applyTemplate(this.template.value));
    this.greedy.addEventListener("change", () => this.syncGreedy());
    this.generateBtn.addEventListener("click", () => void this.generate());
    this.stopBtn.addEventListener("click", () => void this.stop());
    this.rerunBtn.addEventListener("click", () => void this.rerun());
    this.copyBtn.addEventListener("click", () => void this.copy());
    this.chooseDirBtn.addEventListener("click", () => void this.chooseDir());
    this.cpuBtn.addEventListener("click", () => void this.runOnCpu());

    this.el = h(
      "section.ai-panel#ai-findings",
      { ...testid("findings-panel"), "data-state": "idle" },
      h("h3", {}, "Draft findings"),
      h("div.ai-banner", { ...testid("findings-draft-banner"), role: "note" }, DRAFT_BANNER),
      this.target,
      field("Template", this.template),
      field("System", this.system),
      field("Prompt", this.prompt),
      h(
        "details.ai-sampling",
        { open: true },
        h("summary", {}, "Sampling"),
        h("label.check", {}, this.greedy, " Greedy (deterministic)"),
        h(
          "div.ai-grid",
          {},
          field("Temperature", this.temperature),
          field("Top-k", this.topK, "0 = off"),
          field("Top-p", this.topP),
          field("Seed", this.seed),
          field("Max tokens", this.maxTokens),
        ),
      ),
      h("div.ai-row", {}, this.generateBtn, this.stopBtn, this.rerunBtn, this.status),
      this.error.el,
      h("div.ai-row", {}, this.cpuBtn),
      h("div.ai-result", {}, this.thumbnail, h("div.ai-out", {}, this.promptTokens, this.text, h("div.ai-metrics", {}, this.ttft, this.tps))),
      h("div.ai-row", {}, this.copyBtn),
      h("div.ai-row", {}, field("Export to", this.dir), this.chooseDirBtn),
      h("div.ai-row", {}, this.exportBtns.md, this.exportBtns.json, this.exportBtns.sr),
      this.exportResult,
    );
    this.target.textContent = describeContext(this.ctx.current());
    this.unsubscribe = this.ctx.subscribe((c) => (this.target.textContent = describeContext(c)));
    void this.loadTemplates();
  }

  get running(): boolean {
    return this.run !== null;
  }

  destroy(): void {
    this.unsubscribe();
  }

  private async loadTemplates(): Promise<void> {
    try {
      this.templates = await this.api.findingsTemplates();
    } catch (e) {
      this.error.show(`Templates: ${errorMessage(e)}`);
      this.templates = [];
    }
    this.template.replaceChildren(
      ...(this.templates.length ? this.templates.map((t) => h("option", { value: t.name }, t.name)) : [h("option", { value: "" }, "(custom)")]),
    );
    const first = this.templates[0];
    if (first && !this.prompt.value && !this.system.value) this.applyTemplate(first.name);
  }

  private applyTemplate(name: string): void {
    const t = this.templates.find((x) => x.name === name);
    if (!t) return;
    this.template.value = t.name;
    this.system.value = t.system;
    this.prompt.value = t.prompt;
  }

  private setSampling(s: Sampling): void {
    this.greedy.checked = s.greedy;
    this.temperature.value = String(s.temperature);
    this.topK.value = String(s.top_k);
    this.topP.value = String(s.top_p);
    this.seed.value = String(s.seed);
    this.maxTokens.value = String(s.max_tokens);
    this.syncGreedy();
  }

  private syncGreedy(): void {
    for (const el of [this.temperature, this.topK, this.topP]) el.disabled = this.greedy.checked;
  }

  private sampling(): Sampling | string {
    return parseSampling({
      greedy: this.greedy.checked,
      temperature: this.temperature.value,
      top_k: this.topK.value,
      top_p: this.topP.value,
      seed: this.seed.value,
      max_tokens: this.maxTokens.value,
    });
  }

  /** Start a generation for the image on screen. */
  async generate(): Promise<void> {
    if (this.run) return;
    this.error.clear();
    this.cpuBtn.hidden = true;
    const ctx = this.ctx.current();
    if (!ctx) return this.error.show("Open an image first.");
    const sampling = this.sampling();
    if (typeof sampling === "string") return this.error.show(sampling);
    const prompt = this.prompt.value.trim();
    if (!prompt) return this.error.show("The prompt is empty.");
    const system = this.system.value.trim();
    const req: FindingsRequest = {
      path: ctx.path,
      frame: ctx.frame,
      window: { center: ctx.window.center, width: ctx.window.width },
      template: this.template.value,
      prompt,
      ...(system ? { system } : {}),
      sampling,
    };
    const run: Run = { id: ++this.runs, job: null, stopping: false, stage: null, loaded: null, ticker: null, rate: startRate(this.now()) };
    this.status.dataset.stages = "";
    delete this.status.dataset.loaded;
    this.run = run;
    this.result = null;
    this.text.textContent = "";
    this.ttft.textContent = "";
    this.tps.textContent = "";
    for (const m of [this.ttft, this.tps]) {
      delete m.dataset.value;
      delete m.dataset.live;
      m.removeAttribute("title");
    }
    this.promptTokens.textContent = "";
    this.exportResult.textContent = "";
    this.thumbnail.hidden = true;
    this.thumbnail.removeAttribute("src");
    this.status.textContent = "Starting…";
    this.sync();
    try {
      const { job } = await this.api.findingsStart(req, (e) => this.onEvent(run, e));
      if (this.run !== run) return; // already over (its events came first)
      run.job = job;
      this.el.dataset.job = String(job);
      if (run.stopping) await this.sendStop(run);
    } catch (e) {
      if (this.run !== run) return;
      this.error.show(`Generate failed: ${errorMessage(e)}`);
      this.finish(run, "Failed");
    }
  }

  /** After a GPU failure: switch every model to the CPU, then generate again. */
  async runOnCpu(): Promise<void> {
    if (this.run) return;
    this.cpuBtn.disabled = true;
    try {
      const info = await this.api.useCpu();
      this.cpuBtn.hidden = true;
      this.status.textContent = `Now on ${info.adapter}`;
    } catch (e) {
      this.error.show(`Switching to the CPU failed: ${errorMessage(e)}`);
      return;
    } finally {
      this.cpuBtn.disabled = false;
    }
    await this.generate();
  }

  /** Ask the back end to stop; the panel goes idle when it reports "stopped". */
  async stop(): Promise<void> {
    const run = this.run;
    if (!run || run.stopping) return;
    run.stopping = true;
    this.status.textContent = "Stopping…";
    this.sync();
    if (run.job !== null) await this.sendStop(run);
  }

  private async sendStop(run: Run): Promise<void> {
    if (run.job === null) return;
    try {
      await this.api.findingsStop(run.job);
    } catch (e) {
      if (this.run !== run) return;
      this.error.show(`Stop failed: ${errorMessage(e)}`);
      this.finish(run, "Stop failed");
    }
  }

  private async rerun(): Promise<void> {
    if (this.run) return;
    const old = this.seed.value;
    let seed = Math.floor(this.random() * 2 ** 31);
    if (String(seed) === old) seed = (seed + 1) % 2 ** 31;
    this.seed.value = String(seed);
    await this.generate();
  }

  private onEvent(run: Run, e: FindingsEvent): void {
    if (this.run !== run) return; // a finished or superseded run
    if (e.type !== "stage" && e.type !== "load_progress" && run.stage) {
      this.endStage(run);
      if (!run.stopping) this.status.textContent = "Generating…";
    }
    switch (e.type) {
      case "load_progress":
        run.loaded = { done: e.done, total: e.total };
        this.status.dataset.loaded = `${e.done}/${e.total}`;
        this.showStage(run);
        break;
      case "stage":
        this.endStage(run);
        run.stage = { name: e.stage, since: this.now() };
        this.status.dataset.stages = [this.status.dataset.stages, e.stage].filter(Boolean).join(" ");
        this.showStage(run);
        run.ticker = setInterval(() => this.showStage(run), 1000);
        break;
      case "started":
        this.thumbnail.src = `data:image/png;base64,${e.thumbnail_png_base64}`;
        this.thumbnail.hidden = false;
        this.promptTokens.textContent = `Prompt: ${e.prompt_tokens} tokens`;
        this.promptTokens.dataset.value = String(e.prompt_tokens);
        if (!run.stopping) this.status.textContent = "Generating…";
        break;
      case "token":
        this.text.append(e.text);
        run.rate = addToken(run.rate, e.index, this.now());
        this.showLive(rateStats(run.rate), false);
        break;
      case "done":
        this.text.textContent = e.text;
        this.result = { text: e.text, provenance: e.provenance };
        this.ttft.textContent = `First token ${Math.round(e.timings.ttft_ms)} ms`;
        this.ttft.dataset.value = String(e.timings.ttft_ms);
        this.tps.textContent = `${e.timings.tokens_per_s.toFixed(1)} tokens/s`;
        this.tps.dataset.value = String(e.timings.tokens_per_s);
        this.tps.title = "Measured by the back end (decode after the first token)";
        this.finish(run, `Done: ${e.tokens} tokens in ${(e.timings.total_ms / 1000).toFixed(1)} s`);
        if (e.audit_error) this.error.show(`Not in the audit log: ${e.audit_error}`);
        break;
      case "stopped":
        this.showLive(rateStats(run.rate), true);
        this.finish(run, "Stopped");
        break;
      case "error":
        this.error.show(e.message);
        this.cpuBtn.hidden = !e.offer_cpu;
        this.showLive(rateStats(run.rate), true);
        this.finish(run, "Failed");
        break;
    }
  }

  /** Time to first token and tokens/s as measured here from the token events' arrival
   *  (live while streaming; final when a run ends without the back end's "done" figures).
   *  `data-live` holds the numbers; `data-value` is set only from the back end on "done". */
  private showLive(s: TokenRateStats, final: boolean): void {
    if (s.ttftMs !== null) {
      this.ttft.textContent = `First token ${Math.round(s.ttftMs)} ms`;
      this.ttft.dataset.live = String(s.ttftMs);
    }
    const rate = s.tokensPerS === null ? "…" : s.tokensPerS.toFixed(1);
    if (s.tokens > 0) {
      this.tps.textContent = `${rate} tokens/s · ${s.tokens} token${s.tokens === 1 ? "" : "s"}${final ? "" : " so far"}`;
      this.tps.title = "Measured in the viewer from the arrival of the streamed tokens";
    }
    if (s.tokensPerS !== null) this.tps.dataset.live = String(s.tokensPerS);
  }

  /** The stage's text and its seconds so far (unless Stop was asked). */
  private showStage(run: Run): void {
    if (this.run !== run || !run.stage || run.stopping) return;
    const s = Math.floor((this.now() - run.stage.since) / 1000);
    const l = run.stage.name === "load" ? run.loaded : null;
    this.status.textContent = `${STAGE_TEXT[run.stage.name]}${l ? ` ${l.done}/${l.total} tensors,` : ""} ${s} s`;
  }

  private endStage(run: Run): void {
    if (run.ticker !== null) clearInterval(run.ticker);
    run.ticker = null;
    run.stage = null;
  }

  private finish(run: Run, status: string): void {
    this.endStage(run);
    if (this.run !== run) return;
    this.run = null;
    this.status.textContent = status;
    this.sync();
  }

  private sync(): void {
    const running = this.run !== null;
    this.el.dataset.state = running ? "running" : "idle";
    this.generateBtn.disabled = running;
    this.stopBtn.disabled = !running || !!this.run?.stopping;
    this.rerunBtn.disabled = running || this.runs === 0;
    this.copyBtn.disabled = running || !this.text.textContent;
    for (const b of Object.values(this.exportBtns)) b.disabled = running || !this.result;
  }

  private async copy(): Promise<void> {
    const text = this.text.textContent ?? "";
    if (!this.clipboard) return this.error.show("Copy: the clipboard is not available.");
    try {
      await this.clipboard.writeText(text);
      this.exportResult.textContent = "Copied to the clipboard.";
    } catch (e) {
      this.error.show(`Copy failed: ${errorMessage(e)}`);
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

  private async export(format: FindingsExportFormat): Promise<void> {
    const result = this.result;
    if (!result) return;
    const dir = this.dir.value.trim();
    this.error.clear();
    if (!dir) return this.error.show("Choose a folder to export to.");
    this.exportDir.set(dir);
    try {
      const saved = await this.api.findingsExport({ format, dir, text: result.text, provenance: result.provenance });
      this.exportResult.textContent = `Saved ${saved.path}`;
      this.exportResult.dataset.path = saved.path;
    } catch (e) {
      this.error.show(`Export failed: ${errorMessage(e)}`);
    }
  }
}
