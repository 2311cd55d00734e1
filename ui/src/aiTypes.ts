// The AI panels' shapes (MedGemma findings, MedSigLIP labels, model management). Those the
// Rust command layer sends or receives are generated from its types (./bindings.ts, by
// ts-rs: see src-tauri/src/bindings.rs) and re-exported here; the rest are the UI's own.
import type { FindingsExportRequest, LabelMode, ModelInfo } from "./bindings";

export type {
  FindingsEvent,
  FindingsExportRequest,
  FindingsJob,
  FindingsRequest,
  FindingsTemplate,
  GpuInfo,
  ImportProgress,
  ImportResult,
  InputRecord,
  LabelMode,
  LabelScore,
  LabelSet,
  LabelsCsvRequest,
  LabelsRequest,
  LabelsResult,
  ModelInfo,
  ModelKind,
  Provenance,
  Sampling,
  SamplingRecord,
  SavedFile,
  Timings,
  WindowUsed,
} from "./bindings";

export type ModelSource = ModelInfo["source"];
export type ModelFormat = ModelInfo["format"];
export type ModelStatus = ModelInfo["status"];

/** `models_import`'s `quant` (the engine's `TextQuant` names). */
export type Quant = "q4_k_m" | "q8_0" | "f16";
export const QUANTS: readonly Quant[] = ["q4_k_m", "q8_0", "f16"];

export type FindingsExportFormat = FindingsExportRequest["format"];

export const LABEL_MODES: readonly LabelMode[] = ["sigmoid", "softmax", "paired"];
