//! An HF safetensors checkpoint as a [`WeightSource`] (f32 values; quantize it on load with
//! [`crate::weights::quantize::QuantizeOnLoad`]).

use std::path::Path;

use crate::error::Result;
use crate::formats::safetensors::Safetensors;
use crate::weights::WeightSource;

impl WeightSource for Safetensors {
    fn file(&self) -> &Path {
        self.root()
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        Ok(self.tensor_f32(hf_name))
    }
    fn norms_include_one(&self) -> bool {
        false
    }
    fn release(&self, hf_name: &str) {
        Safetensors::release(self, hf_name);
    }
}
