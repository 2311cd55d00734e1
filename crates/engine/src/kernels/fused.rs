//! Fused row kernels for the Gemma 3 decoder on CubeCL (wgpu): each replaces a chain of
//! burn ops that would otherwise be one launch each (an RMSNorm is 7, GELU-tanh 9, RoPE 8,
//! softmax 5), with one pass over the row.
//!
//! Why: a decode step is a few thousand tiny launches on an unfused backend, and each costs a
//! bind group, a uniform upload and a driver round trip (on lavapipe, also a thread
//! fork/join). Fusing the row operations is what llama.cpp's graph does too (rms_norm+mul,
//! add+rms_norm, rope+set_rows).
//!
//! Each kernel computes exactly the composed burn ops' arithmetic, in the same order per
//! element; only the reduction order of a row sum differs (a tree over [`ROW_THREADS`]
//! partial sums), so results agree within n·eps. `tests/qmatmul.rs` checks each against the
//! composed ops. Burn's CPU backend never calls these: the layers compose burn ops there.
//!
//! One cube of [`ROW_THREADS`] units per row; rows beyond 65 535 use a second grid dimension.

use burn::backend::{backend_extension, tensor::{FloatTensor, IntTensor}, Backend, Dispatch};
use burn::tensor::{DType, Tensor};
use burn_cubecl::{ops::numeric::empty_device_dtype, tensor::CubeTensor, CubeBackend};
use cubecl::prelude::{CubeCount, CubeDim};

use super::qmatmul::contiguous;
use kernels::{
    add_rms_norm_kernel, argmax_kernel, decode_attention_kernel, geglu_kernel, geglu_packed_kernel, gelu_tanh_kernel, norm_rope_kernel,
    qkv_store_kernel,
    rms_norm_kernel, softmax_kernel,
};

/// Units per cube of the row kernels (a power of two: the reductions halve it).
pub const ROW_THREADS: u32 = 256;

#[allow(unused_assignments)]
pub(super) mod kernels {
    use cubecl::prelude::*;

    /// Σ of `v` over the cube's units, left in `sh[0]` (a shared-memory tree: lavapipe hides
    /// subgroup operations). Every unit must call it; `sh[0]` is valid for all afterwards.
    #[cube]
    pub(crate) fn cube_sum(sh: &mut Shared<[f32]>, v: f32) {
        let unit = UNIT_POS as usize;
        sh[unit] = v;
        sync_cube();
        let mut stride = 128usize;
        while stride > 0 {
            if unit < stride {
                let o = sh[unit + stride];
                sh[unit] += o;
            }
            sync_cube();
            stride /= 2;
        }
    }

    /// The same tree, for a maximum.
    #[cube]
    pub(crate) fn cube_max(sh: &mut Shared<[f32]>, v: f32) {
        let unit = UNIT_POS as usize;
        sh[unit] = v;
        sync_cube();
        let mut stride = 128usize;
        while stride > 0 {
            if unit < stride {
                let o = sh[unit + stride];
                if o > sh[unit] {
                    sh[unit] = o;
                }
            }
            sync_cube();
            stride /= 2;
        }
    }

    /// `1 / sqrt(mean(x[base..base + n]²) + eps)`, summed by the whole cube (every unit
    /// calls it and gets the same value).
    #[cube]
    fn inv_rms(sh: &mut Shared<[f32]>, x: &Tensor<f32>, base: usize, n: usize, eps: f32) -> f32 {
        let mut acc = 0.0f32;
        let mut i = UNIT_POS as usize;
        while i < n {
            let v = x[base + i];
            acc += v * v;
            i += 256;
        }
        cube_sum(sh, acc);
        1.0f32 / (sh[0] / f32::cast_from(n) + eps).sqrt()
    }

    #[cube]
    fn row_index() -> usize {
        (CUBE_POS_Y * CUBE_COUNT_X + CUBE_POS_X) as usize
    }

    /// `out[r] = x[r] · 1/sqrt(mean(x[r]²) + eps) · w` for each row `r` of width `n`.
    #[cube(launch_unchecked)]
    pub(super) fn rms_norm_kernel(x: &Tensor<f32>, w: &Tensor<f32>, out: &mut Tensor<f32>, rows: usize, n: usize, eps: f32) {
        let row = row_index();
        if row < rows {
            let unit = UNIT_POS as usize;
            let base = row * n;
            let mut sh = Shared::<[f32]>::new_slice(256usize);
            let inv = inv_rms(&mut sh, x, base, n, eps);
            let mut i = unit;
            while i < n {
                out[base + i] = x[base + i] * inv * w[i];
                i += 256;
            }
        }
    }

