//! Shape-exact random weights (deterministic, seeded) for benchmarks and memory runs without
//! a download: Gemma 3 text (f32, or random ggml blocks in llama.cpp's Q4_K_M mix), SigLIP's
//! towers, and MedGemma made of the two.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::models::gemma3::{expected_shape, Config};
use crate::models::medgemma;
use crate::models::siglip::SiglipConfig;
use crate::quant::GgmlType;
use crate::weights::{Blocks, WeightSource};

/// Shape-exact random weights (deterministic), for benchmarks without a download.
pub struct RandomGemma3 {
    pub config: Config,
    pub seed: u64,
    /// Hand out matrices as random ggml blocks in llama.cpp's Q4_K_M mix (Q6_K for the
    /// embedding, `attn_v` and `ffn_down`, Q4_K elsewhere), so a benchmark measures the
    /// quantized kernels and memory of a real Q4_K_M file.
    pub q4_k_m: bool,
    file: PathBuf,
}

impl RandomGemma3 {
    pub fn new(config: Config, seed: u64) -> Self {
        Self { config, seed, q4_k_m: false, file: PathBuf::from("<random weights>") }
    }

    pub fn q4_k_m(mut self) -> Self {
        self.q4_k_m = true;
        self
    }

    fn stream(&self, hf_name: &str) -> u64 {
        self.seed ^ hf_name.bytes().fold(0xcbf29ce484222325u64, |a, b| (a ^ b as u64).wrapping_mul(0x100000001b3))
    }
}

/// Random ggml blocks of type `ty` for `n` elements: random quants, and every f16 scale set
/// to a small finite value so the matrix has the magnitudes of trained weights.
pub fn random_blocks(ty: GgmlType, n: usize, mut s: u64) -> Vec<u8> {
    let nb = n / ty.block_elems();
    let bb = ty.block_bytes();
    let mut v = vec![0u8; nb * bb];
    for ch in v.chunks_mut(8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let b = s.to_le_bytes();
        ch.copy_from_slice(&b[..ch.len()]);
    }
    // f16 0.0005 and 0.0002: |w| stays near 0.01 whatever the quants are.
    let (d, dmin) = (half::f16::from_f32(0.0005).to_le_bytes(), half::f16::from_f32(0.0002).to_le_bytes());
    for blk in v.chunks_mut(bb) {
        match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => blk[..2].copy_from_slice(&d),
            GgmlType::Q4K | GgmlType::Q5K => {
                blk[..2].copy_from_slice(&d);
                blk[2..4].copy_from_slice(&dmin);
            }
            GgmlType::Q6K => blk[208..210].copy_from_slice(&d),
            _ => {}
        }
    }
    v
}

impl WeightSource for RandomGemma3 {
    fn file(&self) -> &Path {
        &self.file
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Some(shape) = expected_shape(&self.config, hf_name) else { return Ok(None) };
        let n: usize = shape.iter().product();
        let mut s = self.stream(hf_name);
        let v = (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.04
            })
            .collect();
        Ok(Some((shape, v)))
    }
    fn norms_include_one(&self) -> bool {
        false
    }
    fn get_quantized(&self, hf_name: &str) -> Result<Option<Blocks<'_>>> {
        if !self.q4_k_m {
            return Ok(None);
        }
        let Some(shape) = expected_shape(&self.config, hf_name) else { return Ok(None) };
        if shape.len() != 2 {
            return Ok(None);
        }
        let ty = if hf_name.ends_with("embed_tokens.weight")
            || hf_name.ends_with("v_proj.weight")
            || hf_name.ends_with("down_proj.weight")
        {
            GgmlType::Q6K
        } else {
            GgmlType::Q4K
        };
        if shape[1] % ty.block_elems() != 0 {
            return Ok(None);
        }
        Ok(Some((shape.clone(), ty, Cow::Owned(random_blocks(ty, shape[0] * shape[1], self.stream(hf_name) | 1)))))
    }
}


