//! Quantized weights on the GPU in their ggml block layout, and the CubeCL kernels that
//! dequantize them on the fly.
//!
//! Why: MedGemma-4B at Q4_K_M is ~2.5 GB; dequantized to f32 it is ~16 GB. The weights are
//! uploaded as the raw GGUF bytes (packed into `u32` words, little-endian) and every kernel
//! reads bytes out of those words, so the block structs of `crate::quant` are the only layout.
//!
//! Three kernels per format, all checked against `quant::dequantize` on random blocks
//! (`tests/qmatmul.rs`):
//! - `gemv`: `y[m, n] = Σ_k x[m, k] · W[n, k]` for a few rows of `x` (decode); a cube of
//!   [`GEMV_THREADS`] units takes 4 rows, 16 units per row, each unit summing whole 32-value
//!   groups with the group's scales decoded once, then a tree sum in shared memory. Weights
//!   are read once per row of `x`, at their quantized size.
//! - `dequant`: rows `row0..row0+rows` of `W` to f32, for prefill, where the dequantized
//!   chunk feeds burn's tiled matmul (the weight traffic is amortized over many tokens).
//! - `gather`: the rows named by `ids` to f32 (embedding lookup of a quantized table).
//!
//! A tensor is split along its rows into parts of at most [`PART_BYTES`], because wgpu limits
//! one storage binding (128 MiB by default).

use burn::backend::{backend_extension, tensor::{FloatTensor, IntTensor}, Backend, Dispatch};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use burn_cubecl::{ops::numeric::empty_device_dtype, tensor::CubeTensor, CubeBackend};
use cubecl::prelude::{CubeCount, CubeDim};

use crate::quant::GgmlType;
use kernels::{dequant_kernel, gather_part_kernel, gemv_kernel, gemv_multi_kernel, gemv_multirow_kernel, gemv_rows_kernel};

/// Units per cube of the gemv kernel (a power of two: the reduction halves it).
pub const GEMV_THREADS: u32 = 64;
/// Largest part of one quantized tensor on the device.
pub const PART_BYTES: usize = 64 << 20;
/// Output rows per unit of the per-row gemv for Q8_0, Q4_0, Q5_0, Q4_K and Q6_K (CPU adapters).
pub const GEMV_ROWS_PER_UNIT: usize = 4;
/// Rows of `x` up to which `matmul` uses the gemv kernel; above, dequantize + tiled matmul.
pub const GEMV_MAX_ROWS: usize = 8;

// Format codes for the kernels (comptime: one specialized shader per format).
const T_F16: u32 = 1;
const T_Q4_0: u32 = 2;
const T_Q5_0: u32 = 6;
const T_Q8_0: u32 = 8;
const T_Q4K: u32 = 12;
const T_Q5K: u32 = 13;
const T_Q6K: u32 = 14;
const T_BF16: u32 = 30;

// ---------------------------------------------------------------------------------------
// Kernels

// The `#[cube]` functions also exist as host stubs, where a `let mut` filled in every branch
// reads as a dead store.
#[allow(unused_assignments)]
mod kernels {
    use cubecl::prelude::*;

    use super::{T_BF16, T_F16, T_Q4K, T_Q4_0, T_Q5K, T_Q5_0, T_Q6K, T_Q8_0};

    /// Byte `b` of the little-endian byte stream packed in `w`.
    #[cube]
    fn byte_at(w: &Tensor<u32>, b: usize) -> u32 {
        let word = w[b / 4];
        let shift = ((b % 4) * 8) as u32;
        (word >> shift) & 0xFF
    }

    /// IEEE half (bits in the low 16 of `h`) to f32, subnormals included.
    #[cube]
    fn half_to_f32(h: u32) -> f32 {
        let exp = (h >> 10) & 0x1F;
        let man = h & 0x3FF;
        let mut v = 0.0f32;
        if exp == 0 {
            v = f32::cast_from(man) * 0.000000059604645f32; // man · 2^-24
        } else if exp == 31 {
            v = f32::reinterpret(0x7F80_0000u32 | (man << 13));
        } else {
            v = f32::reinterpret(((exp + 112) << 23) | (man << 13));
        }
        if (h >> 15) & 1 == 1 {
            v = -v;
        }
        v
    }

    #[cube]
    fn f16_at(w: &Tensor<u32>, b: usize) -> f32 {
        half_to_f32(byte_at(w, b) | (byte_at(w, b + 1) << 8))
    }

    /// A byte read as i8, as f32.
    #[cube]
    fn i8_at(w: &Tensor<u32>, b: usize) -> f32 {
        let q = byte_at(w, b);
        let mut v = f32::cast_from(q);
        if q >= 128 {
            v -= 256.0;
        }
        v
    }

    /// The 6-bit scale and min `j` (0..8) of a Q4_K/Q5_K super-block whose 12 scale bytes start
    /// at `s` (ggml's `get_scale_min_k4`).
    #[cube]
    fn scale_min_k4(w: &Tensor<u32>, s: usize, j: usize) -> (f32, f32) {
        let mut sc = 0u32;
        let mut m = 0u32;
        if j < 4 {
            sc = byte_at(w, s + j) & 63;
            m = byte_at(w, s + j + 4) & 63;
        } else {
            sc = (byte_at(w, s + j + 4) & 0xF) | ((byte_at(w, s + j - 4) >> 6) << 4);
            m = (byte_at(w, s + j + 4) >> 4) | ((byte_at(w, s + j) >> 6) << 4);
        }
        (f32::cast_from(sc), f32::cast_from(m))
    }

    /// Element `k` of the row whose bytes start at `rb`, for format `ty`.
    #[cube]
    fn deq(w: &Tensor<u32>, rb: usize, k: usize, #[comptime] ty: u32) -> f32 {
        let mut y = 0.0f32;
        if comptime!(ty == T_F16) {
            y = f16_at(w, rb + k * 2);
        } else if comptime!(ty == T_BF16) {
            let bits = byte_at(w, rb + k * 2) | (byte_at(w, rb + k * 2 + 1) << 8);
            y = f32::reinterpret(bits << 16);
        } else if comptime!(ty == T_Q8_0) {
            let base = rb + (k / 32) * 34;
            y = f16_at(w, base) * i8_at(w, base + 2 + k % 32);
        } else if comptime!(ty == T_Q4_0) {
            let base = rb + (k / 32) * 18;
            let j = k % 32;
            let mut q = 0u32;
            if j < 16 {
                q = byte_at(w, base + 2 + j) & 0xF;
            } else {
                q = byte_at(w, base + 2 + j - 16) >> 4;
            }
            y = f16_at(w, base) * (f32::cast_from(q) - 8.0);
        } else if comptime!(ty == T_Q5_0) {
            let base = rb + (k / 32) * 22;
            let j = k % 32;
            let mut q = 0u32;
            if j < 16 {
                q = byte_at(w, base + 6 + j) & 0xF;
            } else {
                q = byte_at(w, base + 6 + j - 16) >> 4;
            }
            // qh: 32 high bits, little-endian, bit j for element j.
            let hb = (byte_at(w, base + 2 + j / 8) >> ((j % 8) as u32)) & 1;
            y = f16_at(w, base) * (f32::cast_from(q | (hb << 4)) - 16.0);
        } else if comptime!(ty == T_Q4K) {
            let base = rb + (k / 256) * 144;
            let e = k % 256;
            let il = e / 64;
            let l = e % 64;
            let q = byte_at(w, base + 16 + il * 32 + l % 32);
            let mut nib = q & 0xF;
            if l >= 32 {
                nib = q >> 4;
            }
            let (sc, m) = scale_min_k4(w, base + 4, 2 * il + l / 32);
            y = f16_at(w, base) * sc * f32::cast_from(nib) - f16_at(w, base + 2) * m;
        } else if comptime!(ty == T_Q5K) {
            let base = rb + (k / 256) * 176;
            let e = k % 256;
            let il = e / 64;
            let l = e % 64;
            let ll = l % 32;
            let q = byte_at(w, base + 48 + il * 32 + ll);
            let mut nib = q & 0xF;
            if l >= 32 {
                nib = q >> 4;
            }
            let hb = (byte_at(w, base + 16 + ll) >> ((2 * il + l / 32) as u32)) & 1;
            let (sc, m) = scale_min_k4(w, base + 4, 2 * il + l / 32);
            y = f16_at(w, base) * sc * f32::cast_from(nib + 16 * hb) - f16_at(w, base + 2) * m;
        } else if comptime!(ty == T_Q6K) {
            let base = rb + (k / 256) * 210;
            let e = k % 256;
            let half = e / 128;
            let r = e % 128;
            let quarter = r / 32;
            let l = r % 32;
            let qlb = byte_at(w, base + half * 64 + l + (quarter % 2) * 32);
            let mut nib = qlb & 0xF;
            if quarter >= 2 {
                nib = qlb >> 4;
            }
            let hq = (byte_at(w, base + 128 + half * 32 + l) >> ((2 * quarter) as u32)) & 3;
            let sc = i8_at(w, base + 192 + half * 8 + l / 16 + 2 * quarter);
            y = f16_at(w, base + 208) * sc * (f32::cast_from(nib | (hq << 4)) - 32.0);
        }
        y
    }

