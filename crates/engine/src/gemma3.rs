//! Gemma 3 text decoder, following transformers' `Gemma3TextModel` operation by operation.
//!
//! Runs on any burn device (wgpu, CPU). Field names follow the HF checkpoint tensor names
//! (`model.layers.N.self_attn.q_proj.weight`, ...).

use std::path::{Path, PathBuf};

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::{EngineError, Result};
use crate::gguf::Gguf;
use crate::qmatmul::QTensor;
use crate::quant::GgmlType;

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
            Some(crate::gguf::Value::Array(flags)) => {
                if flags.len() != n {
                    return Err(EngineError::Config {
                        file: g.path.clone(),
                        detail: format!("{pattern_key} lists {} layers; the model has {n}", flags.len()),
                    });
                }
                flags
                    .iter()
                    .map(|f| match f {
                        crate::gguf::Value::Bool(true) => LayerType::Sliding,
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

    fn validate(&self, file: &Path) -> Result<()> {
        let bad = |d: &str| Err(EngineError::Config { file: file.into(), detail: d.into() });
        if self.hidden_size == 0 || self.num_attention_heads == 0 || self.head_dim == 0 {
            return bad("zero hidden size, heads or head_dim");
        }
        if self.num_key_value_heads == 0 || self.num_attention_heads % self.num_key_value_heads != 0
        {
            return bad("num_attention_heads is not a multiple of num_key_value_heads");
        }
        if self.head_dim % 2 != 0 {
            return bad("odd head_dim");
        }
        if self.sliding_window == 0 {
            return bad("sliding_window is 0");
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

/// Where weights come from: f32 values by HF checkpoint name, row-major.
pub trait WeightSource {
    fn file(&self) -> &Path;
    /// Returns `(shape, values)`; `None` if missing.
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>>;
    /// Whether RMSNorm weights are stored as `1 + w` already (llama.cpp's GGUF convention).
    fn norms_include_one(&self) -> bool;
    /// The tensor in a ggml block format the GPU kernels read (`shape` in HF order,
    /// `[out, in]`), when the source holds it quantized; `None` to fall back to [`get`].
    fn get_quantized(&self, _hf_name: &str) -> Result<Option<(Vec<usize>, GgmlType, Vec<u8>)>> {
        Ok(None)
    }
}

/// Whether weights stay quantized on `device` (every backend but the CPU one; the CPU
/// backend multiplies f32). `MEDLENS_ENGINE_DENSE=1` forces f32 everywhere, for comparisons.
pub fn keeps_quantized(device: &Device) -> bool {
    *device != Device::flex() && std::env::var_os("MEDLENS_ENGINE_DENSE").is_none_or(|v| v != "1")
}

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
    fn get_quantized(&self, hf_name: &str) -> Result<Option<(Vec<usize>, GgmlType, Vec<u8>)>> {
        Ok(gguf_name(hf_name).and_then(|name| self.quantized_tensor(&name)))
    }
}

/// A linear layer without bias.
#[derive(Debug, Clone)]
pub enum Linear {
    /// f32 weight kept transposed, `[in, out]` (the CPU backend, and f32 checkpoints).
    Dense { weight_t: Tensor<2> },
    /// `[out, in]` in its ggml block layout on the GPU, dequantized on the fly.
    Quant(QTensor),
}

impl Linear {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Dense { weight_t } => x.matmul(weight_t.clone()),
            Self::Quant(q) => q.matmul_t(x),
        }
    }
}

/// RMSNorm with the effective multiplier `1 + w` precomputed.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    pub scale: Tensor<1>,
    pub eps: f64,
}

impl RmsNorm {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let var = x.clone().square().mean_dim(D - 1);
        let normed = x * (var + self.eps).sqrt().recip();
        let n = self.scale.dims()[0];
        let mut shape = [1usize; D];
        shape[D - 1] = n;
        normed * self.scale.clone().reshape(shape)
    }
}

