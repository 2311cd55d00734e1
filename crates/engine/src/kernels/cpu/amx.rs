//! The many-row products on Intel's AMX tiles (Sapphire Rapids and later), at f32-class
//! precision from bf16 tile products: the GEMM of `super::matmul` and SigLIP's attention
//! (`super::attention`).
//!
//! An AMX `TDPBF16PS` multiplies a 16 × 32 tile of bf16 by a 32 × 16 one into 16 × 16 f32
//! sums: 8,192 multiply-adds an instruction, sixteen times the f32 FMA rate of an AVX-512
//! core. One bf16 keeps 8 significant bits, so each f32 value `v` is carried as [`Parts`]:
//! `hi = bf16(v)` (rounded to nearest), `lo = bf16(v - hi)` (and for three parts a `mid`
//! between them). `hi + lo` is `v` to within `2⁻¹⁸·|v|`, and exactly `v` for every f16 or
//! bf16 weight. The product of two such pairs is three bf16 products, `hi·hi + hi·lo +
//! lo·hi` (each exact in f32), so the GEMM runs over a K three times as long: `x` packed as
//! `(hi, hi, lo)` per 32 values, the weights as `(hi, lo, hi)`. The dropped `lo·lo` term and
//! the two splits leave each product within `3·2⁻¹⁸` of exact (the tests hold it to a looser
//! `3·2⁻¹⁶` against the reference dequantizer). Measured on 2 cores: MedSigLIP's
//! 1,024 × 1,152 × 4,304 product at 641 GFLOP/s against the f32 GEMM's 268.
//!
//! Layouts, in u16 (bf16 bits), every buffer on 64-byte lines ([`Aligned`]: a tile row across
//! two cache lines costs two loads, and the kernel ran at a third of its speed without):
//! - A (`x`): per 16 rows (rows rounded up to 32, zeros past the last), `tiles·kp/32` tiles
//!   of 1 KiB, `kp` = K rounded up to 32 with zeros: 16 rows of 32 bf16, one part of a
//!   32-value chunk each.
//! - B (weights): per group of 16 weight rows, as many tiles, each the "VNNI" layout
//!   `[16 pairs of K][16 rows][2]` that `TDPBF16PS` reads (a 16 × 16 transpose of u32).
//!
//! The kernel keeps four 16 × 16 sums (32 rows of `x` × 32 weight rows) in tiles 0-3 and
//! loads two A and two B tiles per step: four tile products per four loads, over the whole
//! of K at once (slicing K so a slice of `x` stayed in L1 measured slower).

