//! Quantize-on-load: any source's weight matrices handed out as ggml blocks, so a f32 or
//! bf16 checkpoint (or random weights) runs through the same quantized kernels as a GGUF.
//! [`is_weight_matrix`] is the one rule for which tensors are quantized, here and in
//! `medlens models import`.

use std::borrow::Cow;
use std::path::Path;

use crate::error::Result;
use crate::quant::{dequantize, quantize, GgmlType};
use crate::weights::{Blocks, WeightSource};

/// Whether a tensor is a weight matrix that quantization applies to: 2-D, not a norm, and not
/// a position embedding (added to activations, small, kept exact).
pub fn is_weight_matrix(name: &str, shape: &[usize]) -> bool {
    shape.len() == 2 && !name.ends_with("norm.weight") && !name.contains("position_embedding")
}

/// Any weight source with its weight matrices handed out as `ty` blocks when whole rows fit
/// (f32 for the rest). `get` returns the same rounded values, so the CPU and the GPU compute
/// with equal weights.
pub struct QuantizeOnLoad<'a> {
    pub inner: &'a dyn WeightSource,
    pub ty: GgmlType,
}

impl WeightSource for QuantizeOnLoad<'_> {
    fn file(&self) -> &Path {
        self.inner.file()
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        match self.get_quantized(hf_name)? {
            Some((shape, ty, q)) => Ok(dequantize(ty, &q).map(|v| (shape, v))),
            None => self.inner.get(hf_name),
        }
    }
    fn norms_include_one(&self) -> bool {
        self.inner.norms_include_one()
    }
    fn get_quantized(&self, hf_name: &str) -> Result<Option<Blocks<'_>>> {
        if let Some(q) = self.inner.get_quantized(hf_name)? {
            return Ok(Some(q));
        }
        if !self.ty.has_kernel() {
            return Ok(None);
        }
        let Some((shape, v)) = self.inner.get(hf_name)? else { return Ok(None) };
        if !is_weight_matrix(hf_name, &shape) || shape[1] % self.ty.block_elems() != 0 {
            return Ok(None);
        }
        Ok(quantize(self.ty, &v).map(|q| (shape, self.ty, Cow::Owned(q))))
    }
    fn release(&self, hf_name: &str) {
        self.inner.release(hf_name);
    }
}
