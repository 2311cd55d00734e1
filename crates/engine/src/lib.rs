//! Medlens inference engine: Gemma 3 / MedGemma and SigLIP / MedSigLIP on burn (wgpu and
//! CPU), quantized weights in their ggml block layout. The engine takes RGB8 images and text,
//! never DICOM.
//!
//! Modules are floors; each imports only from the floors below it (the architecture test in
//! `tests/architecture.rs` checks this):
//!
//! | floor | modules | job |
//! | --- | --- | --- |
//! | 0 | `error`, `device`, `profile` | errors; choosing the device; counters of device work |
//! | 1 | `quant` | ggml block formats, reference (de)quantizers |
//! | 2 | `formats` | GGUF, safetensors, spiece.model: read and validated |
//! | 3 | `kernels` | GPU kernels: ggml-block gemv/dequant/gather, fused row kernels |
//! | 4 | `weights` | tensors by HF name from files (`WeightSource`) |
//! | 5 | `nn`, `text`, `image` | layers; tokenizers and chat template; image preprocessing |
//! | 6 | `models` | Gemma 3, SigLIP, MedGemma |
//! | 7 | `generate` | prefill/decode loop, sampling, streaming detokenizer |
//! | 8 | `serve` | loading paths, discovery, import, zero-shot, findings records, random weights |

pub mod error;
pub mod device;
pub mod profile;
pub mod quant;
pub mod formats;
pub mod kernels;
pub mod weights;
pub mod nn;
pub mod text;
pub mod image;
pub mod models;
pub mod generate;
pub mod serve;

/// The burn device type every model here runs on (wgpu or CPU), re-exported for callers.
pub use burn::tensor::Device;
pub use error::{EngineError, GgufError, Result};
