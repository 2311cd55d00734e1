//! SigLIP vision and text encoders, following transformers' `SiglipModel` operation by
//! operation: MedSigLIP's two towers, and the vision tower MedGemma shares (no head, 896 px).
//!
//! Runs on any burn device (wgpu, CPU). Weights by HF checkpoint name through the engine's
//! [`WeightSource`] (safetensors, optionally quantized to Q8_0 blocks on import).

use std::path::{Path, PathBuf};

use burn::tensor::{activation::softmax, Device, Tensor, TensorData};
use serde_json::Value as Json;

use crate::error::{EngineError, Result};
use crate::gemma3::{gelu_tanh, WeightSource};

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

fn get_usize(v: &Json, k: &str, d: usize) -> usize {
    v.get(k).and_then(|x| x.as_u64()).map(|x| x as usize).unwrap_or(d)
}

fn tower(v: &Json, file: &Path) -> Result<TowerConfig> {
    if let Some(act) = v.get("hidden_act").and_then(|a| a.as_str()) {
        if act != "gelu_pytorch_tanh" && act != "gelu_tanh" {
            return Err(EngineError::Config { file: file.into(), detail: format!("unsupported hidden_act {act}") });
        }
    }
    let t = TowerConfig {
        hidden_size: get_usize(v, "hidden_size", 768),
        intermediate_size: get_usize(v, "intermediate_size", 3072),
        num_hidden_layers: get_usize(v, "num_hidden_layers", 12),
        num_attention_heads: get_usize(v, "num_attention_heads", 12),
        layer_norm_eps: v.get("layer_norm_eps").and_then(|x| x.as_f64()).unwrap_or(1e-6),
    };
    if t.hidden_size == 0 || t.num_attention_heads == 0 || t.hidden_size % t.num_attention_heads != 0 {
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
        let c = Self {
            tower: tower(v, file)?,
            num_channels: get_usize(v, "num_channels", 3),
            image_size: get_usize(v, "image_size", 224),
            patch_size: get_usize(v, "patch_size", 16),
            use_head: v.get("vision_use_head").and_then(|x| x.as_bool()).unwrap_or(true),
        };
        if c.patch_size == 0 || c.image_size % c.patch_size != 0 {
            return Err(EngineError::Config {
                file: file.into(),
                detail: format!("image_size {} is not a multiple of patch_size {}", c.image_size, c.patch_size),
            });
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
        let t = tower(tc, file)?;
        let text = TextConfig {
            vocab_size: get_usize(tc, "vocab_size", 32000),
            max_position_embeddings: get_usize(tc, "max_position_embeddings", 64),
            projection_size: get_usize(tc, "projection_size", t.hidden_size),
            tower: t,
        };
        Ok(Self { vision: VisionConfig::from_json(vc, file)?, text })
    }

    pub fn from_dir(dir: &Path) -> Result<Self> {
        let f = dir.join("config.json");
        let text = std::fs::read_to_string(&f).map_err(|source| EngineError::Io { file: f.clone(), source })?;
        Self::from_hf_json(&f, &text)
    }
}

/// Linear layer with bias. The weight is the decoder's [`crate::gemma3::Linear`]: f32
/// transposed on the CPU backend, or ggml blocks (Q8_0, F16) on the GPU through the same
/// quantized kernels when the source hands it out quantized.
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: crate::gemma3::Linear,
    pub bias: Tensor<1>,
}

impl Linear {
    pub fn forward2(&self, x: Tensor<2>) -> Tensor<2> {
        self.weight.forward(x) + self.bias.clone().unsqueeze::<2>()
    }
    pub fn forward3(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, i] = x.dims();
        let o = self.bias.dims()[0];
        self.forward2(x.reshape([b * t, i])).reshape([b, t, o])
    }
}

#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub weight: Tensor<1>,
    pub bias: Tensor<1>,
    pub eps: f64,
}

impl LayerNorm {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mean = x.clone().mean_dim(D - 1);
        let xc = x - mean;
        let var = xc.clone().square().mean_dim(D - 1);
        let y = xc * (var + self.eps).sqrt().recip();
        let n = self.weight.dims()[0];
        let mut shape = [1usize; D];
        shape[D - 1] = n;
        y * self.weight.clone().reshape(shape) + self.bias.clone().reshape(shape)
    }
}

