//! `y = x · Wᵀ` with `W` in its ggml block layout, on the CPU, for any number of rows of `x`.
//!
//! - Few rows of `x` (decode): the weight rows are split into tasks over all cores (rayon);
//!   a task multiplies its rows by every row of `x`, so each weight byte is read from memory
//!   once per call, at its quantized size, and stays in cache while the activations stream
//!   past it.
//! - [`GEMM_MIN_ROWS`] rows or more (prefill, the vision towers): a blocked f32 GEMM over
//!   panels of [`PANEL_ROWS`] weight rows dequantized into a scratch buffer, never the whole
//!   weight.
//!
//! Two arithmetics meet the weights ([`Arithmetic`]). *Exact*: f32 activations times the
//! exactly dequantized weights, the GPU kernels' and transformers' arithmetic (the same
//! logits up to summation order). *Q8*: the activations quantized once to Q8_0/Q8_K and
//! integer dot products, llama.cpp's CPU arithmetic, each activation off by at most half a
//! step (`amax/254` of its block). Measured on this kind of machine (2 cores, AVX2), one row
//! of x: Q8 reads Q8_0 at 13 GB/s, the memory's pace, Exact at 7 GB/s, bound by converting
//! bytes to floats. So by default ([`Arithmetic::Auto`]) the few-row products (decode steps,
//! a prompt's last-position logits) take Q8, which halves a decode step's matmul time, and
//! the GEMMs (prompts, images) are exact, or, where the CPU has AMX, *Split*: f32 values as
//! bf16 pairs on AMX tiles ([`amx`]), f32's precision class at 2.4 times the f32 GEMM's
//! speed. `MEDLENS_CPU_ACTIVATIONS=f32`, `=q8` or `=bf16x3` forces one everywhere,
//! `MEDLENS_CPU_AMX=0` keeps the tiles off, and [`with_arithmetic`] sets one for one thread's
//! work (the transformers goldens run exact).

use rayon::prelude::*;

use super::act::{quantize_q8_0, quantize_q8_k, BlockQ8K, BlockQ8_0};
use super::amx;
use super::dot::{detect, dot_row, dot_row_f32, dot_rows, Acts, Simd};
use crate::quant::{dequantize_block, GgmlType, QK, QK_K};

/// Rows of `x` from which weights are multiplied by a dequantized-panel GEMM.
pub const GEMM_MIN_ROWS: usize = 16;

/// How the activations meet the weights (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    /// f32 activations times exactly dequantized weights.
    Exact,
    /// Activations quantized to Q8_0/Q8_K, integer dot products (llama.cpp's CPU path).
    Q8,
    /// f32 values as pairs of bf16 on AMX tiles ([`amx`]): within `3·2⁻¹⁶` of each exact
    /// product, f32's precision class, where the CPU has AMX; [`Arithmetic::Exact`] elsewhere.
    Split,
    /// Q8 below [`GEMM_MIN_ROWS`] rows of `x`, from there [`Arithmetic::Split`] where the
    /// CPU has AMX, else the exact GEMM (the default).
    Auto,
}

thread_local! {
    static OVERRIDE: std::cell::Cell<Option<Arithmetic>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with the CPU kernels on this thread using `a` (the thread that calls the model:
/// the products are set up there before rayon spreads them). Scoped, so concurrent callers,
/// such as tests, do not see each other's choice.
pub fn with_arithmetic<R>(a: Arithmetic, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arithmetic>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(a))));
    f()
}

impl Arithmetic {
    /// `MEDLENS_CPU_ACTIVATIONS`: `f32` ([`Arithmetic::Exact`]), `q8` ([`Arithmetic::Q8`]);
    /// anything else, or unset, [`Arithmetic::Auto`].
    pub fn from_env() -> Self {
        static A: std::sync::OnceLock<Arithmetic> = std::sync::OnceLock::new();
        *A.get_or_init(|| match std::env::var("MEDLENS_CPU_ACTIVATIONS").as_deref() {
            Ok("f32") => Arithmetic::Exact,
            Ok("q8") => Arithmetic::Q8,
            Ok("bf16x3") => Arithmetic::Split,
            _ => Arithmetic::Auto,
        })
    }

    /// What this thread's products use: [`with_arithmetic`]'s choice, else the environment's.
    pub fn current() -> Self {
        OVERRIDE.with(|o| o.get()).unwrap_or_else(Self::from_env)
    }