    /// `Σ_{j<32} x[xo + j] · W[row, 32g + j]` for the row whose bytes start at `rb`: one
    /// 32-value group, its scales decoded once (the per-element `deq` decodes them per value).
    #[cube]
    fn dot_group(x: &Tensor<f32>, xo: usize, w: &Tensor<u32>, rb: usize, g: usize, #[comptime] ty: u32) -> f32 {
        let mut acc = 0.0f32;
        if comptime!(ty == T_Q8_0) {
            let base = rb + g * 34;
            let mut s = 0.0f32;
            for j in 0..32usize {
                s += x[xo + j] * i8_at(w, base + 2 + j);
            }
            acc = f16_at(w, base) * s;
        } else if comptime!(ty == T_Q4_0) {
            let base = rb + g * 18;
            let mut s = 0.0f32;
            for j in 0..16usize {
                let q = byte_at(w, base + 2 + j);
                s += x[xo + j] * (f32::cast_from(q & 0xF) - 8.0) + x[xo + 16 + j] * (f32::cast_from(q >> 4) - 8.0);
            }
            acc = f16_at(w, base) * s;
        } else if comptime!(ty == T_Q5_0) {
            let base = rb + g * 22;
            let qh = byte_at(w, base + 2) | (byte_at(w, base + 3) << 8) | (byte_at(w, base + 4) << 16) | (byte_at(w, base + 5) << 24);
            let mut s = 0.0f32;
            for j in 0..16usize {
                let q = byte_at(w, base + 6 + j);
                let h0 = ((qh >> (j as u32)) & 1) << 4;
                let h1 = ((qh >> ((j + 16) as u32)) & 1) << 4;
                s += x[xo + j] * (f32::cast_from((q & 0xF) | h0) - 16.0) + x[xo + 16 + j] * (f32::cast_from((q >> 4) | h1) - 16.0);
            }
            acc = f16_at(w, base) * s;
        } else if comptime!(ty == T_Q4K || ty == T_Q5K) {
            let sup = g / 8;
            let within = g % 8;
            let il = within / 2;
            let hi = within % 2;
            let mut bb = 144usize;
            if comptime!(ty == T_Q5K) {
                bb = 176usize;
            }
            let base = rb + sup * bb;
            let (sc, m) = scale_min_k4(w, base + 4, within);
            let mut qs = base + 16;
            if comptime!(ty == T_Q5K) {
                qs = base + 48;
            }
            let mut sq = 0.0f32;
            let mut sx = 0.0f32;
            for l in 0..32usize {
                let q = byte_at(w, qs + il * 32 + l);
                let mut nib = q & 0xF;
                if hi == 1 {
                    nib = q >> 4;
                }
                if comptime!(ty == T_Q5K) {
                    nib += 16 * ((byte_at(w, base + 16 + l) >> (within as u32)) & 1);
                }
                let xv = x[xo + l];
                sq += xv * f32::cast_from(nib);
                sx += xv;
            }
            acc = f16_at(w, base) * sc * sq - f16_at(w, base + 2) * m * sx;
        } else if comptime!(ty == T_Q6K) {
            let sup = g / 8;
            let within = g % 8;
            let half = within / 4;
            let quarter = within % 4;
            let base = rb + sup * 210;
            let ql = base + half * 64 + (quarter % 2) * 32;
            let qh = base + 128 + half * 32;
            let sc = base + 192 + half * 8 + 2 * quarter;
            let mut s0 = 0.0f32;
            let mut s1 = 0.0f32;
            for l in 0..32usize {
                let b = byte_at(w, ql + l);
                let mut nib = b & 0xF;
                if quarter >= 2 {
                    nib = b >> 4;
                }
                let hq = (byte_at(w, qh + l) >> ((2 * quarter) as u32)) & 3;
                let v = x[xo + l] * (f32::cast_from(nib | (hq << 4)) - 32.0);
                if l < 16 {
                    s0 += v;
                } else {
                    s1 += v;
                }
            }
            acc = f16_at(w, base + 208) * (i8_at(w, sc) * s0 + i8_at(w, sc + 1) * s1);
        } else {
            // f16 / bf16: element by element.
            for j in 0..32usize {
                acc += x[xo + j] * deq(w, rb, g * 32 + j, ty);
            }
        }
        acc
    }

    /// `out[m, n] = Σ_k x[m, k] · W[n, k]`. A cube of 64 units takes 4 rows, 16 units per
    /// row; each unit sums whole 32-value groups (scales decoded once per group), then the
    /// row's 16 partial sums are added in shared memory. `k` is a multiple of 32 (checked by
    /// the caller); a 2-D grid covers large `n`.
    #[cube(launch_unchecked)]
    pub(super) fn gemv_kernel(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        #[comptime] ty: u32,
    ) {
        let cube = (CUBE_POS_Y * CUBE_COUNT_X + CUBE_POS_X) as usize;
        coop_body(x, w, out, m, n, k, row_bytes, ld, col0, cube, ty);
    }

    /// [`gemv_kernel`]'s work for cube `cube` of its grid (also one segment of
    /// [`gemv_multi_kernel`]).
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn coop_body(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        cube: usize,
        #[comptime] ty: u32,
    ) {
        let unit = UNIT_POS as usize;
        let r = unit / 16;
        let lane = unit % 16;
        let row = cube * 4 + r;
        let valid = row < n;
        let mut sh = Shared::<[f32]>::new_slice(64usize);
        let rb = row * row_bytes;
        let groups = k / 32;
        for mi in 0..m {
            let mut acc = 0.0f32;
            if valid {
                let mut g = lane;
                while g < groups {
                    acc += dot_group(x, mi * k + g * 32, w, rb, g, ty);
                    g += 16;
                }
            }
            sh[unit] = acc;
            sync_cube();
            let mut stride = 8usize;
            while stride > 0 {
                if lane < stride {
                    let o = sh[unit + stride];
                    sh[unit] += o;
                }
                sync_cube();
                stride /= 2;
            }
            if lane == 0 && valid {
                out[mi * ld + col0 + row] = sh[unit];
            }
            sync_cube();
        }
    }

