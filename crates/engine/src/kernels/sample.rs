//! Sampling on the device: the repetition penalty, the best logits of the vocabulary, and
//! the host sampler's own pick among them (temperature, top-k, top-p, min-p, with one
//! uniform number drawn on the host), so a sampled decode step reads back only the chosen id,
//! 4 bytes, instead of the vocabulary's logits (1 MiB at 262 144 tokens).
//!
//! Why the host's answer and not an approximation: a user who fixes a seed expects the same
//! text whether the GPU or the host picks. The pick below is `generate::sampling::Sampler`'s
//! arithmetic, in the same order, over the same candidates sorted the same way (by `l/T`,
//! then id); only the normalizer of an untruncated distribution is a tree sum here, and a
//! GPU's `exp` may differ from libm's in the last bits. So where a comparison of the pick
//! (the walk of `r`, the top-p or min-p cut) falls within a relative 1e-5 of going the other
//! way, or would need a candidate beyond those collected (a flat distribution, a wide
//! nucleus), the kernel says so ([`NEED_HOST`]) and the caller samples on the host from the
//! full logits, with the same uniform number.
//!
//! Four launches, few barriers (each costs a pass over the workgroup on a CPU adapter):
//! 1. `chunk_stats_kernel`: one cube per chunk of the vocabulary reduces its max and its
//!    `Σ exp(l/T - max/T)`;
//! 2. `threshold_kernel` (one cube): the [`TOP_K`]-th largest chunk max is a threshold that
//!    at least `TOP_K` logits reach (and, for a model's peaked logits, not many more), plus
//!    the whole vocabulary's normalizer;
//! 3. `collect_kernel`: the logits at or above it are appended to a list (an atomic
//!    counter);
//! 4. `pick_kernel` (one cube): a bitonic sort of the list (value descending, id ascending,
//!    as the host's stable sort), then unit 0 picks.

use burn::backend::{backend_extension, tensor::{FloatTensor, IntTensor}, Backend, Dispatch};
use burn::tensor::{DType, Int, Tensor};
use burn_cubecl::{ops::numeric::empty_device_dtype, tensor::CubeTensor, CubeBackend};
use cubecl::prelude::{CubeCount, CubeDim};

use super::qmatmul::contiguous;
use kernels::{chunk_stats_kernel, collect_kernel, penalty_kernel, pick_kernel, threshold_kernel};

/// Candidates the device is sure to collect (the pick uses all it collected, up to 1024: a
/// user's `top_k` up to that many is decided on the device whenever they were collected).
pub const TOP_K: usize = 64;
/// Cubes of the first stage (at most; each reduces one chunk of the vocabulary: 256 logits
/// at 262 144). More, finer chunks make a tighter threshold.
const STAT_CUBES: usize = 1024;
/// Candidates the last stage sorts in shared memory (8 KiB); more means a flat head, left to
/// the host.
const SORT_CAP: usize = 1024;
/// The id written when the pick needs more than the best [`TOP_K`] candidates.
pub const NEED_HOST: u32 = u32::MAX;

/// What the pick does with its candidates: the host sampler's parameters, and the uniform
/// number in [0, 1) it draws for this step.
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    /// ≤ 0: greedy (the best candidate, after the penalty).
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub min_p: f32,
    pub r: f32,
}

#[allow(unused_assignments)]
mod kernels {
    use cubecl::prelude::*;

    use crate::kernels::fused::kernels::{cube_max, cube_sum};

    /// Whether (`v`, `i`) goes before (`bv`, `bi`) in the candidates' order: a larger
    /// value, or the same value at a lower id (the host's stable sort); `u32::MAX` ids
    /// (empty) go last.
    #[cube]
    fn before(v: f32, i: u32, bv: f32, bi: u32) -> bool {
        i != 4294967295u32 && (bi == 4294967295u32 || v > bv || (v == bv && i < bi))
    }

