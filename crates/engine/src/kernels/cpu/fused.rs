//! [`FusedOps`] for burn's CPU backend (Flex): the GPU's fused row kernels as plain loops
//! over host rows, parallel over rows. Each replaces a chain of burn operations, every one of
//! which allocates and walks its whole tensor: on the 270M a decode step was ~40 of them per
//! layer, more time than the matmuls.
//!
//! Same arithmetic as the CubeCL kernels in `kernels::fused` (and as the composed burn ops
//! they replace), up to the order of float additions; the tests compare both with direct
//! formulas.

use burn::tensor::TensorData;
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use super::{dot_f32, flex_f32 as tensor, host_f32 as host, max_f32, read_f32 as read, sum_f32, vectorized};
use crate::kernels::fused::FusedOps;

/// Rows below which the loops stay on one thread (a decode step's rows are a few hundred
/// values; waking the pool costs more than it saves).
const PAR_MIN_VALUES: usize = 1 << 15;

/// Runs `f` over every `n`-wide row of `out` (with the row index), in parallel when large,
/// each row compiled for the widest vectors the CPU has ([`vectorized`]).
fn rows_mut(out: &mut [f32], n: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if out.len() >= PAR_MIN_VALUES {
        out.par_chunks_mut(n).enumerate().for_each(|(r, o)| vectorized(|| f(r, o)));
    } else {
        vectorized(|| out.chunks_mut(n).enumerate().for_each(|(r, o)| f(r, o)));
    }
}

#[inline(always)]
fn inv_rms(x: &[f32], eps: f32) -> f32 {
    let ss = dot_f32(x, x);
    1.0 / (ss / x.len() as f32 + eps).sqrt()
}

/// tanh within 1.5e-7 of the exact value (absolute; tested against f64), in plain arithmetic
/// so that loops over slices vectorize. libm's `tanhf` is one call per value: in MedSigLIP's
/// CPU image embedding, 12 % of the time went to it and the `expm1f` it calls.
///
/// tanh |x| = (e − 1)/(e + 1) with e = exp(2|x|), clamped at 2|x| = 18 (tanh 9 rounds to 1
/// in f32). exp(y) = 2ⁿ·exp(r), n = round(y/ln 2) by the 1.5·2²³ rounding trick, r = y − n·ln 2
/// (|r| ≤ ln 2 / 2, ln 2 split in two as Cephes does), exp(r) by its Taylor polynomial of
/// degree 6 (truncation ≤ 1.2e-7 relative), 2ⁿ written into the exponent bits. An error δ
/// relative in e is at most δ/2 absolute in tanh.
#[inline(always)]
pub fn tanh_fast(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let y = (2.0 * x.abs()).min(18.0);
    let t = y * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = y - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // t's bits are MAGIC's plus n; 2^n has n + 127 in the exponent field.
    let two_n = f32::from_bits((t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127)) << 23);
    let e = p * two_n;
    ((e - 1.0) / (e + 1.0)).copysign(x)
}

/// exp(x) for x ≤ 0 (a softmax's inputs less their row's maximum), in plain arithmetic that
/// vectorizes, within 2.5e-7 relative of the exact value (tested): the same reduction and
/// polynomial as [`tanh_fast`]. Below −87 it is exactly 0, as exp(−∞) is for a masked score:
/// anything smaller than f32's smallest normal would turn into denormals once the softmax
/// scales it, and a matmul over denormals runs many times slower on x86 (a first version
/// that returned exp(−87) there cut the 270M's CPU prefill from 372 to 225 tokens a second).
/// NaN stays NaN.
#[inline(always)]
pub fn exp_neg_fast(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let y = x.clamp(-87.0, 0.0);
    let t = y * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = y - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let two_n = f32::from_bits((t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127)) << 23);
    if x.is_nan() {
        x
    } else if x < -87.0 {
        0.0
    } else {
        p * two_n
    }
}

/// `gelu_pytorch_tanh(x)`.
#[inline(always)]
pub fn gelu1(x: f32) -> f32 {
    const C: f32 = 0.797_884_6; // sqrt(2/pi)
    let inner = (x + 0.044715 * x * x * x) * C;
    0.5 * x * (1.0 + tanh_fast(inner))
}

/// `gelu_pytorch_tanh(g) · u`.
#[inline(always)]
pub fn geglu1(g: f32, u: f32) -> f32 {
    gelu1(g) * u
}

#[inline(always)]
pub(super) fn softmax_row(o: &mut [f32]) {
    let mx = max_f32(o);
    for v in o.iter_mut() {
        *v = exp_neg_fast(*v - mx);
    }
    let inv = 1.0 / sum_f32(o);
    o.iter_mut().for_each(|v| *v *= inv);
}

impl FusedOps for Flex {
    fn fused_rms_norm(x: FlexTensor, w: FlexTensor, eps: f32) -> FlexTensor {
        let (mut v, shape) = host(x);
        let w = read(&w);
        let n = w.len();
        rows_mut(&mut v, n, |_, o| {
            let inv = inv_rms(o, eps);
            o.iter_mut().zip(w.iter()).for_each(|(a, &b)| *a *= inv * b);
        });
        tensor(v, shape)
    }

