//! MedGemma-4B (transformers' `Gemma3ForConditionalGeneration`): the SigLIP vision tower
//! (no head, 896 px), the multimodal projector, and the Gemma 3 decoder, wired as
//! transformers does:
//!
//! - vision tower → `[B, 4096, 1152]` (64 × 64 patches of 14 px);
//! - projector: patches as a 64 × 64 grid, 4 × 4 average pool → 256 tokens, Gemma RMSNorm
//!   (`1 + w`, the vision `layer_norm_eps`), then `x · W` with `W` stored `[1152, 2560]`
//!   (`mm_input_projection_weight`, not an `nn.Linear`: no transpose);
//! - the projected features overwrite the embeddings of the image soft tokens (unscaled: the
//!   text embeddings are scaled by `sqrt(hidden)`, the image features are not);
//! - image tokens attend to every token of their own image, later ones included; text stays
//!   causal; sliding layers still cut at the window (see `Gemma3::forward_embeds`).
//!
//! Tensor names: the hub's (`vision_tower.vision_model.*`, `language_model.model.*`,
//! `multi_modal_projector.*`), transformers 5's in memory (`model.vision_tower.*`,
//! `model.language_model.*`, `model.multi_modal_projector.*`) and what transformers 5 writes
//! (`vision_tower.*` without `vision_model`) all load.

use std::ops::Range;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value as Json;

use crate::error::{EngineError, Result};
use crate::gemma3::{Config as TextConfig, Gemma3, KvCache, RmsNorm, WeightSource};
use crate::quant::GgmlType;
use crate::siglip::{SiglipVision, VisionConfig};

/// `Gemma3Config`: the two towers and the image-token layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub text: TextConfig,
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
        let text_cfg = TextConfig::from_hf_json(file, text)?;
        let get = |k: &str, d: u64| v.get(k).and_then(|x| x.as_u64()).unwrap_or(d);
        let c = Self {
            text: text_cfg,
            vision,
            mm_tokens_per_image: get("mm_tokens_per_image", 256) as usize,
            image_token_index: get("image_token_index", 262_144) as u32,
            boi_token_index: get("boi_token_index", 255_999) as u32,
            eoi_token_index: get("eoi_token_index", 256_000) as u32,
        };
        let side = (c.mm_tokens_per_image as f64).sqrt() as usize;
        let patches = c.vision.image_size / c.vision.patch_size;
        if side * side != c.mm_tokens_per_image || side == 0 || patches % side != 0 {
            return Err(err(format!(
                "mm_tokens_per_image {} does not pool a {patches} x {patches} patch grid",
                c.mm_tokens_per_image
            )));
        }
        Ok(c)
    }

    /// Pooled grid side (16) and pooling kernel (4).
    pub fn pooling(&self) -> (usize, usize) {
        let side = (self.mm_tokens_per_image as f64).sqrt() as usize;
        (side, self.vision.image_size / self.vision.patch_size / side)
    }
}

/// `Gemma3MultiModalProjector`.
#[derive(Debug, Clone)]
pub struct Projector {
    pub mm_soft_emb_norm: RmsNorm,
    /// `[vision_hidden, text_hidden]`, used as stored.
    pub mm_input_projection_weight: Tensor<2>,
}

/// MedGemma / Gemma 3 multimodal model.
#[derive(Debug, Clone)]
pub struct MedGemma {
    pub config: Config,
    pub vision_tower: SiglipVision,
    pub multi_modal_projector: Projector,
    pub language_model: Gemma3,
}

/// The first prefix under which `probe` exists.
fn find_prefix(src: &dyn WeightSource, candidates: &[&str], probe: &str, what: &str) -> Result<String> {
    for p in candidates {
        if src.get(&format!("{p}{probe}"))?.is_some() {
            return Ok((*p).to_string());
        }
    }
    Err(EngineError::MissingTensor {
        file: src.file().into(),
        tensor: format!("{what} ({} under any of {candidates:?})", probe),
    })
}

