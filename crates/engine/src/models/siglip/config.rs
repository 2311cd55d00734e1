//! SigLIP configuration (`SiglipConfig`: a vision and a text tower), from HF `config.json`.

use std::path::Path;

use serde_json::Value as Json;

use crate::error::{EngineError, Result};

/// One tower's configuration (the fields of `SiglipVisionConfig` / `SiglipTextConfig` used).
#[derive(Debug, Clone, PartialEq)]
pub struct TowerConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub layer_norm_eps: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub tower: TowerConfig,
    pub num_channels: usize,
    pub image_size: usize,
    pub patch_size: usize,
    /// Attention-pooling head (MedSigLIP: yes; MedGemma's tower: no).
    pub use_head: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub tower: TowerConfig,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    pub projection_size: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SiglipConfig {
    pub vision: VisionConfig,
    pub text: TextConfig,
}

/// Sane maxima of a SigLIP configuration, each far above the largest real tower (So400m:
/// hidden 1152, intermediate 4304, 27 layers, 16 heads; MedGemma's 896 px at patch 14 = 4096
/// patches; text: 64 positions, 32,000 or 256,000 tokens). Beyond them a config is not a
/// model, and its values would size tensor lists, position tables and the attention over
/// patches (patches² per head) before any weight is read.
pub const MAX_HIDDEN: usize = 1 << 14;
pub const MAX_INTERMEDIATE: usize = 1 << 16;
pub const MAX_LAYERS: usize = 256;
pub const MAX_HEADS: usize = 256;
pub const MAX_IMAGE_SIZE: usize = 4096;
pub const MAX_PATCHES: usize = 1 << 14;
pub const MAX_CHANNELS: usize = 4;
pub const MAX_VOCAB: usize = 1 << 22;
pub const MAX_TEXT_POSITIONS: usize = 1 << 16;

fn cfg_err(file: &Path, detail: String) -> EngineError {
    EngineError::Config { file: file.into(), detail }
}

/// Field `k` of `v` (default `d` where absent) within `1..=max`. A value that is present but
/// not a whole number is an error, not the default: the file says something else was meant.
fn get_usize(v: &Json, k: &str, d: usize, max: usize, file: &Path) -> Result<usize> {
    let x = match v.get(k) {
        None | Some(Json::Null) => d,
        Some(x) => {
            let n = x.as_u64().ok_or_else(|| cfg_err(file, format!("{k} = {x} is not a whole number")))?;
            usize::try_from(n).unwrap_or(usize::MAX)
        }
    };
    if x == 0 || x > max {
        return Err(cfg_err(file, format!("{k} = {x} is outside 1..={max}")));
    }
    Ok(x)
}

fn tower(v: &Json, file: &Path) -> Result<TowerConfig> {
    if let Some(act) = v.get("hidden_act").and_then(|a| a.as_str()) {
        if act != "gelu_pytorch_tanh" && act != "gelu_tanh" {
            return Err(EngineError::Config { file: file.into(), detail: format!("unsupported hidden_act {act}") });
        }
    }
    let t = TowerConfig {
        hidden_size: get_usize(v, "hidden_size", 768, MAX_HIDDEN, file)?,
        intermediate_size: get_usize(v, "intermediate_size", 3072, MAX_INTERMEDIATE, file)?,
        num_hidden_layers: get_usize(v, "num_hidden_layers", 12, MAX_LAYERS, file)?,
        num_attention_heads: get_usize(v, "num_attention_heads", 12, MAX_HEADS, file)?,
        layer_norm_eps: v.get("layer_norm_eps").and_then(|x| x.as_f64()).unwrap_or(1e-6),
    };
    if !(t.layer_norm_eps.is_finite() && t.layer_norm_eps > 0.0) {
        return Err(cfg_err(file, format!("layer_norm_eps = {} is not a finite positive number", t.layer_norm_eps)));
    }
    if t.hidden_size % t.num_attention_heads != 0 {
        return Err(EngineError::Config {
            file: file.into(),
            detail: format!("hidden_size {} is not a multiple of num_attention_heads {}", t.hidden_size, t.num_attention_heads),
        });
    }
    Ok(t)
}

impl VisionConfig {
    /// From a `SiglipVisionConfig` JSON object (defaults as transformers).
    pub fn from_json(v: &Json, file: &Path) -> Result<Self> {
        let image_size = get_usize(v, "image_size", 224, MAX_IMAGE_SIZE, file)?;
        let c = Self {
            tower: tower(v, file)?,
            num_channels: get_usize(v, "num_channels", 3, MAX_CHANNELS, file)?,
            image_size,
            patch_size: get_usize(v, "patch_size", 16, image_size, file)?,
            use_head: v.get("vision_use_head").and_then(|x| x.as_bool()).unwrap_or(true),
        };
        if c.image_size % c.patch_size != 0 {
            return Err(EngineError::Config {
                file: file.into(),
                detail: format!("image_size {} is not a multiple of patch_size {}", c.image_size, c.patch_size),
            });
        }
        if c.num_patches() > MAX_PATCHES {
            return Err(cfg_err(
                file,
                format!("image_size {} / patch_size {} gives {} patches, over {MAX_PATCHES}", c.image_size, c.patch_size, c.num_patches()),
            ));
        }
        Ok(c)
    }
    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }
}