    /// The arithmetic a product with `m` rows of `x` uses.
    pub fn for_rows(self, m: usize) -> Self {
        match self {
            Arithmetic::Auto if m < GEMM_MIN_ROWS => Arithmetic::Q8,
            Arithmetic::Auto | Arithmetic::Split if amx::available() => Arithmetic::Split,
            Arithmetic::Auto | Arithmetic::Split => Arithmetic::Exact,
            a => a,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arithmetic::Exact => "f32 activations",
            Arithmetic::Q8 => "q8 activations",
            Arithmetic::Split => "bf16 pairs on AMX tiles",
            Arithmetic::Auto if amx::available() => "q8 activations below 16 rows, AMX bf16-pair GEMM above",
            Arithmetic::Auto => "q8 activations below 16 rows, f32 GEMM above",
        }
    }
}
/// Most weight rows one task of that GEMM dequantizes at a time.
pub const PANEL_ROWS: usize = 256;
/// Largest dequantized panel (f32 bytes): it should stay in a core's cache (2 MiB of L2
/// here) while its GEMM reads it. 1 MiB cut 2,560-wide panels to 64 rows, and the 4B's
/// prompt ran ~2 % slower than at 2 MiB (32.0-32.5 against 32.6-33.3 tokens a second).
const PANEL_BYTES: usize = 2 << 20;
/// Panel rows come in multiples of this: the height of gemm's widest f32 micro-kernel
/// (AVX-512: 4 × 16 rows; a multiple of the AVX2 ones' 8 as well).
const PANEL_MR: usize = 64;

/// The activations of every row of `x`, in the kind the format multiplies.
enum Prepared<'a> {
    /// f32 activations with the sum of every 32 (for the k-quants' minimums).
    Exact(&'a [f32], Vec<f32>),
    F32(&'a [f32]),
    Q8_0(Vec<BlockQ8_0>),
    Q8K(Vec<BlockQ8K>),
}

impl Prepared<'_> {
    fn dot(&self, ty: GgmlType, row: &[u8], t: usize, k: usize, simd: Simd) -> f32 {
        match self {
            Prepared::Exact(x, sums) => {
                let s = if sums.is_empty() { &[][..] } else { &sums[t * (k / QK)..(t + 1) * (k / QK)] };
                dot_row_f32(ty, row, &x[t * k..(t + 1) * k], s, simd)
            }
            _ => dot_row(ty, row, self.row(t, k), simd),
        }
    }

    fn row(&self, t: usize, k: usize) -> Acts<'_> {
        match self {
            Prepared::Exact(x, _) | Prepared::F32(x) => Acts::F32(&x[t * k..(t + 1) * k]),
            Prepared::Q8_0(b) => Acts::Q8_0(&b[t * (k / QK)..(t + 1) * (k / QK)]),
            Prepared::Q8K(b) => Acts::Q8K(&b[t * (k / QK_K)..(t + 1) * (k / QK_K)]),
        }
    }
}

fn prepare(ty: GgmlType, x: &[f32], arith: Arithmetic) -> Prepared<'_> {
    if arith == Arithmetic::Exact {
        let sums = if matches!(ty, GgmlType::Q4K | GgmlType::Q5K) { x.chunks_exact(QK).map(|c| c.iter().sum()).collect() } else { Vec::new() };
        return Prepared::Exact(x, sums);
    }
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => Prepared::Q8_0(quantize_q8_0(x)),
        GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => Prepared::Q8K(quantize_q8_k(x)),
        _ => Prepared::F32(x),
    }
}

/// Bytes of one `k`-wide row of `ty`.
pub fn row_bytes(ty: GgmlType, k: usize) -> usize {
    k / ty.block_elems() * ty.block_bytes()
}

/// Whether the CPU kernels multiply `ty` with rows of width `k`.
pub fn supports(ty: GgmlType, k: usize) -> bool {
    ty.has_kernel() && k % ty.block_elems() == 0 && k > 0
}

/// `x [m, k]` (row-major) times the `[n, k]` matrix `w` transposed, written into columns
/// `col0..col0 + n` of `out [m, ld]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_t_into(ty: GgmlType, w: &[u8], n: usize, k: usize, x: &[f32], m: usize, out: &mut [f32], ld: usize, col0: usize) {
    matmul_t_into_with(ty, w, n, k, x, m, out, ld, col0, detect(), Arithmetic::current())
}

