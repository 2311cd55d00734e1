//! ggml tensor types and block layouts, with plain Rust reference dequantizers.
//!
//! Layouts follow ggml (`ggml-common.h`): every block is little-endian, f16 scales are IEEE
//! half. These reference dequantizers are the ground truth every other path (GPU kernels,
//! importers) is tested against.

use half::{bf16, f16};

/// Elements per k-quant super-block.
pub const QK_K: usize = 256;
/// Elements per legacy quant block (Q4_0, Q5_0, Q8_0).
pub const QK: usize = 32;

/// ggml tensor types supported by the engine (numbering as in `ggml.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q5_0,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
    BF16,
}

impl GgmlType {
    /// Whether the GPU kernels (and the quantized paths built on them) read this format.
    pub fn has_kernel(self) -> bool {
        matches!(
            self,
            GgmlType::F16
                | GgmlType::BF16
                | GgmlType::Q4_0
                | GgmlType::Q5_0
                | GgmlType::Q8_0
                | GgmlType::Q4K
                | GgmlType::Q5K
                | GgmlType::Q6K
        )
    }

    /// Maps a ggml type id; `None` for types this engine does not read.
    pub fn from_id(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            6 => Self::Q5_0,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::BF16,
            _ => return None,
        })
    }

    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q5_0 => 6,
            Self::Q8_0 => 8,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::BF16 => 30,
        }
    }

    /// Elements per block.
    pub fn block_elems(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q5_0 | Self::Q8_0 => QK,
            Self::Q4K | Self::Q5K | Self::Q6K => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => 2 + QK / 2,          // 18
            Self::Q5_0 => 2 + 4 + QK / 2,      // 22
            Self::Q8_0 => 2 + QK,              // 34
            Self::Q4K => 2 + 2 + 12 + QK_K / 2, // 144
            Self::Q5K => 2 + 2 + 12 + QK_K / 8 + QK_K / 2, // 176
            Self::Q6K => QK_K / 2 + QK_K / 4 + QK_K / 16 + 2, // 210
        }
    }

    /// Bytes for `n` elements, `None` if `n` is not a whole number of blocks or overflows.
    pub fn bytes_for(self, n: u64) -> Option<u64> {
        let be = self.block_elems() as u64;
        if n % be != 0 {
            return None;
        }
        (n / be).checked_mul(self.block_bytes() as u64)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q5_0 => "Q5_0",
            Self::Q8_0 => "Q8_0",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::BF16 => "BF16",
        }
    }
}

#[inline]
fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Scale and min of sub-block `j` (0..8) from the 12 packed 6-bit bytes of Q4_K / Q5_K.
#[inline]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