#[derive(Debug, Clone)]
pub struct EncoderLayer {
    pub layer_norm1: LayerNorm,
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub layer_norm2: LayerNorm,
    pub fc1: Linear,
    pub fc2: Linear,
}

/// Multi-head attention of `q` `[B, Tq, H]` over `k`, `v` `[B, Tk, H]` (no mask: SigLIP attends
/// to all positions, padding included, as transformers does without an attention mask).
fn mha(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize) -> Tensor<3> {
    mha_blocked(q, k, v, heads, MAX_SCORE_BYTES)
}

fn mha_blocked(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize, max_score_bytes: usize) -> Tensor<3> {
    let [b, tq, h] = q.dims();
    let tk = k.dims()[1];
    let hd = h / heads;
    let q = q.reshape([b, tq, heads, hd]).swap_dims(1, 2);
    let k = k.reshape([b, tk, heads, hd]).swap_dims(1, 2);
    let v = v.reshape([b, tk, heads, hd]).swap_dims(1, 2);
    let scale = (hd as f64).powf(-0.5);
    let kt = k.swap_dims(2, 3);
    // The score matrix is B·heads·Tq·Tk floats: 1 GiB for MedGemma's tower at 896 px (4096
    // patches, 16 heads), more than a wgpu buffer may hold. Softmax is per query row, so
    // query blocks give the same numbers with at most MAX_SCORE_BYTES of scores at a time.
    let rows = (max_score_bytes / (4 * b * heads * tk).max(1)).clamp(1, tq.max(1));
    let out = if rows >= tq {
        softmax(q.matmul(kt) * scale, 3).matmul(v)
    } else {
        let blocks: Vec<Tensor<4>> = (0..tq)
            .step_by(rows)
            .map(|s| {
                let qs = q.clone().slice([0..b, 0..heads, s..(s + rows).min(tq), 0..hd]);
                softmax(qs.matmul(kt.clone()) * scale, 3).matmul(v.clone())
            })
            .collect();
        Tensor::cat(blocks, 2)
    };
    out.swap_dims(1, 2).reshape([b, tq, h])
}

/// Largest attention score block computed at once (bytes).
const MAX_SCORE_BYTES: usize = 128 << 20;

impl EncoderLayer {
    pub fn forward(&self, x: Tensor<3>, heads: usize) -> Tensor<3> {
        let h = self.layer_norm1.forward(x.clone());
        let a = mha(self.q_proj.forward3(h.clone()), self.k_proj.forward3(h.clone()), self.v_proj.forward3(h), heads);
        let x = x + self.out_proj.forward3(a);
        let h = self.layer_norm2.forward(x.clone());
        x + self.fc2.forward3(gelu_tanh(self.fc1.forward3(h)))
    }
}

/// Attention-pooling head (`SiglipMultiheadAttentionPoolingHead`).
#[derive(Debug, Clone)]
pub struct PoolingHead {
    /// `[1, 1, H]`
    pub probe: Tensor<3>,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub out_proj: Linear,
    pub layernorm: LayerNorm,
    pub fc1: Linear,
    pub fc2: Linear,
}

impl PoolingHead {
    /// `[B, N, H]` → `[B, H]`.
    pub fn forward(&self, x: Tensor<3>, heads: usize) -> Tensor<2> {
        let [b, _, h] = x.dims();
        let probe = self.probe.clone().repeat_dim(0, b);
        let a = mha(self.q.forward3(probe), self.k.forward3(x.clone()), self.v.forward3(x), heads);
        let a = self.out_proj.forward3(a);
        let n = self.layernorm.forward(a.clone());
        let y = a + self.fc2.forward3(gelu_tanh(self.fc1.forward3(n)));
        y.reshape([b, h])
    }
}

/// Weight loading by HF name with shape checks.
pub(crate) struct Loader<'a> {
    pub src: &'a dyn WeightSource,
    pub device: &'a Device,
    pub prefix: String,
}

