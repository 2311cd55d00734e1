// Model manager: what was found (models/, Hugging Face cache, Ollama, LM Studio, added by
// hand) with its status, adding a model by path, importing/quantizing to GGUF with
// progress, and the GPU adapter the engine uses (or the CPU fallback notice).
import type { AiApi } from "../aiApi";
import { QUANTS, type GpuInfo, type ImportProgress, type ModelInfo, type Quant } from "../aiTypes";
import { h } from "../dom";
import { errorMessage, field, formatBytes, InlineError, testid } from "./aiCommon";

const SOURCES: Record<ModelInfo["source"], string> = {
  models: "models/",
  "hf-cache": "Hugging Face cache",
  ollama: "Ollama",
  lmstudio: "LM Studio",
  user: "added",
};

export interface ModelManagerOptions {
  api: Pick<AiApi, "modelsScan" | "modelsAdd" | "modelsImport" | "gpuInfo" | "choosePath">;
  /** Told whenever the list of models changes. */
  onModels?: (models: ModelInfo[]) => void;
}

export class ModelManager {
  readonly el: HTMLElement;
  private readonly api: ModelManagerOptions["api"];
  private readonly onModels: (models: ModelInfo[]) => void;
  private models: ModelInfo[] = [];
  private importing = false;

  private readonly gpu = h("div.ai-gpu", testid("gpu-info"), "GPU: …");
  private readonly gpuNotice = h("div.ai-notice", { ...testid("gpu-notice"), hidden: true });
  private readonly list = h("ul.models", testid("model-list"));
  private readonly rescanBtn = h("button", { ...testid("model-rescan"), type: "button" }, "Rescan");
  private readonly addPath = h("input.ai-path", { ...testid("model-add-path"), type: "text", placeholder: "Model file or folder", spellcheck: "false" });
  private readonly addBtn = h("button", { ...testid("model-add"), type: "button" }, "Add model…");
  private readonly addFileBtn = h("button", { ...testid("model-add-choose-file"), type: "button", title: "Choose a GGUF file in a dialog" }, "File…");
  private readonly addFolderBtn = h("button", { ...testid("model-add-choose-folder"), type: "button", title: "Choose a model folder in a dialog" }, "Folder…");
  private readonly importChooseBtn = h("button", { ...testid("model-import-choose"), type: "button", title: "Choose a Hugging Face model folder in a dialog" }, "Folder…");
  private readonly addResult = h("div.ai-dim", testid("model-add-result"));
  private readonly importPath = h("input.ai-path", { ...testid("model-import-path"), type: "text", placeholder: "Hugging Face model folder", spellcheck: "false" });
  private readonly quant = h("select", testid("model-import-quant"), ...QUANTS.map((q) => h("option", { value: q }, q)));
  private readonly importBtn = h("button", { ...testid("model-import"), type: "button" }, "Import");
  private readonly progress = h("progress", { ...testid("model-import-progress"), max: 1, value: 0, hidden: true });
  private readonly progressLabel = h("div.ai-dim", testid("model-import-label"));
  private readonly importResult = h("div.ai-dim", testid("model-import-result"));
  private readonly error = new InlineError("model-error");

  constructor(opts: ModelManagerOptions) {
    this.api = opts.api;
    this.onModels = opts.onModels ?? (() => {});
    this.rescanBtn.addEventListener("click", () => void this.scan());
    this.addBtn.addEventListener("click", () => void this.add());
    this.importBtn.addEventListener("click", () => void this.import());
    this.addFileBtn.addEventListener("click", () => void this.choose(this.addPath, false, "Model file (GGUF)"));
    this.addFolderBtn.addEventListener("click", () => void this.choose(this.addPath, true, "Model folder"));
    this.importChooseBtn.addEventListener("click", () => void this.choose(this.importPath, true, "Hugging Face model folder"));
    this.el = h(
      "section.ai-panel#ai-models",
      testid("model-manager"),
      h("h3", {}, "Models"),
      this.gpu,
      this.gpuNotice,
      this.list,
      h("div.ai-row", {}, this.rescanBtn),
      h("div.ai-row", {}, this.addPath, this.addFileBtn, this.addFolderBtn, this.addBtn),
      this.addResult,
      h("div.ai-row", {}, this.importPath, this.importChooseBtn, field("Quantization", this.quant), this.importBtn),
      this.progress,
      this.progressLabel,
      this.importResult,
      this.error.el,
      h(
        "p.hint",
        {},
        "Everything runs offline. Put weights under models/ (see models/README.md) or add a file or folder above: choose it with File…/Folder… (or drop it on the window) so the app may read it.",
      ),
    );
    void this.loadGpu();
    void this.scan();
  }

  /** Fills `input` with a path from a native dialog (which grants it to the app). */
  private async choose(input: HTMLInputElement, folder: boolean, title: string): Promise<void> {
    this.error.clear();
    try {
      const p = await this.api.choosePath(folder, title);
      if (p) input.value = p;
    } catch (e) {
      this.error.show(`Choose failed: ${errorMessage(e)}`);
    }
  }

  get modelList(): readonly ModelInfo[] {
    return this.models;
  }

