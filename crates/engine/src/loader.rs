//! Model loading from a path (GGUF file, or an HF directory with `config.json` and
//! safetensors), and shape-exact random weights for benchmarks.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::error::{EngineError, Result};
use crate::gemma3::{Config, Gemma3, WeightSource};
use crate::gguf::Gguf;
use crate::quant::GgmlType;
use crate::safetensors::Safetensors;
use crate::tokenizer::Tokenizer;

pub struct Loaded {
    pub model: Gemma3,
    pub tokenizer: Tokenizer,
}

/// Loads a model and its tokenizer. `tokenizer` overrides the tokenizer file; otherwise a
/// `tokenizer.json` next to the model is used, else (GGUF) the one built from its metadata.
pub fn load(path: &Path, tokenizer: Option<&Path>, device: &Device) -> Result<Loaded> {
    let is_gguf = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    let dir = if path.is_dir() { path.to_path_buf() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() };
    let tok_file: Option<PathBuf> = tokenizer
        .map(Path::to_path_buf)
        .or_else(|| Some(dir.join("tokenizer.json")).filter(|p| p.exists()));
    if is_gguf {
        let g = Gguf::open(path)?;
        let cfg = Config::from_gguf(&g)?;
        let tokenizer = match tok_file {
            Some(t) => Tokenizer::from_file(t)?,
            None => Tokenizer::from_gguf(&g)?,
        };
        let model = Gemma3::load(cfg, &g, device)?;
        Ok(Loaded { model, tokenizer })
    } else {
        let cfg_path = dir.join("config.json");
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|source| EngineError::Io { file: cfg_path.clone(), source })?;
        let cfg = Config::from_hf_json(&cfg_path, &text)?;
        let st = Safetensors::open(path)?;
        let tok = tok_file.ok_or_else(|| EngineError::Tokenizer {
            file: dir.join("tokenizer.json"),
            detail: "no tokenizer.json next to the model (pass --tokenizer)".into(),
        })?;
        let tokenizer = Tokenizer::from_file(tok)?;
        let model = Gemma3::load(cfg, &st, device)?;
        Ok(Loaded { model, tokenizer })
    }
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

/// Shape-exact random weights (deterministic), for benchmarks without a download.
pub struct RandomWeights {
    pub config: Config,
    pub seed: u64,
    /// Hand out matrices as random ggml blocks in llama.cpp's Q4_K_M mix (Q6_K for the
    /// embedding, `attn_v` and `ffn_down`, Q4_K elsewhere), so a benchmark measures the
    /// quantized kernels and memory of a real Q4_K_M file.
    pub q4_k_m: bool,
    file: PathBuf,
}

impl RandomWeights {
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

impl WeightSource for RandomWeights {
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
    fn get_quantized(&self, hf_name: &str) -> Result<Option<(Vec<usize>, GgmlType, Vec<u8>)>> {
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
        Ok(Some((shape.clone(), ty, random_blocks(ty, shape[0] * shape[1], self.stream(hf_name) | 1))))
    }
}

/// Text config of MedGemma 4B (google/medgemma-4b-it `text_config`).
pub const MEDGEMMA_4B_TEXT_CONFIG: &str = r#"{
  "vocab_size": 262208, "hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 34,
  "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "rms_norm_eps": 1e-6,
  "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
  "rope_scaling": {"rope_type": "linear", "factor": 8.0}, "query_pre_attn_scalar": 256,
  "sliding_window": 1024, "sliding_window_pattern": 6, "max_position_embeddings": 131072,
  "hidden_activation": "gelu_pytorch_tanh"
}"#;

/// Text config of Gemma 3 270M.
pub const GEMMA3_270M_CONFIG: &str = r#"{
  "vocab_size": 262144, "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18,
  "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256, "rms_norm_eps": 1e-6,
  "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "query_pre_attn_scalar": 256,
  "sliding_window": 512, "sliding_window_pattern": 6, "max_position_embeddings": 32768,
  "hidden_activation": "gelu_pytorch_tanh"
}"#;

/// A config by builtin name (`medgemma-4b`, `gemma3-270m`) or from a config.json path.
pub fn config_by_name(name: &str) -> Result<Config> {
    let (file, text) = match name {
        "medgemma-4b" => (PathBuf::from("<builtin medgemma-4b>"), MEDGEMMA_4B_TEXT_CONFIG.to_string()),
        "gemma3-270m" => (PathBuf::from("<builtin gemma3-270m>"), GEMMA3_270M_CONFIG.to_string()),
        p => {
            let p = PathBuf::from(p);
            let t = std::fs::read_to_string(&p).map_err(|source| EngineError::Io { file: p.clone(), source })?;
            (p, t)
        }
    };
    Config::from_hf_json(&file, &text)
}

/// Any weight source with its 2-D weights handed out as `ty` blocks (random weights for
/// benchmarks, or f32 checkpoints), so the GPU keeps them quantized. `get` returns the
/// same rounded values, so CPU and GPU compute with equal weights.
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
            Some((shape, ty, q)) => Ok(crate::quant::dequantize(ty, &q).map(|v| (shape, v))),
            None => self.inner.get(hf_name),
        }
    }
    fn norms_include_one(&self) -> bool {
        self.inner.norms_include_one()
    }
    fn get_quantized(&self, hf_name: &str) -> Result<Option<(Vec<usize>, GgmlType, Vec<u8>)>> {
        if let Some(q) = self.inner.get_quantized(hf_name)? {
            return Ok(Some(q));
        }
        let Some((shape, v)) = self.inner.get(hf_name)? else { return Ok(None) };
        if shape.len() != 2 || hf_name.contains("norm") || hf_name.contains("position_embedding") || shape[1] % self.ty.block_elems() != 0 {
            return Ok(None);
        }
        Ok(crate::quant::quantize(self.ty, &v).map(|q| (shape, self.ty, q)))
    }
}