    /// Gemma's sandwich step: `sum = res + rms(h)·w1`, `normed = rms(sum)·w2`, written as
    /// `out[0] = sum`, `out[1] = normed` (`out` is `[2, rows, n]`).
    #[cube(launch_unchecked)]
    pub(super) fn add_rms_norm_kernel(
        res: &Tensor<f32>,
        h: &Tensor<f32>,
        w1: &Tensor<f32>,
        w2: &Tensor<f32>,
        out: &mut Tensor<f32>,
        rows: usize,
        n: usize,
        eps1: f32,
        eps2: f32,
    ) {
        let row = row_index();
        if row < rows {
            let unit = UNIT_POS as usize;
            let base = row * n;
            let second = rows * n;
            let mut sh = Shared::<[f32]>::new_slice(256usize);
            let inv1 = inv_rms(&mut sh, h, base, n, eps1);
            // Everyone has read sh[0] before the second sum overwrites it.
            sync_cube();
            let mut acc2 = 0.0f32;
            let mut i = unit;
            while i < n {
                let s = res[base + i] + h[base + i] * inv1 * w1[i];
                out[base + i] = s;
                acc2 += s * s;
                i += 256;
            }
            cube_sum(&mut sh, acc2);
            let inv2 = 1.0f32 / (sh[0] / f32::cast_from(n) + eps2).sqrt();
            i = unit;
            while i < n {
                out[second + base + i] = out[base + i] * inv2 * w2[i];
                i += 256;
            }
        }
    }

    /// One head's RMS-normalized (`inv`, weight `w`) and rotated (NeoX halves, RoPE table row
    /// `tb`) values `x[base..base + 2·half]`, times `scale`, written to `out[ob..]`; the
    /// cube's units share the pairs. The row kernels below (`norm_rope`, `qkv_store`) call it.
    #[cube]
    fn norm_rope_row(
        x: &Tensor<f32>,
        w: &Tensor<f32>,
        cos: &Tensor<f32>,
        sin: &Tensor<f32>,
        out: &mut Tensor<f32>,
        base: usize,
        ob: usize,
        tb: usize,
        half: usize,
        inv: f32,
        scale: f32,
    ) {
        let mut i = UNIT_POS as usize;
        while i < half {
            let x1 = x[base + i] * inv * w[i];
            let x2 = x[base + half + i] * inv * w[half + i];
            let c = cos[tb + i];
            let s = sin[tb + i];
            out[ob + i] = (x1 * c - x2 * s) * scale;
            out[ob + half + i] = (x2 * c + x1 * s) * scale;
            i += 256;
        }
    }

    /// Per head: RMSNorm over the head's `hd` values, then RoPE (half-split) with the rows of
    /// `cos`/`sin` (`[positions, hd/2]`) at position `pos0 + row / heads`, times `scale`.
    #[cube(launch_unchecked)]
    pub(super) fn norm_rope_kernel(
        x: &Tensor<f32>,
        w: &Tensor<f32>,
        cos: &Tensor<f32>,
        sin: &Tensor<f32>,
        out: &mut Tensor<f32>,
        rows: usize,
        heads: usize,
        hd: usize,
        pos0: usize,
        eps: f32,
        scale: f32,
    ) {
        let row = row_index();
        if row < rows {
            let base = row * hd;
            let half = hd / 2;
            let tb = (pos0 + row / heads) * half;
            let mut sh = Shared::<[f32]>::new_slice(256usize);
            let inv = inv_rms(&mut sh, x, base, hd, eps);
            norm_rope_row(x, w, cos, sin, out, base, base, tb, half, inv, scale);
        }
    }