impl Loader<'_> {
    pub fn raw(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{}", self.prefix, name);
        let (shape, v) = self
            .src
            .get(&full)?
            .ok_or_else(|| EngineError::MissingTensor { file: self.src.file().into(), tensor: full.clone() })?;
        if shape != expected {
            return Err(EngineError::Shape { file: self.src.file().into(), tensor: full, got: shape, expected: expected.to_vec() });
        }
        Ok(v)
    }
    pub fn t1(&self, name: &str, n: usize) -> Result<Tensor<1>> {
        Ok(Tensor::from_data(TensorData::new(self.raw(name, &[n])?, [n]), self.device))
    }
    pub fn t2(&self, name: &str, a: usize, b: usize) -> Result<Tensor<2>> {
        Ok(Tensor::from_data(TensorData::new(self.raw(name, &[a, b])?, [a, b]), self.device))
    }
    fn transposed(&self, w: Vec<f32>, out: usize, inp: usize) -> Tensor<2> {
        let mut t = vec![0f32; w.len()];
        for o in 0..out {
            for i in 0..inp {
                t[i * out + o] = w[o * inp + i];
            }
        }
        Tensor::from_data(TensorData::new(t, [inp, out]), self.device)
    }
    /// An embedding table: kept as ggml blocks on the GPU when the source has them (f16/Q8_0
    /// on load), else f32 in chunks small enough for one wgpu buffer each.
    pub fn embedding(&self, name: &str, rows: usize, h: usize) -> Result<crate::gemma3::Embedding> {
        let full = format!("{}{name}", self.prefix);
        if crate::gemma3::keeps_quantized(self.device) {
            if let Some((shape, ty, bytes)) = self.src.get_quantized(&full)? {
                if shape != [rows, h] {
                    return Err(EngineError::Shape { file: self.src.file().into(), tensor: full, got: shape, expected: vec![rows, h] });
                }
                let q = crate::qmatmul::QTensor::upload(ty, rows, h, &bytes, self.device)?;
                return Ok(crate::gemma3::Embedding::Quant(q));
            }
        }
        Ok(crate::gemma3::Embedding::dense(&self.raw(name, &[rows, h])?, h, self.device))
    }
    pub fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        let wname = format!("{}{name}.weight", self.prefix);
        if crate::gemma3::keeps_quantized(self.device) {
            if let Some((shape, ty, bytes)) = self.src.get_quantized(&wname)? {
                if shape != [out, inp] {
                    return Err(EngineError::Shape { file: self.src.file().into(), tensor: wname, got: shape, expected: vec![out, inp] });
                }
                let q = crate::qmatmul::QTensor::upload(ty, out, inp, &bytes, self.device)?;
                return Ok(Linear { weight: crate::gemma3::Linear::Quant(q), bias: self.t1(&format!("{name}.bias"), out)? });
            }
        }
        let w = self.raw(&format!("{name}.weight"), &[out, inp])?;
        Ok(Linear {
            weight: crate::gemma3::Linear::Dense { weight_t: self.transposed(w, out, inp) },
            bias: self.t1(&format!("{name}.bias"), out)?,
        })
    }
    pub fn norm(&self, name: &str, n: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm { weight: self.t1(&format!("{name}.weight"), n)?, bias: self.t1(&format!("{name}.bias"), n)?, eps })
    }
    fn layers(&self, t: &TowerConfig) -> Result<Vec<EncoderLayer>> {
        let (h, i, eps) = (t.hidden_size, t.intermediate_size, t.layer_norm_eps);
        (0..t.num_hidden_layers)
            .map(|n| {
                let p = |s: &str| format!("encoder.layers.{n}.{s}");
                Ok(EncoderLayer {
                    layer_norm1: self.norm(&p("layer_norm1"), h, eps)?,
                    q_proj: self.linear(&p("self_attn.q_proj"), h, h)?,
                    k_proj: self.linear(&p("self_attn.k_proj"), h, h)?,
                    v_proj: self.linear(&p("self_attn.v_proj"), h, h)?,
                    out_proj: self.linear(&p("self_attn.out_proj"), h, h)?,
                    layer_norm2: self.norm(&p("layer_norm2"), h, eps)?,
                    fc1: self.linear(&p("mlp.fc1"), i, h)?,
                    fc2: self.linear(&p("mlp.fc2"), h, i)?,
                })
            })
            .collect()
    }
}

