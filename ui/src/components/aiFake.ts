// A scriptable AiApi for the panels' unit tests (no Tauri needed).
import type { AiApi } from "../aiApi";
import type {
  FindingsEvent,
  FindingsExportRequest,
  FindingsRequest,
  FindingsTemplate,
  GpuInfo,
  ImportProgress,
  ImportResult,
  LabelSet,
  LabelsCsvRequest,
  LabelsRequest,
  LabelsResult,
  ModelInfo,
  Provenance,
  Quant,
  SavedFile,
} from "../aiTypes";

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export const PROVENANCE: Provenance = {
  model_file: "medgemma-4b-it-q4_k_m.gguf",
  model_sha256: "ab".repeat(32),
  quantization: "q4_k_m",
  mmproj_file: null,
  mmproj_sha256: null,
  adapter: "Fake GPU",
  template: "ct",
  system: "You are an expert radiologist.",
  prompt: "Describe the findings.",
  sampling: { greedy: true, temperature: 0.7, top_k: 64, top_p: 0.95, min_p: 0, repetition_penalty: 1, seed: 42, max_tokens: 512 },
  inputs: [{ path: "/data/ct/1.dcm", sop_instance_uid: "1.2.3.4", frame: 0, window: { kind: "window", center: 40, width: 400 }, width: 512, height: 512 }],
  created: "2026-11-28T22:00:00Z",
};

export class FakeAiApi implements AiApi {
  readonly calls: { name: string; args: unknown[] }[] = [];
  templates: FindingsTemplate[] = [
    { name: "Chest X-ray report", system: "You are a radiologist.", prompt: "Describe the chest X-ray." },
    { name: "CT slice", system: "You read CT.", prompt: "Describe this CT slice." },
  ];
  sets: LabelSet[] = [{ name: "Chest", labels: ["effusion", "pneumothorax", "normal"], builtin: true }];
  models: ModelInfo[] = [];
  gpu: GpuInfo = { adapter: "Fake GPU", backend: "vulkan", memory_bytes: 8 * 1024 ** 3 };
  /** The findings events callback of the latest findingsStart. */
  emit: (e: FindingsEvent) => void = () => {};
  start: Deferred<{ job: number }> | null = null;
  labels: (req: LabelsRequest) => Promise<LabelsResult> = async (req) => ({
    scores: req.labels.map((label, i) => ({ label, probability: (i + 1) / (req.labels.length + 1) })),
    cached: false,
    ms: 5,
  });
  /** What the next `choosePath` returns (null: cancelled). */
  chosen: string | null = null;
  importer: (path: string, quant: Quant, onProgress: (p: ImportProgress) => void) => Promise<ImportResult> = async (path) => ({ output: `${path}.gguf` });

  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }
  argsOf(name: string): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }
  private log(name: string, ...args: unknown[]): void {
    this.calls.push({ name, args });
  }

  async modelsScan(): Promise<ModelInfo[]> {
    this.log("models_scan");
    return [...this.models];
  }
  async modelsAdd(path: string): Promise<ModelInfo> {
    this.log("models_add", path);
    return { kind: "medgemma", name: path, path, source: "user", format: "gguf", status: "invalid", message: "not a GGUF file (bad magic)", bytes: 0, weights_in_memory: 0 };
  }
  modelsImport(path: string, quant: Quant, onProgress: (p: ImportProgress) => void): Promise<ImportResult> {
    this.log("models_import", path, quant);
    return this.importer(path, quant, onProgress);
  }
  async gpuInfo(): Promise<GpuInfo> {
    this.log("gpu_info");
    return this.gpu;
  }
  async findingsTemplates(): Promise<FindingsTemplate[]> {
    this.log("findings_templates");
    return this.templates;
  }
  findingsStart(req: FindingsRequest, onEvent: (e: FindingsEvent) => void): Promise<{ job: number }> {
    this.log("findings_start", req);
    this.emit = onEvent;
    this.start = deferred();
    return this.start.promise;
  }
  async findingsStop(job: number): Promise<void> {
    this.log("findings_stop", job);
  }
  async useCpu(): Promise<GpuInfo> {
    this.log("ai_use_cpu");
    this.gpu = { adapter: "cpu (2 threads)", backend: "cpu" };
    return this.gpu;
  }
  async findingsExport(req: FindingsExportRequest): Promise<SavedFile> {
    this.log("findings_export", req);
    return { path: `${req.dir}/findings.${req.format === "sr" ? "dcm" : req.format}` };
  }
  labelsCompute(req: LabelsRequest): Promise<LabelsResult> {
    this.log("labels_compute", req);
    return this.labels(req);
  }
  async labelSetsList(): Promise<LabelSet[]> {
    this.log("label_sets_list");
    return this.sets.map((s) => ({ ...s, labels: [...s.labels] }));
  }
  async labelSetsSave(name: string, labels: string[], overwrite = false): Promise<void> {
    this.log("label_sets_save", name, labels, overwrite);
    if (!overwrite && this.sets.some((s) => s.name === name && !s.builtin)) throw new Error(`${name}.json: already exists (confirm to replace it)`);
    this.sets = [...this.sets.filter((s) => s.name !== name), { name, labels, builtin: false }];
  }
  async labelsExportCsv(req: LabelsCsvRequest): Promise<SavedFile> {
    this.log("labels_export_csv", req);
    return { path: `${req.dir}/labels.csv` };
  }
  async choosePath(folder: boolean, title: string): Promise<string | null> {
    this.log("choose_path", folder, title);
    return this.chosen;
  }
}
