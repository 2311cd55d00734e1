//! SigLIP vision and text encoders, following transformers' `SiglipModel` operation by
//! operation: MedSigLIP's two towers, and the vision tower MedGemma shares (no head, 896 px).
//!
//! Runs on any burn device (wgpu, CPU). Weights by HF checkpoint name through the engine's
//! [`WeightSource`] (safetensors, optionally quantized to Q8_0 blocks on load); the linear
//! maps are [`crate::nn::Linear`], so f16 / Q8_0 weights use the decoder's kernels.

use std::sync::atomic::AtomicBool;

use burn::tensor::{Device, Tensor, TensorData};

use crate::device::stop_requested;
use crate::error::{EngineError, Result};
use crate::models::siglip::{SiglipConfig, TextConfig, TowerConfig, VisionConfig};
use crate::nn::attention::mha;
use crate::nn::{gelu_tanh, rows, Embedding, LayerNorm, Linear, LinearWeight, WeightLoader};
use crate::weights::WeightSource;

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


impl EncoderLayer {
    pub fn forward(&self, x: Tensor<3>, heads: usize) -> Tensor<3> {
        let h = self.layer_norm1.forward(x.clone());
        let a = mha(self.q_proj.forward_seq(h.clone()), self.k_proj.forward_seq(h.clone()), self.v_proj.forward_seq(h), heads);
        let x = x + self.out_proj.forward_seq(a);
        let h = self.layer_norm2.forward(x.clone());
        x + self.fc2.forward_seq(gelu_tanh(self.fc1.forward_seq(h)))
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
        let a = mha(self.q.forward_seq(probe), self.k.forward_seq(x.clone()), self.v.forward_seq(x), heads);
        let a = self.out_proj.forward_seq(a);
        let n = self.layernorm.forward(a.clone());
        let y = a + self.fc2.forward_seq(gelu_tanh(self.fc1.forward_seq(n)));
        y.reshape([b, h])
    }
}