/// Shape-exact random weights (for benchmarks): values are generated on request, uniform in
/// ±1/sqrt(fan_in) (norm weights near 1), from a seeded SplitMix64.
pub struct RandomSiglip {
    shapes: std::collections::HashMap<String, Vec<usize>>,
    seed: u64,
}

impl RandomSiglip {
    pub fn new(config: &SiglipConfig, seed: u64) -> Self {
        Self { shapes: config.tensor_shapes().into_iter().collect(), seed }
    }
}

impl WeightSource for RandomSiglip {
    fn file(&self) -> &Path {
        Path::new("<random weights>")
    }
    fn get(&self, name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Some(shape) = self.shapes.get(name) else { return Ok(None) };
        let n: usize = shape.iter().product();
        let fan_in = if shape.len() >= 2 { shape[1..].iter().product::<usize>() } else { 1 };
        let amp = (1.0 / fan_in as f64).sqrt() as f32;
        let mut s = self.seed ^ name.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
        let is_norm_w = name.contains("norm") && name.ends_with("weight");
        let v = (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E3779B97F4A7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
                z ^= z >> 31;
                let u = (z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                if is_norm_w { 1.0 + 0.1 * u } else if name == "logit_scale" { 2.3 } else { u * amp }
            })
            .collect();
        Ok(Some((shape.clone(), v)))
    }
    fn norms_include_one(&self) -> bool {
        false
    }
}


/// Shape-exact random MedGemma weights (benchmarks, no download): the text model as
/// [`RandomGemma3`] (Q4_K_M blocks when `q4_k_m`), the vision tower as [`RandomSiglip`], the projector generated here; hub tensor names.
pub struct RandomMedGemma {
    text: RandomGemma3,
    vision: RandomSiglip,
    vision_hidden: usize,
    text_hidden: usize,
}

impl RandomMedGemma {
    pub fn new(config: &medgemma::Config, seed: u64, q4_k_m: bool) -> Self {
        let mut text = RandomGemma3::new(config.text.clone(), seed);
        if q4_k_m {
            text = text.q4_k_m();
        }
        let mut sc = SiglipConfig::medsiglip_448();
        sc.vision = config.vision.clone();
        Self {
            text,
            vision: RandomSiglip::new(&sc, seed),
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
    fn get_quantized(&self, name: &str) -> Result<Option<Blocks<'_>>> {
        match Self::route(name) {
            Some((true, r)) => self.text.get_quantized(&r),
            _ => Ok(None),
        }
    }
}

/// Text config of Gemma 3 270M.
pub const GEMMA3_270M_CONFIG: &str = r#"{
  "vocab_size": 262144, "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18,
  "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "rms_norm_eps": 1e-6,
  "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "query_pre_attn_scalar": 256,
  "sliding_window": 512, "sliding_window_pattern": 6, "max_position_embeddings": 32768,
  "hidden_activation": "gelu_pytorch_tanh"
}"#;

/// A text config by built-in name (`medgemma-4b`: MedGemma-4B's decoder, from
/// [`medgemma::MEDGEMMA_4B_CONFIG`]; `gemma3-270m`) or from a `config.json` path.
pub fn config_by_name(name: &str) -> Result<Config> {
    let (file, text) = match name {
        // `medgemma-4b-text`: the decoder alone (`medlens bench` runs the whole model, vision
        // tower included, for `medgemma-4b`).
        "medgemma-4b" | "medgemma-4b-text" => {
            let file = PathBuf::from("<builtin medgemma-4b>");
            return Ok(medgemma::Config::from_hf_json(&file, medgemma::MEDGEMMA_4B_CONFIG)?.text);
        }
        "gemma3-270m" => (PathBuf::from("<builtin gemma3-270m>"), GEMMA3_270M_CONFIG.to_string()),
        p => {
            let p = PathBuf::from(p);
            let t = crate::formats::read_side_text(&p).map_err(|source| EngineError::Io { file: p.clone(), source })?;
            (p, t)
        }
    };
    Config::from_hf_json(&file, &text)
}
