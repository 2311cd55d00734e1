//! Unmasked multi-head attention (SigLIP's towers and pooling head), computed in query
//! blocks so the score matrix fits one GPU buffer.

use burn::tensor::Tensor;

use crate::nn::softmax_last;

/// Multi-head attention of `q` `[B, Tq, H]` over `k`, `v` `[B, Tk, H]` (no mask: SigLIP attends
/// to all positions, padding included, as transformers does without an attention mask).
pub fn mha(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize) -> Tensor<3> {
    let device = q.device();
    if !crate::device::is_cube(&device) && crate::kernels::cpu::amx::available() {
        // On the CPU with AMX: one fused kernel per head (scores kept in cache), see
        // `kernels::cpu::attention`.
        let [b, tq, h] = q.dims();
        let tk = k.dims()[1];
        let host = |t: Tensor<3>| t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 after conversion");
        let (q, k, v) = (host(q), host(k), host(v));
        let hd = h / heads;
        let out = crate::kernels::cpu::attention::mha(&q, &k, &v, b, tq, tk, heads, hd, (hd as f32).powf(-0.5));
        return Tensor::from_data(burn::tensor::TensorData::new(out, [b, tq, h]), &device);
    }
    let budget = if crate::device::is_cube(&q.device()) { MAX_SCORE_BYTES } else { MAX_SCORE_BYTES_CPU };
    mha_blocked(q, k, v, heads, budget)
}

/// [`mha`] with at most `max_score_bytes` of scores per query block.
pub fn mha_blocked(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize, max_score_bytes: usize) -> Tensor<3> {
    let [b, tq, h] = q.dims();
    let tk = k.dims()[1];
    let hd = h / heads;
    let scale = (hd as f64).powf(-0.5);
    // The scale rides on q, (s·q)·kᵀ: a pass over Tq·H values instead of over every score
    // (Tq·Tk per head: 4,096 times more for MedGemma's tower).
    let q = (q * scale).reshape([b, tq, heads, hd]).swap_dims(1, 2);
    let k = k.reshape([b, tk, heads, hd]).swap_dims(1, 2);
    let v = v.reshape([b, tk, heads, hd]).swap_dims(1, 2);
    let kt = k.swap_dims(2, 3);
    // The score matrix is B·heads·Tq·Tk floats: 1 GiB for MedGemma's tower at 896 px (4096
    // patches, 16 heads), more than a wgpu buffer may hold. Softmax is per query row, so
    // query blocks give the same numbers with at most MAX_SCORE_BYTES of scores at a time.
    let rows = (max_score_bytes / (4 * b * heads * tk).max(1)).clamp(1, tq.max(1));
    let out = if rows >= tq {
        softmax_last(q.matmul(kt)).matmul(v)
    } else {
        let blocks: Vec<Tensor<4>> = (0..tq)
            .step_by(rows)
            .map(|s| {
                let qs = q.clone().slice([0..b, 0..heads, s..(s + rows).min(tq), 0..hd]);
                softmax_last(qs.matmul(kt.clone())).matmul(v.clone())
            })
            .collect();
        Tensor::cat(blocks, 2)
    };
    out.swap_dims(1, 2).reshape([b, tq, h])
}

/// Largest attention score block computed at once (bytes) on a GPU.
const MAX_SCORE_BYTES: usize = 128 << 20;

/// The same on the CPU, where a block's scores and their softmax are live at once in host
/// memory (with a scaled copy, before the scale moved onto q): at 128 MiB they added about
/// 270 MiB to the peak of MedGemma's 896 px encode (heap profile of the 4B-shaped pair); at
/// 32 MiB, a quarter of that (a block is then 128 query rows × 16 heads × 4,096 keys).
const MAX_SCORE_BYTES_CPU: usize = 32 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Query blocks (as MedGemma's 896 px tower needs) give the one-block result.
    #[test]
    fn blocked_attention_equals_one_block() {
        let d = Device::flex();
        let (b, t, h, heads) = (1, 37, 16, 4);
        let r = |seed: usize| {
            let v: Vec<f32> = (0..b * t * h).map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0) - 1.0).collect();
            Tensor::<3>::from_data(TensorData::new(v, [b, t, h]), &d)
        };
        let (q, k, v) = (r(1), r(2), r(3));
        let one = mha_blocked(q.clone(), k.clone(), v.clone(), heads, usize::MAX).into_data().try_to_vec::<f32>().unwrap();
        // 4 heads × 37 keys × 4 bytes per query row: 3 rows per block, a short last block.
        let blocked = mha_blocked(q, k, v, heads, 4 * heads * t * 3).into_data().try_to_vec::<f32>().unwrap();
        let err = one.iter().zip(&blocked).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err < 1e-6, "blocked attention differs by {err}");
    }
}