    /// Attention of one new token (decode): one cube per query head `h`, over the first `n`
    /// slots of its KV head's cache (`[kv_heads, cap, hd]`, head `h / g`). Keys are taken in
    /// chunks of 1024 whose scores live in shared memory; a running max and sum carry the
    /// softmax across chunks (the online softmax of flash attention), so no score leaves the
    /// cube and `n` is a runtime value (no kernel is compiled per length). `q` carries the
    /// attention scale already; unit `d` owns output dimension `d` (`hd` ≤ 256).
    #[cube(launch_unchecked)]
    pub(super) fn decode_attention_kernel(
        q: &Tensor<f32>,
        k: &Tensor<f32>,
        v: &Tensor<f32>,
        out: &mut Tensor<f32>,
        n: usize,
        cap: usize,
        hd: usize,
        g: usize,
    ) {
        let h = CUBE_POS_X as usize;
        let kb = (h / g) * cap * hd;
        let qb = h * hd;
        let unit = UNIT_POS as usize;
        let mut sh = Shared::<[f32]>::new_slice(256usize);
        let mut ps = Shared::<[f32]>::new_slice(1024usize);
        let mut m_run = f32::new(-3.0e38);
        let mut l_run = 0.0f32;
        let mut acc = 0.0f32;
        let mut c0 = 0usize;
        while c0 < n {
            let mut cn = n - c0;
            if cn > 1024 {
                cn = 1024;
            }
            let mut lmax = f32::new(-3.0e38);
            let mut j = unit;
            while j < cn {
                let kr = kb + (c0 + j) * hd;
                let mut s = 0.0f32;
                for d in 0..hd {
                    s += q[qb + d] * k[kr + d];
                }
                ps[j] = s;
                if s > lmax {
                    lmax = s;
                }
                j += 256;
            }
            cube_max(&mut sh, lmax);
            let mut m_new = sh[0];
            if m_run > m_new {
                m_new = m_run;
            }
            sync_cube();
            let mut lsum = 0.0f32;
            j = unit;
            while j < cn {
                let e = (ps[j] - m_new).exp();
                ps[j] = e;
                lsum += e;
                j += 256;
            }
            cube_sum(&mut sh, lsum);
            let corr = (m_run - m_new).exp();
            l_run = l_run * corr + sh[0];
            if unit < hd {
                let mut a = 0.0f32;
                for jj in 0..cn {
                    a += ps[jj] * v[kb + (c0 + jj) * hd + unit];
                }
                acc = acc * corr + a;
            }
            m_run = m_new;
            // Everyone is done with this chunk's scores and sums before the next overwrites them.
            sync_cube();
            c0 += 1024;
        }
        if unit < hd {
            out[qb + unit] = acc / l_run;
        }
    }

