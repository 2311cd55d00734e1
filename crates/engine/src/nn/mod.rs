//! Layers: the building blocks the models are written in (linear maps over f32 or ggml
//! blocks, embeddings, norms, RoPE, attention, the KV cache) and the loader that builds them
//! from a [`crate::weights::WeightSource`] by name with shape checks.

use burn::tensor::Tensor;

use crate::error::{EngineError, Result};

pub mod attention;
pub mod embedding;
pub mod kv_cache;
pub mod linear;
pub mod loader;
pub mod norm;
pub mod rope;

pub use embedding::Embedding;
pub use kv_cache::{KvCache, LayerCache};
pub use linear::{Linear, LinearWeight};
pub use loader::WeightLoader;
pub use norm::{add_rms_norm, LayerNorm, RmsNorm};

/// GELU with the tanh approximation (`gelu_pytorch_tanh`): one fused kernel.
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    crate::kernels::fused::gelu_tanh(x)
}

/// [`gelu_tanh`] composed of burn's ops (the reference the fused kernels are tested
/// against), written with `x*x*x` so no backend evaluates `pow` of a negative base.
pub fn gelu_tanh_composed<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const C: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)
    let x3 = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + x3 * 0.044715) * C;
    x * (inner.tanh() + 1.0) * 0.5
}

/// `gelu_tanh(g) · u` (GeGLU's gate): one fused kernel.
pub fn geglu<const D: usize>(g: Tensor<D>, u: Tensor<D>) -> Tensor<D> {
    crate::kernels::fused::geglu(g, u)
}

/// Softmax over the last dimension: one fused kernel.
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    crate::kernels::fused::softmax(x)
}

/// A tensor's values on the host, row-major; a failed read-back (lost device, out of memory)
/// is an error, not a panic.
pub fn to_host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    let data = t
        .try_into_data()
        .map_err(|e| EngineError::Device(format!("reading back from the device: {e:?}")))?;
    crate::profile::count_readback(data.bytes().len());
    data.try_into_vec::<f32>()
        .map_err(|e| EngineError::Device(format!("reading back from the device: {e:?}")))
}

/// Rows of a 2-D tensor on the host.
pub fn rows(t: Tensor<2>) -> Result<Vec<Vec<f32>>> {
    let [_, n] = t.dims();
    let v = to_host(t)?;
    Ok(v.chunks(n.max(1)).map(|c| c.to_vec()).collect())
}
