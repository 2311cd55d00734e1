//! Generation loop: prefill in one pass, then decode step by step with a streaming callback
//! and cancellation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::models::gemma3::Gemma3;
use crate::nn::KvCache;

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
    // Greedy with nothing that needs the whole distribution on the host: the device picks
    // the token and only its id comes back.
    let p = &opts.sampling;
    let on_device = p.temperature <= 0.0 && p.repetition_penalty == 1.0 && opts.top_logprobs == 0;
    let mut history = out.prompt_ids.clone();
    let mut next = Next::Logits(logits);
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
        let step = if on_device {
            model.forward_greedy(&[tok], cache).map(Next::Token)
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

/// What a decode step hands the loop: the logits to sample from, or the token the device
/// already chose.
enum Next {
    Logits(Vec<f32>),
    Token(u32),
}