  async scan(): Promise<void> {
    this.rescanBtn.disabled = true;
    try {
      this.setModels(await this.api.modelsScan());
    } catch (e) {
      this.error.show(`Scan failed: ${errorMessage(e)}`);
    } finally {
      this.rescanBtn.disabled = false;
    }
  }

  private async loadGpu(): Promise<void> {
    try {
      this.showGpu(await this.api.gpuInfo());
    } catch (e) {
      this.gpu.textContent = `GPU: unknown (${errorMessage(e)})`;
    }
  }

  private showGpu(g: GpuInfo): void {
    // `!= null`: absent, or null from a back end that sends null for unknown.
    const mem = g.memory_bytes != null ? ` · ${formatBytes(g.memory_bytes)}` : "";
    this.gpu.textContent = `GPU: ${g.adapter} (${g.backend})${mem}`;
    this.gpu.dataset.adapter = g.adapter;
    this.gpu.dataset.backend = g.backend;
    if (g.memory_bytes != null) this.gpu.dataset.memoryBytes = String(g.memory_bytes);
    this.gpuNotice.textContent = g.notice ?? "";
    this.gpuNotice.hidden = !g.notice;
  }

  private setModels(models: ModelInfo[]): void {
    this.models = models;
    this.list.replaceChildren(...(models.length ? models.map((m) => this.row(m)) : [h("li.empty", testid("model-empty"), "No models found.")]));
    this.onModels(models);
  }

  private row(m: ModelInfo): HTMLElement {
    const detail = [m.kind, m.format.toUpperCase(), SOURCES[m.source] ?? m.source, m.bytes > 0 ? formatBytes(m.bytes) : ""].filter(Boolean).join(" · ");
    const statusText = m.status === "ok" ? (m.message ? `ok: ${m.message}` : "ok") : `invalid: ${m.message ?? "not a usable model"}`;
    const quantize =
      m.status === "ok" && m.format === "hf"
        ? h(
            "button.small",
            { ...testid("model-quantize"), type: "button", title: "Import this model as GGUF", onClick: () => (this.importPath.value = m.path) },
            "Quantize…",
          )
        : null;
    return h(
      `li.model.${m.status}` as "li",
      { ...testid("model-row"), "data-kind": m.kind, "data-status": m.status, "data-path": m.path, "data-format": m.format, "data-source": m.source },
      h("div.mname", { title: m.path }, m.name, quantize),
      h("div.mdetail", {}, detail),
      h("div.mpath", {}, m.path),
      h(`div.mstatus.${m.status}` as "div", { ...testid("model-status"), "data-status": m.status }, statusText),
      m.status === "ok" && m.weights_in_memory > 0
        ? h(
            "div.mdetail",
            { ...testid("model-memory"), "data-bytes": String(m.weights_in_memory), title: "The weights, in RAM on the CPU or in GPU memory; the image encode and the context take more on top" },
            `${formatBytes(m.weights_in_memory)} in memory once loaded`,
          )
        : null,
    );
  }

  private async add(): Promise<void> {
    const path = this.addPath.value.trim();
    this.error.clear();
    this.addResult.textContent = "";
    if (!path) return this.error.show("Enter the path of a model file or folder.");
    this.addBtn.disabled = true;
    try {
      const m = await this.api.modelsAdd(path);
      this.setModels([...this.models.filter((x) => x.path !== m.path), m]);
      this.addResult.textContent = m.status === "ok" ? `Added ${m.name}.` : `Not added: ${m.message ?? "not a usable model"}`;
      if (m.status === "ok") this.addPath.value = "";
    } catch (e) {
      this.error.show(`Add failed: ${errorMessage(e)}`);
    } finally {
      this.addBtn.disabled = false;
    }
  }

  private async import(): Promise<void> {
    if (this.importing) return;
    const path = this.importPath.value.trim();
    this.error.clear();
    this.importResult.textContent = "";
    if (!path) return this.error.show("Enter the model folder to import.");
    this.importing = true;
    this.importBtn.disabled = true;
    this.progress.hidden = false;
    this.progress.max = 1;
    this.progress.value = 0;
    this.progressLabel.textContent = "Starting…";
    try {
      const res = await this.api.modelsImport(path, this.quant.value as Quant, (p) => this.showProgress(p));
      this.importResult.textContent = `Wrote ${res.output}`;
      this.importResult.dataset.path = res.output;
      this.progressLabel.textContent = "Done";
      this.progress.value = this.progress.max;
      await this.scan();
    } catch (e) {
      this.progressLabel.textContent = "";
      this.progress.hidden = true;
      this.error.show(`Import failed: ${errorMessage(e)}`);
    } finally {
      this.importing = false;
      this.importBtn.disabled = false;
    }
  }

  private showProgress(p: ImportProgress): void {
    this.progress.max = Math.max(1, p.total);
    this.progress.value = Math.min(p.done, this.progress.max);
    this.progress.dataset.done = String(p.done);
    this.progress.dataset.total = String(p.total);
    this.progressLabel.textContent = `${p.done}/${p.total} ${p.tensor}`;
  }
}
