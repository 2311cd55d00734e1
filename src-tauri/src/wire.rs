//! Replies of the AI commands that have no type of their own elsewhere: the shapes the UI
//! receives (`ui/src/bindings.ts` declares them from here, see `bindings.rs`).

use std::path::PathBuf;

use serde::Serialize;

/// How long a findings draft took.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct Timings {
    /// Time to the first token, from the request.
    pub ttft_ms: f64,
    /// Decode speed after the first token.
    pub tokens_per_s: f64,
    pub total_ms: f64,
}

/// The device the models run on (`gpu_info`).
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct GpuInfo {
    /// The adapter's name (`cpu …` on the CPU, `none` when no device could be set up).
    pub adapter: String,
    /// `wgpu`, `cpu` or `none`.
    pub backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub memory_bytes: Option<u64>,
    /// Set when inference falls back to the CPU (or no device works): the text to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub notice: Option<String>,
}

/// `models_import`: the GGUF written.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct ImportResult {
    pub output: PathBuf,
}

/// `findings_start`: the job to pass to `findings_stop`.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct FindingsJob {
    pub job: u64,
}

/// One label's probability.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct LabelScore {
    pub label: String,
    pub probability: f32,
}

/// `labels_compute`.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct LabelsResult {
    pub scores: Vec<LabelScore>,
    /// Whether the image embedding came from the cache.
    pub cached: bool,
    pub ms: f64,
    /// Set when the scores could not be written to the audit log: the text to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub audit_error: Option<String>,
}

/// One entry of `label_sets_list`: a built-in set or one saved in the data folder.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
#[ts(rename = "LabelSet")]
pub struct LabelSetSummary {
    pub name: String,
    pub labels: Vec<String>,
    pub builtin: bool,
}

/// `findings_export`, `labels_export_csv`: the file written.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct SavedFile {
    pub path: PathBuf,
}