/// [`matmul_t_into`] with the instruction set and arithmetic chosen by the caller (tests run
/// every combination).
#[allow(clippy::too_many_arguments)]
pub fn matmul_t_into_with(
    ty: GgmlType,
    w: &[u8],
    n: usize,
    k: usize,
    x: &[f32],
    m: usize,
    out: &mut [f32],
    ld: usize,
    col0: usize,
    simd: Simd,
    arith: Arithmetic,
) {
    let rb = row_bytes(ty, k);
    assert!(supports(ty, k) && w.len() >= n * rb && x.len() >= m * k && col0 + n <= ld && out.len() >= m * ld);
    if m == 0 || n == 0 {
        return;
    }
    let arith = arith.for_rows(m);
    if arith == Arithmetic::Split {
        return gemm_amx(ty, w, n, k, &x[..m * k], m, out, ld, col0, simd);
    }
    if m >= GEMM_MIN_ROWS && (arith == Arithmetic::Exact || matches!(ty, GgmlType::F16 | GgmlType::BF16)) {
        return gemm_panels(ty, w, n, k, &x[..m * k], m, out, ld, col0, simd);
    }
    let acts = prepare(ty, &x[..m * k], arith);
    // Enough tasks for rayon to balance both the cores and uneven rows, each at least a few
    // rows so a task's overhead is small beside its work.
    let threads = rayon::current_num_threads().max(1);
    let rows_per_task = n.div_ceil(threads * 8).clamp(4, 256);
    if m == 1 {
        // One token (decode): each task writes its rows' results in place.
        out[col0..col0 + n].par_chunks_mut(rows_per_task).enumerate().for_each(|(task, ys)| {
            let r0 = task * rows_per_task;
            let rows = &w[r0 * rb..(r0 + ys.len()) * rb];
            match &acts {
                Prepared::Exact(..) => {
                    for (i, y) in ys.iter_mut().enumerate() {
                        *y = acts.dot(ty, &rows[i * rb..(i + 1) * rb], 0, k, simd);
                    }
                }
                _ => dot_rows(ty, rows, rb, acts.row(0, k), ys, simd),
            }
        });
        return;
    }
    // Results come back transposed (`[n, m]`), each task owning a contiguous slice.
    let mut yt = vec![0f32; n * m];
    yt.par_chunks_mut(rows_per_task * m).enumerate().for_each(|(task, ys)| {
        let r0 = task * rows_per_task;
        for (i, yr) in ys.chunks_mut(m).enumerate() {
            let row = &w[(r0 + i) * rb..(r0 + i + 1) * rb];
            for (t, y) in yr.iter_mut().enumerate() {
                *y = acts.dot(ty, row, t, k, simd);
            }
        }
    });
    for t in 0..m {
        let o = &mut out[t * ld + col0..t * ld + col0 + n];
        for (r, v) in o.iter_mut().enumerate() {
            *v = yt[r * m + t];
        }
    }
}

/// `out`'s base pointer, shared by a GEMM's tasks: each writes only its own columns.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: the GEMMs' tasks write disjoint column ranges of `out` (see their loops).
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