/// Whether this CPU has AMX-TILE and AMX-BF16 and the kernel lets this process use them
/// (Linux asks each process to request the tile state once). `MEDLENS_CPU_AMX=0` turns it
/// off (comparisons); asked once.
pub fn available() -> bool {
    static A: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *A.get_or_init(|| !std::env::var("MEDLENS_CPU_AMX").is_ok_and(|v| v == "0") && detect())
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn detect() -> bool {
    // CPUID leaf 7: EDX bit 22 AMX-BF16, bit 24 AMX-TILE.
    let max = core::arch::x86_64::__cpuid(0).eax;
    if max < 7 {
        return false;
    }
    let edx = core::arch::x86_64::__cpuid_count(7, 0).edx;
    if edx & (1 << 22) == 0 || edx & (1 << 24) == 0 {
        return false;
    }
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: a plain system call with integer arguments; it fails cleanly on kernels
    // without AMX support.
    unsafe { libc::syscall(libc::SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0 }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
fn detect() -> bool {
    false
}

/// K rounded up to whole 32-value chunks (one tile's depth).
pub fn padded(k: usize) -> usize {
    k.next_multiple_of(32)
}

/// How many bf16 parts carry each f32 value, and so the tile products per 32 values of K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// `hi + lo`, within `2⁻¹⁸` of the value: `hi·hi + hi·lo + lo·hi`, 3 products, each
    /// within `3·2⁻¹⁸` of exact (the GEMMs).
    Two,
    /// `hi + mid + lo`, within `2⁻²⁷`: `hi·hi + hi·mid + mid·hi + hi·lo + lo·hi + mid·mid`, 6
    /// products, each within `5·2⁻²⁷` (below f32's own `2⁻²⁴` rounding): attention, whose
    /// scores go through `exp`, so that their absolute error becomes the weights' relative
    /// one (with `Two` the SigLIP goldens' logits drifted 1.5e-5 from transformers', over
    /// their 1e-5 bound; f32 gives 7e-7).
    Three,
}

impl Parts {
    fn count(self) -> usize {
        match self {
            Parts::Two => 2,
            Parts::Three => 3,
        }
    }

    /// The part in each A tile and each B tile of a 32-value chunk, in product order.
    fn orders(self) -> (&'static [usize], &'static [usize]) {
        match self {
            Parts::Two => (&[0, 0, 1], &[0, 1, 0]),
            Parts::Three => (&[0, 0, 1, 0, 2, 1], &[0, 1, 0, 2, 0, 1]),
        }
    }

    /// Tiles per 32 values of K (a chunk), on each side.
    pub fn tiles(self) -> usize {
        self.orders().0.len()
    }
}

/// `v` as bf16 parts, each rounded to nearest even from what the earlier ones left.
#[inline(always)]
fn split(v: f32, parts: &mut [u16]) {
    let mut rest = v;
    for p in parts.iter_mut() {
        *p = round_bf16(rest);
        rest -= f32::from_bits((*p as u32) << 16);
    }
}

/// f32 → bf16 bits, rounded to nearest even (finite values; the models' activations are).
#[inline(always)]
fn round_bf16(v: f32) -> u16 {
    let b = v.to_bits();
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// A buffer of u16 on 64-byte boundaries: a tile row that straddles two cache lines costs
/// two loads, and the kernel ran at a third of its speed on `Vec<u16>`'s 16-byte alignment.
#[derive(Default)]
pub struct Aligned(Vec<Line>);

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u16; 32]);

impl Aligned {
    /// `n` values (a multiple of 32), keeping what fits and zeros after.
    pub fn resize(&mut self, n: usize) {
        assert!(n % 32 == 0);
        self.0.resize(n / 32, Line([0; 32]));
    }

    pub fn as_slice(&self) -> &[u16] {
        // SAFETY: `Line` is 32 u16 with no padding.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr() as *const u16, self.0.len() * 32) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u16] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr() as *mut u16, self.0.len() * 32) }
    }

    /// The buffer resized to `n` f32 (a multiple of 16), viewed as f32: the tiles' sums.
    pub fn f32_mut(&mut self, n: usize) -> &mut [f32] {
        self.resize(2 * n);
        // SAFETY: `2·n` u16 on 64-byte lines are `n` f32 (any bits are a valid f32).
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr() as *mut f32, n) }
    }
}

/// `x` (`[m, k]` f32) packed as the A operand into `out`: per 16 rows (`m` rounded up to 32,
/// zero rows past `m`), `parts.tiles()·padded(k)/32` A tiles of 512 u16, each 16 rows of 32
/// bf16 (one part of a 32-value chunk), so every tile load reads 1 KiB in a row.
pub fn pack_x(x: &[f32], m: usize, k: usize, parts: Parts, out: &mut Aligned) {
    use rayon::prelude::*;
    let group = parts.tiles() * padded(k) * 16;
    out.resize(m.next_multiple_of(32) / 16 * group);
    out.as_mut_slice().par_chunks_mut(group).enumerate().for_each(|(g, tiles)| pack_a_group(x, k, m, k, g, parts, tiles));
}

/// [`pack_x`] on this thread, for rows `x[t·ldx..t·ldx + k]` (a head's slice of a wider row).
pub fn pack_a(x: &[f32], ldx: usize, m: usize, k: usize, parts: Parts, out: &mut Aligned) {
    let group = parts.tiles() * padded(k) * 16;
    out.resize(m.next_multiple_of(32) / 16 * group);
    for (g, tiles) in out.as_mut_slice().chunks_exact_mut(group).enumerate() {
        pack_a_group(x, ldx, m, k, g, parts, tiles);
    }
}

