// The UI's side of the AI commands (MedGemma findings, MedSigLIP labels, model manager).
// Components take an `AiApi`; `tauriAiApi` is the real one, tests pass a fake. Streams
// (findings tokens, import progress) arrive on a Tauri `Channel`, handed to a callback.
import { Channel, invoke } from "@tauri-apps/api/core";
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
  Quant,
  SavedFile,
} from "./aiTypes";

/** Command names, exactly as the Rust side registers them. */
export const AI_COMMANDS = {
  modelsScan: "models_scan",
  modelsAdd: "models_add",
  modelsImport: "models_import",
  gpuInfo: "gpu_info",
  findingsTemplates: "findings_templates",
  findingsStart: "findings_start",
  findingsStop: "findings_stop",
  findingsExport: "findings_export",
  labelsCompute: "labels_compute",
  labelSetsList: "label_sets_list",
  labelSetsSave: "label_sets_save",
  labelsExportCsv: "labels_export_csv",
} as const;

export interface AiApi {
  modelsScan(): Promise<ModelInfo[]>;
  modelsAdd(path: string): Promise<ModelInfo>;
  modelsImport(path: string, quant: Quant, onProgress: (p: ImportProgress) => void): Promise<ImportResult>;
  gpuInfo(): Promise<GpuInfo>;
  findingsTemplates(): Promise<FindingsTemplate[]>;
  /** Starts a generation; its events (possibly before this resolves) go to `onEvent`. */
  findingsStart(req: FindingsRequest, onEvent: (e: FindingsEvent) => void): Promise<{ job: number }>;
  findingsStop(job: number): Promise<void>;
  findingsExport(req: FindingsExportRequest): Promise<SavedFile>;
  labelsCompute(req: LabelsRequest): Promise<LabelsResult>;
  labelSetsList(): Promise<LabelSet[]>;
  labelSetsSave(name: string, labels: string[]): Promise<void>;
  labelsExportCsv(req: LabelsCsvRequest): Promise<SavedFile>;
}

function channel<T>(f: (m: T) => void): Channel<T> {
  const ch = new Channel<T>();
  ch.onmessage = f;
  return ch;
}

// Tauri maps the camelCase keys here to the Rust commands' snake_case parameters
// (onEvent → on_event, onProgress → on_progress).
export const tauriAiApi: AiApi = {
  modelsScan: () => invoke<ModelInfo[]>(AI_COMMANDS.modelsScan),
  modelsAdd: (path) => invoke<ModelInfo>(AI_COMMANDS.modelsAdd, { path }),
  modelsImport: (path, quant, onProgress) => invoke<ImportResult>(AI_COMMANDS.modelsImport, { path, quant, onProgress: channel(onProgress) }),
  gpuInfo: () => invoke<GpuInfo>(AI_COMMANDS.gpuInfo),
  findingsTemplates: () => invoke<FindingsTemplate[]>(AI_COMMANDS.findingsTemplates),
  findingsStart: (req, onEvent) => invoke<{ job: number }>(AI_COMMANDS.findingsStart, { req, onEvent: channel(onEvent) }),
  findingsStop: (job) => invoke<void>(AI_COMMANDS.findingsStop, { job }),
  findingsExport: (req) => invoke<SavedFile>(AI_COMMANDS.findingsExport, { req }),
  labelsCompute: (req) => invoke<LabelsResult>(AI_COMMANDS.labelsCompute, { req }),
  labelSetsList: () => invoke<LabelSet[]>(AI_COMMANDS.labelSetsList),
  labelSetsSave: (name, labels) => invoke<void>(AI_COMMANDS.labelSetsSave, { name, labels }),
  labelsExportCsv: (req) => invoke<SavedFile>(AI_COMMANDS.labelsExportCsv, { req }),
};
