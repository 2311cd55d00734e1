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
pub mod amx;
pub mod attention;
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

/// The values of a CPU tensor that a kernel only reads: borrowed in place when it is a
/// contiguous f32 tensor (the weights, the RoPE tables, the caches), copied otherwise.
/// [`host_f32`] takes the tensor and copies whatever another handle still shares: a decode
/// step copied each layer's whole RoPE tables four times that way.
fn read_f32(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(host_f32(t.clone()).0),
    }
}

/// `Σ a[i]·b[i]` in eight independent lanes, a shape the compiler vectorizes: a plain
/// `.sum()` over f32 is one chain of dependent additions (float addition does not
/// reassociate), four cycles each, and one token's attention spent its time there.
#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `Σ x[i]` in eight independent lanes (see [`dot_f32`]).
#[inline(always)]
fn sum_f32(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let c = x.chunks_exact(8);
    let tail: f32 = c.remainder().iter().sum();
    for v in c {
        for l in 0..8 {
            acc[l] += v[l];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The largest of `x` (NaN ignored, as `f32::max` does; −∞ for none) in eight lanes: a
/// fold of `f32::max` is one dependent chain, as a sum is. A softmax over the vision
/// tower's 4,096 keys did its maximum and its sum that way, 7 G values per MedGemma image.
#[inline(always)]
fn max_f32(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let c = x.chunks_exact(8);
    let tail = c.remainder().iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for v in c {
        for l in 0..8 {
            acc[l] = acc[l].max(v[l]);
        }
    }
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// Runs `f` compiled for AVX2 + FMA when this CPU has them (and the kernels are not forced
/// portable), else as built (x86-64's baseline is SSE2). `f` is inlined into the AVX2
/// instance, so loops in it vectorize eight wide: the element-wise kernels (GELU, softmax,
/// norms) ran four wide.
#[inline]
fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if dot::detect() != Simd::Portable {
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: `detect` saw AVX2 and FMA on this CPU.
        return unsafe { avx2(f) };
    }
    f()
}

/// Row-major f32 values as a CPU tensor of `shape`.
fn flex_f32(v: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// Runs `f` on a thread of the pool the CPU kernels use, the caller waiting; directly when
/// the caller is already one. A decode step is ~150 operations, many of them split over the
/// cores: called from outside the pool, each split is injected into it, the workers woken
/// and the caller put to sleep until they finish (two futex round trips per operation),
/// and the caller's own serial work runs as a third thread beside two cores' workers. From
/// inside, a split is a push onto the worker's own queue that the others steal.
///
/// What is per thread follows the work: the caller's [`with_arithmetic`] choice applies
/// inside, and the [`crate::profile`] counts made there are added to the caller's (and to
/// no other caller's: see [`crate::profile::isolated`]).
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    let arith = Arithmetic::current();
    // Counted in isolation: while this pass waits on its splits, its pool thread may run a
    // whole pass of another caller's (work stealing), whose counts are that caller's.
    let (r, counts) = rayon::scope(|_| crate::profile::isolated(|| with_arithmetic(arith, f)));
    crate::profile::absorb(&counts);
    r
}

/// Threads the CPU kernels run on (rayon's pool: every core, or `RAYON_NUM_THREADS`).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against an f64 sum, for every length from 0 to 40 (the eight lanes' tail included) and
    /// a long row: within f32's rounding of the sum of magnitudes.
    #[test]
    fn dot_f32_matches_f64() {
        for n in (0..=40).chain([256, 1000]) {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 19) as f32 - 9.0) * 0.37).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 11 % 23) as f32 - 11.0) * 0.19).collect();
            let want: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
            let mag: f64 = a.iter().zip(&b).map(|(&x, &y)| (x as f64 * y as f64).abs()).sum();
            let got = dot_f32(&a, &b) as f64;
            assert!((got - want).abs() <= 1e-6 * mag + 1e-30, "n = {n}: {got} vs {want}");
        }
        // Unequal lengths: the shorter one's.
        assert_eq!(dot_f32(&[1.0, 2.0, 3.0], &[4.0, 5.0]), 14.0);
    }

    /// A contiguous f32 tensor is read in place; a view (here transposed) is copied in its
    /// logical order.
    #[test]
    fn read_f32_borrows_contiguous_tensors_and_copies_views() {
        let v: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let t = flex_f32(v.clone(), [2, 3]);
        let r = read_f32(&t);
        assert!(matches!(r, std::borrow::Cow::Borrowed(_)));
        assert_eq!(&r[..], &v[..]);
        let l = t.layout().transpose(0, 1);
        let tp = t.with_layout(l);
        let r = read_f32(&tp);
        assert!(matches!(r, std::borrow::Cow::Owned(_)));
        assert_eq!(&r[..], &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    /// `on_pool` runs on a pool thread, with the caller's arithmetic, and hands back what
    /// was counted there to the caller (and only to it).
    #[test]
    fn on_pool_carries_the_callers_arithmetic_and_counts() {
        let before = crate::profile::snapshot();
        let (inside, arith) = with_arithmetic(Arithmetic::Exact, || {
            on_pool(|| {
                crate::profile::count_attention(8, 3);
                (rayon::current_thread_index(), Arithmetic::current())
            })
        });
        assert!(inside.is_some(), "ran on a pool thread");
        assert_eq!(arith, Arithmetic::Exact);
        let got = crate::profile::snapshot().since(&before);
        assert_eq!((got.kv_bytes_copied, got.keys_attended), (8, 3));
        // Already on a pool thread: run in place.
        let nested = rayon::scope(|_| {
            let here = rayon::current_thread_index();
            on_pool(move || rayon::current_thread_index() == here)
        });
        assert!(nested);
    }
}