    /// A decode step's q/k/v after their projections, in one launch: cubes `0..nh` RMS-norm
    /// and rotate each query head (times `scale`) into `q_out [nh, hd]`; cubes `nh..nh+nkv`
    /// do the same to each key head (no scale) and store it in slot `slot` of the cache
    /// `kc [nkv, cap, hd]`; cubes `nh+nkv..nh+2·nkv` store each value head in `vc`. `q`, `k`
    /// and `v` may be one buffer (the fused q/k/v gemv's output) read at their offsets.
    #[cube(launch_unchecked)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn qkv_store_kernel(
        q: &Tensor<f32>,
        k: &Tensor<f32>,
        v: &Tensor<f32>,
        wq: &Tensor<f32>,
        wk: &Tensor<f32>,
        cos: &Tensor<f32>,
        sin: &Tensor<f32>,
        q_out: &mut Tensor<f32>,
        kc: &mut Tensor<f32>,
        vc: &mut Tensor<f32>,
        q_off: usize,
        k_off: usize,
        v_off: usize,
        nh: usize,
        nkv: usize,
        hd: usize,
        cap: usize,
        slot: usize,
        pos: usize,
        eps_q: f32,
        eps_k: f32,
        scale: f32,
    ) {
        let row = CUBE_POS_X as usize;
        let unit = UNIT_POS as usize;
        let half = hd / 2;
        let tb = pos * half;
        let mut sh = Shared::<[f32]>::new_slice(256usize);
        if row < nh {
            let base = q_off + row * hd;
            let inv = inv_rms(&mut sh, q, base, hd, eps_q);
            norm_rope_row(q, wq, cos, sin, q_out, base, row * hd, tb, half, inv, scale);
        } else if row < nh + nkv {
            let j = row - nh;
            let base = k_off + j * hd;
            let inv = inv_rms(&mut sh, k, base, hd, eps_k);
            // Keys are not scaled: × 1.0 leaves every value as it was.
            norm_rope_row(k, wk, cos, sin, kc, base, (j * cap + slot) * hd, tb, half, inv, 1.0f32);
        } else if row < nh + 2 * nkv {
            let j = row - nh - nkv;
            let ob = (j * cap + slot) * hd;
            let mut i = unit;
            while i < hd {
                vc[ob + i] = v[v_off + j * hd + i];
                i += 256;
            }
        }
    }

    /// `out[r, j] = gelu_tanh(gu[r, j]) · gu[r, f + j]`: GeGLU over the fused gate/up
    /// gemv's output `[rows, 2f]`.
    #[cube(launch_unchecked)]
    pub(super) fn geglu_packed_kernel(gu: &Tensor<f32>, out: &mut Tensor<f32>, f: usize, len: usize) {
        let i = ABSOLUTE_POS;
        if i < len {
            let r = i / f;
            let j = i % f;
            let x = gu[r * 2 * f + j];
            let x3 = x * x * x;
            let inner = (x + x3 * 0.044715f32) * 0.7978845608028654f32;
            out[i] = x * (inner.tanh() + 1.0f32) * 0.5f32 * gu[r * 2 * f + f + j];
        }
    }

    /// The index of the largest of `x[0..n]` (the first on ties, as the host's `argmax`),
    /// as a u32 in `out[0]`: one cube, a strided scan then a tree over (value, index).
    #[cube(launch_unchecked)]
    pub(super) fn argmax_kernel(x: &Tensor<f32>, out: &mut Tensor<u32>, n: usize) {
        let unit = UNIT_POS as usize;
        let mut sv = Shared::<[f32]>::new_slice(256usize);
        let mut si = Shared::<[u32]>::new_slice(256usize);
        let mut best = f32::new(-3.0e38);
        let mut bi = 0u32;
        let mut first = true;
        let mut i = unit;
        while i < n {
            let v = x[i];
            // Later indices of this unit win only when strictly larger.
            if first || v > best {
                best = v;
                bi = i as u32;
                first = false;
            }
            i += 256;
        }
        if first {
            bi = 4294967295u32;
        }
        sv[unit] = best;
        si[unit] = bi;
        sync_cube();
        let mut stride = 128usize;
        while stride > 0 {
            if unit < stride {
                let ov = sv[unit + stride];
                let oi = si[unit + stride];
                let mv = sv[unit];
                let mi = si[unit];
                if oi != 4294967295u32 && (mi == 4294967295u32 || ov > mv || (ov == mv && oi < mi)) {
                    sv[unit] = ov;
                    si[unit] = oi;
                }
            }
            sync_cube();
            stride /= 2;
        }
        if unit == 0 {
            out[0] = si[0];
        }
    }

    /// `out = gelu_tanh(g) · u`, element-wise (GeGLU's gate).
    #[cube(launch_unchecked)]
    pub(super) fn geglu_kernel(g: &Tensor<f32>, u: &Tensor<f32>, out: &mut Tensor<f32>, len: usize) {
        let i = ABSOLUTE_POS;
        if i < len {
            let x = g[i];
            let x3 = x * x * x;
            let inner = (x + x3 * 0.044715f32) * 0.7978845608028654f32;
            out[i] = x * (inner.tanh() + 1.0f32) * 0.5f32 * u[i];
        }
    }

    /// `out = gelu_tanh(x)`, element-wise.
    #[cube(launch_unchecked)]
    pub(super) fn gelu_tanh_kernel(x: &Tensor<f32>, out: &mut Tensor<f32>, len: usize) {
        let i = ABSOLUTE_POS;
        if i < len {
            let v = x[i];
            let v3 = v * v * v;
            let inner = (v + v3 * 0.044715f32) * 0.7978845608028654f32;
            out[i] = v * (inner.tanh() + 1.0f32) * 0.5f32;
        }
    }

    /// Softmax over each row of width `n`.
    #[cube(launch_unchecked)]
    pub(super) fn softmax_kernel(x: &Tensor<f32>, out: &mut Tensor<f32>, rows: usize, n: usize) {
        let row = row_index();
        if row < rows {
            let unit = UNIT_POS as usize;
            let base = row * n;
            let mut sh = Shared::<[f32]>::new_slice(256usize);
            let mut m = f32::new(-3.0e38);
            let mut i = unit;
            while i < n {
                let v = x[base + i];
                if v > m {
                    m = v;
                }
                i += 256;
            }
            cube_max(&mut sh, m);
            let mx = sh[0];
            sync_cube();
            let mut acc = 0.0f32;
            i = unit;
            while i < n {
                let e = (x[base + i] - mx).exp();
                out[base + i] = e;
                acc += e;
                i += 256;
            }
            cube_sum(&mut sh, acc);
            let total = sh[0];
            i = unit;
            while i < n {
                out[base + i] = out[base + i] / total;
                i += 256;
            }
        }
    }
}