    fn fused_add_rms_norm(res: FlexTensor, h: FlexTensor, w1: FlexTensor, w2: FlexTensor, eps1: f32, eps2: f32) -> FlexTensor {
        let shape = res.layout().shape().to_vec();
        let (r, h, w1, w2) = (read(&res), read(&h), read(&w1), read(&w2));
        let (r, h, w1, w2) = (&r[..], &h[..], &w1[..], &w2[..]);
        let n = w1.len();
        let len = r.len();
        let mut out = vec![0f32; 2 * len];
        let (sum, normed) = out.split_at_mut(len);
        let body = |((s, o), (rr, hh)): ((&mut [f32], &mut [f32]), (&[f32], &[f32]))| {
            let inv = inv_rms(hh, eps1);
            for i in 0..n {
                s[i] = rr[i] + hh[i] * inv * w1[i];
            }
            let inv2 = inv_rms(s, eps2);
            for i in 0..n {
                o[i] = s[i] * inv2 * w2[i];
            }
        };
        let body = |x| vectorized(|| body(x));
        if len >= PAR_MIN_VALUES {
            sum.par_chunks_mut(n).zip(normed.par_chunks_mut(n)).zip(r.par_chunks(n).zip(h.par_chunks(n))).for_each(body);
        } else {
            sum.chunks_mut(n).zip(normed.chunks_mut(n)).zip(r.chunks(n).zip(h.chunks(n))).for_each(body);
        }
        let mut s2 = vec![2];
        s2.extend(shape);
        tensor(out, s2)
    }

    fn fused_norm_rope(x: FlexTensor, w: FlexTensor, cos: FlexTensor, sin: FlexTensor, pos0: usize, eps: f32, scale: f32) -> FlexTensor {
        let (mut v, shape) = host(x);
        let (w, cos, sin) = (read(&w), read(&cos), read(&sin));
        let (heads, hd) = (shape[1], shape[2]);
        let half = hd / 2;
        rows_mut(&mut v, hd, |row, o| {
            let inv = inv_rms(o, eps);
            let tb = (pos0 + row / heads) * half;
            for i in 0..half {
                let x1 = o[i] * inv * w[i];
                let x2 = o[half + i] * inv * w[half + i];
                let (c, s) = (cos[tb + i], sin[tb + i]);
                o[i] = (x1 * c - x2 * s) * scale;
                o[half + i] = (x2 * c + x1 * s) * scale;
            }
        });
        tensor(v, shape)
    }

    fn fused_geglu(g: FlexTensor, u: FlexTensor) -> FlexTensor {
        let (mut g, shape) = host(g);
        let u = read(&u);
        let body = |(a, b): (&mut [f32], &[f32])| vectorized(|| a.iter_mut().zip(b).for_each(|(a, &b)| *a = geglu1(*a, b)));
        if g.len() >= PAR_MIN_VALUES {
            g.par_chunks_mut(PAR_MIN_VALUES).zip(u.par_chunks(PAR_MIN_VALUES)).for_each(body);
        } else {
            body((&mut g, &u));
        }
        tensor(g, shape)
    }

    fn fused_gelu_tanh(x: FlexTensor) -> FlexTensor {
        let (mut v, shape) = host(x);
        let body = |a: &mut [f32]| vectorized(|| a.iter_mut().for_each(|a| *a = gelu1(*a)));
        if v.len() >= PAR_MIN_VALUES {
            v.par_chunks_mut(PAR_MIN_VALUES).for_each(body);
        } else {
            body(&mut v);
        }
        tensor(v, shape)
    }

    fn fused_softmax(x: FlexTensor) -> FlexTensor {
        let (mut v, shape) = host(x);
        let n = *shape.last().unwrap_or(&1);
        rows_mut(&mut v, n.max(1), |_, o| softmax_row(o));
        tensor(v, shape)
    }

    fn fused_decode_attention(q: FlexTensor, k: FlexTensor, v: FlexTensor, n: usize) -> FlexTensor {
        let qs = q.layout().shape().to_vec();
        let q = read(&q);
        let kd = k.layout().shape().to_vec();
        let (kv_heads, cap, hd) = (kd[0], kd[1], kd[2]);
        // The caches are read in place (contiguous buffers the model owns); a view is copied.
        let (kc, vc) = (read(&k), read(&v));
        let (kc, vc) = (&kc[..], &vc[..]);
        let heads = qs[0];
        let g = heads / kv_heads;
        let mut out = vec![0f32; heads * hd];
        let n = n.min(cap);
        let head = |(h, o): (usize, &mut [f32])| vectorized(|| {
            let qh = &q[h * hd..(h + 1) * hd];
            let base = (h / g) * cap * hd;
            let mut scores: Vec<f32> = (0..n).map(|j| dot_f32(qh, &kc[base + j * hd..base + (j + 1) * hd])).collect();
            softmax_row(&mut scores);
            for (j, p) in scores.iter().enumerate() {
                let vr = &vc[base + j * hd..base + (j + 1) * hd];
                o.iter_mut().zip(vr).for_each(|(a, &b)| *a += p * b);
            }
        });
        if heads * n * hd >= PAR_MIN_VALUES {
            out.par_chunks_mut(hd).enumerate().for_each(head);
        } else {
            out.chunks_mut(hd).enumerate().for_each(head);
        }
        tensor(out, qs)
    }