/// Rows `16·g..16·g + 16` of `x` (row `t` at `t·ldx`, `k` values, zeros from row `m`) as A
/// tiles: AVX-512 where the CPU has AMX, with the split inlined (as a call per 32 values it
/// took a tenth of MedSigLIP's image).
fn pack_a_group(x: &[f32], ldx: usize, m: usize, k: usize, g: usize, parts: Parts, tiles: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: every AMX CPU has AVX-512 F.
        return unsafe { x86::pack_a_group(x, ldx, m, k, g, parts, tiles) };
    }
    pack_a_group_with::<Portable>(x, ldx, m, k, g, parts, tiles)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pack_a_group_with<K: Kit>(x: &[f32], ldx: usize, m: usize, k: usize, g: usize, parts: Parts, tiles: &mut [u16]) {
    let (order, _) = parts.orders();
    let mut p = [[0u16; 32]; 3];
    for r in 0..16 {
        let t = 16 * g + r;
        for c in 0..padded(k) / 32 {
            let p = &mut p[..parts.count()];
            if t < m && (c + 1) * 32 <= k {
                K::split32(&x[t * ldx + c * 32..t * ldx + (c + 1) * 32], p);
            } else {
                p.iter_mut().for_each(|q| q.fill(0));
                if t < m {
                    for (i, &v) in x[t * ldx + c * 32..t * ldx + k].iter().enumerate() {
                        let mut one = [0u16; 3];
                        split(v, &mut one[..p.len()]);
                        for (q, o) in p.iter_mut().zip(one) {
                            q[i] = o;
                        }
                    }
                }
            }
            for (s, &part) in order.iter().enumerate() {
                let at = (order.len() * c + s) * 512 + r * 32;
                tiles[at..at + 32].copy_from_slice(&p[part]);
            }
        }
    }
}

/// The packers' two steps: 32 values into their bf16 parts, and a B tile's transpose.
trait Kit {
    fn split32(v: &[f32], p: &mut [[u16; 32]]);
    fn transpose(src: &[[u16; 32]; 16], tile: &mut [u16]);
}

/// Plain Rust, for CPUs without AMX (and the tests' reference for the AVX-512 kit).
struct Portable;

impl Kit for Portable {
    fn split32(v: &[f32], p: &mut [[u16; 32]]) {
        for (i, &x) in v.iter().enumerate() {
            let mut one = [0u16; 3];
            split(x, &mut one[..p.len()]);
            for (q, o) in p.iter_mut().zip(one) {
                q[i] = o;
            }
        }
    }

    fn transpose(src: &[[u16; 32]; 16], tile: &mut [u16]) {
        for p in 0..16 {
            for r in 0..16 {
                tile[(p * 16 + r) * 2] = src[r][2 * p];
                tile[(p * 16 + r) * 2 + 1] = src[r][2 * p + 1];
            }
        }
    }
}

/// 16 weight rows (`rows`, `[16][kp]` f32, `kp = padded(k)`, zeros past each row's `k`
/// values and in rows past the last) packed as B tiles into `out` (`parts.tiles()·kp/32`
/// tiles of 512 u16).
pub fn pack_rows(rows: &[f32], kp: usize, parts: Parts, out: &mut [u16]) {
    assert!(rows.len() == 16 * kp && kp % 32 == 0 && out.len() == parts.tiles() * kp * 16);
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: every AMX CPU has AVX-512 F.
        return unsafe { x86::pack_rows(rows, kp, parts, out) };
    }
    pack_rows_with::<Portable>(rows, kp, parts, out)
}