impl MedGemma {
    pub fn load(config: Config, src: &dyn WeightSource, device: &Device) -> Result<Self> {
        let vp = find_prefix(
            src,
            &["vision_tower.vision_model.", "model.vision_tower.vision_model.", "model.vision_tower.", "vision_tower."],
            "post_layernorm.weight",
            "vision tower",
        )?;
        let vision_tower = SiglipVision::load(config.vision.clone(), src, &vp, device)?;
        let pp = find_prefix(
            src,
            &["multi_modal_projector.", "model.multi_modal_projector."],
            "mm_soft_emb_norm.weight",
            "multimodal projector",
        )?;
        let (vh, th) = (config.vision.tower.hidden_size, config.text.hidden_size);
        let raw = |name: String, shape: &[usize]| -> Result<Vec<f32>> {
            let (s, v) = src
                .get(&name)?
                .ok_or_else(|| EngineError::MissingTensor { file: src.file().into(), tensor: name.clone() })?;
            if s != shape {
                return Err(EngineError::Shape { file: src.file().into(), tensor: name, got: s, expected: shape.to_vec() });
            }
            Ok(v)
        };
        let mut w = raw(format!("{pp}mm_soft_emb_norm.weight"), &[vh])?;
        if !src.norms_include_one() {
            w.iter_mut().for_each(|x| *x += 1.0);
        }
        let proj = raw(format!("{pp}mm_input_projection_weight"), &[vh, th])?;
        let multi_modal_projector = Projector {
            mm_soft_emb_norm: RmsNorm {
                scale: Tensor::from_data(TensorData::new(w, [vh]), device),
                eps: config.vision.tower.layer_norm_eps,
            },
            mm_input_projection_weight: Tensor::from_data(TensorData::new(proj, [vh, th]), device),
        };
        let language_model = Gemma3::load(config.text.clone(), src, device)?;
        Ok(Self { config, vision_tower, multi_modal_projector, language_model })
    }

    /// Projected image features `[B, mm_tokens, text_hidden]` of `pixels` `[B, 3, S, S]`
    /// (`get_image_features(...).pooler_output`).
    pub fn image_features(&self, pixels: &[f32], batch: usize) -> Result<Tensor<3>> {
        let x = self.vision_tower.forward_hidden(pixels, batch)?; // [B, N, C]
        Ok(self.project(x))
    }

    /// The projector on the tower's last hidden state `[B, N, C]`.
    pub fn project(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, c] = x.dims();
        let (side, k) = self.config.pooling();
        // Patch p is at grid row p / (side·k), column p % (side·k); row = ry·k + dy.
        let pooled: Tensor<3> = x
            .reshape([b, side, k, side, k, c])
            .mean_dim(4)
            .mean_dim(2)
            .reshape([b, side * side, c]);
        let normed = self.multi_modal_projector.mm_soft_emb_norm.forward(pooled);
        let th = self.config.text.hidden_size;
        normed.reshape([b * side * side, c]).matmul(self.multi_modal_projector.mm_input_projection_weight.clone()).reshape([
            b,
            side * side,
            th,
        ])
    }

    /// The runs of image soft tokens in `ids` (one per image, in order).
    pub fn image_blocks(&self, ids: &[u32]) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            if ids[i] == self.config.image_token_index {
                let s = i;
                while i < ids.len() && ids[i] == self.config.image_token_index {
                    i += 1;
                }
                out.push(s..i);
            } else {
                i += 1;
            }
        }
        out
    }

    /// Input embeddings of a prompt: text embeddings (scaled), with the image features
    /// written over each block of image soft tokens. `features` is `[n_images, mm, H]`.
    /// Returns the embeddings and the blocks (positions relative to the prompt's start).
    pub fn embed_prompt(&self, ids: &[u32], features: Option<Tensor<3>>) -> Result<(Tensor<2>, Vec<Range<usize>>)> {
        let blocks = self.image_blocks(ids);
        let mm = self.config.mm_tokens_per_image;
        let n_images = features.as_ref().map_or(0, |f| f.dims()[0]);
        if blocks.len() != n_images || blocks.iter().any(|b| b.len() != mm) {
            return Err(EngineError::Generation(format!(
                "the prompt has {} image block(s) of sizes {:?}; {n_images} image(s) of {mm} tokens were given",
                blocks.len(),
                blocks.iter().map(|b| b.len()).collect::<Vec<_>>()
            )));
        }
        // Image soft tokens are overwritten below; look up a valid id in their place (a
        // llama.cpp vocabulary may end before `<image_soft_token>`).
        let lookup: Vec<u32> =
            ids.iter().map(|&t| if t == self.config.image_token_index { 0 } else { t }).collect();
        let mut x = self.language_model.embed(&lookup);
        if let Some(f) = features {
            let h = self.config.text.hidden_size;
            for (i, b) in blocks.iter().enumerate() {
                let rows = f.clone().slice([i..i + 1, 0..mm, 0..h]).reshape([mm, h]);
                x = x.slice_assign([b.clone(), 0..h], rows);
            }
        }
        Ok((x, blocks))
    }

    /// Prefills a prompt (images included) at the cache's position; returns the last
    /// position's hidden state `[1, H]`.
    pub fn prefill(&self, ids: &[u32], features: Option<Tensor<3>>, cache: &mut KvCache) -> Result<Tensor<2>> {
        if ids.is_empty() {
            return Err(EngineError::Generation("empty prompt".into()));
        }
        let (x, blocks) = self.embed_prompt(ids, features)?;
        let pos0 = cache.pos;
        let abs: Vec<Range<usize>> = blocks.iter().map(|b| b.start + pos0..b.end + pos0).collect();
        let h = self.language_model.forward_embeds(x, &abs, cache);
        let t = ids.len();
        Ok(h.slice([t - 1..t]))
    }

    /// [`Self::prefill`] and the last position's logits on the host: what a decode loop
    /// starts from. A device failure is an error, never a panic.
    pub fn prefill_logits(&self, ids: &[u32], features: Option<Tensor<3>>, cache: &mut KvCache) -> Result<Vec<f32>> {
        let h = self.prefill(ids, features, cache)?;
        crate::gemma3::to_host(self.language_model.lm_head(h))
    }

    /// Logits of every prompt position, row-major `[T, vocab]` (for golden tests).
    pub fn forward_all(&self, ids: &[u32], features: Option<Tensor<3>>, cache: &mut KvCache) -> Result<Vec<f32>> {
        let (x, blocks) = self.embed_prompt(ids, features)?;
        let pos0 = cache.pos;
        let abs: Vec<Range<usize>> = blocks.iter().map(|b| b.start + pos0..b.end + pos0).collect();
        let h = self.language_model.forward_embeds(x, &abs, cache);
        crate::gemma3::to_host(self.language_model.lm_head(h))
    }
}

