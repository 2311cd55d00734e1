//! Medlens inference engine: Gemma 3 text decoder on burn (wgpu and CPU), GGUF reader with
//! k-quants, the real tokenizer, sampling and generation.

pub mod error;
pub mod gemma3;
pub mod gguf;
pub mod quant;
pub mod qmatmul;

pub use error::{EngineError, GgufError, Result};
/// The burn device type every model here runs on (wgpu or CPU), re-exported for callers.
pub use burn::tensor::Device;
pub mod spm;
pub mod spiece;
pub mod tokenizer;
pub mod device;
pub mod generate;
pub mod sampling;
pub mod safetensors;
pub mod loader;
pub mod siglip;
pub mod preprocess;
pub mod zeroshot;
pub mod image_input;
pub mod medgemma;
pub mod llamacpp;
pub mod import;
pub mod discover;
