//! `medlens generate`: text generation with the Gemma 3 engine.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use medlens_engine::device::{self, DeviceChoice};
use medlens_engine::generate::{generate, GenerateOptions, StopReason, TextStream};
use medlens_engine::text::chat_template::Message;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model: a GGUF file, or an HF directory / safetensors file with config.json next to it.
    #[arg(long)]
    pub model: PathBuf,
    /// tokenizer.json (default: next to the model, else built from GGUF metadata).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    #[arg(long)]
    pub prompt: String,
    /// System text (folded into the first user turn by the Gemma 3 chat template).
    #[arg(long)]
    pub system: Option<String>,
    /// Wrap the prompt in the chat template.
    #[arg(long)]
    pub chat: bool,
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    #[command(flatten)]
    pub sampling: crate::sampling_args::SamplingArgs,
    /// auto, gpu or cpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Print one JSON object instead of streaming text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let choice: DeviceChoice = a.device.parse().map_err(anyhow::Error::msg)?;
    let sel = device::select(choice)?;
    if let Some(n) = &sel.notice {
        eprintln!("medlens: {n}");
    }
    let t_load = std::time::Instant::now();
    let loaded = medlens_engine::serve::load::load_text(&a.model, a.tokenizer.as_deref(), &sel.device)
        .with_context(|| format!("loading {}", a.model.display()))?;
    let load_s = t_load.elapsed().as_secs_f64();
    let tok = &loaded.tokenizer;
    let prompt_ids = if a.chat || a.system.is_some() {
        let mut msgs = Vec::new();
        if let Some(s) = &a.system {
            msgs.push(Message::new("system", s));
        }
        msgs.push(Message::new("user", &a.prompt));
        tok.encode_chat(&msgs, true)?
    } else {
        tok.encode(&a.prompt, true)?
    };
    let sampling = a.sampling.params();
    let opts = GenerateOptions {
        max_tokens: a.max_tokens,
        sampling,
        stop_ids: tok.stop_ids(),
        top_logprobs: if a.json { 5 } else { 0 },
    };
    let cancel = AtomicBool::new(false);
    let mut text_stream = TextStream::new(tok);
    let stream = !a.json;
    let mut stdout = std::io::stdout();
    let out = generate(&loaded.model, &prompt_ids, &opts, &cancel, |t| {
        if let Some(new) = text_stream.push(t) {
            if stream {
                let _ = write!(stdout, "{new}");
                let _ = stdout.flush();
            }
        }
        true
    });
    if out.stop == StopReason::Failed {
        anyhow::bail!("generation stopped after {} tokens: {}", out.tokens.len(), out.error.as_deref().unwrap_or("device failure"));
    }
    let text = tok.decode(&out.tokens, true)?;
    if a.json {
        let logprobs: Vec<Vec<serde_json::Value>> = out
            .logprobs
            .iter()
            .map(|s| {
                s.iter()
                    .map(|&(id, lp)| {
                        serde_json::json!({"id": id, "token": tok.id_to_token(id), "logprob": lp})
                    })
                    .collect()
            })
            .collect();
        let n = out.tokens.len().max(1) as f64;
        let j = serde_json::json!({
            "prompt_ids": out.prompt_ids,
            "tokens": out.tokens,
            "text": text,
            "logprobs": logprobs,
            "stop": out.stop,
            "device": sel.name,
            "timings": {
                "load_s": load_s,
                "prefill_s": out.prefill_s,
                "decode_s": out.decode_s,
                "prefill_tokens_per_s": out.prompt_ids.len() as f64 / out.prefill_s.max(1e-9),
                "decode_tokens_per_s": (n - 1.0).max(0.0) / out.decode_s.max(1e-9),
            }
        });
        println!("{j}");
    } else {
        if let Some(rest) = text.strip_prefix(text_stream.text()) {
            print!("{rest}");
        }
        println!();
    }
    Ok(())
}
