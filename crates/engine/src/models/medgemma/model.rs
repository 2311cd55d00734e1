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
use std::sync::atomic::AtomicBool;

use burn::tensor::{Device, Tensor};

use crate::error::{EngineError, Result};
use crate::models::gemma3::Gemma3;
use crate::models::medgemma::Config;
use crate::models::siglip::SiglipVision;
use crate::nn::{to_host, KvCache, RmsNorm, WeightLoader};
use crate::weights::WeightSource;

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
        let l = WeightLoader::new(src, device, pp);
        // Gemma RMSNorm (`1 + w`) with the vision tower's epsilon; the projection is a plain
        // parameter used as stored (`x · W`), not an `nn.Linear`.
        let multi_modal_projector = Projector {
            mm_soft_emb_norm: l.rms_norm("mm_soft_emb_norm.weight", vh, config.vision.tower.layer_norm_eps)?,
            mm_input_projection_weight: l.matrix("mm_input_projection_weight", vh, th)?,
        };
        let language_model = Gemma3::load(config.text.clone(), src, device)?;
        Ok(Self { config, vision_tower, multi_modal_projector, language_model })
    }

    /// Projected image features `[B, mm_tokens, text_hidden]` of `pixels` `[B, 3, S, S]`
    /// (`get_image_features(...).pooler_output`).
    pub fn image_features(&self, pixels: &[f32], batch: usize) -> Result<Tensor<3>> {
        self.image_features_until(pixels, batch, None)
    }

    /// [`Self::image_features`], ending with [`EngineError::Stopped`] at the next layer once
    /// `stop` is set (Stop in the app: the 896 px encode takes minutes on a CPU).
    pub fn image_features_until(&self, pixels: &[f32], batch: usize, stop: Option<&AtomicBool>) -> Result<Tensor<3>> {
        let x = self.vision_tower.forward_hidden_until(pixels, batch, stop);
        // The encoder's weights, when the CPU reads them in place from the mmproj file, leave
        // the resident set until the next image: the decoder's 2.5 GB come in next, and the
        // two need not be resident at once (MedGemma-4B-shaped findings on the CPU peaked at
        // 3.8 GB with them, 0.85 GB of it the encoder's).
        self.vision_tower.release_pages();
        Ok(self.project(x?)) // [B, N, C] -> [B, mm_tokens, H]
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
        self.prefill_until(ids, features, cache, None)
    }

    /// [`Self::prefill`], ending with [`EngineError::Stopped`] at the next layer once `stop`
    /// is set; the cache is then for dropping.
    pub fn prefill_until(
        &self,
        ids: &[u32],
        features: Option<Tensor<3>>,
        cache: &mut KvCache,
        stop: Option<&AtomicBool>,
    ) -> Result<Tensor<2>> {
        if ids.is_empty() {
            return Err(EngineError::Generation("empty prompt".into()));
        }
        let (x, blocks) = self.embed_prompt(ids, features)?;
        let pos0 = cache.pos;
        let abs: Vec<Range<usize>> = blocks.iter().map(|b| b.start + pos0..b.end + pos0).collect();
        let h = self.language_model.forward_embeds_until(x, &abs, cache, stop)?;
        let t = ids.len();
        Ok(h.slice([t - 1..t]))
    }

    /// [`Self::prefill`] and the last position's logits on the host: what a decode loop
    /// starts from. A device failure is an error, never a panic.
    pub fn prefill_logits(&self, ids: &[u32], features: Option<Tensor<3>>, cache: &mut KvCache) -> Result<Vec<f32>> {
        self.prefill_logits_until(ids, features, cache, None)
    }

    /// [`Self::prefill_logits`] with a stop flag (see [`Self::prefill_until`]).
    pub fn prefill_logits_until(
        &self,
        ids: &[u32],
        features: Option<Tensor<3>>,
        cache: &mut KvCache,
        stop: Option<&AtomicBool>,
    ) -> Result<Vec<f32>> {
        let h = self.prefill_until(ids, features, cache, stop)?;
        to_host(self.language_model.lm_head(h))
    }

    /// Logits of every prompt position, row-major `[T, vocab]` (for golden tests).
    pub fn forward_all(&self, ids: &[u32], features: Option<Tensor<3>>, cache: &mut KvCache) -> Result<Vec<f32>> {
        let (x, blocks) = self.embed_prompt(ids, features)?;
        let pos0 = cache.pos;
        let abs: Vec<Range<usize>> = blocks.iter().map(|b| b.start + pos0..b.end + pos0).collect();
        let h = self.language_model.forward_embeds(x, &abs, cache);
        to_host(self.language_model.lm_head(h))
    }
}