#[derive(Debug, Clone)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub q_norm: RmsNorm,
    pub k_norm: RmsNorm,
}

#[derive(Debug, Clone)]
pub struct Mlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

/// GELU with the tanh approximation (`gelu_pytorch_tanh`), written with `x*x*x` so no
/// backend evaluates `pow` of a negative base.
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    const C: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)
    let x3 = x.clone() * x.clone() * x.clone();
    let inner = (x.clone() + x3 * 0.044715) * C;
    x * (inner.tanh() + 1.0) * 0.5
}

impl Mlp {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let g = gelu_tanh(self.gate_proj.forward(x.clone()));
        self.down_proj.forward(g * self.up_proj.forward(x))
    }
}

#[derive(Debug, Clone)]
pub struct DecoderLayer {
    pub self_attn: Attention,
    pub mlp: Mlp,
    pub input_layernorm: RmsNorm,
    pub post_attention_layernorm: RmsNorm,
    pub pre_feedforward_layernorm: RmsNorm,
    pub post_feedforward_layernorm: RmsNorm,
    pub layer_type: LayerType,
}

/// Per-layer key/value cache. Sliding layers keep at most `sliding_window` positions
/// (oldest dropped first), so their memory is bounded like a ring buffer.
/// Keys and values of one layer, `[kv_heads, capacity, head_dim]` each.
///
/// Full-attention layers append into a buffer that doubles when full (amortized O(1) per
/// token, no copy of the whole history each step). Sliding layers keep a ring of exactly
/// `sliding_window` slots: position `p` lives in slot `p % window`, so memory stays bounded
/// however long the text. `slot_pos[s]` is the absolute position held in slot `s`; the mask
/// is built from it, so slot order never matters to attention.
/// `slot_pos` of a ring slot not written yet (masked out of attention).
const EMPTY_SLOT: usize = usize::MAX;

#[derive(Debug, Clone, Default)]
pub struct LayerCache {
    k: Option<Tensor<3>>,
    v: Option<Tensor<3>>,
    slot_pos: Vec<usize>,
}

impl LayerCache {
    /// Slots in use (a ring's are all in use once allocated; unwritten ones are masked).
    pub fn len(&self) -> usize {
        self.slot_pos.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slot_pos.is_empty()
    }
    /// Slots allocated.
    pub fn capacity(&self) -> usize {
        self.k.as_ref().map_or(0, |k| k.dims()[1])
    }
}

#[derive(Debug, Clone)]
pub struct KvCache {
    pub layers: Vec<LayerCache>,
    /// Number of positions processed so far.
    pub pos: usize,
}

impl KvCache {
    pub fn new(n_layers: usize) -> Self {
        Self { layers: vec![LayerCache::default(); n_layers], pos: 0 }
    }
}

/// Gemma 3 text model with tied LM head.
#[derive(Debug, Clone)]
pub struct Gemma3 {
    pub config: Config,
    /// `[vocab, hidden]`, split along the vocabulary into chunks of at most
    /// `EMBED_CHUNK_BYTES` (wgpu caps the size of one storage buffer).
    pub embed_tokens: Embedding,
    pub layers: Vec<DecoderLayer>,
    pub norm: RmsNorm,
    pub device: Device,
    /// cos/sin tables are computed on the host per call; inverse frequencies per layer type.
    inv_freq_local: Vec<f32>,
    inv_freq_global: Vec<f32>,
}

/// The token embedding table `[vocab, hidden]`, also the tied LM head.
#[derive(Debug, Clone)]
pub enum Embedding {
    /// f32, split along the vocabulary into chunks of at most `EMBED_CHUNK_BYTES` (wgpu caps
    /// the size of one storage buffer).
    Dense { chunks: Vec<Tensor<2>>, chunk_rows: usize },
    /// ggml blocks on the GPU (the largest tensor of the model: 262144 × 2560 for MedGemma-4B).
    Quant(QTensor),
}

