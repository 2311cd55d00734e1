//! Unmasked multi-head attention (SigLIP's towers) on AMX tiles, one head at a time: per 32
//! queries, the scores against every key (`q·kᵀ`, bf16 pairs as in [`amx`]), their softmax
//! in f32, and the weighted sum of the values (`p·v`, bf16 pairs again). Each head's keys
//! and values are packed once; the scores never leave a core's cache (32 × 4,096 f32 for
//! MedGemma's 896-px tower, 512 KiB), where the generic path wrote every head's whole score
//! matrix out, copied it through a separate softmax and multiplied it back with f32 GEMMs
//! (57 % of MedGemma's image → first token on this path).
//!
//! Precision: both products are the bf16-pair arithmetic of [`amx`] (each product within
//! `3·2⁻¹⁶`); the softmax is the host kernels' f32 one.

use rayon::prelude::*;

use super::amx::{self, Aligned, Parts};

/// The scores' split: three bf16 parts, as their absolute error becomes the softmax weights'
/// relative one (see [`Parts::Three`]).
const SCORES: Parts = Parts::Three;
/// The weighted sum's: three parts as well (with two, the SigLIP goldens' logits drifted
/// 1.2e-5 from transformers', over their 1e-5 bound).
const WEIGHTS: Parts = Parts::Three;

/// `softmax(q·kᵀ · scale)·v` per head: `q` `[b, tq, heads·hd]`, `k` and `v` `[b, tk,
/// heads·hd]`, row-major; the result `[b, tq, heads·hd]`. Only where [`amx::available`].
#[allow(clippy::too_many_arguments)]
pub fn mha(q: &[f32], k: &[f32], v: &[f32], b: usize, tq: usize, tk: usize, heads: usize, hd: usize, scale: f32) -> Vec<f32> {
    assert!(amx::available());
    let h = heads * hd;
    assert!(q.len() >= b * tq * h && k.len() >= b * tk * h && v.len() >= b * tk * h && tk > 0 && hd > 0);
    let mut out = vec![0f32; b * tq * h];
    // The scale rides on q (`tq·hd` products instead of `tq·tk`).
    let qs: Vec<f32> = q[..b * tq * h].iter().map(|x| x * scale).collect();
    let heads_out: Vec<(usize, Vec<f32>)> = (0..b * heads).into_par_iter().map(|bh| (bh, head(&qs, k, v, bh / heads, bh % heads, tq, tk, heads, hd))).collect();
    for (bh, o) in heads_out {
        let (bi, hh) = (bh / heads, bh % heads);
        for (t, row) in o.chunks_exact(hd).enumerate() {
            let at = (bi * tq + t) * h + hh * hd;
            out[at..at + hd].copy_from_slice(row);
        }
    }
    out
}

/// One head: `[tq, hd]`.
#[allow(clippy::too_many_arguments)]
fn head(q: &[f32], k: &[f32], v: &[f32], bi: usize, hh: usize, tq: usize, tk: usize, heads: usize, hd: usize) -> Vec<f32> {
    let h = heads * hd;
    let (hdp, tkp) = (amx::padded(hd), amx::padded(tk));
    // Keys as B tiles ("weight rows" of `hd` values): 32-key pairs of groups.
    let key_pairs = tk.div_ceil(32);
    let key_group = SCORES.tiles() * hdp * 16;
    let mut kb = Aligned::default();
    kb.resize(2 * key_pairs * key_group);
    let mut rows = vec![0f32; 16 * hdp.max(tkp)];
    for (g, tiles) in kb.as_mut_slice().chunks_exact_mut(key_group).enumerate() {
        let r = &mut rows[..16 * hdp];
        r.fill(0.0);
        for (i, row) in r.chunks_exact_mut(hdp).enumerate().take(tk.saturating_sub(16 * g)) {
            let at = (bi * tk + 16 * g + i) * h + hh * hd;
            row[..hd].copy_from_slice(&k[at..at + hd]);
        }
        amx::pack_rows(r, hdp, SCORES, tiles);
    }
    // Values transposed as B tiles: rows are the head's `hd` dimensions, `tk` values each.
    let dim_pairs = hd.div_ceil(32);
    let value_group = WEIGHTS.tiles() * tkp * 16;
    let mut vb = Aligned::default();
    vb.resize(2 * dim_pairs * value_group);
    for (g, tiles) in vb.as_mut_slice().chunks_exact_mut(value_group).enumerate() {
        let r = &mut rows[..16 * tkp];
        r.fill(0.0);
        for d in 0..16.min(hd.saturating_sub(16 * g)) {
            let row = &mut r[d * tkp..d * tkp + tk];
            for (j, o) in row.iter_mut().enumerate() {
                *o = v[(bi * tk + j) * h + hh * hd + 16 * g + d];
            }
        }
        amx::pack_rows(r, tkp, WEIGHTS, tiles);
    }
    let mut out = vec![0f32; tq * hd];
    let (mut qa, mut pa) = (Aligned::default(), Aligned::default());
    // Scores `[32][32·key_pairs]` and outputs `[32][32·dim_pairs]`, as f32 on 64-byte lines.
    let (lds, ldo) = (32 * key_pairs, 32 * dim_pairs);
    let (mut sbuf, mut obuf) = (Aligned::default(), Aligned::default());
    let (s, o) = (sbuf.f32_mut(32 * lds), obuf.f32_mut(32 * ldo));
    // SAFETY: `amx::available` was asserted by `mha`.
    let tiles = unsafe { amx::Tiles::configure() };
    for t0 in (0..tq).step_by(32) {
        let m = 32.min(tq - t0);
        let base = (bi * tq + t0) * h + hh * hd;
        amx::pack_a(&q[base..], h, m, hd, SCORES, &mut qa);
        tiles.rows32(qa.as_slice(), kb.as_slice(), key_group, key_pairs, s, lds);
        softmax_rows(s, lds, m, tk);
        amx::pack_a(s, lds, m, tk, WEIGHTS, &mut pa);
        tiles.rows32(pa.as_slice(), vb.as_slice(), value_group, dim_pairs, o, ldo);
        for (t, row) in o.chunks_exact(ldo).take(m).enumerate() {
            out[(t0 + t) * hd..(t0 + t + 1) * hd].copy_from_slice(&row[..hd]);
        }
    }
    out
}

