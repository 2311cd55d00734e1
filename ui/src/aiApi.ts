// The UI's side of the AI commands (MedGemma findings, MedSigLIP labels, model manager).
// Components take an `AiApi`; `tauriAiApi` is the real one, tests pass a fake. Streams
// (findings tokens, import progress) arrive on a Tauri `Channel`, handed to a callback.
// Paths typed by hand are accepted by the back end only under what the user granted (a drop,
// a native dialog: `choosePath`, or the app's data folder).
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
  useCpu: "ai_use_cpu",
  findingsExport: "findings_export",
  labelsCompute: "labels_compute",
  labelSetsList: "label_sets_list",
  labelSetsSave: "label_sets_save",
  labelsExportCsv: "labels_export_csv",
  choosePath: "choose_path",
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
  /** After a GPU failure: run every model on the CPU from now on (they load again there). */
  useCpu(): Promise<GpuInfo>;
  findingsExport(req: FindingsExportRequest): Promise<SavedFile>;
  labelsCompute(req: LabelsRequest): Promise<LabelsResult>;
  labelSetsList(): Promise<LabelSet[]>;
  /** Saves a label set; an existing one is replaced only with `overwrite` (after the user confirmed). */
  labelSetsSave(name: string, labels: string[], overwrite?: boolean): Promise<void>;
  labelsExportCsv(req: LabelsCsvRequest): Promise<SavedFile>;
  /** A native dialog for a file or folder; what the user picks is granted to the app. Null if cancelled. */
  choosePath(folder: boolean, title: string): Promise<string | null>;
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
  useCpu: () => invoke<GpuInfo>(AI_COMMANDS.useCpu),
  findingsExport: (req) => invoke<SavedFile>(AI_COMMANDS.findingsExport, { req }),
  labelsCompute: (req) => invoke<LabelsResult>(AI_COMMANDS.labelsCompute, { req }),
  labelSetsList: () => invoke<LabelSet[]>(AI_COMMANDS.labelSetsList),
  labelSetsSave: (name, labels, overwrite = false) => invoke<void>(AI_COMMANDS.labelSetsSave, { name, labels, overwrite }),
  labelsExportCsv: (req) => invoke<SavedFile>(AI_COMMANDS.labelsExportCsv, { req }),
  choosePath: (folder, title) => invoke<string | null>(AI_COMMANDS.choosePath, { folder, title }),
};