    /// The 4 bytes at byte offset `b` (any alignment) of the stream packed in `w`, as one
    /// little-endian word: one load when aligned, two and a funnel shift when not. Callers
    /// only ask for words that lie inside the stream.
    #[cube]
    fn word_at(w: &Tensor<u32>, b: usize) -> u32 {
        let i = b / 4;
        let s = ((b % 4) * 8) as u32;
        let mut v = w[i];
        if s != 0 {
            v = (v >> s) | (w[i + 1] << (32 - s));
        }
        v
    }

    /// Byte `j` (0..4) of `v` as a signed value (two's complement), as f32.
    #[cube]
    fn i8_of(v: u32, j: u32) -> f32 {
        f32::cast_from(((v >> (j * 8)) & 0xFF) ^ 0x80) - 128.0
    }

    /// Byte `k` (0..12) of the three words `s0, s1, s2`.
    #[cube]
    fn byte_of3(s0: u32, s1: u32, s2: u32, k: usize) -> u32 {
        let mut v = s0;
        if k >= 8 {
            v = s2;
        } else if k >= 4 {
            v = s1;
        }
        (v >> (((k % 4) * 8) as u32)) & 0xFF
    }

    /// The 6-bit scale and min `j` of a Q4_K/Q5_K super-block from its 12 scale bytes held in
    /// three words (ggml's `get_scale_min_k4`).
    #[cube]
    fn scale_min_words(s0: u32, s1: u32, s2: u32, j: usize) -> (f32, f32) {
        let mut sc = 0u32;
        let mut m = 0u32;
        if j < 4 {
            sc = byte_of3(s0, s1, s2, j) & 63;
            m = byte_of3(s0, s1, s2, j + 4) & 63;
        } else {
            sc = (byte_of3(s0, s1, s2, j + 4) & 0xF) | ((byte_of3(s0, s1, s2, j - 4) >> 6) << 4);
            m = (byte_of3(s0, s1, s2, j + 4) >> 4) | ((byte_of3(s0, s1, s2, j) >> 6) << 4);
        }
        (f32::cast_from(sc), f32::cast_from(m))
    }

    /// `Σ_j x[xo + j] · W[block at byte bb]_j` over one whole block of the formats the
    /// single-row kernel serves (Q5_K, 256 values; f16/bf16, 32 values as a block; the
    /// others go to [`gemv_multirow_kernel`]). Weights are read a word at a time; every `x`
    /// index is the same for all units of a cube (they own different rows).
    #[cube]
    fn dot_block(x: &Tensor<f32>, xo: usize, w: &Tensor<u32>, bb: usize, #[comptime] ty: u32) -> f32 {
        let mut acc = 0.0f32;
        if comptime!(ty == T_Q5K) {
            let dm = word_at(w, bb);
            let d = half_to_f32(dm & 0xFFFF);
            let dmin = half_to_f32(dm >> 16);
            let s0 = word_at(w, bb + 4);
            let s1 = word_at(w, bb + 8);
            let s2 = word_at(w, bb + 12);
            let qs = bb + 48;
            for il in 0..4usize {
                // Groups 2·il (low nibbles) and 2·il + 1 (high nibbles) share 32 quant bytes.
                let mut sq0 = 0.0f32;
                let mut sq1 = 0.0f32;
                let mut sx0 = 0.0f32;
                let mut sx1 = 0.0f32;
                let xg = xo + il * 64;
                for j in 0..8usize {
                    let q = word_at(w, qs + il * 32 + 4 * j);
                    let h = word_at(w, bb + 16 + 4 * j);
                    for b in 0..4u32 {
                        let sh = b * 8;
                        let hb = (h >> sh) & 0xFF;
                        let v0 = ((q >> sh) & 0xF) + 16 * ((hb >> (2 * il) as u32) & 1);
                        let v1 = ((q >> (sh + 4)) & 0xF) + 16 * ((hb >> (2 * il + 1) as u32) & 1);
                        let i = xg + 4 * j + b as usize;
                        let xa = x[i];
                        let xb = x[i + 32];
                        sq0 += xa * f32::cast_from(v0);
                        sq1 += xb * f32::cast_from(v1);
                        sx0 += xa;
                        sx1 += xb;
                    }
                }
                let (sc0, m0) = scale_min_words(s0, s1, s2, 2 * il);
                let (sc1, m1) = scale_min_words(s0, s1, s2, 2 * il + 1);
                acc += d * sc0 * sq0 - dmin * m0 * sx0 + d * sc1 * sq1 - dmin * m1 * sx1;
            }
        } else if comptime!(ty == T_F16) {
            for j in 0..16usize {
                let v = word_at(w, bb + 4 * j);
                acc += x[xo + 2 * j] * half_to_f32(v & 0xFFFF) + x[xo + 2 * j + 1] * half_to_f32(v >> 16);
            }
        } else {
            // bf16
            for j in 0..16usize {
                let v = word_at(w, bb + 4 * j);
                acc += x[xo + 2 * j] * f32::reinterpret(v << 16) + x[xo + 2 * j + 1] * f32::reinterpret(v & 0xFFFF_0000);
            }
        }
        acc
    }

    /// `out[m, n] = Σ_k x[m, k] · W[n, k]` with one unit per output row, each walking its row
    /// block by block, no shared memory and no barrier. For CPU adapters (lavapipe): there the
    /// units of a cube are SIMD lanes, so the `x` loads (the same address on every lane) are
    /// one broadcast and the weight words one gather; the cooperative [`gemv_kernel`] spends
    /// its time on per-byte loads and barriers instead.
    #[cube(launch_unchecked)]
    pub(super) fn gemv_rows_kernel(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        #[comptime] ty: u32,
    ) {
        let cube = (CUBE_POS_Y * CUBE_COUNT_X + CUBE_POS_X) as usize;
        rows_body(x, w, out, m, n, k, row_bytes, ld, col0, cube, ty);
    }