/// Fused row operations; implemented for burn's CubeCL backend (wgpu) here, and for its CPU
/// backend (Flex) as host loops in `kernels::cpu` (all but `fused_qkv_store`, which writes
/// the caches through shared handles). All tensors are f32.
#[backend_extension(Cube, Flex)]
pub trait FusedOps: Backend {
    /// RMSNorm of each row of `x` (last dimension `n`) times `w` (`[n]`).
    fn fused_rms_norm(x: FloatTensor<Self>, w: FloatTensor<Self>, eps: f32) -> FloatTensor<Self>;
    /// `[2, rows, n]`: `res + rms(h)·w1`, then the RMSNorm of that times `w2`.
    fn fused_add_rms_norm(
        res: FloatTensor<Self>,
        h: FloatTensor<Self>,
        w1: FloatTensor<Self>,
        w2: FloatTensor<Self>,
        eps1: f32,
        eps2: f32,
    ) -> FloatTensor<Self>;
    /// Per-head RMSNorm then RoPE of `x` (`[t, heads, hd]`), positions from `pos0`, times
    /// `scale`; `cos`/`sin` are whole tables `[positions, 1, hd/2]`.
    #[allow(clippy::too_many_arguments)]
    fn fused_norm_rope(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        pos0: usize,
        eps: f32,
        scale: f32,
    ) -> FloatTensor<Self>;
    /// `gelu_tanh(g) · u`.
    fn fused_geglu(g: FloatTensor<Self>, u: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `gelu_tanh(x)`, element-wise (SigLIP's MLP).
    fn fused_gelu_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Softmax over the last dimension.
    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// One token's attention: `q` `[heads, hd]` (scaled) over the first `n` slots of the
    /// caches `k`, `v` (`[kv_heads, cap, hd]`); `[heads, hd]`.
    fn fused_decode_attention(q: FloatTensor<Self>, k: FloatTensor<Self>, v: FloatTensor<Self>, n: usize) -> FloatTensor<Self>;
    /// See [`qkv_store`]: returns the rotated queries; the caches `kc`/`vc` are written in
    /// place (the caller owns their only handles).
    #[allow(clippy::too_many_arguments)]
    fn fused_qkv_store(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        offs: [usize; 3],
        wq: FloatTensor<Self>,
        wk: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        kc: FloatTensor<Self>,
        vc: FloatTensor<Self>,
        heads: [usize; 3],
        slot: usize,
        pos: usize,
        eps: [f32; 2],
        scale: f32,
    ) -> FloatTensor<Self>;
    /// `gelu_tanh(gu[.., ..f]) · gu[.., f..]` of `gu [rows, 2f]`: `[rows, f]`.
    fn fused_geglu_packed(gu: FloatTensor<Self>) -> FloatTensor<Self>;
    /// The index of the largest value of `x` (flattened; the first on ties), as a `[1]` u32
    /// tensor on the device.
    fn fused_argmax(x: FloatTensor<Self>) -> IntTensor<Self>;
}

/// A grid of 256-unit cubes over `len` elements (beyond 65 535 cubes, a second dimension).
fn flat_grid(len: usize) -> CubeCount {
    let cubes = len.div_ceil(256);
    CubeCount::new_2d(cubes.min(65_535) as u32, cubes.div_ceil(65_535).max(1) as u32)
}

/// A grid of one cube per row.
fn row_grid(rows: usize) -> CubeCount {
    CubeCount::new_2d(rows.min(65_535) as u32, rows.div_ceil(65_535).max(1) as u32)
}

fn last_dim(t: &CubeTensor) -> (usize, usize) {
    let dims = t.meta.shape().to_vec();
    let n = dims.last().copied().unwrap_or(1);
    (dims.iter().product::<usize>() / n.max(1), n)
}

fn empty_like(t: &CubeTensor, dims: Vec<usize>) -> CubeTensor {
    empty_device_dtype(t.client.clone(), t.device.clone(), dims.into(), DType::F32)
}

impl FusedOps for CubeBackend {
    fn fused_decode_attention(q: CubeTensor, k: CubeTensor, v: CubeTensor, n: usize) -> CubeTensor {
        let (q, k, v) = (contiguous(q), contiguous(k), contiguous(v));
        let qd = q.meta.shape().to_vec();
        let (heads, hd) = (qd[0], qd[1]);
        let kd = k.meta.shape().to_vec();
        let (kv_heads, cap) = (kd[0], kd[1]);
        let out = empty_like(&q, qd);
        unsafe {
            decode_attention_kernel::launch_unchecked(
                &q.client,
                CubeCount::new_1d(heads as u32),
                CubeDim::new_1d(ROW_THREADS),
                q.clone().into_tensor_arg(),
                k.into_tensor_arg(),
                v.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                n,
                cap,
                hd,
                heads / kv_heads,
            )
        };
        out
    }

    fn fused_qkv_store(
        q: CubeTensor,
        k: CubeTensor,
        v: CubeTensor,
        offs: [usize; 3],
        wq: CubeTensor,
        wk: CubeTensor,
        cos: CubeTensor,
        sin: CubeTensor,
        kc: CubeTensor,
        vc: CubeTensor,
        heads: [usize; 3],
        slot: usize,
        pos: usize,
        eps: [f32; 2],
        scale: f32,
    ) -> CubeTensor {
        let [nh, nkv, hd] = heads;
        let (q, k, v, cos, sin) = (contiguous(q), contiguous(k), contiguous(v), contiguous(cos), contiguous(sin));
        let cap = kc.meta.shape().to_vec()[1];
        let q_out = empty_like(&wq, vec![nh, hd]);
        unsafe {
            qkv_store_kernel::launch_unchecked(
                &q.client.clone(),
                CubeCount::new_1d((nh + 2 * nkv) as u32),
                CubeDim::new_1d(ROW_THREADS),
                q.into_tensor_arg(),
                k.into_tensor_arg(),
                v.into_tensor_arg(),
                wq.into_tensor_arg(),
                wk.into_tensor_arg(),
                cos.into_tensor_arg(),
                sin.into_tensor_arg(),
                q_out.clone().into_tensor_arg(),
                kc.into_tensor_arg(),
                vc.into_tensor_arg(),
                offs[0],
                offs[1],
                offs[2],
                nh,
                nkv,
                hd,
                cap,
                slot,
                pos,
                eps[0],
                eps[1],
                scale,
            )
        };
        q_out
    }

    fn fused_geglu_packed(gu: CubeTensor) -> CubeTensor {
        let gu = contiguous(gu);
        let (rows, two_f) = last_dim(&gu);
        let f = two_f / 2;
        let len = rows * f;
        let out = empty_like(&gu, vec![rows, f]);
        unsafe {
            geglu_packed_kernel::launch_unchecked(
                &gu.client,
                flat_grid(len),
                CubeDim::new_1d(256),
                gu.clone().into_tensor_arg(),
                out.clone().into_tensor_arg(),
                f,
                len,
            )
        };
        out
    }

    fn fused_argmax(x: CubeTensor) -> CubeTensor {
        let x = contiguous(x);
        let n = x.meta.shape().num_elements();
        let out = empty_device_dtype(x.client.clone(), x.device.clone(), vec![1].into(), DType::U32);
        unsafe {
            argmax_kernel::launch_unchecked(
                &x.client,
                CubeCount::new_1d(1),
                CubeDim::new_1d(ROW_THREADS),
                x.clone().into_tensor_arg(),
                out.clone().into_tensor_arg(),
                n,
            )
        };
        out
    }

    fn fused_rms_norm(x: CubeTensor, w: CubeTensor, eps: f32) -> CubeTensor {
        let (x, w) = (contiguous(x), contiguous(w));
        let (rows, n) = last_dim(&x);
        let out = empty_like(&x, x.meta.shape().to_vec());
        unsafe {
            rms_norm_kernel::launch_unchecked(
                &x.client,
                row_grid(rows),
                CubeDim::new_1d(ROW_THREADS),
                x.clone().into_tensor_arg(),
                w.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                rows,
                n,
                eps,
            )
        };
        out
    }

    fn fused_add_rms_norm(res: CubeTensor, h: CubeTensor, w1: CubeTensor, w2: CubeTensor, eps1: f32, eps2: f32) -> CubeTensor {
        let (res, h, w1, w2) = (contiguous(res), contiguous(h), contiguous(w1), contiguous(w2));
        let (rows, n) = last_dim(&h);
        let mut dims = vec![2];
        dims.extend(h.meta.shape().to_vec());
        let out = empty_like(&h, dims);
        unsafe {
            add_rms_norm_kernel::launch_unchecked(
                &h.client,
                row_grid(rows),
                CubeDim::new_1d(ROW_THREADS),
                res.into_tensor_arg(),
                h.clone().into_tensor_arg(),
                w1.into_tensor_arg(),
                w2.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                rows,
                n,
                eps1,
                eps2,
            )
        };
        out
    }

    fn fused_norm_rope(x: CubeTensor, w: CubeTensor, cos: CubeTensor, sin: CubeTensor, pos0: usize, eps: f32, scale: f32) -> CubeTensor {
        let (x, w, cos, sin) = (contiguous(x), contiguous(w), contiguous(cos), contiguous(sin));
        let dims = x.meta.shape().to_vec();
        let (heads, hd) = (dims[1], dims[2]);
        let rows = dims[0] * heads;
        let out = empty_like(&x, dims);
        unsafe {
            norm_rope_kernel::launch_unchecked(
                &x.client,
                row_grid(rows),
                CubeDim::new_1d(ROW_THREADS),
                x.clone().into_tensor_arg(),
                w.into_tensor_arg(),
                cos.into_tensor_arg(),
                sin.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                rows,
                heads,
                hd,
                pos0,
                eps,
                scale,
            )
        };
        out
    }

    fn fused_geglu(g: CubeTensor, u: CubeTensor) -> CubeTensor {
        let (g, u) = (contiguous(g), contiguous(u));
        let len = g.meta.shape().num_elements();
        let out = empty_like(&g, g.meta.shape().to_vec());
        unsafe {
            geglu_kernel::launch_unchecked(
                &g.client,
                flat_grid(len),
                CubeDim::new_1d(256),
                g.clone().into_tensor_arg(),
                u.into_tensor_arg(),
                out.clone().into_tensor_arg(),
                len,
            )
        };
        out
    }

    fn fused_gelu_tanh(x: CubeTensor) -> CubeTensor {
        let x = contiguous(x);
        let len = x.meta.shape().num_elements();
        let out = empty_like(&x, x.meta.shape().to_vec());
        unsafe {
            gelu_tanh_kernel::launch_unchecked(
                &x.client,
                flat_grid(len),
                CubeDim::new_1d(256),
                x.clone().into_tensor_arg(),
                out.clone().into_tensor_arg(),
                len,
            )
        };
        out
    }

    fn fused_softmax(x: CubeTensor) -> CubeTensor {
        let x = contiguous(x);
        let (rows, n) = last_dim(&x);
        let out = empty_like(&x, x.meta.shape().to_vec());
        unsafe {
            softmax_kernel::launch_unchecked(
                &x.client,
                row_grid(rows),
                CubeDim::new_1d(ROW_THREADS),
                x.clone().into_tensor_arg(),
                out.clone().into_tensor_arg(),
                rows,
                n,
            )
        };
        out
    }
}

// ---------------------------------------------------------------------------------------
// On tensors

/// RMSNorm of the last dimension times `w`.
pub fn rms_norm<const D: usize>(x: Tensor<D>, w: &Tensor<1>, eps: f64) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_rms_norm(x.into_dispatch(), w.clone().into_dispatch(), eps as f32))
}