#[inline(always)]
fn pack_rows_with<K: Kit>(rows: &[f32], kp: usize, parts: Parts, out: &mut [u16]) {
    let (_, order) = parts.orders();
    // Each part of one 32-value chunk of each row: 16 rows of 16 bf16 pairs, transposed once.
    let mut split_rows = [[[0u16; 32]; 16]; 3];
    let mut part_tiles = [[0u16; 512]; 3];
    let mut one = [[0u16; 32]; 3];
    for (c, tiles) in out.chunks_exact_mut(order.len() * 512).enumerate() {
        for r in 0..16 {
            K::split32(&rows[r * kp + c * 32..r * kp + c * 32 + 32], &mut one[..parts.count()]);
            for (sr, o) in split_rows.iter_mut().zip(&one).take(parts.count()) {
                sr[r] = *o;
            }
        }
        for (tile, src) in part_tiles.iter_mut().zip(&split_rows).take(parts.count()) {
            K::transpose(src, tile);
        }
        for (s, &part) in order.iter().enumerate() {
            tiles[s * 512..(s + 1) * 512].copy_from_slice(&part_tiles[part]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{Kit, Parts};

    /// AVX-512 F: only inlined into the `target_feature` functions below.
    struct Avx512;

    impl Kit for Avx512 {
        #[inline(always)]
        fn split32(v: &[f32], p: &mut [[u16; 32]]) {
            assert!(v.len() == 32 && p.len() <= 3);
            // SAFETY: only called from the AVX-512 functions below; lengths asserted.
            unsafe { split32(v.as_ptr(), p.as_mut_ptr() as *mut u16, p.len()) }
        }

        #[inline(always)]
        fn transpose(src: &[[u16; 32]; 16], tile: &mut [u16]) {
            assert!(tile.len() == 512);
            // SAFETY: as above; `src` is 1 KiB and `tile` 512 u16.
            unsafe { transpose16(src.as_ptr() as *const u32, tile.as_mut_ptr() as *mut u32) }
        }
    }

    /// # Safety
    /// AVX-512 F.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn pack_a_group(x: &[f32], ldx: usize, m: usize, k: usize, g: usize, parts: Parts, tiles: &mut [u16]) {
        super::pack_a_group_with::<Avx512>(x, ldx, m, k, g, parts, tiles)
    }

    /// # Safety
    /// AVX-512 F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn pack_rows(rows: &[f32], kp: usize, parts: Parts, out: &mut [u16]) {
        super::pack_rows_with::<Avx512>(rows, kp, parts, out)
    }

    /// `(b + 0x7fff + (b >> 16 & 1)) >> 16`: f32 bits rounded to bf16 (nearest, even).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn round(b: __m512i) -> __m512i {
        let lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
        _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7fff)), lsb), 16)
    }

    /// # Safety
    /// AVX-512 F; `v` 32 f32, `p` `n ≤ 3` rows of 32 u16.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn split32(v: *const f32, p: *mut u16, n: usize) {
        for half in 0..2 {
            // SAFETY: the caller's lengths.
            unsafe {
                let mut rest = _mm512_loadu_ps(v.add(16 * half));
                for i in 0..n {
                    let h = round(_mm512_castps_si512(rest));
                    rest = _mm512_sub_ps(rest, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
                    _mm256_storeu_si256(p.add(32 * i + 16 * half) as *mut __m256i, _mm512_cvtepi32_epi16(h));
                }
            }
        }
    }

    /// 16 × 16 u32 transposed: unpacks of 32 then 64 bits transpose each 128-bit lane's 4 × 4
    /// blocks, then shuffles of whole lanes transpose the 4 × 4 grid of blocks.
    ///
    /// # Safety
    /// AVX-512 F; `src` and `dst` 256 u32 each.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn transpose16(src: *const u32, dst: *mut u32) {
        // SAFETY: the caller's lengths.
        let a: [__m512i; 16] = core::array::from_fn(|i| unsafe { _mm512_loadu_si512(src.add(16 * i) as *const __m512i) });
        let mut t = [_mm512_setzero_si512(); 16];
        for i in (0..16).step_by(2) {
            t[i] = _mm512_unpacklo_epi32(a[i], a[i + 1]);
            t[i + 1] = _mm512_unpackhi_epi32(a[i], a[i + 1]);
        }
        // u[4g + c], lane L: column 4L + c of rows 4g..4g + 4.
        let mut u = [_mm512_setzero_si512(); 16];
        for g in (0..16).step_by(4) {
            u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
            u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
            u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
            u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
        }
        for c in 0..4 {
            let (v0, v1, v2, v3) = (u[c], u[4 + c], u[8 + c], u[12 + c]);
            let x0 = _mm512_shuffle_i32x4(v0, v1, 0x44);
            let x1 = _mm512_shuffle_i32x4(v0, v1, 0xee);
            let x2 = _mm512_shuffle_i32x4(v2, v3, 0x44);
            let x3 = _mm512_shuffle_i32x4(v2, v3, 0xee);
            let o = [
                _mm512_shuffle_i32x4(x0, x2, 0x88),
                _mm512_shuffle_i32x4(x0, x2, 0xdd),
                _mm512_shuffle_i32x4(x1, x3, 0x88),
                _mm512_shuffle_i32x4(x1, x3, 0xdd),
            ];
            for (l, v) in o.into_iter().enumerate() {
                // SAFETY: row `4l + c < 16` of `dst`.
                unsafe { _mm512_storeu_si512(dst.add(16 * (4 * l + c)) as *mut __m512i, v) };
            }
        }
    }
}

