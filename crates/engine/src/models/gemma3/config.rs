//! Gemma 3 text configuration, straight from HF `config.json` (both rope forms) or from a
//! llama.cpp GGUF's `gemma3.*` keys; the built-in configs of the models this product runs.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::{EngineError, Result};
use crate::formats::gguf::Gguf;

/// Sane maxima of a Gemma 3 text configuration, each far above the largest real model
/// (Gemma 3 27B: 62 layers, hidden 5376, intermediate 21504, 32 heads of 128, 262,208 tokens,
/// 131,072 positions, window 1024). A config beyond them is not a model: values like these
/// size the layer list, the RoPE tables and the KV ring before any weight is read, so a
/// config.json of a few hundred bytes could otherwise ask for terabytes.
pub const MAX_LAYERS: usize = 512;
pub const MAX_HIDDEN: usize = 1 << 16;
pub const MAX_INTERMEDIATE: usize = 1 << 18;
pub const MAX_HEADS: usize = 1024;
pub const MAX_HEAD_DIM: usize = 1024;
pub const MAX_VOCAB: usize = 1 << 22;
pub const MAX_POSITIONS: usize = 1 << 21;
pub const MAX_SLIDING_WINDOW: usize = 1 << 17;

/// `value` of `field` within `1..=max`, else an error naming the file and the field.
pub(crate) fn check_range(file: &Path, field: &str, value: usize, max: usize) -> Result<()> {
    if value == 0 || value > max {
        return Err(EngineError::Config { file: file.into(), detail: format!("{field} = {value} is outside 1..={max}") });
    }
    Ok(())
}

/// A float parameter that must be finite and positive (norm epsilons, RoPE bases, scales).
pub(crate) fn check_positive(file: &Path, field: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        return Err(EngineError::Config { file: file.into(), detail: format!("{field} = {value} is not a finite positive number") });
    }
    Ok(())
}

/// Attention kind of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerType {
    Sliding,
    Full,
}

/// Gemma 3 text configuration (the fields of HF `Gemma3TextConfig` the model uses).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    pub head_dim: usize,
    pub rms_norm_eps: f64,
    /// RoPE base of full-attention layers.
    pub rope_theta: f64,
    /// RoPE base of sliding layers.
    pub rope_local_base_freq: f64,
    /// Linear RoPE scaling factor of full-attention layers (1.0 = none).
    pub rope_scaling_factor: f64,
    pub query_pre_attn_scalar: f64,
    pub sliding_window: usize,
    pub layer_types: Vec<LayerType>,
    pub final_logit_softcapping: Option<f64>,
    pub attn_logit_softcapping: Option<f64>,
    pub max_position_embeddings: usize,
}

#[derive(Deserialize)]
struct HfConfig {
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    rope_local_base_freq: Option<f64>,
    rope_scaling: Option<Json>,
    rope_parameters: Option<Json>,
    query_pre_attn_scalar: Option<f64>,
    sliding_window: Option<usize>,
    sliding_window_pattern: Option<usize>,
    layer_types: Option<Vec<String>>,
    final_logit_softcapping: Option<f64>,
    attn_logit_softcapping: Option<f64>,
    max_position_embeddings: Option<usize>,
    hidden_activation: Option<String>,
}

fn rope_linear_factor(v: &Json) -> f64 {
    match v.get("rope_type").or_else(|| v.get("type")).and_then(|t| t.as_str()) {
        Some("linear") => v.get("factor").and_then(|f| f.as_f64()).unwrap_or(1.0),
        _ => 1.0,
    }
}