/// `(res + rms(h)·w1, rms(that)·w2)`.
pub fn add_rms_norm(res: Tensor<2>, h: Tensor<2>, w1: &Tensor<1>, eps1: f64, w2: &Tensor<1>, eps2: f64) -> (Tensor<2>, Tensor<2>) {
    let [rows, n] = h.dims();
    let both: Tensor<3> = Tensor::from_dispatch(<Dispatch as FusedOps>::fused_add_rms_norm(
        res.into_dispatch(),
        h.into_dispatch(),
        w1.clone().into_dispatch(),
        w2.clone().into_dispatch(),
        eps1 as f32,
        eps2 as f32,
    ));
    let sum = both.clone().slice([0..1]).reshape([rows, n]);
    let normed = both.slice([1..2]).reshape([rows, n]);
    (sum, normed)
}

/// Per-head RMSNorm then RoPE of `x [t, heads, hd]` at positions `pos0..`, times `scale`.
pub fn norm_rope(x: Tensor<3>, w: &Tensor<1>, eps: f64, cos: &Tensor<3>, sin: &Tensor<3>, pos0: usize, scale: f32) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_norm_rope(
        x.into_dispatch(),
        w.clone().into_dispatch(),
        cos.clone().into_dispatch(),
        sin.clone().into_dispatch(),
        pos0,
        eps as f32,
        scale,
    ))
}