    /// [`gemv_rows_kernel`]'s work for cube `cube` of its grid.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn rows_body(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        cube: usize,
        #[comptime] ty: u32,
    ) {
        // Q5_K walks 256-value blocks of 176 bytes; f16/bf16 32 values (64 bytes) at a time.
        let mut block_elems = 32usize;
        let mut block_bytes = 64usize;
        if comptime!(ty == T_Q5K) {
            block_elems = 256usize;
            block_bytes = 176usize;
        }
        let row = cube * 64 + UNIT_POS as usize;
        if row < n {
            let rb = row * row_bytes;
            let blocks = k / block_elems;
            for mi in 0..m {
                let mut acc = 0.0f32;
                for b in 0..blocks {
                    acc += dot_block(x, mi * k + b * block_elems, w, rb + b * block_bytes, ty);
                }
                out[mi * ld + col0 + row] = acc;
            }
        }
    }

    /// [`gemv_rows_kernel`] with `nr` rows per unit, for the formats that carry most decode
    /// bytes (Q8_0, Q4_0, Q5_0, Q4_K, Q6_K): every `x` value is loaded once for the unit's `nr` rows (on
    /// a CPU adapter those loads, not the weights, were most of the time), and for the
    /// k-quants the activation sums behind the `min` terms are shared too. Rows past `n` read
    /// row `n - 1` and write nothing.
    #[cube(launch_unchecked)]
    pub(super) fn gemv_multirow_kernel(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        #[comptime] ty: u32,
        #[comptime] nr: usize,
    ) {
        let cube = (CUBE_POS_Y * CUBE_COUNT_X + CUBE_POS_X) as usize;
        multirow_body(x, w, out, m, n, k, row_bytes, ld, col0, cube, ty, nr);
    }

    /// [`gemv_multirow_kernel`]'s work for cube `cube` of its grid.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn multirow_body(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        cube: usize,
        #[comptime] ty: u32,
        #[comptime] nr: usize,
    ) {
        let base = cube * 64 * nr + UNIT_POS as usize;
        if base < n {
            let mut rb = Array::<usize>::new(nr);
            #[unroll]
            for r in 0..nr {
                let mut row = base + r * 64;
                if row >= n {
                    row = n - 1;
                }
                rb[r] = row * row_bytes;
            }
            for mi in 0..m {
                let mut acc = Array::<f32>::new(nr);
                #[unroll]
                for r in 0..nr {
                    acc[r] = 0.0;
                }
                let xo0 = mi * k;
                if comptime!(ty == T_Q8_0) {
                    let blocks = k / 32;
                    for b in 0..blocks {
                        let mut s = Array::<f32>::new(nr);
                        #[unroll]
                        for r in 0..nr {
                            s[r] = 0.0;
                        }
                        for j in 0..8usize {
                            let xb = xo0 + b * 32 + 4 * j;
                            let x0 = x[xb];
                            let x1 = x[xb + 1];
                            let x2 = x[xb + 2];
                            let x3 = x[xb + 3];
                            #[unroll]
                            for r in 0..nr {
                                let q = word_at(w, rb[r] + b * 34 + 2 + 4 * j);
                                s[r] += x0 * i8_of(q, 0) + x1 * i8_of(q, 1) + x2 * i8_of(q, 2) + x3 * i8_of(q, 3);
                            }
                        }
                        #[unroll]
                        for r in 0..nr {
                            acc[r] += half_to_f32(word_at(w, rb[r] + b * 34) & 0xFFFF) * s[r];
                        }
                    }
                } else if comptime!(ty == T_Q4_0 || ty == T_Q5_0) {
                    let mut bbytes = 18usize;
                    let mut qo = 2usize;
                    let mut bias = 8.0f32;
                    if comptime!(ty == T_Q5_0) {
                        bbytes = 22usize;
                        qo = 6usize;
                        bias = 16.0f32;
                    }
                    let blocks = k / 32;
                    for b in 0..blocks {
                        let mut s = Array::<f32>::new(nr);
                        let mut qh = Array::<u32>::new(nr);
                        #[unroll]
                        for r in 0..nr {
                            s[r] = 0.0;
                            qh[r] = 0u32;
                            if comptime!(ty == T_Q5_0) {
                                qh[r] = word_at(w, rb[r] + b * bbytes + 2);
                            }
                        }
                        for j in 0..4usize {
                            let mut qw = Array::<u32>::new(nr);
                            #[unroll]
                            for r in 0..nr {
                                qw[r] = word_at(w, rb[r] + b * bbytes + qo + 4 * j);
                            }
                            for bt in 0..4u32 {
                                let e = (4 * j) as u32 + bt;
                                let i = xo0 + b * 32 + e as usize;
                                let x0 = x[i];
                                let x1 = x[i + 16];
                                let sh = bt * 8;
                                #[unroll]
                                for r in 0..nr {
                                    let byte = (qw[r] >> sh) & 0xFF;
                                    let mut v0 = byte & 0xF;
                                    let mut v1 = byte >> 4;
                                    if comptime!(ty == T_Q5_0) {
                                        v0 |= ((qh[r] >> e) & 1) << 4;
                                        v1 |= ((qh[r] >> (e + 16)) & 1) << 4;
                                    }
                                    s[r] += x0 * (f32::cast_from(v0) - bias) + x1 * (f32::cast_from(v1) - bias);
                                }
                            }
                        }
                        #[unroll]
                        for r in 0..nr {
                            acc[r] += half_to_f32(word_at(w, rb[r] + b * bbytes) & 0xFFFF) * s[r];
                        }
                    }
                } else if comptime!(ty == T_Q4K) {
                    let blocks = k / 256;
                    for b in 0..blocks {
                        let xo = xo0 + b * 256;
                        for il in 0..4usize {
                            let mut sq0 = Array::<f32>::new(nr);
                            let mut sq1 = Array::<f32>::new(nr);
                            #[unroll]
                            for r in 0..nr {
                                sq0[r] = 0.0;
                                sq1[r] = 0.0;
                            }
                            let mut sx0 = 0.0f32;
                            let mut sx1 = 0.0f32;
                            for j in 0..8usize {
                                let mut qw = Array::<u32>::new(nr);
                                #[unroll]
                                for r in 0..nr {
                                    qw[r] = word_at(w, rb[r] + b * 144 + 16 + il * 32 + 4 * j);
                                }
                                for bt in 0..4u32 {
                                    let i = xo + il * 64 + 4 * j + bt as usize;
                                    let xa = x[i];
                                    let xb = x[i + 32];
                                    sx0 += xa;
                                    sx1 += xb;
                                    let sh = bt * 8;
                                    #[unroll]
                                    for r in 0..nr {
                                        let q = qw[r] >> sh;
                                        sq0[r] += xa * f32::cast_from(q & 0xF);
                                        sq1[r] += xb * f32::cast_from((q >> 4) & 0xF);
                                    }
                                }
                            }
                            #[unroll]
                            for r in 0..nr {
                                let bb = rb[r] + b * 144;
                                let dm = word_at(w, bb);
                                let d = half_to_f32(dm & 0xFFFF);
                                let dmin = half_to_f32(dm >> 16);
                                let s0 = word_at(w, bb + 4);
                                let s1 = word_at(w, bb + 8);
                                let s2 = word_at(w, bb + 12);
                                let (sc0, m0) = scale_min_words(s0, s1, s2, 2 * il);
                                let (sc1, m1) = scale_min_words(s0, s1, s2, 2 * il + 1);
                                acc[r] += d * sc0 * sq0[r] - dmin * m0 * sx0 + d * sc1 * sq1[r] - dmin * m1 * sx1;
                            }
                        }
                    }
                } else {
                    // Q6_K
                    let blocks = k / 256;
                    for b in 0..blocks {
                        for half in 0..2usize {
                            let xh = xo0 + b * 256 + half * 128;
                            for is in 0..2usize {
                                let mut s1 = Array::<f32>::new(nr);
                                let mut s2 = Array::<f32>::new(nr);
                                let mut s3 = Array::<f32>::new(nr);
                                let mut s4 = Array::<f32>::new(nr);
                                #[unroll]
                                for r in 0..nr {
                                    s1[r] = 0.0;
                                    s2[r] = 0.0;
                                    s3[r] = 0.0;
                                    s4[r] = 0.0;
                                }
                                for j in 0..4usize {
                                    let l0 = is * 16 + 4 * j;
                                    let mut qa = Array::<u32>::new(nr);
                                    let mut qb = Array::<u32>::new(nr);
                                    let mut hh = Array::<u32>::new(nr);
                                    #[unroll]
                                    for r in 0..nr {
                                        let bb = rb[r] + b * 210;
                                        qa[r] = word_at(w, bb + half * 64 + l0);
                                        qb[r] = word_at(w, bb + half * 64 + 32 + l0);
                                        hh[r] = word_at(w, bb + 128 + half * 32 + l0);
                                    }
                                    for bt in 0..4u32 {
                                        let l = l0 + bt as usize;
                                        let xa = x[xh + l];
                                        let xb = x[xh + l + 32];
                                        let xc = x[xh + l + 64];
                                        let xd = x[xh + l + 96];
                                        let sh = bt * 8;
                                        #[unroll]
                                        for r in 0..nr {
                                            let a = (qa[r] >> sh) & 0xFF;
                                            let c = (qb[r] >> sh) & 0xFF;
                                            let h = (hh[r] >> sh) & 0xFF;
                                            s1[r] += xa * (f32::cast_from((a & 0xF) | ((h & 3) << 4)) - 32.0);
                                            s2[r] += xb * (f32::cast_from((c & 0xF) | (((h >> 2) & 3) << 4)) - 32.0);
                                            s3[r] += xc * (f32::cast_from((a >> 4) | (((h >> 4) & 3) << 4)) - 32.0);
                                            s4[r] += xd * (f32::cast_from((c >> 4) | (((h >> 6) & 3) << 4)) - 32.0);
                                        }
                                    }
                                }
                                #[unroll]
                                for r in 0..nr {
                                    let bb = rb[r] + b * 210;
                                    let d = half_to_f32(word_at(w, bb + 206) >> 16);
                                    let sc = word_at(w, bb + 192 + half * 8 + is);
                                    let sc2 = word_at(w, bb + 192 + half * 8 + is + 4);
                                    acc[r] += d * (i8_of(sc, 0) * s1[r] + i8_of(sc, 2) * s2[r] + i8_of(sc2, 0) * s3[r] + i8_of(sc2, 2) * s4[r]);
                                }
                            }
                        }
                    }
                }
                #[unroll]
                for r in 0..nr {
                    let row = base + r * 64;
                    if row < n {
                        out[mi * ld + col0 + row] = acc[r];
                    }
                }
            }
        }
    }

    /// One segment of [`gemv_multi_kernel`]: the kernel a single matrix of format `ty` would
    /// take (`coop`: the cooperative one), for cube `cube` of that matrix's own grid.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn segment(
        x: &Tensor<f32>,
        w: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        n: usize,
        k: usize,
        row_bytes: usize,
        ld: usize,
        col0: usize,
        cube: usize,
        #[comptime] ty: u32,
        #[comptime] coop: bool,
        #[comptime] nr: usize,
    ) {
        if comptime!(coop) {
            coop_body(x, w, out, m, n, k, row_bytes, ld, col0, cube, ty);
        } else if comptime!(ty == T_Q5K || ty == T_F16 || ty == T_BF16) {
            rows_body(x, w, out, m, n, k, row_bytes, ld, col0, cube, ty);
        } else {
            multirow_body(x, w, out, m, n, k, row_bytes, ld, col0, cube, ty, nr);
        }
    }

    /// Two or three matrices that read the same `x` (q/k/v, gate/up) in one launch: their
    /// outputs side by side in `out` (`[m, n0 + n1 + n2]`). Cubes `0..c1` run matrix 0,
    /// `c1..c2` matrix 1, the rest matrix 2, each with the kernel its own format takes, so
    /// the formats may differ (llama.cpp's Q4_K_M keeps `attn_v` in Q6_K beside Q4_K q/k).
    #[cube(launch_unchecked)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemv_multi_kernel(
        x: &Tensor<f32>,
        w0: &Tensor<u32>,
        w1: &Tensor<u32>,
        w2: &Tensor<u32>,
        out: &mut Tensor<f32>,
        m: usize,
        k: usize,
        ld: usize,
        n0: usize,
        n1: usize,
        n2: usize,
        rb0: usize,
        rb1: usize,
        rb2: usize,
        c1: usize,
        c2: usize,
        #[comptime] ty0: u32,
        #[comptime] ty1: u32,
        #[comptime] ty2: u32,
        #[comptime] three: bool,
        #[comptime] coop: bool,
        #[comptime] nr: usize,
    ) {
        let cube = (CUBE_POS_Y * CUBE_COUNT_X + CUBE_POS_X) as usize;
        if cube < c1 {
            segment(x, w0, out, m, n0, k, rb0, ld, 0, cube, ty0, coop, nr);
        } else if cube < c2 {
            segment(x, w1, out, m, n1, k, rb1, ld, n0, cube - c1, ty1, coop, nr);
        } else if comptime!(three) {
            segment(x, w2, out, m, n2, k, rb2, ld, n0 + n1, cube - c2, ty2, coop, nr);
        }
    }

    /// Rows `ids` of the part holding rows `row0..row0 + rows` of a table, times `scale`
    /// (Gemma's `sqrt(hidden)`), into `out [ids, k]`; ids outside the part are left to the
    /// launch for their own part. The ids stay on the device (the token a decode step chose).
    #[cube(launch_unchecked)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gather_part_kernel(
        w: &Tensor<u32>,
        ids: &Tensor<u32>,
        out: &mut Tensor<f32>,
        n_ids: usize,
        k: usize,
        row0: usize,
        rows: usize,
        row_bytes: usize,
        scale: f32,
        #[comptime] ty: u32,
    ) {
        let i = ABSOLUTE_POS;
        if i >= n_ids * k {
            terminate!();
        }
        let id = ids[i / k] as usize;
        if id >= row0 && id < row0 + rows {
            out[i] = deq(w, (id - row0) * row_bytes, i % k, ty) * scale;
        }
    }

    /// `out[r, c] = W[row0 + r, c]` (or `W[ids[r], c]` when `gather`), one unit per element.
    #[cube(launch_unchecked)]
    pub(super) fn dequant_kernel(
        w: &Tensor<u32>,
        ids: &Tensor<u32>,
        out: &mut Tensor<f32>,
        rows: usize,
        k: usize,
        row0: usize,
        row_bytes: usize,
        #[comptime] ty: u32,
        #[comptime] gather: bool,
    ) {
        let i = ABSOLUTE_POS;
        if i >= rows * k {
            terminate!();
        }
        let r = i / k;
        let c = i % k;
        let mut src = row0 + r;
        if comptime!(gather) {
            src = ids[r] as usize;
        }
        out[i] = deq(w, src * row_bytes, c, ty);
    }
}