impl Config {
    /// Parses an HF `config.json` (a `Gemma3TextConfig`, or a multimodal config with a
    /// `text_config`). Accepts both `rope_parameters` (transformers 5) and the older
    /// `rope_theta` / `rope_local_base_freq` / `rope_scaling` fields.
    pub fn from_hf_json(file: &Path, text: &str) -> Result<Self> {
        let err = |detail: String| EngineError::Config { file: file.into(), detail };
        let mut v: Json = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        if let Some(t) = v.get("text_config") {
            v = t.clone();
        }
        let c: HfConfig = serde_json::from_value(v).map_err(|e| err(e.to_string()))?;
        if let Some(act) = &c.hidden_activation {
            if act != "gelu_pytorch_tanh" && act != "gelu_tanh" {
                return Err(err(format!("unsupported hidden_activation {act}")));
            }
        }
        // Defaults are `Gemma3TextConfig`'s: the hub's multimodal configs (MedGemma-4B's
        // `text_config`) omit every field that keeps its default.
        let n = c.num_hidden_layers.unwrap_or(26);
        // Before the per-layer list below is built from it.
        check_range(file, "num_hidden_layers", n, MAX_LAYERS)?;
        let layer_types = match (&c.layer_types, c.sliding_window_pattern) {
            (Some(lt), _) => lt
                .iter()
                .map(|s| match s.as_str() {
                    "sliding_attention" => Ok(LayerType::Sliding),
                    "full_attention" => Ok(LayerType::Full),
                    o => Err(err(format!("unknown layer type {o}"))),
                })
                .collect::<Result<Vec<_>>>()?,
            (None, p) => pattern_layer_types(n, p.unwrap_or(6)),
        };
        if layer_types.len() != n {
            return Err(err(format!("{} layer_types for {n} layers", layer_types.len())));
        }
        let (mut theta, mut local, mut factor) = (
            c.rope_theta.unwrap_or(1_000_000.0),
            c.rope_local_base_freq.unwrap_or(10_000.0),
            c.rope_scaling.as_ref().map(rope_linear_factor).unwrap_or(1.0),
        );
        if let Some(rp) = &c.rope_parameters {
            if let Some(full) = rp.get("full_attention") {
                theta = full.get("rope_theta").and_then(|x| x.as_f64()).unwrap_or(theta);
                factor = rope_linear_factor(full);
                if let Some(sl) = rp.get("sliding_attention") {
                    local = sl.get("rope_theta").and_then(|x| x.as_f64()).unwrap_or(local);
                }
            } else {
                theta = rp.get("rope_theta").and_then(|x| x.as_f64()).unwrap_or(theta);
                factor = rope_linear_factor(rp);
            }
        }
        let heads = c.num_attention_heads.unwrap_or(8);
        let head_dim = c.head_dim.unwrap_or(256);
        let cfg = Config {
            vocab_size: c.vocab_size.unwrap_or(262_208),
            hidden_size: c.hidden_size.unwrap_or(2304),
            intermediate_size: c.intermediate_size.unwrap_or(9216),
            num_hidden_layers: n,
            num_attention_heads: heads,
            num_key_value_heads: c.num_key_value_heads.unwrap_or(4),
            head_dim,
            rms_norm_eps: c.rms_norm_eps.unwrap_or(1e-6),
            rope_theta: theta,
            rope_local_base_freq: local,
            rope_scaling_factor: factor,
            query_pre_attn_scalar: c.query_pre_attn_scalar.unwrap_or(256.0),
            sliding_window: c.sliding_window.unwrap_or(4096),
            layer_types,
            final_logit_softcapping: c.final_logit_softcapping,
            attn_logit_softcapping: c.attn_logit_softcapping,
            max_position_embeddings: c.max_position_embeddings.unwrap_or(131_072),
        };
        cfg.validate(file)?;
        Ok(cfg)
    }

