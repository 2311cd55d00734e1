//! Error types of the engine. Every error names the file (or source) and the cause.

use std::path::PathBuf;

/// Errors from reading a GGUF file. `file` is the path (or `<memory>`).
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("{file}: cannot read: {source}")]
    Io { file: PathBuf, #[source] source: std::io::Error },
    #[error("{file}: not a GGUF file (magic {magic:#010x})")]
    BadMagic { file: PathBuf, magic: u32 },
    #[error("{file}: unsupported GGUF version {version}")]
    BadVersion { file: PathBuf, version: u32 },
    #[error("{file}: truncated at byte {offset} while reading {what}")]
    Truncated { file: PathBuf, offset: u64, what: String },
    #[error("{file}: invalid {what}: {detail}")]
    Invalid { file: PathBuf, what: String, detail: String },
    #[error("{file}: tensor `{tensor}`: {detail}")]
    Tensor { file: PathBuf, tensor: String, detail: String },
    #[error("{file}: metadata key `{key}`: {detail}")]
    Metadata { file: PathBuf, key: String, detail: String },
}

/// Errors of the engine as a whole.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error("{file}: {detail}")]
    Config { file: PathBuf, detail: String },
    #[error("{file}: missing tensor `{tensor}`")]
    MissingTensor { file: PathBuf, tensor: String },
    #[error("{file}: tensor `{tensor}` has shape {got:?}, expected {expected:?}")]
    Shape { file: PathBuf, tensor: String, got: Vec<usize>, expected: Vec<usize> },
    #[error("{file}: tokenizer: {detail}")]
    Tokenizer { file: PathBuf, detail: String },
    #[error("{file}: safetensors: {detail}")]
    Safetensors { file: PathBuf, detail: String },
    #[error("{file}: cannot read: {source}")]
    Io { file: PathBuf, #[source] source: std::io::Error },
    /// An input image or DICOM file that cannot be used.
    #[error("{file}: {detail}")]
    Input { file: PathBuf, detail: String },
    #[error("device: {0}")]
    Device(String),
    #[error("generation: {0}")]
    Generation(String),
    /// A label set or scoring request that cannot be scored.
    #[error("labels: {0}")]
    Labels(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Loading stopped because the caller asked (Stop in the app).
    #[error("{file}: loading stopped")]
    LoadStopped { file: PathBuf },
    /// A vision encode or a prefill stopped between layers because the caller asked (Stop
    /// in the app); nothing of it is kept.
    #[error("stopped")]
    Stopped,
    /// The GPU could not hold what the model needs. The CPU path can run the same model from
    /// host memory: the message says so, and the app offers it.
    #[error("the GPU ran out of memory ({detail}); the model can run on the CPU instead (--device cpu, or \"Run on the CPU\" in the app)")]
    GpuOutOfMemory { detail: String },
    /// The GPU went away (a driver reset, a timeout, an unplugged card); nothing on it can be
    /// used again in this process.
    #[error("the GPU was lost ({detail}); the model can run on the CPU instead (--device cpu, or \"Run on the CPU\" in the app)")]
    GpuLost { detail: String },
}

impl EngineError {
    /// Whether the failure was the GPU's own (out of memory, lost), so the same work could
    /// run on the CPU.
    pub fn is_gpu_failure(&self) -> bool {
        matches!(self, Self::GpuOutOfMemory { .. } | Self::GpuLost { .. })
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
