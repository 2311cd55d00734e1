//! Gemma 3 text decoder, following transformers' `Gemma3TextModel` operation by operation.
//!
//! Runs on any burn device (wgpu, CPU). Field names follow the HF checkpoint tensor names
//! (`model.layers.N.self_attn.q_proj.weight`, ...).

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use crate::error::{EngineError, Result};
use crate::profile::{count_attention, upload};
use crate::models::gemma3::{Config, LayerType};
use crate::nn::kv_cache::EMPTY_SLOT;
use crate::device::is_cube;
use crate::kernels::fused;
use crate::kernels::qmatmul::QTensor;
use crate::nn::{add_rms_norm, geglu, rope, softmax_last, to_host, Embedding, KvCache, LayerCache, Linear, LinearWeight, RmsNorm, WeightLoader};
use crate::weights::WeightSource;

/// Self-attention with QK-norm; GQA when `num_key_value_heads < num_attention_heads`.
#[derive(Debug, Clone)]
pub struct Attention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub o_proj: Linear,
    pub q_norm: RmsNorm,
    pub k_norm: RmsNorm,
}

/// GeGLU feed-forward: `down(gelu_tanh(gate(x)) * up(x))`.
#[derive(Debug, Clone)]
pub struct Mlp {
    pub gate_proj: Linear,
    pub up_proj: Linear,
    pub down_proj: Linear,
}

impl Mlp {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        // Gate and up in one product (one launch on the GPU, one pass over the cores on the
        // CPU), GeGLU over its packed output.
        if let (LinearWeight::Quant(g), LinearWeight::Quant(u), None, None) =
            (&self.gate_proj.weight, &self.up_proj.weight, &self.gate_proj.bias, &self.up_proj.bias)
        {
            if let Some(gu) = QTensor::gemv_multi(&[g, u], &x) {
                return self.down_proj.forward(fused::geglu_packed(gu));
            }
        }
        let g = self.gate_proj.forward(x.clone());
        self.down_proj.forward(geglu(g, self.up_proj.forward(x)))
    }
}

/// One decoder layer: four RMSNorms around attention and the MLP (Gemma 3's sandwich).
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