    /// Sorts the cube's `n` shared (value, id) pairs (`n` a power of two, at most 1024) into
    /// candidate order: a bitonic network, `log n·(log n + 1)/2` barriers whatever the data.
    #[cube]
    fn bitonic(sv: &mut Shared<[f32]>, si: &mut Shared<[u32]>, n: usize) {
        let unit = UNIT_POS as usize;
        let pairs = n / 2;
        let mut size = 2usize;
        while size <= n {
            let mut stride = size / 2;
            while stride > 0 {
                let mut p = unit;
                while p < pairs {
                    let a = (p / stride) * 2 * stride + (p % stride);
                    let b = a + stride;
                    let va = sv[a];
                    let ia = si[a];
                    let vb = sv[b];
                    let ib = si[b];
                    let mut swap = before(vb, ib, va, ia);
                    if (a & size) != 0 {
                        swap = before(va, ia, vb, ib);
                    }
                    if swap {
                        sv[a] = vb;
                        si[a] = ib;
                        sv[b] = va;
                        si[b] = ia;
                    }
                    p += 256;
                }
                sync_cube();
                stride /= 2;
            }
            size *= 2;
        }
    }

    /// Σ or max of `v` over the cube (the row kernels' shared-memory trees), returned to
    /// every unit; `sh` is free again afterwards.
    #[cube]
    fn tree(sh: &mut Shared<[f32]>, v: f32, #[comptime] max: bool) -> f32 {
        if comptime!(max) {
            cube_max(sh, v);
        } else {
            cube_sum(sh, v);
        }
        let r = sh[0];
        sync_cube();
        r
    }

    /// Repetition penalty: each distinct id of `hist[0..len]` once (its first occurrence),
    /// `l / p` for a positive logit and `l · p` otherwise, in place.
    #[cube(launch_unchecked)]
    pub(super) fn penalty_kernel(logits: &mut Tensor<f32>, hist: &Tensor<u32>, len: usize, n: usize, p: f32) {
        let i = ABSOLUTE_POS;
        if i < len {
            let id = hist[i];
            let mut first = true;
            for j in 0..i {
                if hist[j] == id {
                    first = false;
                }
            }
            if first && (id as usize) < n {
                let l = logits[id as usize];
                if l > 0.0 {
                    logits[id as usize] = l / p;
                } else {
                    logits[id as usize] = l * p;
                }
            }
        }
    }

    /// Stage 1: cube `c` reduces logits `c·chunk..(c+1)·chunk` to their max (raw) and
    /// `Σ exp(l/t - max/t)`, in `stats[2c..2c+2]`.
    #[cube(launch_unchecked)]
    pub(super) fn chunk_stats_kernel(x: &Tensor<f32>, stats: &mut Tensor<f32>, n: usize, chunk: usize, t: f32) {
        let c = CUBE_POS_X as usize;
        let unit = UNIT_POS as usize;
        let mut sh = Shared::<[f32]>::new_slice(256usize);
        let base = c * chunk;
        let mut end = base + chunk;
        if end > n {
            end = n;
        }
        let mut m = f32::new(-3.0e38);
        let mut i = base + unit;
        while i < end {
            if x[i] > m {
                m = x[i];
            }
            i += 256;
        }
        let mx = tree(&mut sh, m, true);
        let mt = mx / t;
        let mut s = 0.0f32;
        i = base + unit;
        while i < end {
            s += (x[i] / t - mt).exp();
            i += 256;
        }
        let sum = tree(&mut sh, s, false);
        if unit == 0 {
            stats[2 * c] = mx;
            stats[2 * c + 1] = sum;
        }
    }

    /// Stage 2 (one cube): the threshold `glob[0]` = the `rank`-th largest chunk max (so at
    /// least `rank` logits reach it, and usually not many more), `glob[1]` = the max over
    /// `t`, `glob[2]` = `Σ exp(l/t - glob[1])` over the vocabulary; resets the counter.
    #[cube(launch_unchecked)]
    pub(super) fn threshold_kernel(stats: &Tensor<f32>, glob: &mut Tensor<f32>, counter: &mut Tensor<u32>, cubes: usize, t: f32, rank: usize) {
        let unit = UNIT_POS as usize;
        let mut sv = Shared::<[f32]>::new_slice(1024usize);
        let mut si = Shared::<[u32]>::new_slice(1024usize);
        let mut sh = Shared::<[f32]>::new_slice(256usize);
        let mut m = f32::new(-3.0e38);
        for e in 0..4usize {
            let c = unit + e * 256;
            if c < cubes {
                sv[c] = stats[2 * c];
                si[c] = c as u32;
                if stats[2 * c] > m {
                    m = stats[2 * c];
                }
            } else {
                sv[c] = f32::new(-3.0e38);
                si[c] = 4294967295u32;
            }
        }
        let mx = tree(&mut sh, m, true);
        let mt = mx / t;
        let mut s = 0.0f32;
        for e in 0..4usize {
            let c = unit + e * 256;
            if c < cubes {
                s += stats[2 * c + 1] * (stats[2 * c] / t - mt).exp();
            }
        }
        let sum = tree(&mut sh, s, false);
        bitonic(&mut sv, &mut si, 1024usize);
        if unit == 0 {
            glob[0] = sv[rank - 1];
            glob[1] = mt;
            glob[2] = sum;
            counter[0] = 0u32;
        }
    }

