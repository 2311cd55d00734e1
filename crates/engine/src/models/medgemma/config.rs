//! MedGemma's configuration (`Gemma3Config`): the two towers and the image-token layout,
//! from HF `config.json` or from a llama.cpp text GGUF plus its mmproj.

use std::path::Path;

use serde_json::{json, Value as Json};

use crate::error::{EngineError, Result};
use crate::formats::gguf::Value;
use crate::models::gemma3;
use crate::models::siglip::VisionConfig;
use crate::weights::llamacpp::Pair;

/// `Gemma3Config`: the two towers and the image-token layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub text: gemma3::Config,
    pub vision: VisionConfig,
    /// Soft tokens per image (256): a square number; the pooled grid side is its root.
    pub mm_tokens_per_image: usize,
    pub image_token_index: u32,
    pub boi_token_index: u32,
    pub eoi_token_index: u32,
}

impl Config {
    /// Parses a multimodal HF `config.json` (defaults as transformers' `Gemma3Config`).
    pub fn from_hf_json(file: &Path, text: &str) -> Result<Self> {
        let err = |detail: String| EngineError::Config { file: file.into(), detail };
        let v: Json = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let vc = v.get("vision_config").ok_or_else(|| err("no vision_config: not a multimodal Gemma 3 config".into()))?;
        // An object, before fields are filled in below (indexing anything else panics).
        if !vc.is_object() {
            return Err(err(format!("vision_config is {vc}, not an object")));
        }
        let mut vc = vc.clone();
        // The tower has no pooling head in Gemma 3 (`vision_use_head` is false on the hub).
        if vc.get("vision_use_head").is_none() {
            vc["vision_use_head"] = Json::Bool(false);
        }
        // `Gemma3Config` defaults its vision config to the 896 px SigLIP So400m tower.
        for (k, d) in [
            ("hidden_size", 1152u64),
            ("image_size", 896),
            ("intermediate_size", 4304),
            ("num_attention_heads", 16),
            ("num_hidden_layers", 27),
            ("patch_size", 14),
        ] {
            if vc.get(k).is_none() {
                vc[k] = Json::from(d);
            }
        }
        let vision = VisionConfig::from_json(&vc, file)?;
        let text_cfg = gemma3::Config::from_hf_json(file, text)?;
        // A present value that is not a whole number is an error, not the default.
        let get = |k: &str, d: u64| -> Result<u64> {
            match v.get(k) {
                None | Some(Json::Null) => Ok(d),
                Some(x) => x.as_u64().ok_or_else(|| err(format!("{k} = {x} is not a whole number"))),
            }
        };
        // Image token ids index the decoder's embedding table and logits.
        let token = |k: &str, d: u64| -> Result<u32> {
            let id = get(k, d)?;
            if id >= text_cfg.vocab_size as u64 {
                return Err(err(format!("{k} = {id} is outside the vocabulary of {} tokens", text_cfg.vocab_size)));
            }
            Ok(id as u32)
        };
        let (image_token_index, boi_token_index, eoi_token_index) =
            (token("image_token_index", 262_144)?, token("boi_token_index", 255_999)?, token("eoi_token_index", 256_000)?);
        let patches = vision.image_size / vision.patch_size;
        let mm_tokens_per_image = pooled_tokens(file, get("mm_tokens_per_image", 256)?, patches)?;
        Ok(Self { text: text_cfg, vision, mm_tokens_per_image, image_token_index, boi_token_index, eoi_token_index })
    }

    /// Pooled grid side (16) and pooling kernel (4).
    pub fn pooling(&self) -> (usize, usize) {
        let side = (self.mm_tokens_per_image as f64).sqrt() as usize;
        (side, self.vision.image_size / self.vision.patch_size / side)
    }