    /// Builds the config from GGUF metadata (`gemma3.*` keys, as written by llama.cpp).
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let arch = g.get_str("general.architecture")?;
        if arch != "gemma3" {
            return Err(EngineError::Config {
                file: g.path.clone(),
                detail: format!("architecture `{arch}` is not gemma3"),
            });
        }
        let k = |s: &str| format!("gemma3.{s}");
        let u = |s: &str| g.get_u64(&k(s)).map(|v| v as usize);
        let hidden = u("embedding_length")?;
        let heads = u("attention.head_count")?;
        let n = u("block_count")?;
        check_range(&g.path, "gemma3.block_count", n, MAX_LAYERS)?;
        let head_dim = u("attention.key_length").unwrap_or(hidden / heads.max(1));
        let vocab = match g.tensor_info("token_embd.weight") {
            Some(t) => t.shape()[0],
            None => g.get_array("tokenizer.ggml.tokens")?.len(),
        };
        let factor = match g.get("gemma3.rope.scaling.type").and_then(|v| v.as_str()) {
            Some("linear") => g.get_f64(&k("rope.scaling.factor")).unwrap_or(1.0),
            _ => 1.0,
        };
        // llama.cpp: the pattern key is a per-layer list of "is sliding" flags (Ollama writes
        // it), or a period; without it every 6th layer is global.
        let pattern_key = k("attention.sliding_window_pattern");
        let layer_types = match g.get(&pattern_key) {
            Some(crate::formats::gguf::Value::Array(flags)) => {
                if flags.len() != n {
                    return Err(EngineError::Config {
                        file: g.path.clone(),
                        detail: format!("{pattern_key} lists {} layers; the model has {n}", flags.len()),
                    });
                }
                flags
                    .iter()
                    .map(|f| match f {
                        crate::formats::gguf::Value::Bool(true) => LayerType::Sliding,
                        _ => LayerType::Full,
                    })
                    .collect()
            }
            _ => pattern_layer_types(n, g.get_u64(&pattern_key).unwrap_or(6) as usize),
        };
        let cfg = Config {
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: u("feed_forward_length")?,
            num_hidden_layers: n,
            num_attention_heads: heads,
            num_key_value_heads: u("attention.head_count_kv").unwrap_or(heads),
            head_dim,
            rms_norm_eps: g.get_f64(&k("attention.layer_norm_rms_epsilon")).unwrap_or(1e-6),
            rope_theta: g.get_f64(&k("rope.freq_base")).unwrap_or(1_000_000.0),
            rope_local_base_freq: g.get_f64(&k("rope.freq_base_swa")).unwrap_or(10_000.0),
            rope_scaling_factor: factor,
            // llama.cpp uses 1/sqrt(head_dim) for every Gemma 3 but the 27B.
            query_pre_attn_scalar: head_dim as f64,
            sliding_window: u("attention.sliding_window").unwrap_or(512),
            layer_types,
            final_logit_softcapping: g.get_f64(&k("final_logit_softcapping")).ok(),
            attn_logit_softcapping: g.get_f64(&k("attn_logit_softcapping")).ok(),
            max_position_embeddings: u("context_length").unwrap_or(32_768),
        };
        cfg.validate(&g.path)?;
        Ok(cfg)
    }

    /// Every size within its sane maximum, the sizes consistent with each other, the float
    /// parameters finite and positive: checked before anything is sized from them.
    fn validate(&self, file: &Path) -> Result<()> {
        let bad = |d: String| Err(EngineError::Config { file: file.into(), detail: d });
        check_range(file, "vocab_size", self.vocab_size, MAX_VOCAB)?;
        check_range(file, "hidden_size", self.hidden_size, MAX_HIDDEN)?;
        check_range(file, "intermediate_size", self.intermediate_size, MAX_INTERMEDIATE)?;
        check_range(file, "num_hidden_layers", self.num_hidden_layers, MAX_LAYERS)?;
        check_range(file, "num_attention_heads", self.num_attention_heads, MAX_HEADS)?;
        check_range(file, "num_key_value_heads", self.num_key_value_heads, self.num_attention_heads)?;
        check_range(file, "head_dim", self.head_dim, MAX_HEAD_DIM)?;
        check_range(file, "max_position_embeddings", self.max_position_embeddings, MAX_POSITIONS)?;
        check_range(file, "sliding_window", self.sliding_window, MAX_SLIDING_WINDOW)?;
        if self.num_attention_heads % self.num_key_value_heads != 0 {
            return bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if self.head_dim % 2 != 0 {
            return bad(format!("head_dim {} is odd (RoPE rotates pairs)", self.head_dim));
        }
        // The attention width (the q projection's rows) is bounded as the hidden size is.
        if self.num_attention_heads * self.head_dim > MAX_HIDDEN {
            return bad(format!(
                "num_attention_heads x head_dim = {} x {} exceeds {MAX_HIDDEN}",
                self.num_attention_heads, self.head_dim
            ));
        }
        if self.layer_types.len() != self.num_hidden_layers {
            return bad(format!("{} layer_types for {} layers", self.layer_types.len(), self.num_hidden_layers));
        }
        check_positive(file, "rms_norm_eps", self.rms_norm_eps)?;
        check_positive(file, "rope_theta", self.rope_theta)?;
        check_positive(file, "rope_local_base_freq", self.rope_local_base_freq)?;
        check_positive(file, "rope scaling factor", self.rope_scaling_factor)?;
        check_positive(file, "query_pre_attn_scalar", self.query_pre_attn_scalar)?;
        if let Some(c) = self.final_logit_softcapping {
            check_positive(file, "final_logit_softcapping", c)?;
        }
        if let Some(c) = self.attn_logit_softcapping {
            check_positive(file, "attn_logit_softcapping", c)?;
        }
        Ok(())
    }
}