    /// Stage 3: every logit at or above the threshold is appended to the candidates (an
    /// atomic counter; order does not matter, stage 4 sorts). Past `cap` only counted.
    #[cube(launch_unchecked)]
    pub(super) fn collect_kernel(
        x: &Tensor<f32>,
        glob: &Tensor<f32>,
        counter: &mut Tensor<Atomic<u32>>,
        cv: &mut Tensor<f32>,
        ci: &mut Tensor<u32>,
        n: usize,
        cap: usize,
        t: f32,
    ) {
        let i = ABSOLUTE_POS;
        if i < n {
            let v = x[i];
            if v >= glob[0] {
                let slot = counter[0].fetch_add(1u32) as usize;
                if slot < cap {
                    // Sorted as the host sorts: by `l / T` (two logits a rounding apart can
                    // tie once divided), then by id.
                    cv[slot] = v / t;
                    ci[slot] = i as u32;
                }
            }
        }
    }

    /// Stage 4 (one cube): sorts the collected candidates (at most 1024), keeps the `kk`
    /// best in `bv_out`/`bi_out`, then unit 0 runs the host sampler's pick with the uniform
    /// number `r`, writing the id (or `u32::MAX` when the candidates cannot decide) to
    /// `chosen[0]` and, when `record`, to `hist[len]` (the penalty's history).
    #[cube(launch_unchecked)]
    pub(super) fn pick_kernel(
        cv: &Tensor<f32>,
        ci: &Tensor<u32>,
        counter: &Tensor<u32>,
        glob: &Tensor<f32>,
        bv_out: &mut Tensor<f32>,
        bi_out: &mut Tensor<u32>,
        chosen: &mut Tensor<u32>,
        hist: &mut Tensor<u32>,
        len: usize,
        vocab: usize,
        top_k: usize,
        top_p: f32,
        min_p: f32,
        r: f32,
        greedy: u32,
        record: u32,
        #[comptime] kk: usize,
    ) {
        let unit = UNIT_POS as usize;
        let mut sv = Shared::<[f32]>::new_slice(1024usize);
        let mut si = Shared::<[u32]>::new_slice(1024usize);
        let count = counter[0] as usize;
        for e in 0..4usize {
            let j = unit + e * 256;
            if j < count && j < 1024 {
                sv[j] = cv[j];
                si[j] = ci[j];
            } else {
                sv[j] = f32::new(-3.0e38);
                si[j] = 4294967295u32;
            }
        }
        sync_cube();
        bitonic(&mut sv, &mut si, 1024usize);
        if unit < kk {
            bv_out[unit] = sv[unit];
            bi_out[unit] = si[unit];
        }
        if unit == 0 {
            // Every logit at or above the threshold was collected, so the sorted list is
            // the vocabulary's true best `cnt` (at least `kk` of them).
            let mut cnt = count;
            if cnt > 1024 {
                cnt = 1024;
            }
            // More candidates than the sort holds: which are the best is unknown.
            let overflow = count > 1024;
            let mut pick = si[0];
            if overflow {
                pick = 4294967295u32;
            } else if greedy == 0u32 {
                // The host's candidate list: the top_k best, or the whole vocabulary.
                let mut set = vocab;
                if top_k > 0 && top_k < vocab {
                    set = top_k;
                }
                let lt0 = sv[0];
                let mut sum = 0.0f32;
                let mut sum_known = true;
                if set <= cnt {
                    for i in 0..cnt {
                        if i < set {
                            sum += (sv[i] - lt0).exp();
                        }
                    }
                } else if set == vocab {
                    // The whole distribution: the chunks' tree sum, rescaled to this max.
                    sum = glob[2] * (glob[1] - lt0).exp();
                } else {
                    sum_known = false;
                }
                pick = 4294967295u32;
                if sum_known {
                    // The kept prefix (top-p, then min-p), as far as the candidates reach.
                    let mut keep = set;
                    let mut acc = 0.0f32;
                    let mut p0 = 0.0f32;
                    let mut decided = set <= cnt;
                    // A comparison this close could go the other way in the host's rounding
                    // (a GPU's exp is not libm's; an untruncated sum is a tree here): then
                    // the host decides.
                    let mut unsure = false;
                    for i in 0..cnt {
                        if i < cnt && i < keep {
                            let p = (sv[i] - lt0).exp() / sum;
                            if i == 0 {
                                p0 = p;
                            }
                            acc += p;
                            if top_p < 1.0 && (acc - top_p).abs() <= 1.0e-5f32 {
                                unsure = true;
                            }
                            if top_p < 1.0 && acc >= top_p && keep > i + 1 {
                                keep = i + 1;
                                decided = true;
                            }
                        }
                    }
                    if min_p > 0.0 {
                        let thr = p0 * min_p;
                        let mut run = true;
                        for i in 0..cnt {
                            if run && i < cnt && i < keep {
                                let p = (sv[i] - lt0).exp() / sum;
                                if (p - thr).abs() <= 1.0e-5f32 * thr {
                                    unsure = true;
                                }
                                if p < thr {
                                    keep = i;
                                    if keep < 1 {
                                        keep = 1;
                                    }
                                    decided = true;
                                    run = false;
                                }
                            }
                        }
                    }
                    // The walk: with the kept set known, its own total; with the whole
                    // untruncated distribution, its total is 1 (the host's normalized sum);
                    // a cut that may lie past the candidates leaves it to the host.
                    let untruncated = set == vocab && top_p >= 1.0 && min_p <= 0.0;
                    let mut total = 1.0f32;
                    if !decided && !untruncated {
                        keep = 0;
                    }
                    if decided {
                        total = 0.0f32;
                        for i in 0..cnt {
                            if i < keep {
                                total += (sv[i] - lt0).exp() / sum;
                            }
                        }
                    }
                    let mut rr = r * total;
                    let mut done = false;
                    for i in 0..cnt {
                        if !done && i < cnt && i < keep {
                            let p = (sv[i] - lt0).exp() / sum;
                            if (rr - p).abs() <= 1.0e-5f32 * p {
                                unsure = true;
                            }
                            if rr < p {
                                pick = si[i];
                                done = true;
                            } else {
                                rr -= p;
                            }
                        }
                    }
                    if !done && decided && keep <= cnt {
                        // Rounding left r past the last kept one: the host takes the last.
                        pick = si[keep - 1];
                    }
                    if unsure {
                        pick = 4294967295u32;
                    }
                }
            }
            chosen[0] = pick;
            if record == 1u32 && pick != 4294967295u32 {
                hist[len] = pick;
            }
        }
    }
}