/// Dequantizes one block of `ty` (`blk.len() == ty.block_bytes()`) into `out`
/// (`out.len() == ty.block_elems()`).
pub fn dequantize_block(ty: GgmlType, blk: &[u8], out: &mut [f32]) {
    debug_assert_eq!(blk.len(), ty.block_bytes());
    debug_assert_eq!(out.len(), ty.block_elems());
    match ty {
        GgmlType::F32 => out[0] = f32::from_le_bytes([blk[0], blk[1], blk[2], blk[3]]),
        GgmlType::F16 => out[0] = f16_at(blk, 0),
        GgmlType::BF16 => out[0] = bf16::from_le_bytes([blk[0], blk[1]]).to_f32(),
        GgmlType::Q8_0 => {
            let d = f16_at(blk, 0);
            for j in 0..QK {
                out[j] = d * (blk[2 + j] as i8) as f32;
            }
        }
        GgmlType::Q4_0 => {
            let d = f16_at(blk, 0);
            let qs = &blk[2..];
            for j in 0..QK / 2 {
                out[j] = d * ((qs[j] & 0x0F) as i32 - 8) as f32;
                out[j + QK / 2] = d * ((qs[j] >> 4) as i32 - 8) as f32;
            }
        }
        GgmlType::Q5_0 => {
            let d = f16_at(blk, 0);
            let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
            let qs = &blk[6..];
            for j in 0..QK / 2 {
                let h0 = ((qh >> j) & 1) << 4;
                let h1 = ((qh >> (j + 16)) & 1) << 4;
                out[j] = d * ((((qs[j] & 0x0F) as u32) | h0) as i32 - 16) as f32;
                out[j + QK / 2] = d * ((((qs[j] >> 4) as u32) | h1) as i32 - 16) as f32;
            }
        }
        GgmlType::Q4K => {
            let d = f16_at(blk, 0);
            let dmin = f16_at(blk, 2);
            let scales = &blk[4..16];
            let qs = &blk[16..];
            for g in 0..4 {
                let (s0, m0) = scale_min_k4(2 * g, scales);
                let (s1, m1) = scale_min_k4(2 * g + 1, scales);
                let (d0, mm0) = (d * s0 as f32, dmin * m0 as f32);
                let (d1, mm1) = (d * s1 as f32, dmin * m1 as f32);
                let q = &qs[32 * g..32 * g + 32];
                for l in 0..32 {
                    out[64 * g + l] = d0 * (q[l] & 0x0F) as f32 - mm0;
                    out[64 * g + 32 + l] = d1 * (q[l] >> 4) as f32 - mm1;
                }
            }
        }
        GgmlType::Q5K => {
            let d = f16_at(blk, 0);
            let dmin = f16_at(blk, 2);
            let scales = &blk[4..16];
            let qh = &blk[16..48];
            let qs = &blk[48..];
            for g in 0..4 {
                let (s0, m0) = scale_min_k4(2 * g, scales);
                let (s1, m1) = scale_min_k4(2 * g + 1, scales);
                let (d0, mm0) = (d * s0 as f32, dmin * m0 as f32);
                let (d1, mm1) = (d * s1 as f32, dmin * m1 as f32);
                let q = &qs[32 * g..32 * g + 32];
                let (u0, u1) = (1u8 << (2 * g), 2u8 << (2 * g));
                for l in 0..32 {
                    let h0 = if qh[l] & u0 != 0 { 16 } else { 0 };
                    let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
                    out[64 * g + l] = d0 * ((q[l] & 0x0F) + h0) as f32 - mm0;
                    out[64 * g + 32 + l] = d1 * ((q[l] >> 4) + h1) as f32 - mm1;
                }
            }
        }
        GgmlType::Q6K => {
            let ql_all = &blk[0..128];
            let qh_all = &blk[128..192];
            let sc_all = &blk[192..208];
            let d = f16_at(blk, 208);
            for n in 0..2 {
                let ql = &ql_all[64 * n..];
                let qh = &qh_all[32 * n..];
                let sc = &sc_all[8 * n..];
                let y = &mut out[128 * n..128 * n + 128];
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                    y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                    y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                    y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
                }
            }
        }
    }
}

/// Dequantizes `data` (whole blocks of `ty`) to f32. Returns `None` if `data` is not a whole
/// number of blocks.
pub fn dequantize(ty: GgmlType, data: &[u8]) -> Option<Vec<f32>> {
    let bb = ty.block_bytes();
    let be = ty.block_elems();
    if data.len() % bb != 0 {
        return None;
    }
    let nblocks = data.len() / bb;
    let mut out = vec![0f32; nblocks * be];
    use rayon::prelude::*;
    out.par_chunks_mut(be * 256.max(1))
        .zip(data.par_chunks(bb * 256))
        .for_each(|(o, d)| {
            for (ob, db) in o.chunks_mut(be).zip(d.chunks(bb)) {
                dequantize_block(ty, db, ob);
            }
        });
    Some(out)
}

#[cfg(test)]
mod tests {
    use crate::quant::testing::lcg;
    use super::*;
    use crate::quant::*;

    #[test]
    fn block_sizes_match_ggml() {
        assert_eq!(GgmlType::Q4_0.block_bytes(), 18);
        assert_eq!(GgmlType::Q5_0.block_bytes(), 22);
        assert_eq!(GgmlType::Q8_0.block_bytes(), 34);
        assert_eq!(GgmlType::Q4K.block_bytes(), 144);
        assert_eq!(GgmlType::Q5K.block_bytes(), 176);
        assert_eq!(GgmlType::Q6K.block_bytes(), 210);
    }