// ---------------------------------------------------------------------------------------
// burn extension: the kernels as backend operations on `Tensor`s

/// Quantized operations; implemented for burn's CubeCL backend (wgpu) here and for its CPU
/// backend (Flex) in `kernels::cpu`.
#[backend_extension(Cube, Flex)]
pub trait GgmlOps: Backend {
    /// `x [m, k]` times the `[n, k]` quantized matrix in `w`, transposed: `[m, n]`; `per_row`
    /// picks the one-unit-per-row kernel (CPU adapters) over the cooperative one.
    fn ggml_gemv(x: FloatTensor<Self>, w: IntTensor<Self>, ty: u32, n: usize, k: usize, per_row: bool) -> FloatTensor<Self>;
    /// The same product written into columns `col0..col0+n` of `out` (`[m, ld]`), which is
    /// returned: the parts of a split matrix (the LM head) fill one output with no copy.
    #[allow(clippy::too_many_arguments)]
    fn ggml_gemv_into(
        x: FloatTensor<Self>,
        w: IntTensor<Self>,
        out: FloatTensor<Self>,
        ty: u32,
        n: usize,
        k: usize,
        per_row: bool,
        col0: usize,
    ) -> FloatTensor<Self>;
    /// Rows `row0..row0+rows` of the quantized matrix, `[rows, k]` f32.
    fn ggml_dequant(w: IntTensor<Self>, ty: u32, row0: usize, rows: usize, k: usize) -> FloatTensor<Self>;
    /// Rows `ids` (u32) of the quantized matrix, `[ids.len(), k]` f32.
    fn ggml_gather(w: IntTensor<Self>, ids: IntTensor<Self>, ty: u32, k: usize) -> FloatTensor<Self>;
    /// `x [m, k]` times two or three `[n_i, k]` matrices (`n2 == 0`: two), transposed, side
    /// by side in one `[m, n0 + n1 + n2]` output, in one launch.
    #[allow(clippy::too_many_arguments)]
    fn ggml_gemv_multi(
        x: FloatTensor<Self>,
        w0: IntTensor<Self>,
        w1: IntTensor<Self>,
        w2: IntTensor<Self>,
        tys: [u32; 3],
        ns: [usize; 3],
        k: usize,
        per_row: bool,
    ) -> FloatTensor<Self>;
    /// Fills the rows of `out` (`[ids, k]`) whose id (u32, on the device) falls in the part
    /// `w` (rows `row0..row0 + rows`), times `scale`; returns `out`.
    #[allow(clippy::too_many_arguments)]
    fn ggml_gather_part_into(
        w: IntTensor<Self>,
        ids: IntTensor<Self>,
        out: FloatTensor<Self>,
        ty: u32,
        k: usize,
        row0: usize,
        rows: usize,
        scale: f32,
    ) -> FloatTensor<Self>;
}