/// `Gemma3Processor`'s text side: the chat template (a system text folded into the first user
/// turn), `<start_of_image>` per image before the user text, each expanded to
/// `\n\n<start_of_image>` + `mm_tokens` × `<image_soft_token>` + `<end_of_image>\n\n`, then
/// tokenized without adding specials (the template starts with `<bos>`).
pub fn prompt_ids(
    tok: &crate::tokenizer::Tokenizer,
    system: Option<&str>,
    user_text: &str,
    n_images: usize,
    mm_tokens: usize,
) -> Result<Vec<u32>> {
    use crate::tokenizer::{gemma3_chat_template, Message};
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(Message::new("system", s));
    }
    messages.push(Message::new("user", &format!("{}{}", "<start_of_image>".repeat(n_images), user_text.trim())));
    let text = gemma3_chat_template(&tok.bos_token, &messages, true)
        .map_err(|e| EngineError::Tokenizer { file: tok.file().into(), detail: e })?;
    // Each `<start_of_image>` becomes `\n\n<start_of_image>` + soft tokens + `<end_of_image>\n\n`.
    // The three image tokens are special (added) tokens, so a tokenizer splits the text at them
    // and encodes the pieces between independently: encoding the pieces here and placing the
    // ids ourselves gives the same ids, and works with a vocabulary that lacks the soft token.
    let (boi, eoi, img) = image_ids(tok);
    let parts: Vec<&str> = text.split("<start_of_image>").collect();
    let mut ids = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let piece = match (i > 0, i + 1 < parts.len()) {
            (false, false) => part.to_string(),
            (false, true) => format!("{part}\n\n"),
            (true, false) => format!("\n\n{part}"),
            (true, true) => format!("\n\n{part}\n\n"),
        };
        if i > 0 {
            ids.push(boi);
            ids.extend(std::iter::repeat_n(img, mm_tokens));
            ids.push(eoi);
        }
        ids.extend(tok.encode(&piece, false)?);
    }
    Ok(ids)
}

/// `<start_of_image>`, `<end_of_image>` and `<image_soft_token>` ids of `tok` (Gemma 3's
/// 255999, 256000 and 262144 where the vocabulary lacks them).
pub fn image_ids(tok: &crate::tokenizer::Tokenizer) -> (u32, u32, u32) {
    let id = |t: &str, d: u32| tok.token_to_id(t).unwrap_or(d);
    (id("<start_of_image>", 255_999), id("<end_of_image>", 256_000), id("<image_soft_token>", 262_144))
}

