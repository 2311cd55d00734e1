//! A llama.cpp Gemma 3 text GGUF as a [`WeightSource`]: HF names mapped onto llama.cpp's.

use std::borrow::Cow;
use std::path::Path;

use crate::error::Result;
use crate::formats::gguf::Gguf;
use crate::weights::{Blocks, WeightSource};

/// GGUF tensor name of an HF Gemma 3 text tensor name.
pub fn gguf_name(hf: &str) -> Option<String> {
    let hf = hf.strip_prefix("model.language_model.").or_else(|| hf.strip_prefix("model.")).unwrap_or(hf);
    Some(match hf {
        "embed_tokens.weight" => "token_embd.weight".into(),
        "norm.weight" => "output_norm.weight".into(),
        _ => {
            let rest = hf.strip_prefix("layers.")?;
            let (i, t) = rest.split_once('.')?;
            let g = match t {
                "input_layernorm.weight" => "attn_norm.weight",
                "self_attn.q_proj.weight" => "attn_q.weight",
                "self_attn.k_proj.weight" => "attn_k.weight",
                "self_attn.v_proj.weight" => "attn_v.weight",
                "self_attn.o_proj.weight" => "attn_output.weight",
                "self_attn.q_norm.weight" => "attn_q_norm.weight",
                "self_attn.k_norm.weight" => "attn_k_norm.weight",
                "post_attention_layernorm.weight" => "post_attention_norm.weight",
                "pre_feedforward_layernorm.weight" => "ffn_norm.weight",
                "post_feedforward_layernorm.weight" => "post_ffw_norm.weight",
                "mlp.gate_proj.weight" => "ffn_gate.weight",
                "mlp.up_proj.weight" => "ffn_up.weight",
                "mlp.down_proj.weight" => "ffn_down.weight",
                _ => return None,
            };
            format!("blk.{i}.{g}")
        }
    })
}

impl WeightSource for Gguf {
    fn file(&self) -> &Path {
        &self.path
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Some(name) = gguf_name(hf_name) else { return Ok(None) };
        Ok(self.tensor_f32(&name))
    }
    fn norms_include_one(&self) -> bool {
        true
    }
    fn get_quantized(&self, hf_name: &str) -> Result<Option<Blocks<'_>>> {
        Ok(gguf_name(hf_name).and_then(|name| self.quantized_tensor(&name)).map(|(s, t, b)| (s, t, Cow::Borrowed(b))))
    }
    fn mapped(&self, hf_name: &str) -> Option<crate::formats::gguf::MappedTensor> {
        gguf_name(hf_name).and_then(|name| self.mapped_tensor(&name))
    }
    fn release(&self, hf_name: &str) {
        if let Some(name) = gguf_name(hf_name) {
            Gguf::release(self, &name);
        }
    }
}