/// Cubes the per-format gemv grid takes for `n` rows (see `ggml_gemv_into`).
fn gemv_cubes(ty: u32, n: usize, per_row: bool) -> usize {
    if !per_row {
        n.div_ceil(4)
    } else if matches!(ty, T_Q8_0 | T_Q4_0 | T_Q5_0 | T_Q4K | T_Q6K) {
        n.div_ceil(64 * GEMV_ROWS_PER_UNIT)
    } else {
        n.div_ceil(64)
    }
}

fn row_bytes(ty: u32, k: usize) -> usize {
    let t = GgmlType::from_id(ty).expect("format code checked by QTensor");
    k / t.block_elems() * t.block_bytes()
}

pub(crate) fn contiguous(t: CubeTensor) -> CubeTensor {
    if t.is_contiguous() {
        t
    } else {
        burn_cubecl::kernel::into_contiguous(t)
    }
}

/// Launches `$kernel` specialized for the runtime format code `$ty`.
macro_rules! per_format {
    ($ty:expr, $launch:ident) => {
        match $ty {
            T_F16 => $launch!(T_F16),
            T_BF16 => $launch!(T_BF16),
            T_Q4_0 => $launch!(T_Q4_0),
            T_Q5_0 => $launch!(T_Q5_0),
            T_Q8_0 => $launch!(T_Q8_0),
            T_Q4K => $launch!(T_Q4K),
            T_Q5K => $launch!(T_Q5K),
            T_Q6K => $launch!(T_Q6K),
            other => panic!("ggml format {other} has no GPU kernel"),
        }
    };
}

impl GgmlOps for CubeBackend {
    fn ggml_gemv(x: CubeTensor, w: CubeTensor, ty: u32, n: usize, k: usize, per_row: bool) -> CubeTensor {
        let m = x.meta.shape().dims::<2>()[0];
        let out = empty_device_dtype(x.client.clone(), x.device.clone(), [m, n].into(), DType::F32);
        Self::ggml_gemv_into(x, w, out, ty, n, k, per_row, 0)
    }

    fn ggml_gemv_into(x: CubeTensor, w: CubeTensor, out: CubeTensor, ty: u32, n: usize, k: usize, per_row: bool, col0: usize) -> CubeTensor {
        let x = contiguous(x);
        let m = x.meta.shape().dims::<2>()[0];
        let ld = out.meta.shape().dims::<2>()[1];
        let client = x.client.clone();
        let rb = row_bytes(ty, k);
        if per_row && matches!(ty, T_Q8_0 | T_Q4_0 | T_Q5_0 | T_Q4K | T_Q6K) {
            let cubes = n.div_ceil(64 * GEMV_ROWS_PER_UNIT);
            let (cx, cy) = (cubes.min(65_535) as u32, cubes.div_ceil(65_535) as u32);
            macro_rules! launch {
                ($t:expr) => {
                    unsafe {
                        gemv_multirow_kernel::launch_unchecked(
                            &client,
                            CubeCount::new_2d(cx, cy),
                            CubeDim::new_1d(64),
                            x.clone().into_tensor_arg(),
                            w.clone().into_tensor_arg(),
                            out.clone().into_tensor_arg(),
                            m,
                            n,
                            k,
                            rb,
                            ld,
                            col0,
                            $t,
                            GEMV_ROWS_PER_UNIT,
                        )
                    }
                };
            }
            match ty {
                T_Q8_0 => launch!(T_Q8_0),
                T_Q4_0 => launch!(T_Q4_0),
                T_Q5_0 => launch!(T_Q5_0),
                T_Q4K => launch!(T_Q4K),
                _ => launch!(T_Q6K),
            }
            return out;
        }
        if per_row {
            let cubes = n.div_ceil(64);
            let (cx, cy) = (cubes.min(65_535) as u32, cubes.div_ceil(65_535) as u32);
            macro_rules! launch {
                ($t:expr) => {{
                    unsafe {
                        gemv_rows_kernel::launch_unchecked(
                            &client,
                            CubeCount::new_2d(cx, cy),
                            CubeDim::new_1d(64),
                            x.clone().into_tensor_arg(),
                            w.clone().into_tensor_arg(),
                            out.clone().into_tensor_arg(),
                            m,
                            n,
                            k,
                            rb,
                            ld,
                            col0,
                            $t,
                        )
                    }
                }};
            }
            // Q8_0, Q4_0, Q5_0, Q4_K and Q6_K took the multi-row kernel above.
            match ty {
                T_Q5K => launch!(T_Q5K),
                T_F16 => launch!(T_F16),
                T_BF16 => launch!(T_BF16),
                other => panic!("ggml format {other} has no GPU kernel"),
            }
            return out;
        }
        let cubes = n.div_ceil(4);
        let cx = cubes.min(65_535) as u32;
        let cy = cubes.div_ceil(65_535) as u32;
        macro_rules! launch {
            ($t:expr) => {
                unsafe {
                    gemv_kernel::launch_unchecked(
                        &client,
                        CubeCount::new_2d(cx, cy),
                        CubeDim::new_1d(GEMV_THREADS),
                        x.clone().into_tensor_arg(),
                        w.clone().into_tensor_arg(),
                        out.clone().into_tensor_arg(),
                        m,
                        n,
                        k,
                        rb,
                        ld,
                        col0,
                        $t,
                    )
                }
            };
        }
        per_format!(ty, launch);
        out
    }

    fn ggml_dequant(w: CubeTensor, ty: u32, row0: usize, rows: usize, k: usize) -> CubeTensor {
        // `ids` is unused when not gathering; any u32 tensor binds.
        let ids = w.clone();
        dequant(w, ids, ty, row0, rows, k, false)
    }

    fn ggml_gather(w: CubeTensor, ids: CubeTensor, ty: u32, k: usize) -> CubeTensor {
        let ids = contiguous(ids);
        let rows = ids.meta.shape().num_elements();
        dequant(w, ids, ty, 0, rows, k, true)
    }

