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

use burn::backend::{backend_extension, tensor::FloatTensor, Backend, Dispatch};
use burn::tensor::{DType, Tensor};
use burn_cubecl::{ops::numeric::empty_device_dtype, tensor::CubeTensor, CubeBackend};
use cubecl::prelude::{CubeCount, CubeDim};

use super::qmatmul::contiguous;
use kernels::{add_rms_norm_kernel, decode_attention_kernel, geglu_kernel, norm_rope_kernel, rms_norm_kernel, softmax_kernel};

/// Units per cube of the row kernels (a power of two: the reductions halve it).
pub const ROW_THREADS: u32 = 256;

#[allow(unused_assignments)]
mod kernels {
    use cubecl::prelude::*;

    /// Σ of `v` over the cube's units, left in `sh[0]` (a shared-memory tree: lavapipe hides
    /// subgroup operations). Every unit must call it; `sh[0]` is valid for all afterwards.
    #[cube]
    fn cube_sum(sh: &mut Shared<[f32]>, v: f32) {
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
    fn cube_max(sh: &mut Shared<[f32]>, v: f32) {
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
            let unit = UNIT_POS as usize;
            let base = row * hd;
            let half = hd / 2;
            let tb = (pos0 + row / heads) * half;
            let mut sh = Shared::<[f32]>::new_slice(256usize);
            let inv = inv_rms(&mut sh, x, base, hd, eps);
            let mut i = unit;
            while i < half {
                let x1 = x[base + i] * inv * w[i];
                let x2 = x[base + half + i] * inv * w[half + i];
                let c = cos[tb + i];
                let s = sin[tb + i];
                out[base + i] = (x1 * c - x2 * s) * scale;
                out[base + half + i] = (x2 * c + x1 * s) * scale;
                i += 256;
            }
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

/// Fused row operations; implemented for burn's CubeCL backend (wgpu). All tensors are f32.
#[backend_extension(Cube)]
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
    /// Softmax over the last dimension.
    fn fused_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// One token's attention: `q` `[heads, hd]` (scaled) over the first `n` slots of the
    /// caches `k`, `v` (`[kv_heads, cap, hd]`); `[heads, hd]`.
    fn fused_decode_attention(q: FloatTensor<Self>, k: FloatTensor<Self>, v: FloatTensor<Self>, n: usize) -> FloatTensor<Self>;
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
        let cubes = len.div_ceil(256);
        unsafe {
            geglu_kernel::launch_unchecked(
                &g.client,
                CubeCount::new_2d(cubes.min(65_535) as u32, cubes.div_ceil(65_535).max(1) as u32),
                CubeDim::new_1d(256),
                g.clone().into_tensor_arg(),
                u.into_tensor_arg(),
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
