//! Generation loop: prefill in one pass, then decode step by step with a streaming callback
//! and cancellation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::{DType, Int, Tensor, TensorData};

use crate::device::is_cube;
use crate::kernels::sample;
use crate::models::gemma3::{read_id, Gemma3};
use crate::nn::KvCache;
use crate::profile::upload;

pub mod sampling;
pub mod stream;

pub use sampling::{argmax, top_logprobs, Sampler, SamplingParams};
pub use stream::TextStream;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    /// Generation stops after emitting one of these (EOS, `<end_of_turn>`).
    pub stop_ids: Vec<u32>,
    /// How many top log-probabilities to record per step (0 = none).
    pub top_logprobs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    MaxTokens,
    StopToken,
    Cancelled,
    /// The device failed mid-generation; `GenerateOutput::error` says how.
    Failed,
}

#[derive(Debug, Clone)]
pub struct GenerateOutput {
    pub prompt_ids: Vec<u32>,
    pub tokens: Vec<u32>,
    /// Why generation stopped early when `stop` is `Failed`.
    pub error: Option<String>,
    /// Per step, the top log-probabilities of the raw model distribution, best first.
    pub logprobs: Vec<Vec<(u32, f32)>>,
    pub stop: StopReason,
    pub prefill_s: f64,
    pub decode_s: f64,
}

impl GenerateOutput {
    /// Nothing generated yet for `prompt_ids`.
    pub fn new(prompt_ids: &[u32]) -> Self {
        Self {
            prompt_ids: prompt_ids.to_vec(),
            tokens: Vec::new(),
            error: None,
            logprobs: Vec::new(),
            stop: StopReason::MaxTokens,
            prefill_s: 0.0,
            decode_s: 0.0,
        }
    }
}

/// Generates from `prompt_ids`. `on_token` is called with each new token; returning `false`
/// stops generation (as does setting `cancel`).
pub fn generate(
    model: &Gemma3,
    prompt_ids: &[u32],
    opts: &GenerateOptions,
    cancel: &AtomicBool,
    on_token: impl FnMut(u32) -> bool,
) -> GenerateOutput {
    let mut out = GenerateOutput::new(prompt_ids);
    if prompt_ids.is_empty() || opts.max_tokens == 0 {
        return out;
    }
    let mut cache = model.new_cache_for(prompt_ids.len() + opts.max_tokens);
    let t0 = Instant::now();
    let logits = match model.forward_last(prompt_ids, &mut cache) {
        Ok(l) => l,
        Err(e) => {
            out.stop = StopReason::Failed;
            out.error = Some(e.to_string());
            return out;
        }
    };
    out.prefill_s = t0.elapsed().as_secs_f64();
    decode_loop(model, logits, &mut cache, out, opts, cancel, on_token)
}