/// Many rows of `x`: panels of dequantized weight rows through `gemm`, one panel per task
/// over the cores (each task dequantizes its own panel, which its GEMM then reads from cache,
/// and writes its own columns of `out`).
#[allow(clippy::too_many_arguments)]
#[allow(clippy::too_many_arguments)]
fn gemm_panels(ty: GgmlType, w: &[u8], n: usize, k: usize, x: &[f32], m: usize, out: &mut [f32], ld: usize, col0: usize, simd: Simd) {
    let rb = row_bytes(ty, k);
    // Enough panels to keep every core busy, each small enough to stay in cache.
    let threads = rayon::current_num_threads().max(1);
    // Whole micro-kernels: a panel of 102 rows (1 MiB of 2,560-wide rows) ran as one
    // 64-row micro-kernel and one 48-row one for the last 38, and a 25-row panel (10,240
    // wide) as 32-row ones only; the edge kernels took half of the 4B's prompt GEMM time.
    let by_bytes = (PANEL_BYTES / (4 * k)) / PANEL_MR * PANEL_MR;
    let rows_per_panel = n.div_ceil(threads * 4).next_multiple_of(PANEL_MR).clamp(PANEL_MR, by_bytes.clamp(PANEL_MR, PANEL_ROWS));
    let base = Out(out.as_mut_ptr());
    let panels = n.div_ceil(rows_per_panel);
    (0..panels).into_par_iter().for_each_init(
        || vec![0f32; rows_per_panel * k],
        |panel, p| {
            let base = base;
            let p0 = p * rows_per_panel;
            let rows = rows_per_panel.min(n - p0);
            let panel = &mut panel[..rows * k];
            for (o, r) in panel.chunks_exact_mut(k).zip(w[p0 * rb..(p0 + rows) * rb].chunks_exact(rb)) {
                dequantize_row(ty, r, o, simd);
            }
            // out[t, col0 + p0 + j] = Σ_l x[t, l] · panel[j, l]: the panel read as a
            // `[k, rows]` matrix with row stride 1 and column stride k.
            // SAFETY: `x` is `[m, k]` and `panel` `[rows, k]`; the output block `[m, rows]` at
            // column `col0 + p0` with row stride `ld` ends at `(m - 1) · ld + col0 + p0 + rows
            // ≤ m · ld` (asserted by the caller), and no other task writes columns
            // `col0 + p0 .. col0 + p0 + rows`.
            unsafe {
                gemm::gemm(
                    m,
                    rows,
                    k,
                    base.0.add(col0 + p0),
                    1,
                    ld as isize,
                    false,
                    x.as_ptr(),
                    1,
                    k as isize,
                    panel.as_ptr(),
                    k as isize,
                    1,
                    0.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        },
    );
}

/// One row of `ty` into `out`: F16/BF16 through `half`'s slice conversion (F16C where the
/// CPU has it, eight values an instruction, instead of one call per value), the block formats
/// through `dot::dequantize_row` with `simd` (the reference dequantizer's values, bit for
/// bit), else the reference itself.
fn dequantize_row(ty: GgmlType, r: &[u8], out: &mut [f32], simd: Simd) {
    if super::dot::dequantize_row(ty, r, out, simd) {
        return;
    }
    use half::slice::HalfFloatSliceExt;
    // SAFETY: any two bytes are a valid f16/bf16; `align_to` keeps the alignment honest.
    match ty {
        GgmlType::F16 => {
            let (pre, h, _) = unsafe { r.align_to::<half::f16>() };
            if pre.is_empty() && h.len() == out.len() {
                return h.convert_to_f32_slice(out);
            }
        }
        GgmlType::BF16 => {
            let (pre, h, _) = unsafe { r.align_to::<half::bf16>() };
            if pre.is_empty() && h.len() == out.len() {
                return h.convert_to_f32_slice(out);
            }
        }
        _ => {}
    }
    for (ob, blk) in out.chunks_exact_mut(ty.block_elems()).zip(r.chunks_exact(ty.block_bytes())) {
        dequantize_block(ty, blk, ob);
    }
}

/// Largest packed panel of [`gemm_amx`] (bytes of bf16 pairs): with the 32 rows of packed
/// `x` the kernel reads against it, it stays in a core's L2.
const AMX_PANEL_BYTES: usize = 1 << 20;
/// The GEMMs' split: two bf16 parts (see [`amx::Parts`]).
const PARTS: amx::Parts = amx::Parts::Two;

/// [`gemm_panels`] on AMX tiles ([`amx`]'s bf16 pairs): each task dequantizes a panel of
/// weight rows and packs it into B tiles, then multiplies every 32 rows of `x` (packed once
/// for all tasks) by it, 32 × 32 outputs at a time.
#[allow(clippy::too_many_arguments)]
fn gemm_amx(ty: GgmlType, w: &[u8], n: usize, k: usize, x: &[f32], m: usize, out: &mut [f32], ld: usize, col0: usize, simd: Simd) {
    assert!(amx::available());
    let rb = row_bytes(ty, k);
    let kp = amx::padded(k);
    thread_local! {
        /// Packed `x`, kept between calls (7 MiB for a MedSigLIP layer: allocating and
        /// zeroing it each time cost 5 % of the image). Taken while in use, so a nested call
        /// (rayon may run another product on this thread while it waits) gets its own.
        static XS: std::cell::Cell<amx::Aligned> = std::cell::Cell::new(amx::Aligned::default());
        /// A task's packed panel and its f32 rows, likewise.
        static PANEL: std::cell::Cell<(amx::Aligned, Vec<f32>, amx::Aligned)> = std::cell::Cell::new(Default::default());
    }
    let mut xs_buf = XS.take();
    amx::pack_x(x, m, k, PARTS, &mut xs_buf);
    let xs = xs_buf.as_slice();
    let tiles_per_chunk = PARTS.tiles();
    let (mp, group) = (m.next_multiple_of(32), tiles_per_chunk * kp * 16);
    let threads = rayon::current_num_threads().max(1);
    let by_bytes = (AMX_PANEL_BYTES / (2 * tiles_per_chunk * kp)) / 32 * 32;
    let rows_per_panel = n.div_ceil(threads * 4).next_multiple_of(32).clamp(32, by_bytes.max(32));
    let base = Out(out.as_mut_ptr());
    let panels = n.div_ceil(rows_per_panel);
    (0..panels).into_par_iter().for_each(|p| {
        let base = base;
        let (mut panel_buf, mut rows_f32, mut c_buf) = PANEL.take();
        panel_buf.resize(rows_per_panel * tiles_per_chunk * kp);
        let panel = panel_buf.as_mut_slice();
        rows_f32.resize(16 * kp, 0.0);
        let p0 = p * rows_per_panel;
        let rows = rows_per_panel.min(n - p0);
        let pairs = rows.div_ceil(32);
        for g in 0..2 * pairs {
            let (r0, r1) = ((p0 + 16 * g).min(p0 + rows), (p0 + 16 * g + 16).min(p0 + rows));
            // Rows of `kp` values, zeros past `k` and past the panel's last row (the
            // buffer may hold another product's rows).
            for (o, r) in rows_f32.chunks_exact_mut(kp).zip(w[r0 * rb..r1 * rb].chunks_exact(rb)) {
                dequantize_row(ty, r, &mut o[..k], simd);
                o[k..].fill(0.0);
            }
            rows_f32[(r1 - r0) * kp..].fill(0.0);
            amx::pack_rows(&rows_f32, kp, PARTS, &mut panel[g * group..(g + 1) * group]);
        }
        // SAFETY: `amx::available` was asserted above.
        let tiles = unsafe { amx::Tiles::configure() };
        let ldc = 32 * pairs;
        let c = c_buf.f32_mut(32 * ldc);
        // Each 32 rows of `x` against the whole panel, over the whole of K at once: slicing K
        // so that 32 rows' slice of `x` stayed in L1 (and reloading the sums) measured
        // 10-20 % slower.
        for t0 in (0..mp).step_by(32) {
            tiles.rows32(&xs[t0 / 16 * group..], panel, group, pairs, c, ldc);
            for (t, cr) in (t0..m.min(t0 + 32)).zip(c.chunks_exact(ldc)) {
                // SAFETY: row `t < m` of `out`, columns `col0 + p0 ..` + `rows` ≤ `col0 +
                // n ≤ ld` (asserted by the caller): this task's own columns.
                unsafe {
                    std::ptr::copy_nonoverlapping(cr.as_ptr(), base.0.add(t * ld + col0 + p0), rows);
                }
            }
        }
        drop(tiles);
        PANEL.set((panel_buf, rows_f32, c_buf));
    });
    XS.set(xs_buf);
}

/// Dequantizes whole rows (`w`: a multiple of the row size) into `out`, in parallel.
pub fn dequantize_rows_into(ty: GgmlType, w: &[u8], k: usize, out: &mut [f32]) {
    let rb = row_bytes(ty, k);
    let simd = detect();
    out.par_chunks_mut(k).zip(w.par_chunks(rb)).for_each(|(o, r)| dequantize_row(ty, r, o, simd));
}

#[cfg(test)]
mod tests {
    use half::{bf16, f16};

    use super::*;
    use crate::kernels::cpu::dot::available;
    use crate::quant::{dequantize, quantize};
    use crate::quant::testing::lcg;

    /// Random bytes with valid (finite, modest) block scales, so every bit pattern of the
    /// quantized values is exercised, not only what our quantizers write.
    fn random_blocks(ty: GgmlType, rows: usize, k: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        let mut bytes: Vec<u8> = (0..rows * row_bytes(ty, k))
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect();
        let scale = |b: &mut [u8], at: usize, v: f32| b[at..at + 2].copy_from_slice(&f16::from_f32(v).to_le_bytes());
        let bb = ty.block_bytes();
        for (i, b) in bytes.chunks_exact_mut(bb).enumerate() {
            let v = 0.001 + (i % 7) as f32 * 0.0007;
            match ty {
                GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => scale(b, 0, v),
                GgmlType::Q4K | GgmlType::Q5K => {
                    scale(b, 0, v);
                    scale(b, 2, v * 0.5);
                }
                GgmlType::Q6K => scale(b, 208, v),
                GgmlType::F16 => scale(b, 0, (i % 13) as f32 * 0.01 - 0.06),
                GgmlType::BF16 => b.copy_from_slice(&bf16::from_f32((i % 11) as f32 * 0.01 - 0.05).to_le_bytes()),
                _ => {}
            }
        }
        bytes
    }

    const FORMATS: [GgmlType; 8] = [GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K];

    /// `Σ w·x` in f64 and how far a kernel may be from it: f32 rounding, 1e-5 of `Σ|w·x|`,
    /// plus, with activations quantized in blocks of `q8_block`, half a step per activation,
    /// `Σ_b (amax_b / 254) · Σ_{i∈b} |w_i|`.
    fn reference_and_bound(wr: &[f32], xr: &[f32], q8_block: Option<usize>) -> (f64, f64) {
        let exact: f64 = wr.iter().zip(xr).map(|(&a, &b)| a as f64 * b as f64).sum();
        let mut bound = 1e-5 * wr.iter().zip(xr).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum::<f64>() + 1e-6;
        if let Some(ab) = q8_block {
            for (wb, xb) in wr.chunks(ab).zip(xr.chunks(ab)) {
                let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs())) as f64;
                bound += amax / 254.0 * wb.iter().map(|v| v.abs() as f64).sum::<f64>();
            }
        }
        (exact, bound)
    }

    /// How far one product of the bf16-pair arithmetic may be from exact, relative to
    /// `|w·x|`: each of `x` and `w` is carried as `hi + lo` within `2⁻¹⁶` of itself (`hi`
    /// rounded to 8 bits leaves at most `2⁻⁸·|v|`, and `lo` rounds that to 8 bits), and the
    /// dropped `lo·lo` is at most `2⁻⁸ · 2⁻⁸` of the product: `3·2⁻¹⁶` in all.
    const SPLIT_BOUND: f64 = 3.0 / 65536.0;

    fn abs_sum(wr: &[f32], xr: &[f32]) -> f64 {
        wr.iter().zip(xr).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum()
    }

    /// The AMX GEMM's edges: rows of `x` and weight rows that fill no whole 32 × 32 block,
    /// K that is not a multiple of a tile's 32, and an output with a row stride and column
    /// offset, for a float format and two block formats, against the reference dequantizer
    /// within [`SPLIT_BOUND`]. Skipped (saying so) on CPUs without AMX.
    #[test]
    fn amx_gemm_edges_match_the_reference() {
        if !amx::available() {
            eprintln!("AMX off or absent on this CPU: the bf16-pair GEMM is not run here");
            return;
        }
        for (ty, k) in [(GgmlType::F16, 100), (GgmlType::BF16, 40), (GgmlType::Q8_0, 96), (GgmlType::Q4K, 256)] {
            let n = 70;
            let w = random_blocks(ty, n, k, ty.id() as u64 + 3);
            let wf = dequantize(ty, &w).unwrap();
            for m in [1usize, 16, 37] {
                let x = lcg(m * k, 9 + m as u64, 3.0);
                let ld = n + 7;
                let mut out = vec![f32::NAN; m * ld];
                matmul_t_into_with(ty, &w, n, k, &x, m, &mut out, ld, 4, detect(), Arithmetic::Split);
                for t in 0..m {
                    let xr = &x[t * k..(t + 1) * k];
                    for r in 0..n {
                        let wr = &wf[r * k..(r + 1) * k];
                        let (exact, bound) = reference_and_bound(wr, xr, None);
                        let bound = bound + SPLIT_BOUND * abs_sum(wr, xr);
                        let got = out[t * ld + 4 + r] as f64;
                        assert!((got - exact).abs() <= bound, "{} m={m} row {r} tok {t}: {got} vs {exact} (bound {bound})", ty.name());
                    }
                    assert!(out[t * ld..t * ld + 4].iter().chain(&out[t * ld + 4 + n..(t + 1) * ld]).all(|v| v.is_nan()));
                }
                // Not the exact GEMM's result: the tiles ran (bf16 pairs differ from f32
                // in the last bits somewhere in 70 · m dot products of random values).
                let mut exact_out = vec![f32::NAN; m * ld];
                matmul_t_into_with(ty, &w, n, k, &x, m, &mut exact_out, ld, 4, detect(), Arithmetic::Exact);
                let cols = |o: &[f32]| o.chunks(ld).flat_map(|r| r[4..4 + n].to_vec()).collect::<Vec<f32>>();
                if m >= GEMM_MIN_ROWS {
                    assert_ne!(cols(&out), cols(&exact_out), "{} m={m}: the split GEMM equals the f32 one bit for bit", ty.name());
                }
            }
        }
    }

    /// Every format, both arithmetics, portable and (where the CPU has it) AVX2, one row of
    /// `x` and several (the GEMM path from 16), against the reference dequantizer in f64.
    /// Exact arithmetic may only add f32 rounding: 1e-5 of `Σ|W_i x_i|`. Q8 arithmetic also
    /// rounds each activation by at most half a step, `amax_b / 254` for its block `b`, so
    /// `|y − y_ref| ≤ Σ_b (amax_b / 254) · Σ_{i∈b} |W_i|` more (F16/BF16 keep f32 activations).
    #[test]
    fn every_format_matches_the_reference_dequantizer_within_the_activation_rounding() {
        let (n, k) = (37, 512);
        let simds = available();
        for ty in FORMATS {
            let w = random_blocks(ty, n, k, ty.id() as u64 + 11);
            let wf = dequantize(ty, &w).unwrap();
            for m in [1usize, 3, 20] {
                let x = lcg(m * k, 5 + m as u64, 2.0);
                let ab = if matches!(ty, GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K) { QK_K } else { QK };
                for (simd, arith) in simds.iter().flat_map(|s| [(*s, Arithmetic::Exact), (*s, Arithmetic::Q8), (*s, Arithmetic::Split), (*s, Arithmetic::Auto)])
                {
                    let ld = n + 5;
                    let mut out = vec![f32::NAN; m * ld];
                    matmul_t_into_with(ty, &w, n, k, &x, m, &mut out, ld, 3, simd, arith);
                    for t in 0..m {
                        let xr = &x[t * k..(t + 1) * k];
                        for r in 0..n {
                            let wr = &wf[r * k..(r + 1) * k];
                            let q8 = arith.for_rows(m) == Arithmetic::Q8 && !matches!(ty, GgmlType::F16 | GgmlType::BF16);
                            let (exact, mut bound) = reference_and_bound(wr, xr, q8.then_some(ab));
                            if arith.for_rows(m) == Arithmetic::Split {
                                bound += SPLIT_BOUND * abs_sum(wr, xr);
                            }
                            let got = out[t * ld + 3 + r] as f64;
                            assert!((got - exact).abs() <= bound, "{} {simd:?} {arith:?} m={m} row {r} tok {t}: {got} vs {exact} (bound {bound})", ty.name());
                        }
                        // Columns outside `col0..col0 + n` are left alone.
                        assert!(out[t * ld..t * ld + 3].iter().chain(&out[t * ld + 3 + n..(t + 1) * ld]).all(|v| v.is_nan()));
                    }
                }
            }
        }
    }

    /// Every block format's rows, dequantized with every instruction set, are the reference
    /// dequantizer's values bit for bit (NaN-free random blocks of 1 to 4 blocks a row).
    #[test]
    fn row_dequantizers_equal_the_reference_bit_for_bit() {
        for ty in FORMATS {
            for blocks_per_row in 1..=4 {
                let k = blocks_per_row * ty.block_elems();
                let w = random_blocks(ty, 5, k, ty.id() as u64 + 97);
                let want = dequantize(ty, &w).unwrap();
                for simd in available() {
                    let mut got = vec![f32::NAN; 5 * k];
                    for (o, r) in got.chunks_exact_mut(k).zip(w.chunks_exact(row_bytes(ty, k))) {
                        dequantize_row(ty, r, o, simd);
                    }
                    let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{} {simd:?}, {blocks_per_row} blocks a row", ty.name());
                }
            }
        }
    }

    /// The portable and AVX2 kernels do the same integer sums: they agree to float rounding.
    /// (On a CPU without AVX2 there is nothing to compare.)
    #[test]
    fn every_instruction_set_agrees_with_the_portable_kernels() {
        let (n, k) = (64, 1024);
        for ty in FORMATS {
            let w = random_blocks(ty, n, k, 99 + ty.id() as u64);
            let x = lcg(2 * k, 3, 1.0);
            let wf = dequantize(ty, &w).unwrap();
            for arith in [Arithmetic::Exact, Arithmetic::Q8] {
                // Two rows of x (the few-row path) and one (the decode path, rows at once).
                for m in [2usize, 1] {
                    let mut a = vec![0f32; m * n];
                    matmul_t_into_with(ty, &w, n, k, &x, m, &mut a, n, 0, Simd::Portable, arith);
                    for &simd in &available()[1..] {
                        let mut b = vec![0f32; m * n];
                        matmul_t_into_with(ty, &w, n, k, &x, m, &mut b, n, 0, simd, arith);
                        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                            // Float rounding of a sum of k terms, relative to the sum of their sizes.
                            let (t, r) = (i / n, i % n);
                            let size: f32 = wf[r * k..(r + 1) * k].iter().zip(&x[t * k..(t + 1) * k]).map(|(a, b)| (a * b).abs()).sum();
                            assert!((p - q).abs() <= 1e-5 * size, "{} {simd:?} {arith:?} m={m}: {p} vs {q}", ty.name());
                        }
                    }
                }
            }
        }
    }

    /// The 32-value formats at every block count from 1 to 9 and the 270M's 20: the AVX2
    /// kernels take blocks two at a time, so odd counts and short rows reach their tails. Each instruction set against the reference dequantizer, within the activation
    /// rounding bound above.
    #[test]
    fn short_and_odd_rows_reach_every_kernel_tail() {
        let n = 9;
        for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0] {
            for blocks in (1..=9).chain([20]) {
                let k = QK * blocks;
                let w = random_blocks(ty, n, k, 31 + blocks as u64);
                let wf = dequantize(ty, &w).unwrap();
                let x = lcg(k, 17 + blocks as u64, 3.0);
                for simd in available() {
                    let mut y = vec![f32::NAN; n];
                    matmul_t_into_with(ty, &w, n, k, &x, 1, &mut y, n, 0, simd, Arithmetic::Q8);
                    for r in 0..n {
                        let wr = &wf[r * k..(r + 1) * k];
                        let (exact, bound) = reference_and_bound(wr, &x, Some(QK));
                        assert!((y[r] as f64 - exact).abs() <= bound, "{} {simd:?} {blocks} blocks row {r}: {} vs {exact}", ty.name(), y[r]);
                    }
                }
            }
        }
    }

    /// One token (the decode step's rows-at-once path) gives, row for row, what the
    /// one-row dot gives, at every instruction set and arithmetic, with the output written at
    /// its column offset and nothing else touched.
    #[test]
    fn one_token_rows_at_once_equal_the_one_row_dot() {
        let (n, k) = (37, 512);
        for ty in FORMATS {
            let w = random_blocks(ty, n, k, 7 + ty.id() as u64);
            let x = lcg(k, 5, 1.0);
            for simd in available() {
                for arith in [Arithmetic::Exact, Arithmetic::Q8] {
                    let (ld, col0) = (n + 5, 3);
                    let mut out = vec![-1f32; ld];
                    matmul_t_into_with(ty, &w, n, k, &x, 1, &mut out, ld, col0, simd, arith);
                    let acts = prepare(ty, &x, arith.for_rows(1));
                    let rb = row_bytes(ty, k);
                    for r in 0..n {
                        assert_eq!(out[col0 + r], acts.dot(ty, &w[r * rb..(r + 1) * rb], 0, k, simd), "{} {simd:?} {arith:?} row {r}", ty.name());
                    }
                    assert!(out[..col0].iter().chain(&out[col0 + n..]).all(|&v| v == -1.0), "only the block's columns written");
                }
            }
        }
    }

    /// Weights our own quantizers wrote (the importer's formats) give the same answer as
    /// their dequantized f32 copy, within the activation rounding bound used above.
    #[test]
    fn quantizer_output_round_trips() {
        let (n, k) = (8, 256);
        let wf = lcg(n * k, 1, 0.2);
        let x = lcg(k, 2, 1.0);
        for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4K, GgmlType::Q6K] {
            let w = quantize(ty, &wf).unwrap();
            let deq = dequantize(ty, &w).unwrap();
            let mut y = vec![0f32; n];
            matmul_t_into_with(ty, &w, n, k, &x, 1, &mut y, n, 0, detect(), Arithmetic::Q8);
            let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
            for r in 0..n {
                let wr = &deq[r * k..(r + 1) * k];
                let exact: f32 = wr.iter().zip(&x).map(|(a, b)| a * b).sum();
                let bound = amax / 254.0 * wr.iter().map(|v| v.abs()).sum::<f32>() + 1e-4;
                assert!((y[r] - exact).abs() <= bound, "{}: {} vs {exact}", ty.name(), y[r]);
            }
        }
    }
}