/// SigLIP vision transformer (`SiglipVisionTransformer`).
#[derive(Debug, Clone)]
pub struct SiglipVision {
    pub config: VisionConfig,
    /// Patch embedding as a linear map of flattened `(c, ky, kx)` patches: `[C*p*p, H]`.
    pub patch_weight_t: Tensor<2>,
    pub patch_bias: Tensor<1>,
    /// `[num_patches, H]`
    pub position_embedding: Tensor<2>,
    pub layers: Vec<EncoderLayer>,
    pub post_layernorm: LayerNorm,
    pub head: Option<PoolingHead>,
    pub device: Device,
}

impl SiglipVision {
    /// Loads from names under `prefix` (`vision_model.` in a `SiglipModel`;
    /// `vision_tower.vision_model.` or `model.vision_tower.vision_model.` in MedGemma).
    pub fn load(config: VisionConfig, src: &dyn WeightSource, prefix: &str, device: &Device) -> Result<Self> {
        let l = Loader { src, device, prefix: prefix.into() };
        let t = &config.tower;
        let (h, c, p) = (t.hidden_size, config.num_channels, config.patch_size);
        let eps = t.layer_norm_eps;
        let w = l.raw("embeddings.patch_embedding.weight", &[h, c, p, p])?;
        let patch_weight_t = l.transposed(w, h, c * p * p);
        let head = if config.use_head {
            let i = t.intermediate_size;
            let inw = l.raw("head.attention.in_proj_weight", &[3 * h, h])?;
            let inb = l.raw("head.attention.in_proj_bias", &[3 * h])?;
            let part = |k: usize| Linear {
                weight: crate::gemma3::Linear::Dense { weight_t: l.transposed(inw[k * h * h..(k + 1) * h * h].to_vec(), h, h) },
                bias: Tensor::from_data(TensorData::new(inb[k * h..(k + 1) * h].to_vec(), [h]), device),
            };
            Some(PoolingHead {
                probe: Tensor::from_data(TensorData::new(l.raw("head.probe", &[1, 1, h])?, [1, 1, h]), device),
                q: part(0),
                k: part(1),
                v: part(2),
                out_proj: l.linear("head.attention.out_proj", h, h)?,
                layernorm: l.norm("head.layernorm", h, eps)?,
                fc1: l.linear("head.mlp.fc1", i, h)?,
                fc2: l.linear("head.mlp.fc2", h, i)?,
            })
        } else {
            None
        };
        Ok(Self {
            patch_weight_t,
            patch_bias: l.t1("embeddings.patch_embedding.bias", h)?,
            position_embedding: l.t2("embeddings.position_embedding.weight", config.num_patches(), h)?,
            layers: l.layers(t)?,
            post_layernorm: l.norm("post_layernorm", h, eps)?,
            head,
            config,
            device: device.clone(),
        })
    }

    /// Flattened patches `[B*N, C*p*p]` of `pixels` (`[B, C, S, S]` row-major), patch order
    /// row-major as the convolution's output is flattened.
    fn patches(&self, pixels: &[f32], b: usize) -> Vec<f32> {
        let (c, s, p) = (self.config.num_channels, self.config.image_size, self.config.patch_size);
        let g = s / p;
        let mut out = Vec::with_capacity(pixels.len());
        for bi in 0..b {
            for py in 0..g {
                for px in 0..g {
                    for ci in 0..c {
                        for ky in 0..p {
                            let row = ((bi * c + ci) * s + py * p + ky) * s + px * p;
                            out.extend_from_slice(&pixels[row..row + p]);
                        }
                    }
                }
            }
        }
        out
    }

