//! `medlens bench`: prefill and decode speed and peak memory of the Gemma 3 engine.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use medlens_engine::device::{self, DeviceChoice};
use medlens_engine::gemma3::Gemma3;
use medlens_engine::loader::{config_by_name, RandomWeights};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("weights").required(true).args(["model", "random_weights"])))]
pub struct Args {
    /// A GGUF file or HF model directory.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Shape-exact random weights from a config: `medgemma-4b`, `gemma3-270m` or a config.json.
    #[arg(long)]
    pub random_weights: Option<String>,
    /// Keep only the first N layers (random weights), to fit memory.
    #[arg(long)]
    pub layers: Option<usize>,
    /// Random weights as `q4_k_m` blocks (llama.cpp's mix; GPU only: the CPU backend computes
    /// in f32) or `f32`.
    #[arg(long, default_value = "q4_k_m")]
    pub quant: String,
    #[arg(long, default_value_t = 128)]
    pub prompt_tokens: usize,
    #[arg(long, default_value_t = 32)]
    pub gen_tokens: usize,
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long)]
    pub json: bool,
}

/// Peak resident set size of this process (VmHWM), bytes.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The most device memory the allocator's pools ever held (pages at peak × page size).
fn device_peak(d: &medlens_engine::Device) -> Option<u64> {
    let pools = d.memory_pool_report()?;
    Some(pools.iter().map(|p| p.pages_peak * p.page_size).sum())
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let choice: DeviceChoice = a.device.parse().map_err(anyhow::Error::msg)?;
    let sel = device::select(choice)?;
    if let Some(n) = &sel.notice {
        eprintln!("medlens: {n}");
    }
    let t = Instant::now();
    let (model, what): (Gemma3, String) = match (&a.model, &a.random_weights) {
        (Some(p), _) => {
            let l = medlens_engine::loader::load(p, None, &sel.device)
                .with_context(|| format!("loading {}", p.display()))?;
            (l.model, p.display().to_string())
        }
        (None, Some(name)) => {
            let mut cfg = config_by_name(name)?;
            if let Some(n) = a.layers {
                cfg.num_hidden_layers = n.min(cfg.num_hidden_layers);
                cfg.layer_types.truncate(cfg.num_hidden_layers);
            }
            let mut src = RandomWeights::new(cfg.clone(), 1);
            let what = match a.quant.as_str() {
                "q4_k_m" if medlens_engine::gemma3::keeps_quantized(&sel.device) => {
                    src = src.q4_k_m();
                    format!("random weights ({name}, Q4_K_M)")
                }
                "q4_k_m" => format!("random weights ({name}, f32: the CPU backend computes in f32)"),
                "f32" => format!("random weights ({name}, f32)"),
                o => anyhow::bail!("--quant {o}: expected q4_k_m or f32"),
            };
            (Gemma3::load(cfg, &src, &sel.device)?, what)
        }
        _ => unreachable!("clap group"),
    };
    let load_s = t.elapsed().as_secs_f64();
    let weights_bytes = sel.device.memory_pool_usage().map(|u| u.bytes_in_use);
    let v = model.config.vocab_size as u32;
    let prompt: Vec<u32> = (0..a.prompt_tokens as u32).map(|i| 2 + (i * 7919) % (v - 2)).collect();
    // Warm-up (kernel compilation on wgpu): a short prefill and one decode step.
    {
        let mut c = model.new_cache();
        let _ = model.forward_last(&prompt[..prompt.len().min(8)], &mut c);
        let _ = model.forward_last(&[5], &mut c);
    }
    let mut cache = model.new_cache();
    let t = Instant::now();
    let mut logits = model.forward_last(&prompt, &mut cache);
    let prefill_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..a.gen_tokens {
        let next = medlens_engine::sampling::argmax(&logits);
        logits = model.forward_last(&[next], &mut cache);
    }
    let decode_s = t.elapsed().as_secs_f64();
    let r = serde_json::json!({
        "model": what,
        "device": sel.name,
        "layers": model.config.num_hidden_layers,
        "load_s": load_s,
        "prompt_tokens": a.prompt_tokens,
        "gen_tokens": a.gen_tokens,
        "prefill_tokens_per_s": a.prompt_tokens as f64 / prefill_s,
        "decode_tokens_per_s": a.gen_tokens as f64 / decode_s,
        "peak_rss_bytes": peak_rss(),
        "device_weights_bytes": weights_bytes,
        "device_reserved_bytes": sel.device.memory_pool_usage().map(|u| u.bytes_reserved),
        "device_peak_bytes": device_peak(&sel.device),
    });
    if a.json {
        println!("{r}");
    } else {
        println!(
            "{what} on {}: prefill {:.1} tok/s ({} tokens), decode {:.2} tok/s ({} tokens), peak RSS {:.0} MiB, device weights {:.0} MiB, device peak {:.0} MiB, load {:.1} s",
            sel.name,
            r["prefill_tokens_per_s"].as_f64().unwrap_or(0.0),
            a.prompt_tokens,
            r["decode_tokens_per_s"].as_f64().unwrap_or(0.0),
            a.gen_tokens,
            peak_rss().unwrap_or(0) as f64 / 1048576.0,
            weights_bytes.unwrap_or(0) as f64 / 1048576.0,
            device_peak(&sel.device).unwrap_or(0) as f64 / 1048576.0,
            load_s
        );
    }
    Ok(())
}
