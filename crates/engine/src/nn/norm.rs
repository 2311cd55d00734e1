//! RMSNorm (Gemma) and LayerNorm (SigLIP) over the last dimension.

use burn::tensor::Tensor;

use crate::kernels::fused;

/// RMSNorm with the effective multiplier `1 + w` precomputed.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    pub scale: Tensor<1>,
    pub eps: f64,
}

impl RmsNorm {
    /// One fused kernel (a CubeCL kernel on the GPU, a host loop on the CPU).
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        fused::rms_norm(x, &self.scale, self.eps)
    }

    /// The same norm from burn ops (the fused kernels' reference in the tests).
    pub fn forward_composed<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let var = x.clone().square().mean_dim(D - 1);
        let normed = x * (var + self.eps).sqrt().recip();
        let n = self.scale.dims()[0];
        let mut shape = [1usize; D];
        shape[D - 1] = n;
        normed * self.scale.clone().reshape(shape)
    }
}

/// Gemma's sandwich step: `sum = res + first(h)`, then `second(sum)`; returns both (the
/// residual stream and the next block's input). One fused kernel.
pub fn add_rms_norm(res: Tensor<2>, h: Tensor<2>, first: &RmsNorm, second: &RmsNorm) -> (Tensor<2>, Tensor<2>) {
    fused::add_rms_norm(res, h, &first.scale, first.eps, &second.scale, second.eps)
}

/// LayerNorm with weight and bias.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub weight: Tensor<1>,
    pub bias: Tensor<1>,
    pub eps: f64,
}

impl LayerNorm {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mean = x.clone().mean_dim(D - 1);
        let xc = x - mean;
        let var = xc.clone().square().mean_dim(D - 1);
        let y = xc * (var + self.eps).sqrt().recip();
        let n = self.weight.dims()[0];
        let mut shape = [1usize; D];
        shape[D - 1] = n;
        y * self.weight.clone().reshape(shape) + self.bias.clone().reshape(shape)
    }
}