/// The tile shapes: palette 1, tiles 0-7 each 16 rows of 64 bytes.
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    const fn new() -> Self {
        let mut c = [0u8; 64];
        c[0] = 1;
        let mut t = 0;
        while t < 8 {
            c[16 + 2 * t] = 64;
            c[48 + t] = 16;
            t += 1;
        }
        TileConfig(c)
    }
}

static CONFIG: TileConfig = TileConfig::new();

/// The tile state for one task: configured on creation, released on drop (so the kernel
/// need not save 8 KiB of tiles when the thread is switched out between tasks).
pub struct Tiles(());

impl Tiles {
    /// # Safety
    /// [`available`] must have returned true.
    pub unsafe fn configure() -> Self {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AMX-TILE is present and permitted (the caller's contract); the config is
        // a valid palette-1 layout.
        unsafe {
            core::arch::asm!("ldtilecfg [{}]", in(reg) CONFIG.0.as_ptr(), options(nostack, readonly));
        }
        Tiles(())
    }

    /// `c[32][32·pairs] = A · Bᵀ`: 32 rows packed as A (`a`: two groups of `group` u16,
    /// [`pack_x`]/[`pack_a`]) times `32·pairs` rows packed as B (`b`: `2·pairs` groups,
    /// [`pack_rows`]), `c` with row stride `ldc ≥ 32·pairs` and on 64-byte lines (an
    /// [`Aligned::f32_mut`] buffer).
    pub fn rows32(&self, a: &[u16], b: &[u16], group: usize, pairs: usize, c: &mut [f32], ldc: usize) {
        let steps = group / 512;
        assert!(steps > 0 && group % 512 == 0 && a.len() >= 2 * group && b.len() >= 2 * pairs * group);
        assert!(ldc >= 32 * pairs && c.len() >= 31 * ldc + 32 * pairs && (c.as_ptr() as usize) % 64 == 0 && ldc % 16 == 0);
        for j in 0..pairs {
            // SAFETY: each group holds `steps` tiles of 1 KiB (asserted above), and block `j` of
            // `c` is 32 rows of 32 f32 at stride `ldc` inside `c`, on 64-byte lines.
            unsafe {
                self.block(
                    a.as_ptr(),
                    a.as_ptr().add(group),
                    b.as_ptr().add(2 * j * group),
                    b.as_ptr().add((2 * j + 1) * group),
                    steps,
                    c.as_mut_ptr().add(32 * j),
                    4 * ldc,
                );
            }
        }
    }

    /// `A · B` into the 32 × 32 sums at `c` (row stride `sc` bytes): 32 rows of packed `x`
    /// (`a0`, `a1`: the first A tiles of two groups of 16) times 32 weight rows (`b0`, `b1`:
    /// the first B tiles of two groups of 16), over `steps` 32-deep chunks (consecutive tiles
    /// of 1 KiB).
    ///
    /// # Safety
    /// `a0`, `a1`, `b0` and `b1` must each hold `steps` tiles of 1 KiB; `c` 32 rows of 32 f32
    /// at stride `sc`, 64-byte aligned like the tiles (a tile row across two cache lines
    /// costs two loads); `steps > 0`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(&self, a0: *const u16, a1: *const u16, b0: *const u16, b1: *const u16, steps: usize, c: *mut f32, sc: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller's contract bounds every tile load and store.
        unsafe {
            let (c1, c2) = (c.add(16), c.byte_add(16 * sc));
            let c3 = c2.add(16);
            core::arch::asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                "2:",
                "tileloadd tmm4, [{a0} + {s}*1]",
                "tileloadd tmm6, [{b0} + {s}*1]",
                "tileloadd tmm5, [{a1} + {s}*1]",
                "tileloadd tmm7, [{b1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "add {a0}, 1024",
                "add {a1}, 1024",
                "add {b0}, 1024",
                "add {b1}, 1024",
                "dec {n}",
                "jnz 2b",
                "tilestored [{c0} + {sc}*1], tmm0",
                "tilestored [{c1} + {sc}*1], tmm1",
                "tilestored [{c2} + {sc}*1], tmm2",
                "tilestored [{c3} + {sc}*1], tmm3",
                a0 = inout(reg) a0 => _,
                a1 = inout(reg) a1 => _,
                b0 = inout(reg) b0 => _,
                b1 = inout(reg) b1 => _,
                n = inout(reg) steps => _,
                s = in(reg) 64usize,
                sc = in(reg) sc,
                c0 = in(reg) c,
                c1 = in(reg) c1,
                c2 = in(reg) c2,
                c3 = in(reg) c3,
                options(nostack),
            );
        }
    }
}

