//! Dot products of one weight row in its ggml block layout with one row of activations:
//! F16/BF16 against f32, Q4_0/Q5_0/Q8_0 against Q8_0 blocks, Q4_K/Q5_K/Q6_K against Q8_K
//! blocks. Each format has a portable version, written straight from the reference
//! dequantizer's element order (`quant::dequantize_block`), and an AVX2 + FMA + F16C version
//! for x86-64, chosen at run time. The integer sums are exact in both, so the two differ only
//! in the order of the float additions; the tests hold both to the reference dequantizer.

use half::{bf16, f16};

use super::act::{BlockQ8K, BlockQ8_0};
use crate::quant::{scale_min_k4, GgmlType, QK, QK_K};

/// One row of activations in the form a weight format multiplies.
#[derive(Clone, Copy)]
pub enum Acts<'a> {
    F32(&'a [f32]),
    Q8_0(&'a [BlockQ8_0]),
    Q8K(&'a [BlockQ8K]),
}

/// The instruction set the kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    /// Plain Rust: correct on every CPU (the compiler may still vectorize it).
    Portable,
    /// x86-64 with AVX2, FMA and F16C.
    Avx2,
}

impl Simd {
    pub fn name(self) -> &'static str {
        match self {
            Simd::Portable => "portable",
            Simd::Avx2 => "avx2+fma+f16c",
        }
    }
}

/// The best instruction set this CPU has; `MEDLENS_CPU_SIMD=portable` forces the portable
/// kernels (tests and comparisons).
pub fn detect() -> Simd {
    static S: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *S.get_or_init(|| {
        if std::env::var("MEDLENS_CPU_SIMD").is_ok_and(|v| v == "portable") {
            return Simd::Portable;
        }
        available().last().copied().unwrap_or(Simd::Portable)
    })
}

/// Every instruction set this CPU can run, from the portable one up (the tests run each).
pub fn available() -> Vec<Simd> {
    let mut v = vec![Simd::Portable];
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c") {
        v.push(Simd::Avx2);
    }
    v
}

/// `Σ_i W[i] · x[i]` for one row `w` of `ty` (whole blocks) and activations of the matching
/// kind (see [`super::act`]). Panics if the kind does not match the format: the caller
/// (`super::matmul`) prepares them from the same format.
pub fn dot_row(ty: GgmlType, w: &[u8], x: Acts<'_>, simd: Simd) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd != Simd::Portable {
        // SAFETY: `available` (through `detect`, or the caller's test) saw AVX2, FMA and F16C
        // on this CPU.
        return unsafe { avx2::dot_row(ty, w, x) };
    }
    let _ = simd;
    portable::dot_row(ty, w, x)
}

/// [`dot_row`] for consecutive rows of `rb` bytes each (`w`), one result per row in `out`:
/// the format and the instruction set are chosen once for all the rows, not per row (a
/// decode step's LM head is 262,144 short rows).
pub fn dot_rows(ty: GgmlType, w: &[u8], rb: usize, x: Acts<'_>, out: &mut [f32], simd: Simd) {
    assert!(w.len() >= out.len() * rb);
    #[cfg(target_arch = "x86_64")]
    if simd != Simd::Portable {
        // SAFETY: as in `dot_row`.
        return unsafe { avx2::dot_rows(ty, w, rb, x, out) };
    }
    for (r, y) in out.iter_mut().enumerate() {
        *y = dot_row(ty, &w[r * rb..(r + 1) * rb], x, simd);
    }
}

/// `Σ_i W[i] · x[i]` for one row `w` of `ty` (whole blocks) and f32 activations, with each
/// weight dequantized exactly as the reference dequantizer does: the arithmetic of the GPU
/// kernels and of transformers, up to the order of the float additions. `xsum32[j]` is
/// `Σ x[32j..32j+32]` (the k-quants' minimums are applied through it).
pub fn dot_row_f32(ty: GgmlType, w: &[u8], x: &[f32], xsum32: &[f32], simd: Simd) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd != Simd::Portable && !matches!(ty, GgmlType::F16 | GgmlType::BF16) {
        // SAFETY: as in `dot_row`.
        return unsafe { avx2::dot_row_f32(ty, w, x, xsum32) };
    }
    if matches!(ty, GgmlType::F16 | GgmlType::BF16) {
        return dot_row(ty, w, Acts::F32(x), simd);
    }
    let _ = xsum32;
    let (be, bb) = (ty.block_elems(), ty.block_bytes());
    let mut buf = [0f32; QK_K];
    w.chunks_exact(bb)
        .zip(x.chunks_exact(be))
        .map(|(blk, xb)| {
            crate::quant::dequantize_block(ty, blk, &mut buf[..be]);
            buf[..be].iter().zip(xb).map(|(a, b)| a * b).sum::<f32>()
        })
        .sum()
}

