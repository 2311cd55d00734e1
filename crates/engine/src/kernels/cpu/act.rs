//! Activations quantized once per matmul, as ggml does on the CPU: every weight row is then
//! multiplied by 8-bit integers with integer dot products, and the float work is one multiply
//! per block. Q8_0 blocks (32 values) pair with Q4_0, Q5_0 and Q8_0 weights; Q8_K blocks
//! (256 values, with the sum of every 16) pair with the k-quants, whose sub-block minimums
//! and offsets are then applied through those sums.
//!
//! The scale is `amax / 127` with round-to-nearest, so each activation is off by at most
//! half a step, `amax / 254`: the error bound the kernel tests use.

use crate::quant::{QK, QK_K};

/// 32 activations as `d · q`.
#[derive(Debug, Clone, Copy)]
pub struct BlockQ8_0 {
    pub d: f32,
    pub q: [i8; QK],
}

/// 256 activations as `d · q`, with `bsums[i] = Σ q[16i..16i+16]`.
#[derive(Debug, Clone, Copy)]
pub struct BlockQ8K {
    pub d: f32,
    pub q: [i8; QK_K],
    pub bsums: [i16; QK_K / 16],
}

/// Scale and quantized values of one block (`q.len() == x.len()`).
fn quantize_into(x: &[f32], q: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if amax == 0.0 || !amax.is_finite() {
        // A row of zeros, or one already broken by an inf/NaN upstream: zeros keep the
        // integer sums defined; the NaN scale carries the breakage into the output as the f32
        // path would.
        q.fill(0);
        return if amax == 0.0 { 0.0 } else { f32::NAN };
    }
    let d = amax / 127.0;
    let id = 1.0 / d;
    for (o, &v) in q.iter_mut().zip(x) {
        *o = (v * id).round().clamp(-127.0, 127.0) as i8;
    }
    d
}

/// `x` (a multiple of 32 values) as Q8_0 blocks.
pub fn quantize_q8_0(x: &[f32]) -> Vec<BlockQ8_0> {
    debug_assert_eq!(x.len() % QK, 0);
    x.chunks_exact(QK)
        .map(|c| {
            let mut b = BlockQ8_0 { d: 0.0, q: [0; QK] };
            b.d = quantize_into(c, &mut b.q);
            b
        })
        .collect()
}

/// `x` (a multiple of 256 values) as Q8_K blocks.
pub fn quantize_q8_k(x: &[f32]) -> Vec<BlockQ8K> {
    debug_assert_eq!(x.len() % QK_K, 0);
    x.chunks_exact(QK_K)
        .map(|c| {
            let mut b = BlockQ8K { d: 0.0, q: [0; QK_K], bsums: [0; QK_K / 16] };
            b.d = quantize_into(c, &mut b.q);
            for (s, g) in b.bsums.iter_mut().zip(b.q.chunks_exact(16)) {
                *s = g.iter().map(|&v| v as i16).sum();
            }
            b
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_within_half_a_step() {
        let x: Vec<f32> = (0..QK_K * 2).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013).collect();
        for (b, c) in quantize_q8_k(&x).iter().zip(x.chunks(QK_K)) {
            let amax = c.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (q, v) in b.q.iter().zip(c) {
                assert!((b.d * *q as f32 - v).abs() <= amax / 254.0 * 1.0001);
            }
            for (s, g) in b.bsums.iter().zip(b.q.chunks(16)) {
                assert_eq!(*s as i32, g.iter().map(|&v| v as i32).sum::<i32>());
            }
        }
        for (b, c) in quantize_q8_0(&x).iter().zip(x.chunks(QK)) {
            let amax = c.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (q, v) in b.q.iter().zip(c) {
                assert!((b.d * *q as f32 - v).abs() <= amax / 254.0 * 1.0001);
            }
        }
        let z = quantize_q8_0(&[0.0; QK]);
        assert_eq!(z[0].d, 0.0);
    }
}