    /// The multimodal configuration: the decoder's from the text file, the tower's from the
    /// clip (or `gemma3.vision.*`) keys, the image token ids from the vocabulary.
    ///
    /// `image_ids` are the tokenizer's `<start_of_image>`, `<end_of_image>` and
    /// `<image_soft_token>` ids (see [`crate::models::medgemma::image_ids`]).
    pub fn from_llamacpp(pair: &Pair, image_ids: (u32, u32, u32)) -> Result<Self> {
        let text = gemma3::Config::from_gguf(&pair.text)?;
        let v = pair.vision_file();
        let (ns, file) = (if pair.mmproj.is_some() { "clip.vision" } else { "gemma3.vision" }, &v.path);
        let u = |k: &str| v.get_u64(&format!("{ns}.{k}")).map(|x| x as usize);
        let hidden = u("embedding_length")?;
        let eps = v.get_f64(&format!("{ns}.attention.layer_norm_epsilon")).unwrap_or(1e-6);
        let vc = json!({
            "hidden_size": hidden,
            "intermediate_size": u("feed_forward_length")?,
            "num_hidden_layers": u("block_count")?,
            "num_attention_heads": u("attention.head_count")?,
            "layer_norm_eps": eps,
            "image_size": u("image_size")?,
            "patch_size": u("patch_size")?,
            "num_channels": u("num_channels").unwrap_or(3),
            "vision_use_head": false,
        });
        let vision = VisionConfig::from_json(&vc, file)?;
        // Gemma 3's processor normalizes with mean = std = 0.5; a file saying otherwise is
        // not a Gemma 3 projector this engine reproduces.
        for key in ["clip.vision.image_mean", "clip.vision.image_std"] {
            if let Some(Value::Array(a)) = v.get(key) {
                if a.iter().any(|x| x.as_f64().is_none_or(|x| (x - 0.5).abs() > 1e-6)) {
                    return Err(cfg_err(file, format!("{key} is {a:?}; Gemma 3 normalizes with 0.5")));
                }
            }
        }
        let patches = vision.image_size / vision.patch_size;
        let mm_tokens_per_image = match v.get_u64("gemma3.mm.tokens_per_image") {
            Ok(n) => n as usize,
            Err(_) => {
                let k = v.get_u64("clip.vision.projector.scale_factor").unwrap_or(4) as usize;
                if k == 0 || patches % k != 0 {
                    return Err(cfg_err(file, format!("pooling kernel {k} does not divide {patches} patches")));
                }
                (patches / k).pow(2)
            }
        };
        let mm_tokens_per_image = pooled_tokens(file, mm_tokens_per_image as u64, patches)?;
        let (boi_token_index, eoi_token_index, image_token_index) = image_ids;
        Ok(Self { text, vision, mm_tokens_per_image, image_token_index, boi_token_index, eoi_token_index })
    }

    /// Tensor names and shapes a MedGemma checkpoint must hold (hub names; discovery also
    /// accepts the other spellings of each).
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let c = self;
        let mut v = Vec::new();
        let t = &c.text;
        let (h, hd, nh, nkv, ff) = (t.hidden_size, t.head_dim, t.num_attention_heads, t.num_key_value_heads, t.intermediate_size);
        v.push(("language_model.model.embed_tokens.weight".to_string(), vec![t.vocab_size, h]));
        for i in 0..t.num_hidden_layers {
            let p = |s: &str| format!("language_model.model.layers.{i}.{s}");
            v.push((p("self_attn.q_proj.weight"), vec![nh * hd, h]));
            v.push((p("self_attn.k_proj.weight"), vec![nkv * hd, h]));
            v.push((p("self_attn.v_proj.weight"), vec![nkv * hd, h]));
            v.push((p("self_attn.o_proj.weight"), vec![h, nh * hd]));
            v.push((p("mlp.gate_proj.weight"), vec![ff, h]));
            v.push((p("mlp.up_proj.weight"), vec![ff, h]));
            v.push((p("mlp.down_proj.weight"), vec![h, ff]));
        }
        let vh = c.vision.tower.hidden_size;
        v.push(("multi_modal_projector.mm_input_projection_weight".into(), vec![vh, h]));
        v.push(("vision_tower.vision_model.post_layernorm.weight".into(), vec![vh]));
        v
    }
}

fn cfg_err(file: &Path, detail: String) -> EngineError {
    EngineError::Config { file: file.into(), detail }
}

/// `n` soft tokens per image, checked to pool a `patches` x `patches` grid: a square number
/// whose side divides `patches` (so never more tokens than patches, and no overflow in the
/// square for any `n` a file may hold).
fn pooled_tokens(file: &Path, n: u64, patches: usize) -> Result<usize> {
    let side = (n as f64).sqrt() as u64;
    let square = [side.saturating_sub(1), side, side + 1].into_iter().find(|s| s.checked_mul(*s) == Some(n));
    match square {
        Some(s) if s > 0 && s <= patches as u64 && patches as u64 % s == 0 => Ok(n as usize),
        _ => Err(cfg_err(file, format!("mm_tokens_per_image = {n} does not pool a {patches} x {patches} patch grid"))),
    }
}

/// MedGemma-4B's `config.json` as the hub ships it (google/medgemma-4b-it): only the fields
/// that differ from `Gemma3Config`'s defaults.
pub const MEDGEMMA_4B_CONFIG: &str = r#"{
  "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
  "boi_token_index": 255999, "eoi_token_index": 256000, "image_token_index": 262144,
  "mm_tokens_per_image": 256,
  "text_config": {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
    "num_hidden_layers": 34, "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
    "sliding_window": 1024},
  "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
    "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27,
    "patch_size": 14, "vision_use_head": false}
}"#;