impl Embedding {
    /// An f32 table of row width `h`, uploaded in chunks of at most `EMBED_CHUNK_BYTES`.
    pub fn dense(values: &[f32], h: usize, device: &Device) -> Self {
        let chunk_rows = (EMBED_CHUNK_BYTES / (4 * h)).max(1);
        let chunks = values
            .chunks(chunk_rows * h)
            .map(|ch| Tensor::from_data(TensorData::new(ch.to_vec(), [ch.len() / h, h]), device))
            .collect();
        Self::Dense { chunks, chunk_rows }
    }

    /// Rows of `ids`, `[ids.len(), hidden]`.
    pub fn lookup(&self, ids: &[u32], device: &Device) -> Tensor<2> {
        match self {
            Self::Quant(q) => q.gather(ids),
            Self::Dense { chunks, .. } if chunks.len() == 1 => {
                let idx: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
                let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [ids.len()]), device);
                chunks[0].clone().select(0, idx)
            }
            Self::Dense { chunks, chunk_rows } => {
                let rows: Vec<Tensor<2>> = ids
                    .iter()
                    .map(|&id| {
                        let (ch, r) = (id as usize / chunk_rows, id as usize % chunk_rows);
                        let idx = Tensor::<1, Int>::from_data(TensorData::new(vec![r as i64], [1]), device);
                        chunks[ch.min(chunks.len() - 1)].clone().select(0, idx)
                    })
                    .collect();
                Tensor::cat(rows, 0)
            }
        }
    }

    /// `h [rows, hidden]` times the table transposed: logits `[rows, vocab]`.
    pub fn logits(&self, h: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Quant(q) => q.matmul_t(h),
            Self::Dense { chunks, .. } => {
                let parts: Vec<Tensor<2>> =
                    chunks.iter().map(|e| h.clone().matmul(e.clone().transpose())).collect();
                Tensor::cat(parts, 1)
            }
        }
    }
}

/// A tensor's values on the host, row-major; a failed read-back (lost device, out of memory)
/// is an error, not a panic.
pub fn to_host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.try_into_data()
        .map_err(|e| EngineError::Device(format!("reading back from the device: {e:?}")))?
        .try_into_vec::<f32>()
        .map_err(|e| EngineError::Device(format!("reading back from the device: {e:?}")))
}

/// Largest embedding chunk (bytes); below wgpu's default 128 MiB storage binding limit.
const EMBED_CHUNK_BYTES: usize = 64 << 20;

fn inv_freq(base: f64, dim: usize, factor: f64) -> Vec<f32> {
    // As transformers: base ** (arange(0, dim, 2) / dim) in f32, then 1/x, then / factor.
    (0..dim / 2)
        .map(|i| {
            let e = (2 * i) as f32 / dim as f32;
            let f = 1.0f32 / (base as f32).powf(e);
            f / factor as f32
        })
        .collect()
}

struct Loader<'a> {
    src: &'a dyn WeightSource,
    device: &'a Device,
    prefix: String,
}

