//! RMSNorm (Gemma) and LayerNorm (SigLIP) over the last dimension.

use burn::tensor::Tensor;

/// RMSNorm with the effective multiplier `1 + w` precomputed.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    pub scale: Tensor<1>,
    pub eps: f64,
}

impl RmsNorm {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let var = x.clone().square().mean_dim(D - 1);
        let normed = x * (var + self.eps).sqrt().recip();
        let n = self.scale.dims()[0];
        let mut shape = [1usize; D];
        shape[D - 1] = n;
        normed * self.scale.clone().reshape(shape)
    }
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