/// The encoder layers of one tower.
fn encoder_layers(l: &WeightLoader, t: &TowerConfig) -> Result<Vec<EncoderLayer>> {
    let (h, i, eps) = (t.hidden_size, t.intermediate_size, t.layer_norm_eps);
    (0..t.num_hidden_layers)
        .map(|n| {
            let p = |s: &str| format!("encoder.layers.{n}.{s}");
            Ok(EncoderLayer {
                layer_norm1: l.layer_norm(&p("layer_norm1"), h, eps)?,
                q_proj: l.linear_with_bias(&p("self_attn.q_proj"), h, h)?,
                k_proj: l.linear_with_bias(&p("self_attn.k_proj"), h, h)?,
                v_proj: l.linear_with_bias(&p("self_attn.v_proj"), h, h)?,
                out_proj: l.linear_with_bias(&p("self_attn.out_proj"), h, h)?,
                layer_norm2: l.layer_norm(&p("layer_norm2"), h, eps)?,
                fc1: l.linear_with_bias(&p("mlp.fc1"), i, h)?,
                fc2: l.linear_with_bias(&p("mlp.fc2"), h, i)?,
            })
        })
        .collect()
}

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
    /// [`Linear::release_pages`] for every layer's weights (see `QTensor::release_pages`).
    pub fn release_pages(&self) {
        for l in &self.layers {
            for lin in [&l.q_proj, &l.k_proj, &l.v_proj, &l.out_proj, &l.fc1, &l.fc2] {
                lin.release_pages();
            }
        }
    }

    /// Loads from names under `prefix` (`vision_model.` in a `SiglipModel`;
    /// `vision_tower.vision_model.` or `model.vision_tower.vision_model.` in MedGemma).
    pub fn load(config: VisionConfig, src: &dyn WeightSource, prefix: &str, device: &Device) -> Result<Self> {
        let l = WeightLoader::new(src, device, prefix);
        let t = &config.tower;
        let (h, c, p) = (t.hidden_size, config.num_channels, config.patch_size);
        let eps = t.layer_norm_eps;
        let w = l.raw("embeddings.patch_embedding.weight", &[h, c, p, p])?;
        let patch_weight_t = l.transposed(&w, h, c * p * p);
        let head = if config.use_head {
            let i = t.intermediate_size;
            let inw = l.raw("head.attention.in_proj_weight", &[3 * h, h])?;
            let inb = l.raw("head.attention.in_proj_bias", &[3 * h])?;
            let part = |k: usize| Linear {
                weight: LinearWeight::Dense { weight_t: l.transposed(&inw[k * h * h..(k + 1) * h * h], h, h) },
                bias: Some(Tensor::from_data(TensorData::new(inb[k * h..(k + 1) * h].to_vec(), [h]), device)),
            };
            Some(PoolingHead {
                probe: Tensor::from_data(TensorData::new(l.raw("head.probe", &[1, 1, h])?, [1, 1, h]), device),
                q: part(0),
                k: part(1),
                v: part(2),
                out_proj: l.linear_with_bias("head.attention.out_proj", h, h)?,
                layernorm: l.layer_norm("head.layernorm", h, eps)?,
                fc1: l.linear_with_bias("head.mlp.fc1", i, h)?,
                fc2: l.linear_with_bias("head.mlp.fc2", h, i)?,
            })
        } else {
            None
        };
        Ok(Self {
            patch_weight_t,
            patch_bias: l.vector("embeddings.patch_embedding.bias", h)?,
            position_embedding: l.matrix("embeddings.position_embedding.weight", config.num_patches(), h)?,
            layers: encoder_layers(&l, t)?,
            post_layernorm: l.layer_norm("post_layernorm", h, eps)?,
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
        self.forward_hidden_until(pixels, batch, None)
    }

    /// [`Self::forward_hidden`], checking `stop` before each layer: once it is set the pass
    /// ends with [`EngineError::Stopped`] (see [`crate::device::stop_requested`]).
    pub fn forward_hidden_until(&self, pixels: &[f32], batch: usize, stop: Option<&AtomicBool>) -> Result<Tensor<3>> {
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
            stop_requested(&self.device, stop)?;
            x = l.forward(x, self.config.tower.num_attention_heads);
        }
        stop_requested(&self.device, stop)?;
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
    pub token_embedding: Embedding,
    pub position_embedding: Tensor<2>,
    pub layers: Vec<EncoderLayer>,
    pub final_layer_norm: LayerNorm,
    pub head: Linear,
    pub device: Device,
}

impl SiglipText {
    pub fn load(config: TextConfig, src: &dyn WeightSource, prefix: &str, device: &Device) -> Result<Self> {
        let l = WeightLoader::new(src, device, prefix);
        let t = &config.tower;
        let h = t.hidden_size;
        Ok(Self {
            token_embedding: l.embedding("embeddings.token_embedding.weight", config.vocab_size, h)?,
            position_embedding: l.matrix("embeddings.position_embedding.weight", config.max_position_embeddings, h)?,
            layers: encoder_layers(&l, t)?,
            final_layer_norm: l.layer_norm("final_layer_norm", h, t.layer_norm_eps)?,
            head: l.linear_with_bias("head", config.projection_size, h)?,
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
        Ok(self.head.forward(last))
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
        let l = WeightLoader::new(src, device, "");
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
        logits(image_embeds, text_embeds, self.scale, self.bias)
    }
}


/// `logits[i][j] = scale * cos(image_i, text_j) + bias` (`logits_per_image`).
pub fn logits(image: &[Vec<f32>], text: &[Vec<f32>], scale: f32, bias: f32) -> Vec<Vec<f32>> {
    let tn: Vec<Vec<f32>> = text.iter().map(|t| l2_normalize(t)).collect();
    image
        .iter()
        .map(|i| {
            let i = l2_normalize(i);
            tn.iter().map(|t| i.iter().zip(t).map(|(a, b)| a * b).sum::<f32>() * scale + bias).collect()
        })
        .collect()
}

fn l2_normalize(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}