    fn ggml_gemv_multi(x: CubeTensor, w0: CubeTensor, w1: CubeTensor, w2: CubeTensor, tys: [u32; 3], ns: [usize; 3], k: usize, per_row: bool) -> CubeTensor {
        let x = contiguous(x);
        let m = x.meta.shape().dims::<2>()[0];
        let three = ns[2] > 0;
        let ld = ns.iter().sum::<usize>();
        let client = x.client.clone();
        let out = empty_device_dtype(client.clone(), x.device.clone(), [m, ld].into(), DType::F32);
        let c1 = gemv_cubes(tys[0], ns[0], per_row);
        let c2 = c1 + gemv_cubes(tys[1], ns[1], per_row);
        let cubes = c2 + if three { gemv_cubes(tys[2], ns[2], per_row) } else { 0 };
        let (cx, cy) = (cubes.min(65_535) as u32, cubes.div_ceil(65_535) as u32);
        let rb = |i: usize| if ns[i] > 0 { row_bytes(tys[i], k) } else { 0 };
        unsafe {
            gemv_multi_kernel::launch_unchecked(
                &client,
                CubeCount::new_2d(cx, cy),
                CubeDim::new_1d(GEMV_THREADS),
                x.clone().into_tensor_arg(),
                w0.into_tensor_arg(),
                w1.into_tensor_arg(),
                w2.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                m,
                k,
                ld,
                ns[0],
                ns[1],
                ns[2],
                rb(0),
                rb(1),
                rb(2),
                c1,
                c2,
                tys[0],
                tys[1],
                if three { tys[2] } else { tys[1] },
                three,
                !per_row,
                GEMV_ROWS_PER_UNIT,
            )
        };
        out
    }

    fn ggml_gather_part_into(w: CubeTensor, ids: CubeTensor, out: CubeTensor, ty: u32, k: usize, row0: usize, rows: usize, scale: f32) -> CubeTensor {
        let ids = contiguous(ids);
        let n_ids = ids.meta.shape().num_elements();
        let total = n_ids * k;
        let cubes = total.div_ceil(256);
        let rb = row_bytes(ty, k);
        unsafe {
            gather_part_kernel::launch_unchecked(
                &w.client.clone(),
                CubeCount::new_2d(cubes.min(65_535) as u32, cubes.div_ceil(65_535).max(1) as u32),
                CubeDim::new_1d(256),
                w.into_tensor_arg(),
                ids.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                n_ids,
                k,
                row0,
                rows,
                rb,
                scale,
                ty,
            )
        };
        out
    }
}

fn dequant(w: CubeTensor, ids: CubeTensor, ty: u32, row0: usize, rows: usize, k: usize, gather: bool) -> CubeTensor {
    let client = w.client.clone();
    let out = empty_device_dtype(client.clone(), w.device.clone(), [rows, k].into(), DType::F32);
    let total = rows * k;
    let dim = 256u32;
    let cubes = total.div_ceil(dim as usize);
    let cx = cubes.min(65_535) as u32;
    let cy = cubes.div_ceil(65_535) as u32;
    let rb = row_bytes(ty, k);
    macro_rules! launch {
        ($t:expr) => {
            unsafe {
                dequant_kernel::launch_unchecked(
                    &client,
                    CubeCount::new_2d(cx, cy),
                    CubeDim::new_1d(dim),
                    w.clone().into_tensor_arg(),
                    ids.clone().into_tensor_arg(),
                    out.clone().into_tensor_arg(),
                    rows,
                    k,
                    row0,
                    rb,
                    $t,
                    gather,
                )
            }
        };
    }
    per_format!(ty, launch);
    out
}

// ---------------------------------------------------------------------------------------
// QTensor: a quantized `[rows, cols]` matrix on the device

/// One part of a quantized matrix: rows `row0..row0+rows`, raw ggml bytes as `u32` words.
#[derive(Debug, Clone)]
struct Part {
    row0: usize,
    rows: usize,
    words: Tensor<1, Int>,
}

/// A `[rows, cols]` matrix kept on the device in its ggml block layout.
#[derive(Debug, Clone)]
pub struct QTensor {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    parts: Vec<Part>,
    /// Which gemv kernel decode uses: one unit per row on CPU adapters, cooperative on GPUs
    /// (`crate::device::gemv_per_row`).
    pub per_row: bool,
    /// On burn's CPU backend: one part, and every product (any number of rows of `x`) runs
    /// the CPU kernels, which never dequantize a whole weight.
    host: bool,
    /// The file the one part reads in place ([`Self::from_mapped`]).
    mapped: Option<crate::formats::gguf::MappedTensor>,
}

impl QTensor {
    /// Uploads `bytes` (ggml blocks, row-major `[rows, cols]`). The caller has validated
    /// `bytes.len() == rows * row_bytes`; `cols` must be a whole number of blocks.
    pub fn upload(ty: GgmlType, rows: usize, cols: usize, bytes: &[u8], device: &Device) -> crate::Result<Self> {
        // wgpu caps one storage binding; the CPU has no such limit.
        let part = if crate::device::is_cube(device) { PART_BYTES } else { usize::MAX };
        Self::upload_parts(ty, rows, cols, bytes, device, part)
    }

    /// A weight for burn's CPU backend that stays where it is in a mapped file: its one part
    /// is a `u32` tensor over the file's bytes, no copy. `None` when the bytes cannot be read
    /// as `u32` words in place (a length or address not a multiple of 4: GGUF aligns its
    /// tensors to 32 bytes, so only a hand-made file), or on a GPU: then [`upload`](Self::upload).
    pub fn from_mapped(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        m: crate::formats::gguf::MappedTensor,
        device: &Device,
    ) -> crate::Result<Option<Self>> {
        let b = m.as_ref();
        if crate::device::is_cube(device) || b.len() % 4 != 0 || b.as_ptr() as usize % 4 != 0 {
            return Ok(None);
        }
        Self::check(ty, rows, cols, b.len())?;
        let words = b.len() / 4;
        let shared = burn::tensor::Bytes::from_shared(bytes::Bytes::from_owner(m.clone()), burn::tensor::AllocationProperty::File);
        let t = Tensor::<1, Int>::from_data(TensorData::from_bytes(shared, [words], DType::U32), (device, DType::U32));
        Ok(Some(Self { ty, rows, cols, parts: vec![Part { row0: 0, rows, words: t }], per_row: crate::device::gemv_per_row(device), host: true, mapped: Some(m) }))
    }

    /// Whether `ty` blocks of `[rows, cols]` are `len` bytes the kernels take.
    fn check(ty: GgmlType, rows: usize, cols: usize, len: usize) -> crate::Result<()> {
        let be = ty.block_elems();
        if !ty.has_kernel() || cols % be != 0 || rows == 0 {
            return Err(crate::EngineError::Unsupported(format!(
                "{} matrix [{rows}, {cols}] in the quantized kernels",
                ty.name()
            )));
        }
        let rb = cols / be * ty.block_bytes();
        if len != rows * rb {
            return Err(crate::EngineError::Unsupported(format!(
                "{} matrix [{rows}, {cols}] needs {} bytes, got {len}",
                ty.name(),
                rows * rb,
            )));
        }
        Ok(())
    }

    /// Whether the weight is a view of a mapped file (CPU weights from
    /// [`from_mapped`](Self::from_mapped)), not a copy.
    pub fn file_backed(&self) -> bool {
        self.mapped.is_some()
    }

    /// For a weight read in place from a mapped file: lets its pages go from the resident
    /// set until the next product touches them again. A tower that runs once per image
    /// (MedGemma's vision encoder) then does not sit in memory beside the decoder.
    pub fn release_pages(&self) {
        if let Some(m) = &self.mapped {
            m.release();
        }
    }