fn pattern_layer_types(n: usize, pattern: usize) -> Vec<LayerType> {
    (0..n)
        .map(|i| {
            if pattern > 0 && (i + 1) % pattern == 0 {
                LayerType::Full
            } else {
                LayerType::Sliding
            }
        })
        .collect()
}


/// Shape of an HF Gemma 3 text tensor (without `model.` prefix) under `c`.
pub fn expected_shape(c: &Config, name: &str) -> Option<Vec<usize>> {
    let (h, hd, nh, nkv, ff) =
        (c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads, c.intermediate_size);
    let name = name.strip_prefix("model.").unwrap_or(name);
    if name == "embed_tokens.weight" {
        return Some(vec![c.vocab_size, h]);
    }
    if name == "norm.weight" {
        return Some(vec![h]);
    }
    let rest = name.strip_prefix("layers.")?;
    let (i, t) = rest.split_once('.')?;
    if i.parse::<usize>().ok()? >= c.num_hidden_layers {
        return None;
    }
    Some(match t {
        "self_attn.q_proj.weight" => vec![nh * hd, h],
        "self_attn.k_proj.weight" | "self_attn.v_proj.weight" => vec![nkv * hd, h],
        "self_attn.o_proj.weight" => vec![h, nh * hd],
        "self_attn.q_norm.weight" | "self_attn.k_norm.weight" => vec![hd],
        "mlp.gate_proj.weight" | "mlp.up_proj.weight" => vec![ff, h],
        "mlp.down_proj.weight" => vec![h, ff],
        "input_layernorm.weight" | "post_attention_layernorm.weight" | "pre_feedforward_layernorm.weight"
        | "post_feedforward_layernorm.weight" => vec![h],
        _ => return None,
    })
}


#[cfg(test)]
mod config_tests {
    use super::*;

    /// MedGemma-4B's `text_config` as google/medgemma-4b-it publishes it (transformers 4
    /// fields: `rope_theta`, `rope_local_base_freq`, `rope_scaling`, `sliding_window_pattern`).
    const OLD_FORM: &str = r#"{"text_config": {"hidden_size": 2560, "intermediate_size": 10240,
        "model_type": "gemma3_text", "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0,
        "rope_type": "linear"}, "sliding_window": 1024, "rope_theta": 1000000.0,
        "rope_local_base_freq": 10000.0, "sliding_window_pattern": 6, "num_attention_heads": 8,
        "num_key_value_heads": 4, "head_dim": 256, "query_pre_attn_scalar": 256}}"#;

    /// The same model as transformers 5 writes it: `rope_parameters` per layer kind and an
    /// explicit `layer_types` list.
    fn new_form() -> String {
        let types: Vec<String> = (1..=34)
            .map(|i| if i % 6 == 0 { "\"full_attention\"" } else { "\"sliding_attention\"" }.to_string())
            .collect();
        format!(
            r#"{{"text_config": {{"hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 34,
            "sliding_window": 1024, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
            "query_pre_attn_scalar": 256, "layer_types": [{}],
            "rope_parameters": {{"full_attention": {{"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}},
            "sliding_attention": {{"rope_type": "default", "rope_theta": 10000.0}}}}}}}}"#,
            types.join(",")
        )
    }

    #[test]
    fn both_rope_config_forms_give_the_same_model() {
        let p = Path::new("config.json");
        let old = Config::from_hf_json(p, OLD_FORM).unwrap();
        let new = Config::from_hf_json(p, &new_form()).unwrap();
        assert_eq!(old, new);
        assert_eq!((old.rope_theta, old.rope_local_base_freq, old.rope_scaling_factor), (1e6, 1e4, 8.0));
        assert_eq!(old.num_hidden_layers, 34);
        let full: Vec<usize> = (0..34).filter(|&i| old.layer_types[i] == LayerType::Full).collect();
        assert_eq!(full, vec![5, 11, 17, 23, 29]);
        // Defaults the hub config leaves out are Gemma3TextConfig's.
        assert_eq!((old.vocab_size, old.rms_norm_eps, old.final_logit_softcapping), (262_208, 1e-6, None));
    }

    #[test]
    fn inconsistent_layer_types_are_an_error() {
        let bad = new_form().replace("\"num_hidden_layers\": 34", "\"num_hidden_layers\": 30");
        let e = Config::from_hf_json(Path::new("config.json"), &bad).unwrap_err().to_string();
        assert!(e.contains("34 layer_types for 30 layers"), "{e}");
    }
}