/// Sampling on the device; implemented for burn's CubeCL backend (wgpu).
#[backend_extension(Cube)]
pub trait SampleOps: Backend {
    /// The repetition penalty `p` applied in place to `logits` for each distinct id of
    /// `hist[0..len]`; returns `logits`.
    fn penalize(logits: FloatTensor<Self>, hist: IntTensor<Self>, len: usize, p: f32) -> FloatTensor<Self>;
    /// The chosen id (`[1]` u32, [`NEED_HOST`] when the candidates do not reach) of
    /// `logits` (`[1, vocab]`) under `pick`; when `record`, also written to `hist[len]`.
    #[allow(clippy::too_many_arguments)]
    fn sample_pick(
        logits: FloatTensor<Self>,
        hist: IntTensor<Self>,
        len: usize,
        record: bool,
        temperature: f32,
        top_k: usize,
        top_p: f32,
        min_p: f32,
        r: f32,
    ) -> IntTensor<Self>;
}

fn empty(like: &CubeTensor, n: usize, dtype: DType) -> CubeTensor {
    empty_device_dtype(like.client.clone(), like.device.clone(), vec![n].into(), dtype)
}

impl SampleOps for CubeBackend {
    fn penalize(logits: CubeTensor, hist: CubeTensor, len: usize, p: f32) -> CubeTensor {
        let n = logits.meta.shape().num_elements();
        if len > 0 {
            unsafe {
                penalty_kernel::launch_unchecked(
                    &logits.client.clone(),
                    CubeCount::new_1d(len.div_ceil(256) as u32),
                    CubeDim::new_1d(256),
                    logits.clone().into_tensor_arg(),
                    hist.into_tensor_arg(),
                    len,
                    n,
                    p,
                )
            };
        }
        logits
    }