/// `gelu_tanh(g) · u`.
pub fn geglu<const D: usize>(g: Tensor<D>, u: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_geglu(g.into_dispatch(), u.into_dispatch()))
}

/// `gelu_tanh(x)` (`gelu_pytorch_tanh`), element-wise: one pass where burn's ops are nine.
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_gelu_tanh(x.into_dispatch()))
}

/// Softmax over the last dimension.
pub fn softmax<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_softmax(x.into_dispatch()))
}

/// One token's attention (`q` `[heads, hd]`, already scaled) over the first `n` slots of the
/// caches `k`, `v` (`[kv_heads, capacity, hd]`, `hd` ≤ 256): `[heads, hd]`.
pub fn decode_attention(q: Tensor<2>, k: &Tensor<3>, v: &Tensor<3>, n: usize) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_decode_attention(
        q.into_dispatch(),
        k.clone().into_dispatch(),
        v.clone().into_dispatch(),
        n,
    ))
}

/// A decode step's q/k/v in one launch: `q` (`[nh, hd]` from element `offs[0]` of its buffer)
/// RMS-normed with `wq`, rotated at `pos` and times `scale`, returned as `[nh, hd]`; `k`
/// (from `offs[1]`) normed with `wk` and rotated, and `v` (from `offs[2]`), stored in slot
/// `slot` of the caches `kc`/`vc` (`[nkv, cap, hd]`), which are written in place and handed
/// back. `q`, `k`, `v` may be the same tensor (the fused q/k/v gemv's output).
#[allow(clippy::too_many_arguments)]
pub fn qkv_store(
    (q, k, v): (&Tensor<2>, &Tensor<2>, &Tensor<2>),
    offs: [usize; 3],
    (wq, eps_q): (&Tensor<1>, f64),
    (wk, eps_k): (&Tensor<1>, f64),
    (cos, sin): (&Tensor<3>, &Tensor<3>),
    (kc, vc): (Tensor<3>, Tensor<3>),
    heads: [usize; 3],
    slot: usize,
    pos: usize,
    scale: f32,
) -> (Tensor<2>, Tensor<3>, Tensor<3>) {
    let c = |t: &Tensor<2>| t.clone().into_dispatch();
    let (kcd, vcd) = (kc.into_dispatch(), vc.into_dispatch());
    let q_out = <Dispatch as FusedOps>::fused_qkv_store(
        c(q),
        c(k),
        c(v),
        offs,
        wq.clone().into_dispatch(),
        wk.clone().into_dispatch(),
        cos.clone().into_dispatch(),
        sin.clone().into_dispatch(),
        kcd.clone(),
        vcd.clone(),
        heads,
        slot,
        pos,
        [eps_q as f32, eps_k as f32],
        scale,
    );
    (Tensor::from_dispatch(q_out), Tensor::from_dispatch(kcd), Tensor::from_dispatch(vcd))
}

/// `gelu_tanh(gu[.., ..f]) · gu[.., f..]` of the fused gate/up output `gu [rows, 2f]`.
pub fn geglu_packed(gu: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_geglu_packed(gu.into_dispatch()))
}

/// The index of the largest value of `x` (the first on ties), as a `[1]` u32 tensor that
/// stays on the device.
pub fn argmax_device<const D: usize>(x: Tensor<D>) -> Tensor<1, burn::tensor::Int> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_argmax(x.into_dispatch()))
}