/// `Gemma3ImageProcessor` (the PIL path transformers takes without torchvision): RGB8 `w × h`
/// resized to `size × size` with PIL's bilinear filter (u8 out), then `(x / 255 − 0.5) / 0.5`,
/// CHW.
pub fn pixel_values(rgb: &[u8], w: usize, h: usize, size: usize) -> Vec<f32> {
    let r = crate::preprocess::resize_pil_bilinear(rgb, w, h, size, size);
    let mut out = vec![0f32; 3 * size * size];
    for (i, px) in r.chunks_exact(3).enumerate() {
        for c in 0..3 {
            let x = (px[c] as f64 / 255.0) as f32;
            out[c * size * size + i] = (x - 0.5) / 0.5;
        }
    }
    out
}

/// A MedGemma loaded from disk, with what provenance needs to say about it.
pub struct Loaded {
    pub model: MedGemma,
    pub tokenizer: crate::tokenizer::Tokenizer,
    /// The weights file (the import GGUF, or the folder's index / safetensors).
    pub file: std::path::PathBuf,
    /// `hf f32/bf16` for a folder; the import's quantization otherwise.
    pub quantization: String,
    /// The vision half of a llama.cpp pair (its mmproj GGUF), when it is a separate file.
    pub mmproj: Option<std::path::PathBuf>,
}

/// Loads MedGemma from an HF folder (`config.json` with a `vision_config`, safetensors,
/// `tokenizer.json`), a GGUF written by `medlens models import`, or llama.cpp's layout (a text
/// GGUF whose mmproj is found beside it; see [`load_with_mmproj`]).
pub fn load_path(path: &Path, device: &Device) -> Result<Loaded> {
    load_with_mmproj(path, None, device)
}

/// [`load_path`], with the mmproj of a llama.cpp text GGUF given explicitly. Without one, an
/// mmproj next to the text model is used (LM Studio's layout), or the vision tensors in the
/// text file itself (Ollama's).
pub fn load_with_mmproj(path: &Path, mmproj: Option<&Path>, device: &Device) -> Result<Loaded> {
    use crate::import::ImportedGguf;
    use crate::tokenizer::Tokenizer;
    let is_gguf = crate::discover::looks_like_gguf(path);
    let is_import = is_gguf && crate::gguf::Gguf::read_header(path).is_ok_and(|h| h.get(crate::import::CONFIG_KEY).is_some());
    if is_gguf && (!is_import || mmproj.is_some()) {
        let found = match mmproj {
            Some(m) => Some(m.to_path_buf()),
            None => crate::llamacpp::find_mmproj(path).map(|h| h.path),
        };
        let pair = crate::llamacpp::Pair::open(path, found.as_deref())?;
        let tokenizer = Tokenizer::from_gguf(&pair.text)?;
        let cfg = pair.config(&tokenizer)?;
        let vt = pair.mmproj.as_ref().unwrap_or(&pair.text);
        let quantization = format!(
            "llama.cpp: text {}, vision {}",
            crate::gguf::weight_types(&pair.text.tensors, "blk."),
            crate::gguf::weight_types(&vt.tensors, "v.blk.")
        );
        let model = MedGemma::load(cfg, &pair, device)?;
        return Ok(Loaded { model, tokenizer, file: path.into(), quantization, mmproj: found });
    }
    if is_gguf {
        let g = ImportedGguf::open(path)?;
        let cfg_text = g.carried("config.json").unwrap_or_default().to_string();
        let cfg = Config::from_hf_json(path, &cfg_text)?;
        let tok_json = g.carried("tokenizer.json").ok_or_else(|| EngineError::Tokenizer {
            file: path.into(),
            detail: "the import carries no tokenizer.json".into(),
        })?;
        let tokenizer = Tokenizer::from_json_str(tok_json, path)?;
        let quantization = g.gguf.get("medlens.quantization").and_then(|v| v.as_str()).unwrap_or("gguf").to_string();
        let model = MedGemma::load(cfg, &g, device)?;
        return Ok(Loaded { model, tokenizer, file: path.into(), quantization, mmproj: None });
    }
    let dir = if path.is_dir() { path.to_path_buf() } else { path.parent().unwrap_or(Path::new(".")).to_path_buf() };
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).map_err(|source| EngineError::Io { file: cfg_path.clone(), source })?;
    let cfg = Config::from_hf_json(&cfg_path, &text)?;
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
    let st = crate::safetensors::Safetensors::open(&dir)?;
    let model = MedGemma::load(cfg, &st, device)?;
    let idx = dir.join("model.safetensors.index.json");
    let file = if idx.exists() { idx } else { dir.join("model.safetensors") };
    Ok(Loaded { model, tokenizer, file, quantization: "hf (f32 compute)".into(), mmproj: None })
}