    fn sample_pick(logits: CubeTensor, hist: CubeTensor, len: usize, record: bool, temperature: f32, top_k: usize, top_p: f32, min_p: f32, r: f32) -> CubeTensor {
        let x = contiguous(logits);
        let vocab = x.meta.shape().num_elements();
        let cubes = vocab.min(STAT_CUBES);
        let chunk = vocab.div_ceil(cubes);
        let greedy = temperature <= 0.0;
        let t = if greedy { 1.0 } else { temperature };
        let stats = empty(&x, 2 * cubes, DType::F32);
        let glob = empty(&x, 4, DType::F32);
        let counter = empty(&x, 1, DType::U32);
        let cv = empty(&x, SORT_CAP, DType::F32);
        let ci = empty(&x, SORT_CAP, DType::U32);
        let bv = empty(&x, TOP_K, DType::F32);
        let bi = empty(&x, TOP_K, DType::U32);
        let chosen = empty(&x, 1, DType::U32);
        let client = x.client.clone();
        let all = vocab.div_ceil(256);
        unsafe {
            chunk_stats_kernel::launch_unchecked(
                &client,
                CubeCount::new_1d(cubes as u32),
                CubeDim::new_1d(256),
                x.clone().into_tensor_arg(),
                stats.clone().into_tensor_arg(),
                vocab,
                chunk,
                t,
            );
            threshold_kernel::launch_unchecked(
                &client,
                CubeCount::new_1d(1),
                CubeDim::new_1d(256),
                stats.into_tensor_arg(),
                glob.clone().into_tensor_arg(),
                counter.clone().into_tensor_arg(),
                cubes,
                t,
                TOP_K.min(cubes),
            );
            collect_kernel::launch_unchecked(
                &client,
                CubeCount::new_2d(all.min(65_535) as u32, all.div_ceil(65_535) as u32),
                CubeDim::new_1d(256),
                x.into_tensor_arg(),
                glob.clone().into_tensor_arg(),
                counter.clone().into_tensor_arg(),
                cv.clone().into_tensor_arg(),
                ci.clone().into_tensor_arg(),
                vocab,
                SORT_CAP,
                t,
            );
            pick_kernel::launch_unchecked(
                &client,
                CubeCount::new_1d(1),
                CubeDim::new_1d(256),
                cv.into_tensor_arg(),
                ci.into_tensor_arg(),
                counter.into_tensor_arg(),
                glob.into_tensor_arg(),
                bv.into_tensor_arg(),
                bi.into_tensor_arg(),
                chosen.clone().into_tensor_arg(),
                hist.into_tensor_arg(),
                len,
                vocab,
                top_k,
                top_p,
                min_p,
                r,
                greedy as u32,
                record as u32,
                TOP_K,
            )
        };
        chosen
    }
}

/// The repetition penalty applied on the device to `logits` for the distinct ids of
/// `hist[0..len]` (u32).
pub fn penalize(logits: Tensor<2>, hist: &Tensor<1, Int>, len: usize, p: f32) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as SampleOps>::penalize(logits.into_dispatch(), hist.clone().into_dispatch(), len, p))
}

/// The token `pick` chooses from `logits` (`[1, vocab]`) as a `[1]` u32 tensor on the device
/// ([`NEED_HOST`] when the best [`TOP_K`] do not decide it); when `record`, also written to
/// `hist[len]`.
pub fn sample_pick(logits: Tensor<2>, hist: &Tensor<1, Int>, len: usize, record: bool, pick: Pick) -> Tensor<1, Int> {
    Tensor::from_dispatch(<Dispatch as SampleOps>::sample_pick(
        logits.into_dispatch(),
        hist.clone().into_dispatch(),
        len,
        record,
        pick.temperature,
        pick.top_k,
        pick.top_p,
        pick.min_p,
        pick.r,
    ))
}
