//! Rotary position embeddings, half-split layout (transformers' `rotate_half`).

use burn::tensor::{Device, Tensor, TensorData};

use crate::profile::upload;

/// Inverse frequencies as transformers computes them: `base ** (arange(0, dim, 2) / dim)` in
/// f32, then `1/x`, then `/ factor` (linear scaling).
pub fn inv_freq(base: f64, dim: usize, factor: f64) -> Vec<f32> {
    (0..dim / 2)
        .map(|i| {
            let e = (2 * i) as f32 / dim as f32;
            let f = 1.0f32 / (base as f32).powf(e);
            f / factor as f32
        })
        .collect()
}

/// cos and sin of every position up to a capacity, on the device, for one set of inverse
/// frequencies. A step reads its rows from it ([`Table::full`]), so decoding uploads nothing:
/// the table is rebuilt (one upload, capacity doubled) only when a position passes its end.
#[derive(Debug, Clone)]
pub struct Table {
    inv: Vec<f32>,
    cos_sin: Option<(Tensor<3>, Tensor<3>)>,
}

impl Table {
    pub fn new(inv: Vec<f32>) -> Self {
        Self { inv, cos_sin: None }
    }

    /// The whole tables `[capacity, 1, hd/2]`, holding at least positions `..end` (the fused
    /// kernel indexes them by position itself).
    pub fn full(&mut self, end: usize, device: &Device) -> (Tensor<3>, Tensor<3>) {
        if self.cos_sin.as_ref().is_none_or(|(cos, _)| cos.dims()[0] < end) {
            let cap = end.next_power_of_two().max(256);
            self.cos_sin = Some(tables(&self.inv, 0, cap, device));
        }
        self.cos_sin.clone().unwrap_or_else(|| unreachable!("built above"))
    }
}

/// cos and sin tables `[T, 1, hd/2]` for positions `pos0..pos0+t`.
pub fn tables(inv: &[f32], pos0: usize, t: usize, device: &Device) -> (Tensor<3>, Tensor<3>) {
    let half = inv.len();
    let mut cos = Vec::with_capacity(t * half);
    let mut sin = Vec::with_capacity(t * half);
    for p in pos0..pos0 + t {
        for &f in inv {
            let a = p as f32 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    (
        upload(TensorData::new(cos, [t, 1, half]), device),
        upload(TensorData::new(sin, [t, 1, half]), device),
    )
}

/// Rotates `x [T, heads, hd]` by the tables of [`tables`].
pub fn apply(x: Tensor<3>, cos: &Tensor<3>, sin: &Tensor<3>) -> Tensor<3> {
    let [t, n, d] = x.dims();
    let half = d / 2;
    let x1 = x.clone().slice([0..t, 0..n, 0..half]);
    let x2 = x.slice([0..t, 0..n, half..d]);
    let a = x1.clone() * cos.clone() - x2.clone() * sin.clone();
    let b = x2 * cos.clone() + x1 * sin.clone();
    Tensor::cat(vec![a, b], 2)
}