/// The softmax of the first `tk` scores of each of the `m` rows (stride `lds`), sixteen wide:
/// the exponentials are a third of this kernel's work at 4,096 keys.
fn softmax_rows(s: &mut [f32], lds: usize, m: usize, tk: usize) {
    let run = || {
        for row in s.chunks_exact_mut(lds).take(m) {
            super::fused::softmax_row(&mut row[..tk]);
        }
    };
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        #[inline]
        unsafe fn wide(f: impl FnOnce()) {
            f()
        }
        // SAFETY: every AMX CPU has AVX-512 F (`mha` asserted `amx::available`).
        unsafe { wide(run) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::testing::lcg;

    /// Against attention in f64, with shapes off every tile edge (37 queries, 45 keys, head
    /// width 40 of 2 heads, 2 batches). Each output is a convex combination of values, so
    /// the scores' error `δ` moves it by at most `2·δ·max|v|`, and `p·v` adds its own error
    /// of at most `ε·max|v|`. Per product, three bf16 parts are within `5·2⁻²⁷`, and f32
    /// sums of at most 64 terms round by at most `64·2⁻²⁴` of their absolute sum.
    #[test]
    fn amx_attention_matches_f64() {
        if !amx::available() {
            eprintln!("AMX off or absent on this CPU: the tile attention is not run here");
            return;
        }
        let (b, tq, tk, heads, hd) = (2, 37, 45, 2, 40);
        let h = heads * hd;
        let (q, k, v) = (lcg(b * tq * h, 1, 4.0), lcg(b * tk * h, 2, 4.0), lcg(b * tk * h, 3, 4.0));
        let scale = (hd as f32).powf(-0.5);
        let got = mha(&q, &k, &v, b, tq, tk, heads, hd, scale);
        let f32_sum = 64.0 / (1u64 << 24) as f64;
        let eps = 5.0 / (1u64 << 27) as f64 + f32_sum;
        for bi in 0..b {
            for hh in 0..heads {
                for t in 0..tq {
                    let qr = &q[(bi * tq + t) * h + hh * hd..][..hd];
                    let krow = |j: usize| &k[(bi * tk + j) * h + hh * hd..][..hd];
                    let vrow = |j: usize| &v[(bi * tk + j) * h + hh * hd..][..hd];
                    let sc: Vec<f64> = (0..tk).map(|j| qr.iter().zip(krow(j)).map(|(&a, &c)| a as f64 * c as f64).sum::<f64>() * scale as f64).collect();
                    let abs: Vec<f64> =
                        (0..tk).map(|j| qr.iter().zip(krow(j)).map(|(&a, &c)| (a as f64 * c as f64).abs()).sum::<f64>() * scale as f64).collect();
                    let mx = sc.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = sc.iter().map(|x| (x - mx).exp()).collect();
                    let z: f64 = e.iter().sum();
                    let vmax = (0..tk).flat_map(|j| vrow(j).to_vec()).fold(0f32, |a, x| a.max(x.abs())) as f64;
                    let delta = eps * abs.iter().cloned().fold(0.0, f64::max);
                    for d in 0..hd {
                        let want: f64 = (0..tk).map(|j| e[j] / z * vrow(j)[d] as f64).sum();
                        let bound = 2.0 * delta * vmax + eps * vmax + 1e-6;
                        let g = got[(bi * tq + t) * h + hh * hd + d] as f64;
                        assert!((g - want).abs() <= bound, "b{bi} h{hh} q{t} d{d}: {g} vs {want} (bound {bound})");
                    }
                }
            }
        }
    }
}
