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

/// Runs `f` on a thread of rayon's pool, the caller waiting, unless this thread already is
/// one. A decode step makes ~130 parallel calls (each matmul, each large row loop). Made
/// from outside the pool, each call injects a job, wakes a worker and puts the caller to
/// sleep until it is done: two futex round trips, and the caller's core idle while it
/// waits. Made from a worker, a call splits its work with the calling thread taking part,
/// and an idle worker that is still spinning picks up the next call without a wake-up.
pub fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

#[cfg(test)]
mod tests {
    use super::on_workers;

    /// From outside the pool, `f` runs on one of its threads; from inside, where it is.
    #[test]
    fn on_workers_runs_on_the_pool() {
        assert_eq!(rayon::current_thread_index(), None, "the test thread is not a pool thread");
        let (outer, inner) = on_workers(|| {
            let here = std::thread::current().id();
            (rayon::current_thread_index(), on_workers(|| std::thread::current().id() == here))
        });
        assert!(outer.is_some(), "ran on a pool thread");
        assert!(inner, "a nested call stays on its thread");
    }
}
