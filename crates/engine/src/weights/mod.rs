//! Weights by name: every model asks a [`WeightSource`] for tensors by their HF checkpoint
//! name; the sources here map those names onto files (a llama.cpp GGUF, safetensors, a
//! llama.cpp text + mmproj pair, a Medlens import) or make them (quantize-on-load).

use std::borrow::Cow;
use std::path::Path;

use crate::error::Result;
use crate::quant::GgmlType;

pub mod gguf;
pub mod imported;
pub mod llamacpp;
pub mod quantize;
pub mod safetensors;

/// A tensor in a ggml block format: shape in HF order (`[out, in]`), type, and the blocks,
/// borrowed from a memory-mapped file where the source has them on disk.
pub type Blocks<'a> = (Vec<usize>, GgmlType, Cow<'a, [u8]>);

/// Where weights come from: f32 values by HF checkpoint name, row-major.
pub trait WeightSource {
    /// The file (or folder) named in messages.
    fn file(&self) -> &Path;
    /// Returns `(shape, values)`; `None` if missing.
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>>;
    /// Whether RMSNorm weights are stored as `1 + w` already (llama.cpp's GGUF convention).
    fn norms_include_one(&self) -> bool;
    /// The tensor in a ggml block format the GPU kernels read, when the source holds it
    /// quantized; `None` to fall back to [`Self::get`].
    fn get_quantized(&self, _hf_name: &str) -> Result<Option<Blocks<'_>>> {
        Ok(None)
    }
    /// The tensor was copied where the model keeps it: a memory-mapped source may drop its
    /// pages, so loading costs the model's size in memory, not the file's plus the model's.
    fn release(&self, _hf_name: &str) {}
}
