//! A GGUF written by `medlens models import` (see `serve::import`): tensors under their HF
//! names and shapes, and the model folder's JSON files carried as metadata, so one file is
//! the whole model.

use std::borrow::Cow;
use std::path::Path;

use crate::error::{EngineError, Result};
use crate::formats::gguf::{Gguf, GgufHeader};
use crate::weights::{Blocks, WeightSource};

/// Metadata key holding the HF `config.json` text.
pub const CONFIG_KEY: &str = "medlens.config_json";
/// Files of the model folder carried as metadata, with their keys.
pub const CARRIED: [(&str, &str); 4] = [
    ("config.json", CONFIG_KEY),
    ("tokenizer.json", "medlens.tokenizer_json"),
    ("tokenizer_config.json", "medlens.tokenizer_config_json"),
    ("preprocessor_config.json", "medlens.preprocessor_config_json"),
];

/// A GGUF written by `medlens models import`: tensors by their HF names.
pub struct ImportedGguf {
    pub gguf: Gguf,
}

impl ImportedGguf {
    pub fn open(path: &Path) -> Result<Self> {
        let gguf = Gguf::open(path)?;
        if !is_import(&gguf.header) {
            return Err(EngineError::Config {
                file: path.into(),
                detail: format!("not a Medlens import (no {CONFIG_KEY}); a llama.cpp GGUF loads as a text model"),
            });
        }
        Ok(Self { gguf })
    }
    /// A carried JSON file (`config.json`, `tokenizer.json`, ...) as text.
    pub fn carried(&self, file: &str) -> Option<&str> {
        let key = CARRIED.iter().find(|(f, _)| *f == file)?.1;
        self.gguf.header.get(key)?.as_str()
    }
}

impl WeightSource for ImportedGguf {
    fn file(&self) -> &Path {
        &self.gguf.path
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        Ok(self.gguf.tensor_f32(hf_name))
    }
    fn norms_include_one(&self) -> bool {
        false
    }
    fn get_quantized(&self, hf_name: &str) -> Result<Option<Blocks<'_>>> {
        Ok(self.gguf.quantized_tensor(hf_name).map(|(s, t, b)| (s, t, Cow::Borrowed(b))))
    }
    fn mapped(&self, hf_name: &str) -> Option<crate::formats::gguf::MappedTensor> {
        self.gguf.mapped_tensor(hf_name)
    }
    fn release(&self, hf_name: &str) {
        self.gguf.release(hf_name);
    }
}

/// Whether a GGUF header is a Medlens import (it carries the HF `config.json`).
pub fn is_import(h: &GgufHeader) -> bool {
    h.get(CONFIG_KEY).is_some()
}