    #[test]
    fn q8_0_roundtrip() {
        let x: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) * 0.1).collect();
        let q = quantize_q8_0(&x).unwrap();
        let y = dequantize(GgmlType::Q8_0, &q).unwrap();
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 0.02, "{a} {b}");
        }
    }

    #[test]
    fn q4_0_roundtrip() {
        let x: Vec<f32> = (0..64).map(|i| ((i * 7 % 16) as f32 - 8.0) * 0.25).collect();
        let q = quantize_q4_0(&x).unwrap();
        let y = dequantize(GgmlType::Q4_0, &q).unwrap();
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 0.2, "{a} {b}");
        }
    }

    /// Hand-built Q4_K block: known scales/mins and nibbles give known values.
    #[test]
    fn q4_k_hand_block() {
        let mut blk = vec![0u8; 144];
        blk[0..2].copy_from_slice(&f16::from_f32(0.5).to_le_bytes());
        blk[2..4].copy_from_slice(&f16::from_f32(0.25).to_le_bytes());
        // sub-block 0: scale 3, min 2; sub-block 5: scale 0x25 (low 4 bits in byte 9, high 2 in byte 1), min 0x13
        blk[4] = 3; // scales[0] = 3
        blk[8] = 2; // scales[4] = min of sub-block 0
        blk[4 + 1] = (0x25 >> 4) << 6; // high bits of scale 5 in scales[1]
        blk[4 + 5] = (0x13 >> 4) << 6; // high bits of min 5 in scales[5]
        blk[4 + 9] = (0x25 & 0xF) | ((0x13 & 0xF) << 4);
        blk[16] = 0x7; // element 0 nibble 7; element 32 nibble 0
        blk[16 + 64 + 1] = 0x90; // group 2 (elements 128..), l=1: high nibble 9 -> element 128+32+1
        let y = dequantize(GgmlType::Q4K, &blk).unwrap();
        assert_eq!(y[0], 0.5 * 3.0 * 7.0 - 0.25 * 2.0);
        assert_eq!(y[32], 0.0); // sub-block 1 scale 0 min 0
        assert_eq!(y[161], 0.5 * 0x25 as f32 * 9.0 - 0.25 * 0x13 as f32);
    }

    /// Round trip through the reference dequantizer: the error of each value is at most half
    /// a quantization step (plus the 6-bit scale rounding), measured against the block's range.
    #[test]
    fn k_quant_roundtrips() {
        let x = lcg(QK_K * 64, 7, 0.2);
        // Bounds: one step of the format's grid (15 levels for Q4_K, 31 per sign for Q6_K):
        // half a step from rounding the value, the rest from rounding the sub-block scale to
        // its 6-bit (Q4_K) or i8 (Q6_K) multiple of the super-block scale.
        for (ty, levels) in [(GgmlType::Q4K, 15.0f32), (GgmlType::Q6K, 31.0)] {
            let q = quantize(ty, &x).unwrap();
            assert_eq!(q.len(), x.len() / QK_K * ty.block_bytes());
            let y = dequantize(ty, &q).unwrap();
            let mut worst = 0f32;
            for (xb, yb) in x.chunks(32).zip(y.chunks(32)) {
                let range = xb.iter().fold(f32::MIN, |m, &v| m.max(v)) - xb.iter().fold(f32::MAX, |m, &v| m.min(v));
                for (a, b) in xb.iter().zip(yb) {
                    worst = worst.max((a - b).abs() / range);
                }
            }
            let rmse = (x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f32>() / x.len() as f32).sqrt();
            println!("{}: worst error {worst:.4} of the sub-block range, rmse {rmse:.2e}", ty.name());
            assert!(worst <= 1.0 / levels, "{}: worst {worst}", ty.name());
        }
        // Zeros stay zeros; a constant block is exact up to f16.
        for ty in [GgmlType::Q4K, GgmlType::Q6K] {
            let z = dequantize(ty, &quantize(ty, &vec![0.0; QK_K]).unwrap()).unwrap();
            assert!(z.iter().all(|&v| v == 0.0));
        }
    }
}