/// A findings prompt: the system text (folded into the first user turn) and the request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Template {
    pub name: String,
    pub system: String,
    pub prompt: String,
}

/// The built-in templates, one per modality the product targets. Users edit copies.
pub fn templates() -> Vec<Template> {
    let t = |name: &str, system: &str, prompt: &str| Template { name: name.into(), system: system.into(), prompt: prompt.into() };
    vec![
        t(
            "cxr",
            "You are an expert radiologist.",
            "Describe this chest X-ray. Write the findings, then a one-line impression.",
        ),
        t("ct", "You are an expert radiologist.", "Describe the findings on this CT slice."),
        t(
            "derm",
            "You are an expert dermatologist.",
            "Describe this skin lesion and give a differential diagnosis.",
        ),
        t(
            "path",
            "You are an expert pathologist.",
            "Describe the findings in this histopathology image.",
        ),
    ]
}

/// A built-in template by name.
pub fn template(name: &str) -> Option<Template> {
    templates().into_iter().find(|t| t.name == name)
}

/// sha256 of a model file (hex), for provenance. Multi-gigabyte files take seconds to hash,
/// so the digest is remembered in `cache_dir` keyed by path, size and modification time.
pub fn file_sha256(path: &Path, cache_dir: Option<&Path>) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let io = |source| EngineError::Io { file: path.into(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let key = {
        let mut h = Sha256::new();
        h.update(format!("{}\n{}\n{}", path.display(), meta.len(), mtime));
        format!("{:x}", h.finalize())
    };
    let memo = cache_dir.map(|d| d.join("sha256").join(&key));
    if let Some(m) = &memo {
        if let Ok(s) = std::fs::read_to_string(m) {
            if s.trim().len() == 64 {
                return Ok(s.trim().to_string());
            }
        }
    }
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let digest = format!("{:x}", h.finalize());
    if let Some(m) = memo {
        if let Some(parent) = m.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(m, &digest);
    }
    Ok(digest)
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

/// Shape-exact random MedGemma weights (benchmarks, no download): the text model as
/// [`crate::loader::RandomWeights`] (Q4_K_M blocks when `q4_k_m`), the vision tower as
/// SigLIP's random weights, the projector generated here; hub tensor names.
pub struct RandomMedGemma {
    text: crate::loader::RandomWeights,
    vision: crate::siglip::RandomWeights,
    vision_hidden: usize,
    text_hidden: usize,
}

impl RandomMedGemma {
    pub fn new(config: &Config, seed: u64, q4_k_m: bool) -> Self {
        let mut text = crate::loader::RandomWeights::new(config.text.clone(), seed);
        if q4_k_m {
            text = text.q4_k_m();
        }
        let mut sc = crate::siglip::SiglipConfig::medsiglip_448();
        sc.vision = config.vision.clone();
        Self {
            text,
            vision: crate::siglip::RandomWeights::new(&sc, seed),
            vision_hidden: config.vision.tower.hidden_size,
            text_hidden: config.text.hidden_size,
        }
    }
    fn route(name: &str) -> Option<(bool, String)> {
        if let Some(r) = name.strip_prefix("vision_tower.") {
            return Some((false, r.to_string()));
        }
        name.strip_prefix("language_model.").map(|r| (true, r.to_string()))
    }
}

impl WeightSource for RandomMedGemma {
    fn file(&self) -> &Path {
        Path::new("<random weights>")
    }
    fn get(&self, name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        match name {
            "multi_modal_projector.mm_soft_emb_norm.weight" => return Ok(Some((vec![self.vision_hidden], vec![0.0; self.vision_hidden]))),
            "multi_modal_projector.mm_input_projection_weight" => {
                let (a, b) = (self.vision_hidden, self.text_hidden);
                let amp = 1.0 / (a as f32).sqrt();
                let v = (0..a * b).map(|i| (((i * 2654435761) % 2001) as f32 / 1000.0 - 1.0) * amp).collect();
                return Ok(Some((vec![a, b], v)));
            }
            _ => {}
        }
        match Self::route(name) {
            Some((true, r)) => self.text.get(&r),
            Some((false, r)) => self.vision.get(&r),
            None => Ok(None),
        }
    }
    fn norms_include_one(&self) -> bool {
        false
    }
    fn get_quantized(&self, name: &str) -> Result<Option<(Vec<usize>, GgmlType, Vec<u8>)>> {
        match Self::route(name) {
            Some((true, r)) => self.text.get_quantized(&r),
            _ => Ok(None),
        }
    }
}