impl Loader<'_> {
    fn raw(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{}", self.prefix, name);
        let (shape, v) = self.src.get(&full)?.ok_or_else(|| EngineError::MissingTensor {
            file: self.src.file().into(),
            tensor: full.clone(),
        })?;
        if shape != expected {
            return Err(EngineError::Shape {
                file: self.src.file().into(),
                tensor: full,
                got: shape,
                expected: expected.to_vec(),
            });
        }
        Ok(v)
    }
    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        if keeps_quantized(self.device) {
            if let Some(q) = self.quantized(name, out, inp)? {
                return Ok(Linear::Quant(q));
            }
        }
        let w = self.raw(name, &[out, inp])?;
        // Transpose to [in, out] on the host once.
        let mut t = vec![0f32; w.len()];
        for o in 0..out {
            let row = &w[o * inp..(o + 1) * inp];
            for (i, &x) in row.iter().enumerate() {
                t[i * out + o] = x;
            }
        }
        Ok(Linear::Dense { weight_t: Tensor::from_data(TensorData::new(t, [inp, out]), self.device) })
    }
    /// The weight as ggml blocks on the device, when the source has it in a GPU format.
    fn quantized(&self, name: &str, out: usize, inp: usize) -> Result<Option<QTensor>> {
        let full = format!("{}{}", self.prefix, name);
        let Some((shape, ty, bytes)) = self.src.get_quantized(&full)? else { return Ok(None) };
        if shape != [out, inp] {
            return Err(EngineError::Shape {
                file: self.src.file().into(),
                tensor: full,
                got: shape,
                expected: vec![out, inp],
            });
        }
        QTensor::upload(ty, out, inp, &bytes, self.device).map(Some)
    }
    fn norm(&self, name: &str, n: usize, eps: f64) -> Result<RmsNorm> {
        let mut w = self.raw(name, &[n])?;
        if !self.src.norms_include_one() {
            for x in &mut w {
                *x += 1.0;
            }
        }
        Ok(RmsNorm { scale: Tensor::from_data(TensorData::new(w, [n]), self.device), eps })
    }
}

