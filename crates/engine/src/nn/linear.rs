//! `y = x·Wᵀ (+ b)`, with `W` kept as f32 or as ggml blocks on the GPU.

use burn::tensor::Tensor;

use crate::kernels::qmatmul::QTensor;

/// The weight of a linear map, `[out, in]` in the checkpoint.
#[derive(Debug, Clone)]
pub enum LinearWeight {
    /// f32 weight kept transposed, `[in, out]` (the CPU backend, and f32 checkpoints).
    Dense { weight_t: Tensor<2> },
    /// `[out, in]` in its ggml block layout on the GPU, dequantized on the fly.
    Quant(QTensor),
}

/// A linear layer, with a bias where the checkpoint has one (SigLIP) and without (Gemma 3).
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: LinearWeight,
    pub bias: Option<Tensor<1>>,
}

impl Linear {
    /// [`QTensor::release_pages`] for a quantized weight read from a mapped file.
    pub fn release_pages(&self) {
        if let LinearWeight::Quant(q) = &self.weight {
            q.release_pages();
        }
    }

    /// `x [rows, in]` → `[rows, out]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = match &self.weight {
            LinearWeight::Dense { weight_t } => x.matmul(weight_t.clone()),
            LinearWeight::Quant(q) => q.matmul_t(x),
        };
        match &self.bias {
            Some(b) => y + b.clone().unsqueeze::<2>(),
            None => y,
        }
    }

    /// Bytes of the stored weight (quantized blocks or f32).
    pub fn weight_bytes(&self) -> u64 {
        match &self.weight {
            LinearWeight::Dense { weight_t } => 4 * weight_t.shape().num_elements() as u64,
            LinearWeight::Quant(q) => q.bytes(),
        }
    }

    /// `x [batch, seq, in]` → `[batch, seq, out]`.
    pub fn forward_seq(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, i] = x.dims();
        let y = self.forward(x.reshape([b * t, i]));
        let o = y.dims()[1];
        y.reshape([b, t, o])
    }
}