    #[allow(clippy::too_many_arguments)]
    fn fused_qkv_store(
        _q: FlexTensor,
        _k: FlexTensor,
        _v: FlexTensor,
        _offs: [usize; 3],
        _wq: FlexTensor,
        _wk: FlexTensor,
        _cos: FlexTensor,
        _sin: FlexTensor,
        _kc: FlexTensor,
        _vc: FlexTensor,
        _heads: [usize; 3],
        _slot: usize,
        _pos: usize,
        _eps: [f32; 2],
        _scale: f32,
    ) -> FlexTensor {
        // It writes the caches through shared handles, which a CPU tensor (copy-on-write)
        // cannot do; the CPU decode step stores K/V with `LayerCache::append`/`write_ring`
        // and normalizes with `fused_norm_rope` instead (`Gemma3::attention`).
        unreachable!("qkv_store is a GPU-only kernel; the CPU decode path does not call it")
    }

    fn fused_geglu_packed(gu: FlexTensor) -> FlexTensor {
        let shape = gu.layout().shape().to_vec();
        let v = read(&gu);
        let (rows, f2) = (shape[0], shape[1]);
        let f = f2 / 2;
        let mut out = vec![0f32; rows * f];
        rows_mut(&mut out, f, |r, o| {
            let row = &v[r * f2..(r + 1) * f2];
            for i in 0..f {
                o[i] = geglu1(row[i], row[f + i]);
            }
        });
        tensor(out, vec![rows, f])
    }

    fn fused_argmax(x: FlexTensor) -> FlexTensor {
        let v = read(&x);
        // The first of equal maxima, as the host's `generate::argmax`.
        let mut best = 0usize;
        for (i, &a) in v.iter().enumerate() {
            if a > v[best] {
                best = i;
            }
        }
        FlexTensor::from_data(TensorData::new(vec![best as u32], [1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Within 1.5e-7 of f64's tanh over ±30 in steps of 1e-4 and at the edges (the clamp at 9,
    /// the rounding of n, denormals, infinities); odd; exactly ±1 far out.
    #[test]
    fn tanh_fast_is_within_its_bound() {
        let mut worst = (0f64, 0f32);
        let edges = [0.0, -0.0, 1e-38, -1e-45, 0.173_286_8, 0.346_573_6, 8.999, 9.0, 9.001, f32::MAX, f32::INFINITY, f32::NEG_INFINITY];
        let grid = (-300_000..=300_000).map(|i| i as f32 * 1e-4);
        for x in grid.chain(edges) {
            let got = tanh_fast(x);
            let err = (got as f64 - (x as f64).tanh()).abs();
            if err > worst.0 {
                worst = (err, x);
            }
            assert_eq!(got.to_bits() ^ tanh_fast(-x).to_bits(), 1 << 31, "not odd at {x}");
        }
        assert!(worst.0 <= 1.5e-7, "tanh_fast off by {:.2e} at {}", worst.0, worst.1);
        assert_eq!(tanh_fast(20.0), 1.0);
        assert_eq!(tanh_fast(-1e30), -1.0);
        assert!(gelu1(f32::NAN).is_nan());
    }

    /// Within 2.5e-7 relative of f64's exp on [−87, 0] in steps of 1e-4; NaN stays NaN; below
    /// −87 (a masked score included) exactly 0, never a denormal.
    #[test]
    fn exp_neg_fast_is_within_its_bound() {
        let mut worst = (0f64, 0f32);
        for x in (0..=870_000).map(|i| -(i as f32) * 1e-4).chain([-0.0, -1e-30, -0.346_573_6, -86.999]) {
            let want = (x as f64).exp();
            let err = (exp_neg_fast(x) as f64 - want).abs() / want;
            if err > worst.0 {
                worst = (err, x);
            }
        }
        assert!(worst.0 <= 2.5e-7, "exp_neg_fast off by {:.2e} (relative) at {}", worst.0, worst.1);
        assert!(exp_neg_fast(f32::NAN).is_nan());
        assert_eq!((exp_neg_fast(-87.5), exp_neg_fast(-1e4), exp_neg_fast(f32::NEG_INFINITY)), (0.0, 0.0, 0.0));
    }

    /// GELU as transformers' `gelu_pytorch_tanh` computes it, in f64.
    #[test]
    fn gelu_matches_the_formula() {
        for i in -2000..=2000 {
            let x = i as f32 * 5e-3;
            let xd = x as f64;
            let want = 0.5 * xd * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd.powi(3))).tanh());
            assert!((gelu1(x) as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()), "gelu({x}) = {} vs {want}", gelu1(x));
        }
    }
}