    /// [`upload`](Self::upload) with parts of at most `part_bytes` (whole rows; tests use
    /// small parts to cross part boundaries).
    pub fn upload_parts(
        ty: GgmlType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
        device: &Device,
        part_bytes: usize,
    ) -> crate::Result<Self> {
        Self::check(ty, rows, cols, bytes.len())?;
        let rb = cols / ty.block_elems() * ty.block_bytes();
        let rows_per_part = (part_bytes / rb).max(1);
        let mut parts = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = rows_per_part.min(rows - row0);
            let chunk = &bytes[row0 * rb..(row0 + n) * rb];
            let mut words: Vec<u32> = chunk.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            let tail = chunk.chunks_exact(4).remainder();
            if !tail.is_empty() {
                words.push(tail.iter().enumerate().fold(0u32, |w, (i, &b)| w | (b as u32) << (8 * i)));
            }
            let len = words.len();
            let t = Tensor::<1, Int>::from_data(TensorData::new(words, [len]), (device, DType::U32));
            parts.push(Part { row0, rows: n, words: t });
            row0 += n;
        }
        let host = !crate::device::is_cube(device);
        Ok(Self { ty, rows, cols, parts, per_row: crate::device::gemv_per_row(device), host, mapped: None })
    }

    /// Bytes of the ggml blocks.
    pub fn bytes(&self) -> u64 {
        (self.rows * (self.cols / self.ty.block_elems()) * self.ty.block_bytes()) as u64
    }

    /// `x [m, cols] · selfᵀ` → `[m, rows]`: gemv for a few rows, dequantize + matmul above
    /// on the GPU; the CPU kernels for any `m` on the CPU.
    pub fn matmul_t(&self, x: Tensor<2>) -> Tensor<2> {
        let m = x.dims()[0];
        if self.host || (m <= GEMV_MAX_ROWS && self.cols % 32 == 0) {
            if let [p] = &self.parts[..] {
                // One part: its product is the output (no empty output to fill).
                return Tensor::from_dispatch(<Dispatch as GgmlOps>::ggml_gemv(
                    x.into_dispatch(),
                    p.words.clone().into_dispatch(),
                    self.ty.id(),
                    p.rows,
                    self.cols,
                    self.per_row,
                ));
            }
            // Every part's gemv writes its columns of one output: no concatenation.
            let device = x.device();
            let mut out = Tensor::<2>::empty([m, self.rows], &device).into_dispatch();
            for p in &self.parts {
                out = <Dispatch as GgmlOps>::ggml_gemv_into(
                    x.clone().into_dispatch(),
                    p.words.clone().into_dispatch(),
                    out,
                    self.ty.id(),
                    p.rows,
                    self.cols,
                    self.per_row,
                    p.row0,
                );
            }
            return Tensor::from_dispatch(out);
        }
        let outs: Vec<Tensor<2>> =
            self.parts.iter().map(|p| x.clone().matmul(self.dequant_part(p, 0, p.rows).transpose())).collect();
        if outs.len() == 1 {
            outs.into_iter().next().unwrap_or_else(|| unreachable!())
        } else {
            Tensor::cat(outs, 1)
        }
    }

    fn dequant_part(&self, p: &Part, r0: usize, n: usize) -> Tensor<2> {
        Tensor::from_dispatch(<Dispatch as GgmlOps>::ggml_dequant(
            p.words.clone().into_dispatch(),
            self.ty.id(),
            r0,
            n,
            self.cols,
        ))
    }

    /// Rows `row0..row0+n` as f32 `[n, cols]`.
    pub fn dequantize_rows(&self, row0: usize, n: usize) -> Tensor<2> {
        let mut outs = Vec::new();
        for p in &self.parts {
            let a = row0.max(p.row0);
            let b = (row0 + n).min(p.row0 + p.rows);
            if a < b {
                outs.push(self.dequant_part(p, a - p.row0, b - a));
            }
        }
        Tensor::cat(outs, 0)
    }

    /// The rows named by `ids`, in order, as f32 `[ids.len(), cols]` (embedding lookup).
    pub fn gather(&self, ids: &[u32]) -> Tensor<2> {
        let device = self.parts[0].words.device();
        // Consecutive ids in the same part go in one launch.
        let mut outs = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            let pi = self.part_of(ids[i] as usize);
            let mut j = i;
            let mut local = Vec::new();
            while j < ids.len() && self.part_of(ids[j] as usize) == pi {
                local.push(ids[j] - self.parts[pi].row0 as u32);
                j += 1;
            }
            let n = local.len();
            let idt = crate::profile::upload::<1, Int>(TensorData::new(local, [n]), (&device, DType::U32));
            outs.push(Tensor::from_dispatch(<Dispatch as GgmlOps>::ggml_gather(
                self.parts[pi].words.clone().into_dispatch(),
                idt.into_dispatch(),
                self.ty.id(),
                self.cols,
            )));
            i = j;
        }
        Tensor::cat(outs, 0)
    }

    /// `x [m, cols]` times each of `ws` (2 or 3 matrices with the same `cols`, each in one
    /// part) transposed, side by side: `[m, Σ rows]` in one launch. `None` when they do not
    /// qualify (several parts, more than [`GEMV_MAX_ROWS`] rows of `x`): the caller then runs
    /// them one by one.
    pub fn gemv_multi(ws: &[&QTensor], x: &Tensor<2>) -> Option<Tensor<2>> {
        let [m, k] = x.dims();
        let first = ws.first()?;
        let ok = (2..=3).contains(&ws.len())
            && (first.host || (m <= GEMV_MAX_ROWS && k % 32 == 0))
            && ws.iter().all(|w| w.cols == k && w.parts.len() == 1 && w.per_row == first.per_row && w.host == first.host);
        if !ok {
            return None;
        }
        let words = |i: usize| ws.get(i).unwrap_or(&ws[1]).parts[0].words.clone().into_dispatch();
        let ty = |i: usize| ws.get(i).map_or(0, |w| w.ty.id());
        let n = |i: usize| ws.get(i).map_or(0, |w| w.rows);
        Some(Tensor::from_dispatch(<Dispatch as GgmlOps>::ggml_gemv_multi(
            x.clone().into_dispatch(),
            words(0),
            words(1),
            words(2),
            [ty(0), ty(1), ty(2)],
            [n(0), n(1), n(2)],
            k,
            first.per_row,
        )))
    }

    /// The rows named by `ids` (u32 on the device, each below `rows`) times `scale`, as f32
    /// `[ids, cols]`: the embedding of a token the device chose, with no upload. One launch
    /// per part.
    pub fn gather_device(&self, ids: &Tensor<1, Int>, scale: f32) -> Tensor<2> {
        let n = ids.dims()[0];
        let device = ids.device();
        let mut out = Tensor::<2>::empty([n, self.cols], &device).into_dispatch();
        for p in &self.parts {
            out = <Dispatch as GgmlOps>::ggml_gather_part_into(
                p.words.clone().into_dispatch(),
                ids.clone().into_dispatch(),
                out,
                self.ty.id(),
                self.cols,
                p.row0,
                p.rows,
                scale,
            );
        }
        Tensor::from_dispatch(out)
    }

    fn part_of(&self, row: usize) -> usize {
        let row = row.min(self.rows - 1);
        self.parts.iter().position(|p| row < p.row0 + p.rows).unwrap_or(self.parts.len() - 1)
    }
}