/// The decode loop after a prefill (text, or MedGemma's with images): samples from
/// `logits` (the last prompt position's), feeds each token back through `model` with
/// `cache`, and fills `out.tokens`, `out.logprobs`, `out.stop` and `out.decode_s`.
pub fn decode_loop(
    model: &Gemma3,
    logits: Vec<f32>,
    cache: &mut KvCache,
    mut out: GenerateOutput,
    opts: &GenerateOptions,
    cancel: &AtomicBool,
    mut on_token: impl FnMut(u32) -> bool,
) -> GenerateOutput {
    let mut sampler = Sampler::new(opts.sampling.clone());
    let p = &opts.sampling;
    // Nothing that needs the whole distribution on the host (log-probabilities): the device
    // picks the token and only its id comes back. Plain greedy takes one arg-max launch; a
    // penalty or sampling takes the device sampler, which asks for the logits only when its
    // candidates cannot decide (see `kernels::sample`).
    let on_device = opts.top_logprobs == 0;
    let plain_greedy = p.temperature <= 0.0 && p.repetition_penalty == 1.0;
    let device_sampler = on_device && !plain_greedy && is_cube(&model.device);
    let mut history = out.prompt_ids.clone();
    let mut next = Next::Logits(logits);
    // The token the device chose last step, kept there for the next step's embedding (so a
    // step uploads nothing).
    let mut on_device_id = None;
    // The penalty's history on the device (prompt and generated ids; the pick appends).
    let mut device_history: Option<Tensor<1, Int>> = None;
    let t1 = Instant::now();
    loop {
        if cancel.load(Ordering::Relaxed) {
            out.stop = StopReason::Cancelled;
            break;
        }
        let tok = match &mut next {
            Next::Token(t) => *t,
            Next::Logits(logits) if logits.is_empty() => {
                out.stop = StopReason::Failed;
                out.error.get_or_insert_with(|| "the model returned no logits".into());
                break;
            }
            Next::Logits(logits) => {
                if opts.top_logprobs > 0 {
                    out.logprobs.push(top_logprobs(logits, opts.top_logprobs));
                }
                sampler.sample(logits, &history)
            }
        };
        out.tokens.push(tok);
        history.push(tok);
        let keep_going = on_token(tok);
        if opts.stop_ids.contains(&tok) {
            out.stop = StopReason::StopToken;
            break;
        }
        if !keep_going {
            out.stop = StopReason::Cancelled;
            break;
        }
        if out.tokens.len() >= opts.max_tokens {
            break;
        }
        let step = if device_sampler {
            let hist = device_history.get_or_insert_with(|| {
                let mut h = history.clone();
                h.resize(history.len() + opts.max_tokens + 1, 0);
                let n = h.len();
                upload::<1, Int>(TensorData::new(h, [n]), (&model.device, DType::U32))
            });
            sample_step(model, tok, &mut on_device_id, hist, history.len(), &mut sampler, cache).map(|(t, resync)| {
                if resync {
                    device_history = None;
                }
                Next::Token(t)
            })
        } else if on_device && plain_greedy {
            model.decode_greedy(tok, on_device_id.as_ref(), cache).map(|(t, id)| {
                on_device_id = Some(id);
                Next::Token(t)
            })
        } else {
            model.forward_last(&[tok], cache).map(Next::Logits)
        };
        next = match step {
            Ok(n) => n,
            Err(e) => {
                out.stop = StopReason::Failed;
                out.error = Some(e.to_string());
                break;
            }
        };
    }
    out.decode_s = t1.elapsed().as_secs_f64();
    out
}

/// One decode step sampled on the device: the penalty over `hist[0..len]`, then the pick
/// with this step's uniform number, which also records the token in `hist[len]`. Only the
/// id comes back, and it stays on the device for the next step. When the best candidates
/// cannot decide, the logits come back and the host picks with the same number; the token
/// then goes up next step, and the returned flag asks for the history to be uploaded again.
fn sample_step(
    model: &Gemma3,
    tok: u32,
    on_device_id: &mut Option<Tensor<1, Int>>,
    hist: &Tensor<1, Int>,
    len: usize,
    sampler: &mut Sampler,
    cache: &mut KvCache,
) -> crate::Result<(u32, bool)> {
    let p = sampler.params.clone();
    let mut logits = model.step_logits(tok, on_device_id.as_ref(), cache);
    let penalty = p.repetition_penalty != 1.0;
    if penalty {
        logits = sample::penalize(logits, hist, len, p.repetition_penalty);
    }
    let r = if p.temperature > 0.0 { sampler.draw() } else { 0.0 };
    let pick = sample::Pick { temperature: p.temperature, top_k: p.top_k, top_p: p.top_p, min_p: p.min_p, r };
    let id = sample::sample_pick(logits.clone(), hist, len, penalty, pick);
    let chosen = read_id(&id)?;
    if chosen != sample::NEED_HOST {
        if chosen as usize >= model.config.vocab_size {
            return Err(crate::EngineError::Device(format!("the device chose token {chosen}, outside the vocabulary")));
        }
        *on_device_id = Some(id);
        return Ok((chosen, false));
    }
    let host = crate::nn::to_host(logits)?;
    *on_device_id = None;
    Ok((sampler.pick(&host, r), penalty))
}

/// What a decode step hands the loop: the logits to sample from, or the token the device
/// already chose.
enum Next {
    Logits(Vec<f32>),
    Token(u32),
}
