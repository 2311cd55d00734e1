//! CPU kernels for weights kept in their ggml block layout: the CPU backend (burn's Flex)
//! runs the same [`GgmlOps`](super::qmatmul::GgmlOps) as the GPU, so `Linear`, the
//! embedding and the LM head keep MedGemma-4B at its quantized size (~2.5 GB) instead of
//! ~16 GB of f32.
//!
//! - [`dot`]: one dot product per format, portable and AVX2 (chosen at run time), with f32
//!   activations (the default: exact, as the GPU) or with [`act`]'s Q8_0/Q8_K activations
//!   and integer arithmetic (llama.cpp's, `MEDLENS_CPU_ACTIVATIONS=q8`);
//! - [`matmul`]: rows split over every core for decode; a GEMM over dequantized panels for
//!   prefill and the vision towers;
//! - `ops`: the burn backend operations built on them; `fused`: the GPU's fused row kernels
//!   (norms, RoPE, GeGLU, softmax, one token's attention, arg-max) as host loops.

pub mod act;
pub mod dot;
mod fused;
pub mod matmul;
mod ops;

pub use dot::{detect as simd, Simd};
pub use matmul::{with_arithmetic, Arithmetic};

use burn::tensor::{DType, Shape, TensorData};
use burn_flex::FlexTensor;

/// The values of a CPU tensor as row-major f32 (converted when stored as another float
/// type) and its shape.
fn host_f32(t: FlexTensor) -> (Vec<f32>, Vec<usize>) {
    let shape = t.layout().shape().to_vec();
    let d = t.into_data();
    let d = if d.dtype() == DType::F32 { d } else { d.convert::<f32>() };
    (d.try_into_vec::<f32>().expect("f32 after conversion"), shape)
}

/// Row-major f32 values as a CPU tensor of `shape`.
fn flex_f32(v: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// Threads the CPU kernels run on (rayon's pool: every core, or `RAYON_NUM_THREADS`).
pub fn threads() -> usize {
    rayon::current_num_threads()
}