    /// Last hidden state `[B, N, H]` (after the post-layernorm) of `pixels` `[B, C, S, S]`.
    pub fn forward_hidden(&self, pixels: &[f32], batch: usize) -> Result<Tensor<3>> {
        let (c, s) = (self.config.num_channels, self.config.image_size);
        if pixels.len() != batch * c * s * s {
            return Err(EngineError::Generation(format!(
                "pixel values: {} values, expected {batch} x {c} x {s} x {s}",
                pixels.len()
            )));
        }
        let n = self.config.num_patches();
        let h = self.config.tower.hidden_size;
        let cpp = c * self.config.patch_size.pow(2);
        let pt = Tensor::<2>::from_data(TensorData::new(self.patches(pixels, batch), [batch * n, cpp]), &self.device);
        let x = (pt.matmul(self.patch_weight_t.clone()) + self.patch_bias.clone().unsqueeze::<2>()).reshape([batch, n, h]);
        let mut x = x + self.position_embedding.clone().unsqueeze::<3>();
        for l in &self.layers {
            x = l.forward(x, self.config.tower.num_attention_heads);
        }
        Ok(self.post_layernorm.forward(x))
    }

    /// Pooled image embeddings `[B, H]` (the head's output; `pooler_output`).
    pub fn forward(&self, pixels: &[f32], batch: usize) -> Result<Tensor<2>> {
        let x = self.forward_hidden(pixels, batch)?;
        let head = self
            .head
            .as_ref()
            .ok_or_else(|| EngineError::Generation("this vision tower has no pooling head".into()))?;
        Ok(head.forward(x, self.config.tower.num_attention_heads))
    }
}

/// SigLIP text transformer (`SiglipTextTransformer`).
#[derive(Debug, Clone)]
pub struct SiglipText {
    pub config: TextConfig,
    /// `[vocab, hidden]`: ggml blocks on the GPU, or f32 chunks (256000 × 1152 f32 is more
    /// than one wgpu buffer may hold).
    pub token_embedding: crate::gemma3::Embedding,
    pub position_embedding: Tensor<2>,
    pub layers: Vec<EncoderLayer>,
    pub final_layer_norm: LayerNorm,
    pub head: Linear,
    pub device: Device,
}

impl SiglipText {
    pub fn load(config: TextConfig, src: &dyn WeightSource, prefix: &str, device: &Device) -> Result<Self> {
        let l = Loader { src, device, prefix: prefix.into() };
        let t = &config.tower;
        let h = t.hidden_size;
        Ok(Self {
            token_embedding: l.embedding("embeddings.token_embedding.weight", config.vocab_size, h)?,
            position_embedding: l.t2("embeddings.position_embedding.weight", config.max_position_embeddings, h)?,
            layers: l.layers(t)?,
            final_layer_norm: l.norm("final_layer_norm", h, t.layer_norm_eps)?,
            head: l.linear("head", config.projection_size, h)?,
            config,
            device: device.clone(),
        })
    }

    /// Last hidden state `[B, T, H]` of `ids` (`B` rows of equal length `T`).
    pub fn forward_hidden(&self, ids: &[Vec<u32>]) -> Result<Tensor<3>> {
        let b = ids.len();
        let t = ids.first().map(|r| r.len()).unwrap_or(0);
        if b == 0 || t == 0 || ids.iter().any(|r| r.len() != t) {
            return Err(EngineError::Generation("text: empty batch or rows of unequal length".into()));
        }
        if t > self.config.max_position_embeddings {
            return Err(EngineError::Generation(format!(
                "text: {t} tokens exceed max_position_embeddings {}",
                self.config.max_position_embeddings
            )));
        }
        if let Some(&bad) = ids.iter().flatten().find(|&&i| i as usize >= self.config.vocab_size) {
            return Err(EngineError::Generation(format!("text: token id {bad} outside the vocabulary")));
        }
        let h = self.config.tower.hidden_size;
        let flat: Vec<u32> = ids.iter().flatten().copied().collect();
        let x = self.token_embedding.lookup(&flat, &self.device).reshape([b, t, h]);
        let pos = self.position_embedding.clone().slice([0..t]).unsqueeze::<3>();
        let mut x = x + pos;
        for l in &self.layers {
            x = l.forward(x, self.config.tower.num_attention_heads);
        }
        Ok(self.final_layer_norm.forward(x))
    }

    /// Text embeddings `[B, P]`: the last position's state through the head (`pooler_output`).
    pub fn forward(&self, ids: &[Vec<u32>]) -> Result<Tensor<2>> {
        let x = self.forward_hidden(ids)?;
        let [b, t, h] = x.dims();
        let last = x.slice([0..b, t - 1..t, 0..h]).reshape([b, h]);
        Ok(self.head.forward2(last))
    }
}