/// One row `w` of a block format as f32 into `out` (whole blocks), with the instruction set
/// `simd`: the same values as the reference dequantizer (`quant::dequantize_block`), bit
/// for bit (the same products in the same order, no fused multiply-add). Returns false for
/// a format it leaves to the reference (F16/BF16, or any format on the portable path).
/// The prompt and vision GEMMs dequantize every weight once per product: one block at a
/// time through the reference was most of a short prompt's time on the 270M.
pub fn dequantize_row(ty: GgmlType, w: &[u8], out: &mut [f32], simd: Simd) -> bool {
    #[cfg(target_arch = "x86_64")]
    if simd != Simd::Portable {
        let (be, bb) = (ty.block_elems(), ty.block_bytes());
        if !matches!(ty, GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K) {
            return false;
        }
        assert!(out.len() % be == 0 && w.len() >= out.len() / be * bb);
        // SAFETY: `available` saw AVX2, FMA and F16C; the lengths are checked above.
        unsafe { avx2::dequantize_row(ty, w, out) };
        return true;
    }
    let _ = (ty, w, out, simd);
    false
}

#[inline]
fn f16_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

mod portable {
    use super::*;

    pub fn dot_row(ty: GgmlType, w: &[u8], x: Acts<'_>) -> f32 {
        match (ty, x) {
            (GgmlType::F16, Acts::F32(x)) => w.chunks_exact(2).zip(x).map(|(b, &v)| f16_at(b, 0) * v).sum(),
            (GgmlType::BF16, Acts::F32(x)) => {
                w.chunks_exact(2).zip(x).map(|(b, &v)| bf16::from_le_bytes([b[0], b[1]]).to_f32() * v).sum()
            }
            (GgmlType::Q8_0, Acts::Q8_0(x)) => w
                .chunks_exact(34)
                .zip(x)
                .map(|(b, a)| {
                    let s: i32 = b[2..].iter().zip(&a.q).map(|(&q, &v)| q as i8 as i32 * v as i32).sum();
                    f16_at(b, 0) * a.d * s as f32
                })
                .sum(),
            (GgmlType::Q4_0, Acts::Q8_0(x)) => w
                .chunks_exact(18)
                .zip(x)
                .map(|(b, a)| {
                    let qs = &b[2..];
                    let mut s = 0i32;
                    for j in 0..QK / 2 {
                        s += ((qs[j] & 0x0F) as i32 - 8) * a.q[j] as i32;
                        s += ((qs[j] >> 4) as i32 - 8) * a.q[j + QK / 2] as i32;
                    }
                    f16_at(b, 0) * a.d * s as f32
                })
                .sum(),
            (GgmlType::Q5_0, Acts::Q8_0(x)) => w
                .chunks_exact(22)
                .zip(x)
                .map(|(b, a)| {
                    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                    let qs = &b[6..];
                    let mut s = 0i32;
                    for j in 0..QK / 2 {
                        let h0 = ((qh >> j) & 1) << 4;
                        let h1 = ((qh >> (j + 16)) & 1) << 4;
                        s += (((qs[j] & 0x0F) as u32 | h0) as i32 - 16) * a.q[j] as i32;
                        s += (((qs[j] >> 4) as u32 | h1) as i32 - 16) * a.q[j + QK / 2] as i32;
                    }
                    f16_at(b, 0) * a.d * s as f32
                })
                .sum(),
            (GgmlType::Q4K | GgmlType::Q5K, Acts::Q8K(x)) => {
                let five = ty == GgmlType::Q5K;
                w.chunks_exact(ty.block_bytes())
                    .zip(x)
                    .map(|(b, a)| {
                        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
                        let scales = &b[4..16];
                        let (qh, qs) = if five { (&b[16..48], &b[48..]) } else { (&b[0..0], &b[16..]) };
                        let (mut sumi, mut summ) = (0i32, 0i32);
                        for j in 0..8 {
                            let (sc, m) = scale_min_k4(j, scales);
                            let (g, hi) = (j / 2, j % 2 == 1);
                            let mut s = 0i32;
                            for l in 0..32 {
                                let byte = qs[32 * g + l];
                                let mut q = if hi { byte >> 4 } else { byte & 0x0F } as i32;
                                if five && qh[l] & (1 << j) != 0 {
                                    q += 16;
                                }
                                s += q * a.q[32 * j + l] as i32;
                            }
                            sumi += sc as i32 * s;
                            summ += m as i32 * (a.bsums[2 * j] as i32 + a.bsums[2 * j + 1] as i32);
                        }
                        a.d * (d * sumi as f32 - dmin * summ as f32)
                    })
                    .sum()
            }
            (GgmlType::Q6K, Acts::Q8K(x)) => w
                .chunks_exact(210)
                .zip(x)
                .map(|(b, a)| {
                    let (ql, qh, sc) = (&b[0..128], &b[128..192], &b[192..208]);
                    let d = f16_at(b, 208);
                    let mut sums = [0i32; QK_K / 16];
                    for e in 0..QK_K {
                        let (n, r) = (e / 128, e % 128);
                        let (which, l) = (r / 32, r % 32);
                        let lo = match which {
                            0 => ql[64 * n + l] & 0x0F,
                            1 => ql[64 * n + 32 + l] & 0x0F,
                            2 => ql[64 * n + l] >> 4,
                            _ => ql[64 * n + 32 + l] >> 4,
                        };
                        let h = (qh[32 * n + l] >> (2 * which)) & 3;
                        sums[e / 16] += (lo | (h << 4)) as i32 * a.q[e] as i32;
                    }
                    let mut total = 0i32;
                    for g in 0..QK_K / 16 {
                        total += sc[g] as i8 as i32 * (sums[g] - 32 * a.bsums[g] as i32);
                    }
                    d * a.d * total as f32
                })
                .sum(),
            (ty, _) => panic!("activations of the wrong kind for {}", ty.name()),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::*;

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// How far ahead of the block being multiplied the weight stream is prefetched, in bytes.
    /// A decode step reads every weight once, straight from memory; the hardware prefetcher
    /// alone left one core waiting on its loads (the LM head of the 270M read Q8_0 at 6 GB/s a
    /// core, against 11 GB/s for a plain summing loop). Asking for the bytes 4 KB ahead brought
    /// it to 10 GB/s a core, and two cores from 12.6 to 17-20 GB/s (measured on this kind of
    /// machine: 2 cores, Sapphire Rapids). 2 KB was within the noise of 4 KB; 256 B did nothing.
    const PREFETCH_AHEAD: usize = 4096;

    /// Asks for the cache line `PREFETCH_AHEAD` bytes past `p`. Only a hint: the address may
    /// lie past the end of the weights (no fault, nothing read into the program).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn prefetch(p: *const u8) {
        // A prefetch never faults and reads nothing the program sees (a safe intrinsic); the
        // pointer is formed with wrapping arithmetic, so no out-of-bounds `add` either.
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH_AHEAD) as *const i8)
    }

    /// Σ over blocks 0..n of scale · products (`$block(i)`: the scale broadcast and eight i32
    /// sums), with even and odd blocks in two accumulators; `$ahead(j)` is the weight address
    /// of block j, prefetched ahead once per pair of blocks (about a cache line). A macro, so
    /// the block's body is compiled into the loop (a closure passed to a `target_feature`
    /// function is called, not inlined).
    macro_rules! two_accumulators {
        ($n:expr, ahead |$k:ident| $ahead:expr, |$i:ident| $block:expr) => {{
            let n = $n;
            let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut j = 0;
            while j + 2 <= n {
                prefetch({
                    let $k = j;
                    $ahead
                });
                let (d0, p0) = {
                    let $i = j;
                    $block
                };
                let (d1, p1) = {
                    let $i = j + 1;
                    $block
                };
                a0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), a0);
                a1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p1), a1);
                j += 2;
            }
            if j < n {
                let (d0, p0) = {
                    let $i = j;
                    $block
                };
                a0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(p0), a0);
            }
            hsum(_mm256_add_ps(a0, a1))
        }};
    }

    // The 32-value formats against Q8_0 activations: a block's work is short, so two
    // accumulators (even and odd blocks) keep consecutive multiply-adds from waiting on each
    // other.

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q8_0_row(w: &[u8], x: &[BlockQ8_0]) -> f32 {
        let wp = w.as_ptr();
        unsafe {
            two_accumulators!(x.len().min(w.len() / 34), ahead |j| wp.wrapping_add(34 * j), |i| {
                let a = x.get_unchecked(i);
                (_mm256_set1_ps(f16c_at(w, 34 * i) * a.d), dot_i8(load(wp.add(34 * i + 2)), load(a.q.as_ptr() as *const u8)))
            })
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4_0_row(w: &[u8], x: &[BlockQ8_0]) -> f32 {
        let wp = w.as_ptr();
        unsafe {
            two_accumulators!(x.len().min(w.len() / 18), ahead |j| wp.wrapping_add(18 * j), |i| {
                let a = x.get_unchecked(i);
                (_mm256_set1_ps(f16c_at(w, 18 * i) * a.d), dot_i8(q4_0_values(wp.add(18 * i + 2)), load(a.q.as_ptr() as *const u8)))
            })
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q5_0_row(w: &[u8], x: &[BlockQ8_0]) -> f32 {
        let wp = w.as_ptr();
        unsafe {
            two_accumulators!(x.len().min(w.len() / 22), ahead |j| wp.wrapping_add(22 * j), |i| {
                let a = x.get_unchecked(i);
                (_mm256_set1_ps(f16c_at(w, 22 * i) * a.d), dot_i8(q5_0_values(w, 22 * i), load(a.q.as_ptr() as *const u8)))
            })
        }
    }

    /// Rows of `rb` bytes: the hot formats loop over the rows inside their own kernel.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_rows(ty: GgmlType, w: &[u8], rb: usize, x: Acts<'_>, out: &mut [f32]) {
        unsafe {
            match (ty, x) {
                (GgmlType::Q8_0, Acts::Q8_0(x)) => {
                    for (r, y) in out.iter_mut().enumerate() {
                        *y = q8_0_row(w.get_unchecked(r * rb..(r + 1) * rb), x);
                    }
                }
                (GgmlType::Q4_0, Acts::Q8_0(x)) => {
                    for (r, y) in out.iter_mut().enumerate() {
                        *y = q4_0_row(w.get_unchecked(r * rb..(r + 1) * rb), x);
                    }
                }
                (GgmlType::Q5_0, Acts::Q8_0(x)) => {
                    for (r, y) in out.iter_mut().enumerate() {
                        *y = q5_0_row(w.get_unchecked(r * rb..(r + 1) * rb), x);
                    }
                }
                _ => {
                    for (r, y) in out.iter_mut().enumerate() {
                        *y = dot_row(ty, w.get_unchecked(r * rb..(r + 1) * rb), x);
                    }
                }
            }
        }
    }

    /// Σ a·b over signed bytes, as eight i32 pair-of-pair sums (maddubs needs an unsigned
    /// left operand: |a| and b with a's sign).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot_i8(a: __m256i, b: __m256i) -> __m256i {
        let p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
        _mm256_madd_epi16(p, _mm256_set1_epi16(1))
    }

    /// 32 unsigned bytes `a` (each below 64) times signed bytes `b`, pairs summed to i16 and
    /// then multiplied by `scales` (i16 per pair) into eight i32 sums.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot_u8_scaled(a: __m256i, b: __m256i, scales: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), scales)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(p: *const u8) -> __m256i {
        unsafe { _mm256_loadu_si256(p as *const __m256i) }
    }

    /// The 32 bits of `bits` as 32 bytes, 0xFF where the bit is set (byte i = bit i).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn bits_to_bytes(bits: u32) -> __m256i {
        let v = _mm256_set1_epi32(bits as i32);
        let spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        let v = _mm256_shuffle_epi8(v, spread);
        let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
        _mm256_cmpeq_epi8(_mm256_and_si256(v, mask), mask)
    }

    /// The low and high nibbles of 16 bytes as 32 bytes: low ones first (ggml's element
    /// order for Q4_0/Q5_0).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn nibbles16(p: *const u8) -> __m256i {
        let v = unsafe { _mm_loadu_si128(p as *const __m128i) };
        let m = _mm_set1_epi8(0x0F);
        _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m))
    }

    // The block unpackers below are shared by the integer dots (`dot_row`) and the f32 ones
    // (`dot_row_f32`), so the two cannot disagree on ggml's element order.

    /// Q4_0: the block's 16 nibble bytes at `qs` as its 32 weights, signed bytes q − 8.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn q4_0_values(qs: *const u8) -> __m256i {
        unsafe { _mm256_sub_epi8(nibbles16(qs), _mm256_set1_epi8(8)) }
    }

    /// Q5_0: the block at byte `o` of `w` as its 32 weights, signed bytes q − 16 (the fifth
    /// bit from the block's 32-bit `qh`).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn q5_0_values(w: &[u8], o: usize) -> __m256i {
        assert!(o + 22 <= w.len());
        // SAFETY: the block's 22 bytes are in `w` (checked above).
        let qh = u32::from_le(unsafe { std::ptr::read_unaligned(w.as_ptr().add(o + 2) as *const u32) });
        let lo = unsafe { nibbles16(w.as_ptr().add(o + 6)) };
        // q − 16 for the nibble q and fifth bit h: q where h is set (q + 16 − 16), else q − 16,
        // which as a signed byte is q with the high nibble set (ggml's trick: one andnot, no
        // subtraction).
        _mm256_or_si256(lo, _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8(0xF0u8 as i8)))
    }

    /// The fields of the Q4_K/Q5_K block at byte `o` of `w`: its scale and minimum scale,
    /// the 12 bytes of packed sub-block scales and minimums, where its nibbles start, and
    /// (Q5_K) its 32 bytes of fifth bits, as [`k4_group`] takes them.
    struct K4Block<'a> {
        d: f32,
        dmin: f32,
        scales: &'a [u8],
        qs: *const u8,
        qh: Option<__m256i>,
    }

    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    fn k4_block(w: &[u8], o: usize, five: bool) -> K4Block<'_> {
        let b = &w[o..o + if five { 176 } else { 144 }];
        // SAFETY: the 32 bytes of fifth bits lie inside the block (checked by the slice).
        let qh = five.then(|| unsafe { load(b.as_ptr().add(16)) });
        K4Block { d: f16c_at(b, 0), dmin: f16c_at(b, 2), scales: &b[4..16], qs: b[if five { 48 } else { 16 }..].as_ptr(), qh }
    }

    /// Q4_K/Q5_K: group `g` of a block (sub-blocks 2g and 2g + 1, 64 weights) whose nibbles
    /// start at `qs`, as two vectors of 32 unsigned bytes: 0..15, or 0..31 when `qh` holds
    /// Q5_K's high bits.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn k4_group(qs: *const u8, qh: Option<__m256i>, g: usize) -> (__m256i, __m256i) {
        let m4 = _mm256_set1_epi8(0x0F);
        let v = unsafe { load(qs.add(32 * g)) };
        let mut lo = _mm256_and_si256(v, m4);
        let mut hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        if let Some(qh) = qh {
            let b0 = _mm256_set1_epi8((1u8 << (2 * g)) as i8);
            let b1 = _mm256_set1_epi8((2u8 << (2 * g)) as i8);
            let s = _mm256_set1_epi8(16);
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), s));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), s));
        }
        (lo, hi)
    }

    /// Q6_K: half `n` (128 weights) of the block at `b`, as four vectors of 32 unsigned bytes
    /// 0..63; vector k holds sub-blocks 8n + 2k and 8n + 2k + 1.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn q6k_half(b: *const u8, n: usize) -> [__m256i; 4] {
        let (m4, m2) = (_mm256_set1_epi8(0x0F), _mm256_set1_epi8(3));
        let (ql0, ql1, qh) = unsafe { (load(b.add(64 * n)), load(b.add(64 * n + 32)), load(b.add(128 + 32 * n))) };
        let h = [
            _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4),
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4),
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4),
            _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4),
        ];
        [
            _mm256_or_si256(_mm256_and_si256(ql0, m4), h[0]),
            _mm256_or_si256(_mm256_and_si256(ql1, m4), h[1]),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), h[2]),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), h[3]),
        ]
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_row(ty: GgmlType, w: &[u8], x: Acts<'_>) -> f32 {
        let wp = w.as_ptr();
        unsafe {
            match (ty, x) {
                (GgmlType::F16 | GgmlType::BF16, Acts::F32(x)) => {
                    let n = x.len().min(w.len() / 2);
                    let mut acc = [_mm256_setzero_ps(); 2];
                    let mut i = 0;
                    while i + 8 <= n {
                        let h = _mm_loadu_si128(wp.add(2 * i) as *const __m128i);
                        let wf = if ty == GgmlType::F16 {
                            _mm256_cvtph_ps(h)
                        } else {
                            _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
                        };
                        let a = &mut acc[(i / 8) % 2];
                        *a = _mm256_fmadd_ps(wf, _mm256_loadu_ps(x.as_ptr().add(i)), *a);
                        i += 8;
                    }
                    let mut s = hsum(_mm256_add_ps(acc[0], acc[1]));
                    if i < n {
                        s += super::portable::dot_row(ty, &w[2 * i..2 * n], Acts::F32(&x[i..n]));
                    }
                    s
                }
                (GgmlType::Q8_0, Acts::Q8_0(x)) => q8_0_row(w, x),
                (GgmlType::Q4_0, Acts::Q8_0(x)) => q4_0_row(w, x),
                (GgmlType::Q5_0, Acts::Q8_0(x)) => q5_0_row(w, x),
                (GgmlType::Q4K | GgmlType::Q5K, Acts::Q8K(x)) => {
                    let five = ty == GgmlType::Q5K;
                    let bb = ty.block_bytes();
                    let mut acc = _mm256_setzero_ps();
                    let mut mins = 0f32;
                    for (i, a) in x.iter().enumerate().take(w.len() / bb) {
                        let o = bb * i;
                        for l in (0..bb).step_by(64) {
                            prefetch(wp.wrapping_add(o + l));
                        }
                        let K4Block { d, dmin, scales, qs, qh } = k4_block(w, o, five);
                        let xq = a.q.as_ptr() as *const u8;
                        let mut sumi = _mm256_setzero_si256();
                        let mut summ = 0i32;
                        for g in 0..4 {
                            let (lo, hi) = k4_group(qs, qh, g);
                            let (s0, m0) = scale_min_k4(2 * g, scales);
                            let (s1, m1) = scale_min_k4(2 * g + 1, scales);
                            let p0 = dot_u8_scaled(lo, load(xq.add(64 * g)), _mm256_set1_epi16(s0 as i16));
                            let p1 = dot_u8_scaled(hi, load(xq.add(64 * g + 32)), _mm256_set1_epi16(s1 as i16));
                            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
                            summ += m0 as i32 * (a.bsums[4 * g] as i32 + a.bsums[4 * g + 1] as i32)
                                + m1 as i32 * (a.bsums[4 * g + 2] as i32 + a.bsums[4 * g + 3] as i32);
                        }
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * a.d), _mm256_cvtepi32_ps(sumi), acc);
                        mins += dmin * a.d * summ as f32;
                    }
                    hsum(acc) - mins
                }
                (GgmlType::Q6K, Acts::Q8K(x)) => {
                    let mut acc = _mm256_setzero_ps();
                    let mut offs = 0f32;
                    for (i, a) in x.iter().enumerate().take(w.len() / 210) {
                        let o = 210 * i;
                        for l in (0..210).step_by(64) {
                            prefetch(wp.wrapping_add(o + l));
                        }
                        let sc = &w[o + 192..o + 208];
                        let xq = a.q.as_ptr() as *const u8;
                        let mut sumi = _mm256_setzero_si256();
                        for n in 0..2 {
                            let q = q6k_half(wp.add(o), n);
                            for (k, qk) in q.into_iter().enumerate() {
                                let g = 8 * n + 2 * k;
                                let scales = _mm256_set_m128i(
                                    _mm_set1_epi16(sc[g + 1] as i8 as i16),
                                    _mm_set1_epi16(sc[g] as i8 as i16),
                                );
                                let p = dot_u8_scaled(qk, load(xq.add(128 * n + 32 * k)), scales);
                                sumi = _mm256_add_epi32(sumi, p);
                            }
                        }
                        let corr: i32 = (0..QK_K / 16).map(|g| sc[g] as i8 as i32 * a.bsums[g] as i32).sum();
                        let d = f16c_at(w, o + 208) * a.d;
                        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
                        offs += d * (32 * corr) as f32;
                    }
                    hsum(acc) - offs
                }
                (ty, _) => panic!("activations of the wrong kind for {}", ty.name()),
            }
        }
    }

    /// 32 signed bytes as four vectors of eight f32 (elements 0-7, 8-15, 16-23, 24-31).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn i8_to_f32x4(q: __m256i) -> [__m256; 4] {
        let lo = _mm256_castsi256_si128(q);
        let hi = _mm256_extracti128_si256(q, 1);
        [
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)),
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))),
        ]
    }

    /// `acc + s_lo · Σ q[0..16]·x[0..16] + s_hi · Σ q[16..32]·x[16..32]` for 32 signed byte
    /// weights `q` and the f32 activations at `x` (a macro: a call per 32 values, not
    /// inlined across the target-feature boundary, cost a third of the decode step).
    macro_rules! chunk {
        ($acc:expr, $q:expr, $x:expr, $s_lo:expr, $s_hi:expr) => {{
            let f = i8_to_f32x4($q);
            let x: *const f32 = $x;
            let lo = _mm256_fmadd_ps(f[1], _mm256_loadu_ps(x.add(8)), _mm256_mul_ps(f[0], _mm256_loadu_ps(x)));
            let hi = _mm256_fmadd_ps(f[3], _mm256_loadu_ps(x.add(24)), _mm256_mul_ps(f[2], _mm256_loadu_ps(x.add(16))));
            _mm256_fmadd_ps(_mm256_set1_ps($s_hi), hi, _mm256_fmadd_ps(_mm256_set1_ps($s_lo), lo, $acc))
        }};
    }

    /// The little-endian f16 at byte `i` of `b`, with F16C (the `half` crate checks the CPU
    /// on every call).
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    fn f16c_at(b: &[u8], i: usize) -> f32 {
        assert!(i + 2 <= b.len());
        // SAFETY: the two bytes are in `b` (checked above).
        let h = u16::from_le(unsafe { std::ptr::read_unaligned(b.as_ptr().add(i) as *const u16) });
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot_row_f32(ty: GgmlType, w: &[u8], x: &[f32], xsum32: &[f32]) -> f32 {
        let wp = w.as_ptr();
        let xp = x.as_ptr();
        let bb = ty.block_bytes();
        let nb = (w.len() / bb).min(x.len() / ty.block_elems());
        let mut acc = _mm256_setzero_ps();
        let mut mins = 0f32;
        unsafe {
            match ty {
                GgmlType::Q8_0 => {
                    // The bytes are already signed values: widen eight at a time straight from
                    // memory (no shuffles), and alternate two accumulators so consecutive
                    // blocks do not wait on one another's adds. (The LM head of the 270M is
                    // Q8_0: 70 % of its decode bytes.)
                    let mut acc2 = _mm256_setzero_ps();
                    macro_rules! widen {
                        ($p:expr) => {
                            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64($p as *const __m128i)))
                        };
                    }
                    for i in 0..nb {
                        let b = wp.add(34 * i + 2);
                        let x = xp.add(32 * i);
                        let p = _mm256_mul_ps(widen!(b), _mm256_loadu_ps(x));
                        let p = _mm256_fmadd_ps(widen!(b.add(8)), _mm256_loadu_ps(x.add(8)), p);
                        let p = _mm256_fmadd_ps(widen!(b.add(16)), _mm256_loadu_ps(x.add(16)), p);
                        let p = _mm256_fmadd_ps(widen!(b.add(24)), _mm256_loadu_ps(x.add(24)), p);
                        let d = _mm256_set1_ps(f16c_at(w, 34 * i));
                        if i % 2 == 0 {
                            acc = _mm256_fmadd_ps(d, p, acc);
                        } else {
                            acc2 = _mm256_fmadd_ps(d, p, acc2);
                        }
                    }
                    acc = _mm256_add_ps(acc, acc2);
                }
                GgmlType::Q4_0 => {
                    for i in 0..nb {
                        let d = f16c_at(w, 18 * i);
                        let q = q4_0_values(wp.add(18 * i + 2));
                        acc = chunk!(acc, q, xp.add(32 * i), d, d);
                    }
                }
                GgmlType::Q5_0 => {
                    for i in 0..nb {
                        let o = 22 * i;
                        let q = q5_0_values(w, o);
                        let d = f16c_at(w, o);
                        acc = chunk!(acc, q, xp.add(32 * i), d, d);
                    }
                }
                GgmlType::Q4K | GgmlType::Q5K => {
                    let five = ty == GgmlType::Q5K;
                    for i in 0..nb {
                        let K4Block { d, dmin, scales, qs, qh } = k4_block(w, bb * i, five);
                        for g in 0..4 {
                            let (lo, hi) = k4_group(qs, qh, g);
                            let (s0, m0) = scale_min_k4(2 * g, scales);
                            let (s1, m1) = scale_min_k4(2 * g + 1, scales);
                            let xb = xp.add(256 * i + 64 * g);
                            acc = chunk!(acc, lo, xb, d * s0 as f32, d * s0 as f32);
                            acc = chunk!(acc, hi, xb.add(32), d * s1 as f32, d * s1 as f32);
                            let j = 8 * i + 2 * g;
                            mins += dmin * (m0 as f32 * xsum32[j] + m1 as f32 * xsum32[j + 1]);
                        }
                    }
                }
                GgmlType::Q6K => {
                    let off = _mm256_set1_epi8(32);
                    for i in 0..nb {
                        let o = 210 * i;
                        let sc = &w[o + 192..o + 208];
                        let d = f16c_at(w, o + 208);
                        for n in 0..2 {
                            let q = q6k_half(wp.add(o), n);
                            for (k, qk) in q.into_iter().enumerate() {
                                let g = 8 * n + 2 * k;
                                let (s0, s1) = (d * (sc[g] as i8) as f32, d * (sc[g + 1] as i8) as f32);
                                acc = chunk!(acc, _mm256_sub_epi8(qk, off), xp.add(256 * i + 128 * n + 32 * k), s0, s1);
                            }
                        }
                    }
                }
                _ => unreachable!("F16/BF16 take the plain f32 dot"),
            }
        }
        hsum(acc) - mins
    }
    /// Stores `s · q` for 32 values `q` (signed bytes) at `o`: elements 0-15 with `s0`,
    /// 16-31 with `s1`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_scaled(o: *mut f32, q: __m256i, s0: f32, s1: f32) {
        let f = i8_to_f32x4(q);
        let (a, b) = (_mm256_set1_ps(s0), _mm256_set1_ps(s1));
        unsafe {
            _mm256_storeu_ps(o, _mm256_mul_ps(a, f[0]));
            _mm256_storeu_ps(o.add(8), _mm256_mul_ps(a, f[1]));
            _mm256_storeu_ps(o.add(16), _mm256_mul_ps(b, f[2]));
            _mm256_storeu_ps(o.add(24), _mm256_mul_ps(b, f[3]));
        }
    }

    /// Stores `d · q − m` for 32 values `q` (unsigned bytes below 128) at `o`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_affine(o: *mut f32, q: __m256i, d: f32, m: f32) {
        let f = i8_to_f32x4(q);
        let (d, m) = (_mm256_set1_ps(d), _mm256_set1_ps(m));
        for (i, v) in f.into_iter().enumerate() {
            unsafe { _mm256_storeu_ps(o.add(8 * i), _mm256_sub_ps(_mm256_mul_ps(d, v), m)) };
        }
    }

    /// [`super::dequantize_row`] with AVX2 (the caller checked the lengths and the format).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dequantize_row(ty: GgmlType, w: &[u8], out: &mut [f32]) {
        let (be, bb) = (ty.block_elems(), ty.block_bytes());
        let wp = w.as_ptr();
        for (i, ob) in out.chunks_exact_mut(be).enumerate() {
            let o = bb * i;
            let op = ob.as_mut_ptr();
            unsafe {
                match ty {
                    GgmlType::Q8_0 => {
                        let d = f16c_at(w, o);
                        store_scaled(op, load(wp.add(o + 2)), d, d);
                    }
                    GgmlType::Q4_0 => {
                        let d = f16c_at(w, o);
                        store_scaled(op, q4_0_values(wp.add(o + 2)), d, d);
                    }
                    GgmlType::Q5_0 => {
                        let d = f16c_at(w, o);
                        store_scaled(op, q5_0_values(w, o), d, d);
                    }
                    GgmlType::Q4K | GgmlType::Q5K => {
                        let K4Block { d, dmin, scales, qs, qh } = k4_block(w, o, ty == GgmlType::Q5K);
                        for g in 0..4 {
                            let (lo, hi) = k4_group(qs, qh, g);
                            let (s0, m0) = scale_min_k4(2 * g, scales);
                            let (s1, m1) = scale_min_k4(2 * g + 1, scales);
                            store_affine(op.add(64 * g), lo, d * s0 as f32, dmin * m0 as f32);
                            store_affine(op.add(64 * g + 32), hi, d * s1 as f32, dmin * m1 as f32);
                        }
                    }
                    GgmlType::Q6K => {
                        let sc = &w[o + 192..o + 208];
                        let d = f16c_at(w, o + 208);
                        let off = _mm256_set1_epi8(32);
                        for n in 0..2 {
                            let q = q6k_half(wp.add(o), n);
                            for (k, qk) in q.into_iter().enumerate() {
                                let g = 8 * n + 2 * k;
                                // The reference's order: (d · scale) · q.
                                let (s0, s1) = (d * (sc[g] as i8) as f32, d * (sc[g + 1] as i8) as f32);
                                store_scaled(op.add(128 * n + 32 * k), _mm256_sub_epi8(qk, off), s0, s1);
                            }
                        }
                    }
                    _ => unreachable!("checked by the caller"),
                }
            }
        }
    }

}