impl Drop for Tiles {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: releasing a configured tile state.
        unsafe {
            core::arch::asm!("tilerelease", options(nostack, nomem));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX-512 packers (used where the CPU has AMX) write the portable ones' tiles bit for
    /// bit, for both splits, with rows and K off the tile edges; and the parts add back up to
    /// each value within the split's bound.
    #[test]
    fn packers_agree_with_the_portable_ones() {
        let vals: Vec<f32> = (0..40 * 70).map(|i| ((i * 7919 % 1999) as f32 - 999.0) * 1.37e-3 * (1.0 + (i % 13) as f32)).collect();
        for parts in [Parts::Two, Parts::Three] {
            let (m, k) = (37, 70);
            let kp = padded(k);
            let mut a = Aligned::default();
            pack_a(&vals, k, m, k, parts, &mut a);
            let group = parts.tiles() * kp * 16;
            let mut want = vec![0u16; group];
            for g in 0..m.next_multiple_of(32) / 16 {
                pack_a_group_with::<Portable>(&vals, k, m, k, g, parts, &mut want);
                assert_eq!(&a.as_slice()[g * group..(g + 1) * group], &want[..], "{parts:?} A group {g}");
            }
            let mut rows = vec![0f32; 16 * kp];
            for r in 0..13 {
                rows[r * kp..r * kp + k].copy_from_slice(&vals[r * k..(r + 1) * k]);
            }
            let (mut got, mut want) = (vec![0u16; group], vec![0u16; group]);
            pack_rows(&rows, kp, parts, &mut got);
            pack_rows_with::<Portable>(&rows, kp, parts, &mut want);
            assert_eq!(got, want, "{parts:?} B tiles");
            let bound = if parts == Parts::Two { 2f32.powi(-17) } else { 2f32.powi(-26) };
            for &v in &vals {
                let mut p = [0u16; 3];
                split(v, &mut p[..parts.count()]);
                let back: f64 = p.iter().map(|&h| f32::from_bits((h as u32) << 16) as f64).sum();
                assert!((back - v as f64).abs() <= bound as f64 * v.abs() as f64, "{parts:?} {v}: {back}");
            }
        }
    }
}