/// Gemma 3 text model with tied LM head.
#[derive(Debug, Clone)]
pub struct Gemma3 {
    pub config: Config,
    /// `[vocab, hidden]`: ggml blocks on the GPU, or f32 in chunks of one wgpu buffer each.
    pub embed_tokens: Embedding,
    pub layers: Vec<DecoderLayer>,
    pub norm: RmsNorm,
    pub device: Device,
    /// Inverse frequencies per layer type (the cos/sin tables live with the cache, on the device).
    inv_freq_local: Vec<f32>,
    inv_freq_global: Vec<f32>,
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
        let l = WeightLoader::new(src, device, prefix);
        let (h, hd, nh, nkv) =
            (c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads);
        let embed_tokens = l.embedding("embed_tokens.weight", c.vocab_size, h)?;
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
                    q_norm: l.rms_norm(&p("self_attn.q_norm.weight"), hd, eps)?,
                    k_norm: l.rms_norm(&p("self_attn.k_norm.weight"), hd, eps)?,
                },
                mlp: Mlp {
                    gate_proj: l.linear(&p("mlp.gate_proj.weight"), c.intermediate_size, h)?,
                    up_proj: l.linear(&p("mlp.up_proj.weight"), c.intermediate_size, h)?,
                    down_proj: l.linear(&p("mlp.down_proj.weight"), h, c.intermediate_size)?,
                },
                input_layernorm: l.rms_norm(&p("input_layernorm.weight"), h, eps)?,
                post_attention_layernorm: l.rms_norm(&p("post_attention_layernorm.weight"), h, eps)?,
                pre_feedforward_layernorm: l.rms_norm(&p("pre_feedforward_layernorm.weight"), h, eps)?,
                post_feedforward_layernorm: l.rms_norm(&p("post_feedforward_layernorm.weight"), h, eps)?,
                layer_type: c.layer_types[i],
            });
        }
        let norm = l.rms_norm("norm.weight", h, eps)?;
        Ok(Self {
            inv_freq_local: rope::inv_freq(c.rope_local_base_freq, hd, 1.0),
            inv_freq_global: rope::inv_freq(c.rope_theta, hd, c.rope_scaling_factor),
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

    /// A cache whose full-attention layers hold `positions` without growing (so no step up
    /// to there copies the cache).
    pub fn new_cache_for(&self, positions: usize) -> KvCache {
        // Beyond this the buffers grow as they fill (a huge `max_tokens` must not allocate
        // gigabytes up front).
        const MAX_RESERVED: usize = 8192;
        let mut c = self.new_cache();
        for l in &mut c.layers {
            l.min_capacity = positions.min(MAX_RESERVED);
        }
        c
    }

    /// Runs `ids` (positions `cache.pos..`) through the model, updating the cache; returns the
    /// final hidden states `[T, hidden]` after the final norm.
    pub fn forward_hidden(&self, ids: &[u32], cache: &mut KvCache) -> Tensor<2> {
        let x = self.embed(ids);
        self.forward_embeds(x, &[], cache)
    }

    /// Token embeddings scaled by `sqrt(hidden)` (`Gemma3TextScaledWordEmbedding`), `[T, H]`.
    pub fn embed(&self, ids: &[u32]) -> Tensor<2> {
        self.embed_tokens.lookup(ids, &self.device) * self.embed_scale()
    }

    fn embed_scale(&self) -> f32 {
        (self.config.hidden_size as f64).sqrt() as f32
    }

    /// Runs the decoder on input embeddings `x [T, H]` at the cache's position. Positions in
    /// `blocks` (absolute, half-open) are image blocks: their tokens also attend to later
    /// tokens of the same block (transformers' `token_type_ids` rule); everything else is
    /// causal, and sliding layers still cut at the window.
    pub fn forward_embeds(&self, x: Tensor<2>, blocks: &[std::ops::Range<usize>], cache: &mut KvCache) -> Tensor<2> {
        match self.forward_embeds_until(x, blocks, cache, None) {
            Ok(h) => h,
            Err(_) => unreachable!("without a stop flag nothing fails"),
        }
    }

    /// [`Self::forward_embeds`], checking `stop` before each layer (see
    /// [`crate::device::stop_requested`]): once it is set the pass ends with
    /// [`EngineError::Stopped`]. The cache's position is left where it was, but the layers
    /// already run have written their keys: a stopped cache is for dropping.
    pub fn forward_embeds_until(
        &self,
        x: Tensor<2>,
        blocks: &[std::ops::Range<usize>],
        cache: &mut KvCache,
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> Result<Tensor<2>> {
        self.on_cpu_pool(|| self.layers_until(x, blocks, cache, stop))
    }

    /// Runs `f` on the CPU backend's thread pool ([`crate::kernels::cpu::on_pool`]): a
    /// pass's many split operations then stay inside the pool instead of each waking it from
    /// outside. On a GPU, here.
    fn on_cpu_pool<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if is_cube(&self.device) {
            f()
        } else {
            crate::kernels::cpu::on_pool(f)
        }
    }

    fn layers_until(
        &self,
        x: Tensor<2>,
        blocks: &[std::ops::Range<usize>],
        cache: &mut KvCache,
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> Result<Tensor<2>> {
        let t = x.dims()[0];
        let pos0 = cache.pos;
        if cache.rope.len() != 2 {
            cache.rope = vec![
                rope::Table::new(self.inv_freq_local.clone()),
                rope::Table::new(self.inv_freq_global.clone()),
            ];
        }
        // Whole tables: the fused GPU kernel indexes them by position; the composed path
        // slices its rows.
        let tabs_local = cache.rope[0].full(pos0 + t, &self.device);
        let tabs_global = cache.rope[1].full(pos0 + t, &self.device);
        // A chunk's mask is the same for every layer of one type (their caches hold the same
        // positions): built once per type per step.
        let mut masks: [Option<Tensor<3, Bool>>; 2] = [None, None];
        // Gemma's sandwich: each residual add is fused with the norm that follows it (the
        // post-attention norm with the pre-FFN norm, the post-FFN norm with the next layer's
        // input norm, the last layer's with the final norm).
        let Some(first) = self.layers.first() else {
            cache.pos += t;
            return Ok(self.norm.forward(x));
        };
        let mut h = first.input_layernorm.forward(x.clone());
        let mut x = x;
        for (i, (layer, lc)) in self.layers.iter().zip(cache.layers.iter_mut()).enumerate() {
            crate::device::stop_requested(&self.device, stop)?;
            let (tabs, mask) = match layer.layer_type {
                LayerType::Sliding => (&tabs_local, &mut masks[0]),
                LayerType::Full => (&tabs_global, &mut masks[1]),
            };
            let a = self.attention(layer, h, tabs, lc, pos0, blocks, mask);
            let (x2, hf) = add_rms_norm(x, a, &layer.post_attention_layernorm, &layer.pre_feedforward_layernorm);
            let m = layer.mlp.forward(hf);
            let next = self.layers.get(i + 1).map_or(&self.norm, |l| &l.input_layernorm);
            (x, h) = add_rms_norm(x2, m, &layer.post_feedforward_layernorm, next);
        }
        crate::device::stop_requested(&self.device, stop)?;
        cache.pos += t;
        Ok(h)
    }

    /// Logits `[rows, vocab]` of hidden states `[rows, hidden]`.
    pub fn lm_head(&self, h: Tensor<2>) -> Tensor<2> {
        let logits = self.on_cpu_pool(|| self.embed_tokens.logits(h));
        match self.config.final_logit_softcapping {
            Some(cap) => (logits / cap).tanh() * cap,
            None => logits,
        }
    }

    /// Processes `ids` and returns the logits of the last position (host f32); a device
    /// failure (lost device, out of memory on read-back) is an error, not a panic.
    pub fn forward_last(&self, ids: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        if ids.is_empty() {
            return Err(EngineError::Generation("no tokens to process".into()));
        }
        let h = self.forward_hidden(ids, cache);
        let t = ids.len();
        let last = h.slice([t - 1..t]);
        to_host(self.lm_head(last))
    }

    /// Processes `ids` and returns the most likely next token, chosen on the device: only its
    /// id comes back (4 bytes, not the vocabulary's logits). Ties go to the lowest id on the
    /// host sampler; a device reduction may break an exact tie differently.
    pub fn forward_greedy(&self, ids: &[u32], cache: &mut KvCache) -> Result<u32> {
        if ids.is_empty() {
            return Err(EngineError::Generation("no tokens to process".into()));
        }
        let h = self.forward_hidden(ids, cache);
        let t = ids.len();
        Ok(self.greedy_of(self.lm_head(h.slice([t - 1..t])))?.0)
    }

    /// One greedy decode step for the token `tok`, which the previous step may have left on
    /// the device (`on_device`, from [`greedy_of`](Self::greedy_of)): then its embedding is
    /// gathered there and nothing is uploaded. Returns the next token and its device copy.
    pub fn decode_greedy(&self, tok: u32, on_device: Option<&Tensor<1, Int>>, cache: &mut KvCache) -> Result<(u32, Tensor<1, Int>)> {
        let logits = self.step_logits(tok, on_device, cache);
        self.greedy_of(logits)
    }

    /// One decode step for `tok` (gathered on the device from `on_device` when the previous
    /// step left it there), leaving the logits `[1, vocab]` on the device.
    pub fn step_logits(&self, tok: u32, on_device: Option<&Tensor<1, Int>>, cache: &mut KvCache) -> Tensor<2> {
        let x = match (&self.embed_tokens, on_device) {
            (Embedding::Quant(q), Some(id)) => q.gather_device(id, self.embed_scale()),
            _ => self.embed(&[tok]),
        };
        let h = self.forward_embeds(x, &[], cache);
        self.lm_head(h)
    }

    /// The most likely token of `logits [1, vocab]`, chosen on the device: only its id comes
    /// back (4 bytes, not the vocabulary's logits), and a device copy stays for the next
    /// step's embedding. Ties go to the lowest id, as on the host.
    fn greedy_of(&self, logits: Tensor<2>) -> Result<(u32, Tensor<1, Int>)> {
        let best = fused::argmax_device(logits);
        let id = read_id(&best)?;
        if id as usize >= self.config.vocab_size {
            return Err(EngineError::Device(format!("the device chose token {id}, outside the vocabulary")));
        }
        Ok((id, best))
    }

    /// Bytes of weights one decode step reads: every layer's matrices and the LM head (at
    /// their stored size, quantized or f32), not the embedding row it gathers.
    pub fn weight_bytes_per_token(&self) -> u64 {
        let lin = |l: &Linear| l.weight_bytes();
        let per_layer: u64 = self
            .layers
            .iter()
            .map(|l| {
                let a = &l.self_attn;
                lin(&a.q_proj) + lin(&a.k_proj) + lin(&a.v_proj) + lin(&a.o_proj)
                    + lin(&l.mlp.gate_proj) + lin(&l.mlp.up_proj) + lin(&l.mlp.down_proj)
            })
            .sum();
        per_layer + self.embed_tokens.bytes()
    }

    /// Processes `ids` and returns the logits of every position, row-major `[T, vocab]`.
    pub fn forward_all(&self, ids: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let h = self.forward_hidden(ids, cache);
        to_host(self.lm_head(h))
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        layer: &DecoderLayer,
        x: Tensor<2>,
        (cos, sin): &(Tensor<3>, Tensor<3>),
        lc: &mut LayerCache,
        pos0: usize,
        blocks: &[std::ops::Range<usize>],
        mask: &mut Option<Tensor<3, Bool>>,
    ) -> Tensor<2> {
        let c = &self.config;
        let a = &layer.self_attn;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let g = nh / nkv;
        let t = x.dims()[0];
        if t == 1 && is_cube(&self.device) && hd <= 256 {
            return self.decode_attention(layer, x, (cos, sin), lc, pos0);
        }
        let q = a.q_proj.forward(x.clone()).reshape([t, nh, hd]);
        let k = a.k_proj.forward(x.clone()).reshape([t, nkv, hd]);
        let v = a.v_proj.forward(x).reshape([t, nkv, hd]);
        let scaling = c.query_pre_attn_scalar.powf(-0.5);
        // The attention scale rides on q: (s·q)·k instead of s·(q·k), one pass fewer.
        let (q, k) = (
            fused::norm_rope(q, &a.q_norm.scale, a.q_norm.eps, cos, sin, pos0, scaling as f32),
            fused::norm_rope(k, &a.k_norm.scale, a.k_norm.eps, cos, sin, pos0, 1.0),
        );
        // [heads, T, hd]
        let q = q.swap_dims(0, 1);
        let k = k.swap_dims(0, 1);
        let v = v.swap_dims(0, 1);
        let sliding = layer.layer_type == LayerType::Sliding;
        let window = c.sliding_window;
        let qg = q.reshape([nkv, g * t, hd]);
        // transformers' Gemma 3 attention does not apply `attn_logit_softcapping` (a Gemma 2
        // field kept in the config); neither does llama.cpp's gemma3 graph. Follow them.
        let out = if t == 1 {
            // One new token (decode) on the CPU backend (the GPU takes `decode_attention`):
            // store its key/value first, then attend over the valid
            // slots in place, with no mask. Every cached key is visible to it: full layers
            // hold only the past, and a ring holds exactly the window ending at this token
            // (its valid slots are the prefix 0..min(pos+1, window)). An image block's
            // later-token rule never applies to a single token.
            let n = if sliding {
                lc.write_ring(k, v, pos0, window, &self.device);
                (pos0 + 1).min(window)
            } else {
                lc.append(k, v, pos0, &self.device);
                lc.len()
            };
            let (kc, vc) = match (&lc.k, &lc.v) {
                (Some(kc), Some(vc)) => (kc, vc),
                _ => unreachable!("written above"),
            };
            count_attention(0, n);
            fused::decode_attention(qg.reshape([nh, hd]), kc, vc, n).reshape([nkv, g, hd])
        } else {
            let filled = lc.len();
            // Keys visible to this chunk: every cached slot, then the chunk's own.
            let (k_all, v_all) = match (&lc.k, &lc.v) {
                (Some(pk), Some(pv)) if filled > 0 => (
                    Tensor::cat(vec![pk.clone().slice([0..nkv, 0..filled, 0..hd]), k.clone()], 1),
                    Tensor::cat(vec![pv.clone().slice([0..nkv, 0..filled, 0..hd]), v.clone()], 1),
                ),
                _ => (k.clone(), v.clone()),
            };
            let l = filled + t;
            count_attention(2 * nkv * filled * hd * 4, t * l);
            let mask = mask.get_or_insert_with(|| self.chunk_mask(&lc.slot_pos, pos0, t, g, sliding, blocks));
            let scores = qg.matmul(k_all.swap_dims(1, 2)).mask_fill(mask.clone(), -1.0e30f32);
            let out = softmax_last(scores).matmul(v_all);
            if sliding {
                lc.write_ring(k, v, pos0, window, &self.device);
            } else {
                lc.append(k, v, pos0, &self.device);
            }
            out
        }; // [nkv, g*T, hd]
        let out = out.reshape([nh, t, hd]).swap_dims(0, 1).reshape([t, nh * hd]);
        a.o_proj.forward(out)
    }

    /// Attention of one new token on the GPU, in four launches: q/k/v projections (one
    /// gemv when all three are single-part quantized matrices), q/k norm + RoPE with the
    /// key and value stored straight into their cache slot, attention over the valid slots
    /// in place (no mask: full layers hold only the past, and a ring's valid slots are its
    /// prefix `0..min(pos+1, window)`), and the output projection.
    fn decode_attention(
        &self,
        layer: &DecoderLayer,
        x: Tensor<2>,
        (cos, sin): (&Tensor<3>, &Tensor<3>),
        lc: &mut LayerCache,
        pos: usize,
    ) -> Tensor<2> {
        let c = &self.config;
        let a = &layer.self_attn;
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let fused_qkv = match (&a.q_proj.weight, &a.k_proj.weight, &a.v_proj.weight) {
            (LinearWeight::Quant(q), LinearWeight::Quant(k), LinearWeight::Quant(v))
                if a.q_proj.bias.is_none() && a.k_proj.bias.is_none() && a.v_proj.bias.is_none() =>
            {
                QTensor::gemv_multi(&[q, k, v], &x)
            }
            _ => None,
        };
        let (q, k, v, offs) = match fused_qkv {
            Some(qkv) => (qkv.clone(), qkv.clone(), qkv, [0, nh * hd, (nh + nkv) * hd]),
            None => (a.q_proj.forward(x.clone()), a.k_proj.forward(x.clone()), a.v_proj.forward(x), [0, 0, 0]),
        };
        let (slot, n) = match layer.layer_type {
            LayerType::Sliding => lc.ring_slot(pos, c.sliding_window, nkv, hd, &self.device),
            LayerType::Full => lc.append_slot(pos, nkv, hd, &self.device),
        };
        let (Some(kc), Some(vc)) = (lc.k.take(), lc.v.take()) else { unreachable!("allocated by the slot call") };
        let scaling = c.query_pre_attn_scalar.powf(-0.5) as f32;
        let (q, kc, vc) = fused::qkv_store(
            (&q, &k, &v),
            offs,
            (&a.q_norm.scale, a.q_norm.eps),
            (&a.k_norm.scale, a.k_norm.eps),
            (cos, sin),
            (kc, vc),
            [nh, nkv, hd],
            slot,
            pos,
            scaling,
        );
        count_attention(0, n);
        let o = fused::decode_attention(q, &kc, &vc, n);
        lc.k = Some(kc);
        lc.v = Some(vc);
        a.o_proj.forward(o.reshape([1, nh * hd]))
    }

    /// The mask `[1, g*T, L]` (true where masked) of a chunk at `pos0..pos0+t` over the
    /// cached slots `slot_pos` followed by the chunk's own keys. Allowed: the past (and,
    /// inside one image block, the block's later tokens), within the window on sliding layers.
    fn chunk_mask(
        &self,
        slot_pos: &[usize],
        pos0: usize,
        t: usize,
        g: usize,
        sliding: bool,
        blocks: &[std::ops::Range<usize>],
    ) -> Tensor<3, Bool> {
        let window = self.config.sliding_window;
        let key_pos: Vec<usize> = slot_pos.iter().copied().chain(pos0..pos0 + t).collect();
        let l = key_pos.len();
        let block_of = |p: usize| blocks.iter().position(|b| b.contains(&p));
        let key_block: Vec<Option<usize>> =
            key_pos.iter().map(|&kp| if kp == EMPTY_SLOT { None } else { block_of(kp) }).collect();
        let mut mask = Vec::with_capacity(g * t * l);
        for qi in 0..t {
            let qp = pos0 + qi;
            let qb = block_of(qp);
            for (&kp, &kb) in key_pos.iter().zip(&key_block) {
                let visible = kp != EMPTY_SLOT && (kp <= qp || (qb.is_some() && qb == kb));
                let in_window = !sliding || kp.saturating_add(window) > qp;
                mask.push(!(visible && in_window));
            }
        }
        // The same rows for each of the g query heads sharing a KV head.
        let one = mask.clone();
        for _ in 1..g {
            mask.extend_from_slice(&one);
        }
        upload(TensorData::new(mask, [1, g * t, l]), &self.device)
    }
}

/// The one token id in `t` (`[1]`, u32 from the device kernels or i64 from burn's argmax),
/// read back (4 or 8 bytes, counted).
pub fn read_id(t: &Tensor<1, Int>) -> Result<u32> {
    let data = t
        .clone()
        .try_into_data()
        .map_err(|e| EngineError::Device(format!("reading back from the device: {e:?}")))?;
    crate::profile::count_readback(data.bytes().len());
    let id = match data.dtype() {
        burn::tensor::DType::U32 => data.iter::<u32>().next(),
        _ => data.iter::<i64>().next().map(|i| i as u32),
    };
    id.ok_or_else(|| EngineError::Device("the device returned no token".into()))
}
