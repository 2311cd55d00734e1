// Shapes shared with the Rust AI command layer (MedGemma findings, MedSigLIP labels,
// model management). Keep in sync with the back end; field names are the JSON names.
import type { Window } from "./types";

export type ModelKind = "medgemma" | "medsiglip";
export type ModelSource = "models" | "hf-cache" | "ollama" | "lmstudio" | "user";
export type ModelFormat = "hf" | "gguf";
export type ModelStatus = "ok" | "invalid";

export interface ModelInfo {
  kind: ModelKind;
  name: string;
  path: string;
  source: ModelSource;
  format: ModelFormat;
  status: ModelStatus;
  /** Why the model is invalid (or a note when it is ok). */
  message?: string;
  bytes?: number;
  /** The vision half (mmproj GGUF) of a llama.cpp / Ollama MedGemma, when separate. */
  mmproj?: string;
}

export type Quant = "q4_k_m" | "q8_0" | "f16";
export const QUANTS: readonly Quant[] = ["q4_k_m", "q8_0", "f16"];

export interface ImportProgress {
  done: number;
  total: number;
  tensor: string;
}

export interface ImportResult {
  output: string;
}

export interface GpuInfo {
  adapter: string;
  backend: string;
  memory_bytes?: number;
  /** Set when inference falls back to the CPU: the text to show. */
  notice?: string;
}

export interface Sampling {
  greedy: boolean;
  temperature: number;
  top_k: number;
  top_p: number;
  seed: number;
  max_tokens: number;
}

export interface FindingsRequest {
  path: string;
  frame: number;
  window?: Window;
  template: string;
  prompt: string;
  system?: string;
  sampling: Sampling;
}

export interface Timings {
  ttft_ms: number;
  tokens_per_s: number;
  total_ms: number;
}

export interface Provenance {
  model_file: string;
  model_sha256: string;
  quantization: string;
  adapter: string;
  prompt: string;
  system?: string;
  sampling: Sampling;
  sop_instance_uid?: string;
  frame: number;
  window?: Window;
  created: string;
}

export type FindingsEvent =
  | { type: "started"; thumbnail_png_base64: string; prompt_tokens: number }
  | { type: "token"; text: string; index: number }
  | { type: "done"; text: string; tokens: number; timings: Timings; provenance: Provenance }
  | { type: "stopped" }
  | { type: "error"; message: string };

export interface FindingsTemplate {
  name: string;
  system: string;
  prompt: string;
}

export type FindingsExportFormat = "md" | "json" | "sr";

export interface FindingsExportRequest {
  format: FindingsExportFormat;
  dir: string;
  text: string;
  provenance: Provenance;
}

export type LabelMode = "sigmoid" | "softmax" | "paired";
export const LABEL_MODES: readonly LabelMode[] = ["sigmoid", "softmax", "paired"];

export interface LabelsRequest {
  path: string;
  frame: number;
  window?: Window;
  labels: string[];
  mode: LabelMode;
}

export interface LabelScore {
  label: string;
  probability: number;
}

export interface LabelsResult {
  scores: LabelScore[];
  cached: boolean;
  ms: number;
}

export interface LabelSet {
  name: string;
  labels: string[];
  builtin: boolean;
}

export interface LabelsCsvRequest {
  dir: string;
  rows: LabelScore[];
  /** The image the scores are for. */
  path: string;
}

export interface SavedFile {
  path: string;
}