impl SiglipConfig {
    /// Parses an HF `config.json` of a `SiglipModel` (`text_config`, `vision_config`).
    pub fn from_hf_json(file: &Path, text: &str) -> Result<Self> {
        let err = |d: String| EngineError::Config { file: file.into(), detail: d };
        let v: Json = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let empty = Json::Object(Default::default());
        let vc = v.get("vision_config").unwrap_or(&empty);
        let tc = v.get("text_config").unwrap_or(&empty);
        // Anything but an object would read as all defaults.
        for (k, c) in [("vision_config", vc), ("text_config", tc)] {
            if !c.is_object() {
                return Err(err(format!("{k} is {c}, not an object")));
            }
        }
        let t = tower(tc, file)?;
        let text = TextConfig {
            vocab_size: get_usize(tc, "vocab_size", 32000, MAX_VOCAB, file)?,
            max_position_embeddings: get_usize(tc, "max_position_embeddings", 64, MAX_TEXT_POSITIONS, file)?,
            projection_size: get_usize(tc, "projection_size", t.hidden_size, MAX_HIDDEN, file)?,
            tower: t,
        };
        Ok(Self { vision: VisionConfig::from_json(vc, file)?, text })
    }

    pub fn from_dir(dir: &Path) -> Result<Self> {
        let f = dir.join("config.json");
        let text = crate::formats::read_side_text(&f).map_err(|source| EngineError::Io { file: f.clone(), source })?;
        Self::from_hf_json(&f, &text)
    }
}

impl SiglipConfig {
    /// google/medsiglip-448's shapes (SigLIP so400m towers at 448 px, patch 16). The text
    /// vocabulary size only sizes the embedding table (32000 assumed here; timing is
    /// independent of it).
    pub fn medsiglip_448() -> Self {
        let tower = TowerConfig {
            hidden_size: 1152,
            intermediate_size: 4304,
            num_hidden_layers: 27,
            num_attention_heads: 16,
            layer_norm_eps: 1e-6,
        };
        Self {
            vision: VisionConfig { tower: tower.clone(), num_channels: 3, image_size: 448, patch_size: 16, use_head: true },
            text: TextConfig { tower, vocab_size: 32000, max_position_embeddings: 64, projection_size: 1152 },
        }
    }

    /// Every tensor of a `SiglipModel` with this configuration: HF name and shape.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut v: Vec<(String, Vec<usize>)> = vec![("logit_scale".into(), vec![1]), ("logit_bias".into(), vec![1])];
        let layers = |v: &mut Vec<(String, Vec<usize>)>, p: &str, t: &TowerConfig| {
            let (h, i) = (t.hidden_size, t.intermediate_size);
            for n in 0..t.num_hidden_layers {
                let q = format!("{p}encoder.layers.{n}.");
                for ln in ["layer_norm1", "layer_norm2"] {
                    v.push((format!("{q}{ln}.weight"), vec![h]));
                    v.push((format!("{q}{ln}.bias"), vec![h]));
                }
                for pr in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                    v.push((format!("{q}self_attn.{pr}.weight"), vec![h, h]));
                    v.push((format!("{q}self_attn.{pr}.bias"), vec![h]));
                }
                v.push((format!("{q}mlp.fc1.weight"), vec![i, h]));
                v.push((format!("{q}mlp.fc1.bias"), vec![i]));
                v.push((format!("{q}mlp.fc2.weight"), vec![h, i]));
                v.push((format!("{q}mlp.fc2.bias"), vec![h]));
            }
        };
        let vc = &self.vision;
        let (h, i, p) = (vc.tower.hidden_size, vc.tower.intermediate_size, vc.patch_size);
        v.push(("vision_model.embeddings.patch_embedding.weight".into(), vec![h, vc.num_channels, p, p]));
        v.push(("vision_model.embeddings.patch_embedding.bias".into(), vec![h]));
        v.push(("vision_model.embeddings.position_embedding.weight".into(), vec![vc.num_patches(), h]));
        layers(&mut v, "vision_model.", &vc.tower);
        for ln in ["vision_model.post_layernorm", "vision_model.head.layernorm"] {
            v.push((format!("{ln}.weight"), vec![h]));
            v.push((format!("{ln}.bias"), vec![h]));
        }
        if vc.use_head {
            v.push(("vision_model.head.probe".into(), vec![1, 1, h]));
            v.push(("vision_model.head.attention.in_proj_weight".into(), vec![3 * h, h]));
            v.push(("vision_model.head.attention.in_proj_bias".into(), vec![3 * h]));
            v.push(("vision_model.head.attention.out_proj.weight".into(), vec![h, h]));
            v.push(("vision_model.head.attention.out_proj.bias".into(), vec![h]));
            v.push(("vision_model.head.mlp.fc1.weight".into(), vec![i, h]));
            v.push(("vision_model.head.mlp.fc1.bias".into(), vec![i]));
            v.push(("vision_model.head.mlp.fc2.weight".into(), vec![h, i]));
            v.push(("vision_model.head.mlp.fc2.bias".into(), vec![h]));
        }
        let tc = &self.text;
        let h = tc.tower.hidden_size;
        v.push(("text_model.embeddings.token_embedding.weight".into(), vec![tc.vocab_size, h]));
        v.push(("text_model.embeddings.position_embedding.weight".into(), vec![tc.max_position_embeddings, h]));
        layers(&mut v, "text_model.", &tc.tower);
        v.push(("text_model.final_layer_norm.weight".into(), vec![h]));
        v.push(("text_model.final_layer_norm.bias".into(), vec![h]));
        v.push(("text_model.head.weight".into(), vec![tc.projection_size, h]));
        v.push(("text_model.head.bias".into(), vec![tc.projection_size]));
        v
    }
}