/// The two towers with `logit_scale` and `logit_bias` (`SiglipModel`).
#[derive(Debug, Clone)]
pub struct Siglip {
    pub config: SiglipConfig,
    pub vision: SiglipVision,
    pub text: SiglipText,
    /// `exp(logit_scale)`, as used in the logits.
    pub scale: f32,
    pub bias: f32,
}

impl Siglip {
    pub fn load(config: SiglipConfig, src: &dyn WeightSource, device: &Device) -> Result<Self> {
        if config.text.projection_size != config.vision.tower.hidden_size {
            return Err(EngineError::Config {
                file: src.file().into(),
                detail: format!(
                    "text projection_size {} differs from the vision hidden_size {}",
                    config.text.projection_size, config.vision.tower.hidden_size
                ),
            });
        }
        let l = Loader { src, device, prefix: String::new() };
        let scale = l.raw("logit_scale", &[1])?[0].exp();
        let bias = l.raw("logit_bias", &[1])?[0];
        Ok(Self {
            vision: SiglipVision::load(config.vision.clone(), src, "vision_model.", device)?,
            text: SiglipText::load(config.text.clone(), src, "text_model.", device)?,
            config,
            scale,
            bias,
        })
    }

    /// Image embeddings (unnormalized, `[B][H]` on the host).
    pub fn image_embeds(&self, pixels: &[f32], batch: usize) -> Result<Vec<Vec<f32>>> {
        let t = self.vision.forward(pixels, batch)?;
        rows(t)
    }

    /// Text embeddings (unnormalized, `[B][P]` on the host).
    pub fn text_embeds(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        rows(self.text.forward(ids)?)
    }

    /// `logits_per_image[i][j] = scale * cos(image_i, text_j) + bias`.
    pub fn logits(&self, image_embeds: &[Vec<f32>], text_embeds: &[Vec<f32>]) -> Vec<Vec<f32>> {
        crate::zeroshot::logits(image_embeds, text_embeds, self.scale, self.bias)
    }
}

/// Rows of a 2-D tensor on the host.
pub fn rows(t: Tensor<2>) -> Result<Vec<Vec<f32>>> {
    let [_, n] = t.dims();
    let v = crate::gemma3::to_host(t)?;
    Ok(v.chunks(n.max(1)).map(|c| c.to_vec()).collect())
}

/// Path helper for errors.
pub fn model_file(dir: &Path) -> PathBuf {
    dir.join("model.safetensors")
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

/// Shape-exact random weights (for benchmarks): values are generated on request, uniform in
/// ±1/sqrt(fan_in) (norm weights near 1), from a seeded SplitMix64.
pub struct RandomWeights {
    shapes: std::collections::HashMap<String, Vec<usize>>,
    seed: u64,
}

impl RandomWeights {
    pub fn new(config: &SiglipConfig, seed: u64) -> Self {
        Self { shapes: config.tensor_shapes().into_iter().collect(), seed }
    }
}

impl WeightSource for RandomWeights {
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

#[cfg(test)]
mod attention_tests {
    use super::*;

    /// Query blocks (as MedGemma's 896 px tower needs) give the one-block result.
    #[test]
    fn blocked_attention_equals_one_block() {
        let d = Device::flex();
        let (b, t, h, heads) = (1, 37, 16, 4);
        let r = |seed: usize| {
            let v: Vec<f32> = (0..b * t * h).map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0) - 1.0).collect();
            Tensor::<3>::from_data(TensorData::new(v, [b, t, h]), &d)
        };
        let (q, k, v) = (r(1), r(2), r(3));
        let one = mha_blocked(q.clone(), k.clone(), v.clone(), heads, usize::MAX).into_data().try_to_vec::<f32>().unwrap();
        // 4 heads × 37 keys × 4 bytes per query row: 3 rows per block, a short last block.
        let blocked = mha_blocked(q, k, v, heads, 4 * heads * t * 3).into_data().try_to_vec::<f32>().unwrap();
        let err = one.iter().zip(&blocked).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(err < 1e-6, "blocked attention differs by {err}");
    }
}