impl Gemma3 {
    /// Loads the model from a weight source (HF names, with or without `model.` prefix).
    pub fn load(config: Config, src: &dyn WeightSource, device: &Device) -> Result<Self> {
        let c = &config;
        // Find the naming prefix used by the source.
        let mut prefix = String::new();
        for p in ["model.", "model.language_model.", "language_model.model.", ""] {
            if src.get(&format!("{p}norm.weight"))?.is_some() {
                prefix = p.to_string();
                break;
            }
        }
        let l = Loader { src, device, prefix };
        let (h, hd, nh, nkv) =
            (c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads);
        let embed_tokens = match keeps_quantized(device) {
            true => l.quantized("embed_tokens.weight", c.vocab_size, h)?.map(Embedding::Quant),
            false => None,
        };
        let embed_tokens = match embed_tokens {
            Some(e) => e,
            None => Embedding::dense(&l.raw("embed_tokens.weight", &[c.vocab_size, h])?, h, device),
        };
        let eps = c.rms_norm_eps;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = |s: &str| format!("layers.{i}.{s}");
            layers.push(DecoderLayer {
                self_attn: Attention {
                    q_proj: l.linear(&p("self_attn.q_proj.weight"), nh * hd, h)?,
                    k_proj: l.linear(&p("self_attn.k_proj.weight"), nkv * hd, h)?,
                    v_proj: l.linear(&p("self_attn.v_proj.weight"), nkv * hd, h)?,
                    o_proj: l.linear(&p("self_attn.o_proj.weight"), h, nh * hd)?,
                    q_norm: l.norm(&p("self_attn.q_norm.weight"), hd, eps)?,
                    k_norm: l.norm(&p("self_attn.k_norm.weight"), hd, eps)?,
                },
                mlp: Mlp {
                    gate_proj: l.linear(&p("mlp.gate_proj.weight"), c.intermediate_size, h)?,
                    up_proj: l.linear(&p("mlp.up_proj.weight"), c.intermediate_size, h)?,
                    down_proj: l.linear(&p("mlp.down_proj.weight"), h, c.intermediate_size)?,
                },
                input_layernorm: l.norm(&p("input_layernorm.weight"), h, eps)?,
                post_attention_layernorm: l.norm(&p("post_attention_layernorm.weight"), h, eps)?,
                pre_feedforward_layernorm: l.norm(&p("pre_feedforward_layernorm.weight"), h, eps)?,
                post_feedforward_layernorm: l.norm(&p("post_feedforward_layernorm.weight"), h, eps)?,
                layer_type: c.layer_types[i],
            });
        }
        let norm = l.norm("norm.weight", h, eps)?;
        Ok(Self {
            inv_freq_local: inv_freq(c.rope_local_base_freq, hd, 1.0),
            inv_freq_global: inv_freq(c.rope_theta, hd, c.rope_scaling_factor),
            config,
            embed_tokens,
            layers,
            norm,
            device: device.clone(),
        })
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.layers.len())
    }

    /// cos and sin tables `[T, 1, hd/2]` for positions `pos0..pos0+t`.
    fn rope_tables(&self, inv: &[f32], pos0: usize, t: usize) -> (Tensor<3>, Tensor<3>) {
        let half = inv.len();
        let mut cos = Vec::with_capacity(t * half);
        let mut sin = Vec::with_capacity(t * half);
        for p in pos0..pos0 + t {
            for &f in inv {
                let a = p as f32 * f;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        (
            Tensor::from_data(TensorData::new(cos, [t, 1, half]), &self.device),
            Tensor::from_data(TensorData::new(sin, [t, 1, half]), &self.device),
        )
    }

    /// Runs `ids` (positions `cache.pos..`) through the model, updating the cache; returns the
    /// final hidden states `[T, hidden]` after the final norm.
    pub fn forward_hidden(&self, ids: &[u32], cache: &mut KvCache) -> Tensor<2> {
        let x = self.embed(ids);
        self.forward_embeds(x, &[], cache)
    }

    /// Token embeddings scaled by `sqrt(hidden)` (`Gemma3TextScaledWordEmbedding`), `[T, H]`.
    pub fn embed(&self, ids: &[u32]) -> Tensor<2> {
        let scale = (self.config.hidden_size as f64).sqrt() as f32;
        self.embed_tokens.lookup(ids, &self.device) * scale
    }

    /// Runs the decoder on input embeddings `x [T, H]` at the cache's position. Positions in
    /// `blocks` (absolute, half-open) are image blocks: their tokens also attend to later
    /// tokens of the same block (transformers' `token_type_ids` rule); everything else is
    /// causal, and sliding layers still cut at the window.
    pub fn forward_embeds(&self, x: Tensor<2>, blocks: &[std::ops::Range<usize>], cache: &mut KvCache) -> Tensor<2> {
        let t = x.dims()[0];
        let pos0 = cache.pos;
        let mut x = x;
        let tabs_local = self.rope_tables(&self.inv_freq_local, pos0, t);
        let tabs_global = self.rope_tables(&self.inv_freq_global, pos0, t);
        for (layer, lc) in self.layers.iter().zip(cache.layers.iter_mut()) {
            let tabs = match layer.layer_type {
                LayerType::Sliding => &tabs_local,
                LayerType::Full => &tabs_global,
            };
            let residual = x.clone();
            let h = layer.input_layernorm.forward(x);
            let h = self.attention(layer, h, tabs, lc, pos0, blocks);
            let h = layer.post_attention_layernorm.forward(h);
            let x2 = residual + h;
            let h = layer.pre_feedforward_layernorm.forward(x2.clone());
            let h = layer.mlp.forward(h);
            let h = layer.post_feedforward_layernorm.forward(h);
            x = x2 + h;
        }
        cache.pos += t;
        self.norm.forward(x)
    }

    /// Logits `[rows, vocab]` of hidden states `[rows, hidden]`.
    pub fn lm_head(&self, h: Tensor<2>) -> Tensor<2> {
        let logits = self.embed_tokens.logits(h);
        match self.config.final_logit_softcapping {
            Some(cap) => (logits / cap).tanh() * cap,
            None => logits,
        }
    }

    /// Processes `ids` and returns the logits of the last position (host f32); empty if the
    /// device failed (see [`Self::try_forward_last`]).
    pub fn forward_last(&self, ids: &[u32], cache: &mut KvCache) -> Vec<f32> {
        self.try_forward_last(ids, cache).unwrap_or_default()
    }

    /// [`Self::forward_last`], with a device failure (lost device, out of memory on read-back)
    /// as an error instead of a panic or empty logits.
    pub fn try_forward_last(&self, ids: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Err(EngineError::Generation("no tokens to process".into()));
        }
        let h = self.forward_hidden(ids, cache);
        let t = ids.len();
        let last = h.slice([t - 1..t]);
        to_host(self.lm_head(last))
    }

    /// Processes `ids` and returns the logits of every position, row-major `[T, vocab]`.
    pub fn forward_all(&self, ids: &[u32], cache: &mut KvCache) -> Vec<f32> {
        let h = self.forward_hidden(ids, cache);
        self.lm_head(h).into_data().try_into_vec::<f32>().unwrap_or_default()
    }

    fn apply_rope(x: Tensor<3>, cos: &Tensor<3>, sin: &Tensor<3>) -> Tensor<3> {
        let [t, n, d] = x.dims();
        let half = d / 2;
        let x1 = x.clone().slice([0..t, 0..n, 0..half]);
        let x2 = x.slice([0..t, 0..n, half..d]);
        let a = x1.clone() * cos.clone() - x2.clone() * sin.clone();
        let b = x2 * cos.clone() + x1 * sin.clone();
        Tensor::cat(vec![a, b], 2)
    }

    fn attention(
        &self,
        layer: &DecoderLayer,
        x: Tensor<2>,
        (cos, sin): &(Tensor<3>, Tensor<3>),
        lc: &mut LayerCache,
        pos0: usize,
        blocks: &[std::ops::Range<usize>],
    ) -> Tensor<2> {
        let c = &self.config;
        let a = &layer.self_attn;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let g = nh / nkv;
        let t = x.dims()[0];
        let q = a.q_proj.forward(x.clone()).reshape([t, nh, hd]);
        let k = a.k_proj.forward(x.clone()).reshape([t, nkv, hd]);
        let v = a.v_proj.forward(x).reshape([t, nkv, hd]);
        let q = Self::apply_rope(a.q_norm.forward(q), cos, sin);
        let k = Self::apply_rope(a.k_norm.forward(k), cos, sin);
        // [heads, T, hd]
        let q = q.swap_dims(0, 1);
        let k = k.swap_dims(0, 1);
        let v = v.swap_dims(0, 1);
        let sliding = layer.layer_type == LayerType::Sliding;
        let window = c.sliding_window;
        let filled = lc.len();
        // Keys visible to this chunk: every cached slot, then the chunk's own.
        let (k_all, v_all) = match (&lc.k, &lc.v) {
            (Some(pk), Some(pv)) if filled > 0 => (
                Tensor::cat(vec![pk.clone().slice([0..nkv, 0..filled, 0..hd]), k.clone()], 1),
                Tensor::cat(vec![pv.clone().slice([0..nkv, 0..filled, 0..hd]), v.clone()], 1),
            ),
            _ => (k.clone(), v.clone()),
        };
        let key_pos: Vec<usize> = lc.slot_pos.iter().copied().chain(pos0..pos0 + t).collect();
        let l = key_pos.len();
        // Mask [g*T, L]: true where masked. Allowed: the past (and, inside one image block,
        // the block's later tokens), within the window on sliding layers.
        let block_of = |p: usize| blocks.iter().position(|b| b.contains(&p));
        let key_block: Vec<Option<usize>> =
            key_pos.iter().map(|&kp| if kp == EMPTY_SLOT { None } else { block_of(kp) }).collect();
        let mut row = Vec::with_capacity(l);
        let mut mask = Vec::with_capacity(g * t * l);
        for qi in 0..t {
            let qp = pos0 + qi;
            let qb = block_of(qp);
            row.clear();
            for (&kp, &kb) in key_pos.iter().zip(&key_block) {
                let visible = kp != EMPTY_SLOT && (kp <= qp || (qb.is_some() && qb == kb));
                let in_window = !sliding || kp.saturating_add(window) > qp;
                row.push(!(visible && in_window));
            }
            mask.extend_from_slice(&row);
        }
        // The same rows for each of the g query heads sharing a KV head.
        let one = mask.clone();
        for _ in 1..g {
            mask.extend_from_slice(&one);
        }
        let mask = Tensor::<3, Bool>::from_data(TensorData::new(mask, [1, g * t, l]), &self.device);
        let qg = q.reshape([nkv, g * t, hd]);
        let scaling = c.query_pre_attn_scalar.powf(-0.5);
        // transformers' Gemma 3 attention does not apply `attn_logit_softcapping` (a Gemma 2
        // field kept in the config); neither does llama.cpp's gemma3 graph. Follow them.
        let scores = qg.matmul(k_all.swap_dims(1, 2)) * scaling;
        let scores = scores.mask_fill(mask, -1.0e30f32);
        let probs = burn::tensor::activation::softmax(scores, 2);
        let out = probs.matmul(v_all); // [nkv, g*T, hd]
        let out = out.reshape([nh, t, hd]).swap_dims(0, 1).reshape([t, nh * hd]);
        if sliding {
            self.cache_ring(lc, k, v, pos0, window);
        } else {
            self.cache_append(lc, k, v, pos0);
        }
        a.o_proj.forward(out)
    }

    /// Appends `[nkv, t, hd]` keys/values to a full-attention layer's buffer, doubling it
    /// when full.
    fn cache_append(&self, lc: &mut LayerCache, k: Tensor<3>, v: Tensor<3>, pos0: usize) {
        let [nkv, t, hd] = k.dims();
        let len = lc.len();
        if len + t > lc.capacity() {
            let cap = (len + t).next_power_of_two().max(64);
            let grow = |old: Option<Tensor<3>>| {
                let fresh = Tensor::<3>::zeros([nkv, cap, hd], &self.device);
                match old {
                    Some(o) if len > 0 => fresh.slice_assign([0..nkv, 0..len, 0..hd], o.slice([0..nkv, 0..len, 0..hd])),
                    _ => fresh,
                }
            };
            lc.k = Some(grow(lc.k.take()));
            lc.v = Some(grow(lc.v.take()));
        }
        let r = [0..nkv, len..len + t, 0..hd];
        lc.k = lc.k.take().map(|b| b.slice_assign(r.clone(), k));
        lc.v = lc.v.take().map(|b| b.slice_assign(r, v));
        lc.slot_pos.extend(pos0..pos0 + t);
    }

    /// Writes the chunk's last `min(t, window)` keys/values into a sliding layer's ring.
    fn cache_ring(&self, lc: &mut LayerCache, k: Tensor<3>, v: Tensor<3>, pos0: usize, window: usize) {
        let [nkv, t, hd] = k.dims();
        if lc.k.is_none() {
            lc.k = Some(Tensor::<3>::zeros([nkv, window, hd], &self.device));
            lc.v = Some(Tensor::<3>::zeros([nkv, window, hd], &self.device));
            lc.slot_pos = vec![EMPTY_SLOT; window];
        }
        let mut i = t.saturating_sub(window);
        while i < t {
            // A run of consecutive slots up to the ring's end.
            let slot = (pos0 + i) % window;
            let n = (window - slot).min(t - i);
            let r = [0..nkv, slot..slot + n, 0..hd];
            let src = [0..nkv, i..i + n, 0..hd];
            lc.k = lc.k.take().map(|b| b.slice_assign(r.clone(), k.clone().slice(src.clone())));
            lc.v = lc.v.take().map(|b| b.slice_assign(r, v.clone().slice(src)));
            for j in 0..n {
                lc.slot_pos[slot + j] = pos0 + i + j;
            }
            i += n;
        }
    }
}

/// Path-carrying helper for error messages.
pub fn path_of(p: &Path) -> PathBuf {
    p.to_path_buf()
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
