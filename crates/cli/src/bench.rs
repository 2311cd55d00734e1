//! `medlens bench`: prefill and decode speed and peak memory of the Gemma 3 engine.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use medlens_engine::device::{self, DeviceChoice};
use medlens_engine::models::gemma3::Gemma3;
use medlens_engine::serve::random::{config_by_name, RandomGemma3, RandomMedGemma, RandomSiglip};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("weights").required(true).args(["model", "random_weights"])))]
pub struct Args {
    /// A GGUF file or HF model directory.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Shape-exact random weights from a config: `medgemma-4b` (with its vision tower),
    /// `medgemma-4b-text` (its decoder alone), `gemma3-270m`, a config.json,
    /// or `medsiglip-448` (image and text embedding times).
    #[arg(long)]
    pub random_weights: Option<String>,
    /// Keep only the first N layers (random weights), to fit memory.
    #[arg(long)]
    pub layers: Option<usize>,
    /// Random weights as `q4_k_m` blocks (llama.cpp's mix; kept quantized on the GPU and on the
    /// CPU) or `f32`.
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
    /// Also print a table of what one decode step asks of the device (launches by kernel,
    /// uploads, read-backs, KV bytes copied) and the gemv roofline fraction.
    #[arg(long)]
    pub profile: bool,
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
    if a.random_weights.as_deref() == Some("medsiglip-448") {
        return bench_siglip(&a, &sel);
    }
    if a.random_weights.as_deref() == Some("medgemma-4b") {
        return bench_medgemma(&a, &sel);
    }
    let t = Instant::now();
    let (model, what): (Gemma3, String) = match (&a.model, &a.random_weights) {
        (Some(p), _) => {
            let l = medlens_engine::serve::load::load_text(p, None, &sel.device)
                .with_context(|| format!("loading {}", p.display()))?;
            (l.model, p.display().to_string())
        }
        (None, Some(name)) => {
            let mut cfg = config_by_name(name)?;
            if let Some(n) = a.layers {
                cfg.num_hidden_layers = n.min(cfg.num_hidden_layers);
                cfg.layer_types.truncate(cfg.num_hidden_layers);
            }
            let mut src = RandomGemma3::new(cfg.clone(), 1);
            let what = match a.quant.as_str() {
                "q4_k_m" if medlens_engine::device::keeps_quantized(&sel.device) => {
                    src = src.q4_k_m();
                    format!("random weights ({name}, Q4_K_M)")
                }
                "q4_k_m" => format!("random weights ({name}, f32: MEDLENS_ENGINE_DENSE=1 keeps every weight in f32)"),
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
    medlens_engine::profile::observe_launches();
    // Warm-up (kernel compilation on wgpu): a short prefill and two decode steps.
    let ((), warm) = medlens_engine::profile::kernels_launched(|| {
        let mut c = model.new_cache();
        let _ = model.forward_last(&prompt[..prompt.len().min(8)], &mut c);
        let _ = model.forward_greedy(&[5], &mut c);
        let _ = model.forward_greedy(&[6], &mut c);
    });
    let mut cache = model.new_cache_for(prompt.len() + a.gen_tokens + 1);
    let t = Instant::now();
    let logits = model.forward_last(&prompt, &mut cache)?;
    let prefill_s = t.elapsed().as_secs_f64();
    let first = medlens_engine::generate::argmax(&logits);
    let dec = decode_profiled(&model, &mut cache, first, a.gen_tokens, &sel.device, warm)?;
    let r = serde_json::json!({
        "model": what,
        "device": sel.name,
        "layers": model.config.num_hidden_layers,
        "load_s": load_s,
        "prompt_tokens": a.prompt_tokens,
        "gen_tokens": a.gen_tokens,
        "prefill_tokens_per_s": a.prompt_tokens as f64 / prefill_s,
        "decode_tokens_per_s": dec.tokens_per_s,
        "decode_step": dec.step,
        "peak_rss_bytes": peak_rss(),
        "device_weights_bytes": weights_bytes,
        "device_reserved_bytes": sel.device.memory_pool_usage().map(|u| u.bytes_reserved),
        "device_peak_bytes": device_peak(&sel.device),
        "context": context(&sel.device),
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
    if a.profile {
        print_profile(&r);
    }
    Ok(())
}

/// MedSigLIP at the real 448 configuration with shape-exact random weights: image-embedding
/// time (one image) and text-embedding time for the 13 labels of the chest set (each padded
/// to 64 tokens, as the model card does). `--quant f32|f16|q8_0` (q4_k_m means f16 here).
fn bench_siglip(a: &Args, sel: &device::Selected) -> anyhow::Result<()> {
    use medlens_engine::quant::GgmlType;
    use medlens_engine::models::siglip::{Siglip, SiglipConfig};
    let cfg = SiglipConfig::medsiglip_448();
    let rw = RandomSiglip::new(&cfg, 1);
    let ty = match a.quant.as_str() {
        "f32" => None,
        "f16" | "q4_k_m" => Some(GgmlType::F16),
        "q8_0" => Some(GgmlType::Q8_0),
        o => anyhow::bail!("--quant {o}: expected f32, f16 or q8_0 for medsiglip-448"),
    };
    let t = Instant::now();
    let model = match ty {
        Some(ty) => Siglip::load(cfg.clone(), &medlens_engine::weights::quantize::QuantizeOnLoad { inner: &rw, ty }, &sel.device)?,
        None => Siglip::load(cfg.clone(), &rw, &sel.device)?,
    };
    let load_s = t.elapsed().as_secs_f64();
    let weights_bytes = sel.device.memory_pool_usage().map(|u| u.bytes_in_use);
    loaded_notice(load_s, sel);
    let s = cfg.vision.image_size;
    let pixels: Vec<f32> = (0..3 * s * s).map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0).collect();
    let labels = 13usize;
    let ids: Vec<Vec<u32>> = (0..labels).map(|l| (0..64).map(|i| ((l * 131 + i * 17) % 30000) as u32 + 2).collect()).collect();
    // Warm-up: kernels compile on first use.
    model.image_embeds(&pixels, 1)?;
    model.text_embeds(&ids[..1])?;
    let reps = a.gen_tokens.clamp(1, 10);
    let t = Instant::now();
    for _ in 0..reps {
        model.image_embeds(&pixels, 1)?;
    }
    let image_s = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        model.text_embeds(&ids)?;
    }
    let text_s = t.elapsed().as_secs_f64() / reps as f64;
    let r = serde_json::json!({
        "model": format!("random weights (medsiglip-448, {})", ty.map_or("F32", |t| t.name())),
        "device": sel.name,
        "load_s": load_s,
        "repetitions": reps,
        "image_embed_s": image_s,
        "text_embed_13_labels_s": text_s,
        "peak_rss_bytes": peak_rss(),
        "device_weights_bytes": weights_bytes,
        "device_peak_bytes": device_peak(&sel.device),
    });
    if a.json {
        println!("{r}");
    } else {
        println!(
            "{} on {}: image embedding {:.3} s, 13-label text embeddings {:.3} s (mean of {reps}), device weights {:.0} MiB, peak RSS {:.0} MiB",
            r["model"].as_str().unwrap_or(""),
            sel.name,
            image_s,
            text_s,
            weights_bytes.unwrap_or(0) as f64 / 1048576.0,
            peak_rss().unwrap_or(0) as f64 / 1048576.0
        );
    }
    Ok(())
}

/// MedGemma-4B with shape-exact random weights: the text model in Q4_K_M blocks, the vision
/// tower in f16 (`--quant f32` keeps both f32). Measures the vision encode of one 896 px
/// image, the prefill of a prompt with its 256 image tokens plus `--prompt-tokens` text
/// tokens, decode tokens/s, and the device memory the allocator held.
fn bench_medgemma(a: &Args, sel: &device::Selected) -> anyhow::Result<()> {
    use medlens_engine::models::medgemma::{Config, MedGemma, MEDGEMMA_4B_CONFIG};
    use medlens_engine::quant::GgmlType;
    let mut cfg = Config::from_hf_json(std::path::Path::new("<builtin medgemma-4b>"), MEDGEMMA_4B_CONFIG)?;
    if let Some(n) = a.layers {
        cfg.text.num_hidden_layers = n.min(cfg.text.num_hidden_layers);
        cfg.text.layer_types.truncate(cfg.text.num_hidden_layers);
    }
    let quant = a.quant.as_str() == "q4_k_m" && medlens_engine::device::keeps_quantized(&sel.device);
    let rw = RandomMedGemma::new(&cfg, 1, quant);
    let t = Instant::now();
    let model = if quant {
        MedGemma::load(cfg.clone(), &medlens_engine::weights::quantize::QuantizeOnLoad { inner: &rw, ty: GgmlType::F16 }, &sel.device)?
    } else {
        MedGemma::load(cfg.clone(), &rw, &sel.device)?
    };
    let load_s = t.elapsed().as_secs_f64();
    let weights_bytes = sel.device.memory_pool_usage().map(|u| u.bytes_in_use);
    loaded_notice(load_s, sel);
    let s = cfg.vision.image_size;
    let pixels: Vec<f32> = (0..3 * s * s).map(|i| ((i * 7919) % 255) as f32 / 127.5 - 1.0).collect();
    let mm = cfg.mm_tokens_per_image;
    let v = cfg.text.vocab_size as u32;
    let mut ids: Vec<u32> = vec![2, 105, 2364, 107, cfg.boi_token_index];
    ids.extend(std::iter::repeat_n(cfg.image_token_index, mm));
    ids.push(cfg.eoi_token_index);
    ids.extend((0..a.prompt_tokens as u32).map(|i| 3 + (i * 7919) % (v - 3)));
    // Warm-up: every kernel compiles once (a short text prefill, two decode steps).
    medlens_engine::profile::observe_launches();
    let ((), mut warm) = medlens_engine::profile::kernels_launched(|| {
        let mut c = model.language_model.new_cache();
        let _ = model.language_model.forward_last(&ids[..4], &mut c);
        let _ = model.language_model.forward_greedy(&[7], &mut c);
        let _ = model.language_model.forward_greedy(&[8], &mut c);
    });
    let t = Instant::now();
    let feats = model.image_features(&pixels, 1)?;
    let _ = feats.clone().into_data();
    let vision_s = t.elapsed().as_secs_f64();
    let mut cache = model.language_model.new_cache_for(ids.len() + a.gen_tokens + 1);
    let t = Instant::now();
    let (h, prefill_kernels) = medlens_engine::profile::kernels_launched(|| model.prefill(&ids, Some(feats), &mut cache));
    let logits = medlens_engine::nn::to_host(model.language_model.lm_head(h?))?;
    let prefill_s = t.elapsed().as_secs_f64();
    warm.extend(prefill_kernels);
    let first = medlens_engine::generate::argmax(&logits);
    let dec = decode_profiled(&model.language_model, &mut cache, first, a.gen_tokens, &sel.device, warm)?;
    let r = serde_json::json!({
        "model": format!("random weights (medgemma-4b, {})", if quant { "text Q4_K_M, vision F16" } else { "f32" }),
        "device": sel.name,
        "layers": cfg.text.num_hidden_layers,
        "load_s": load_s,
        "vision_encode_s": vision_s,
        "prompt_tokens": ids.len(),
        "prefill_s": prefill_s,
        "prefill_tokens_per_s": ids.len() as f64 / prefill_s,
        "gen_tokens": a.gen_tokens,
        "decode_tokens_per_s": dec.tokens_per_s,
        "decode_step": dec.step,
        "peak_rss_bytes": peak_rss(),
        "device_weights_bytes": weights_bytes,
        "device_peak_bytes": device_peak(&sel.device),
        "context": context(&sel.device),
    });
    if a.json {
        println!("{r}");
    } else {
        println!(
            "{} on {}: vision encode {:.2} s, prefill {:.1} tok/s ({} tokens), decode {:.2} tok/s, device weights {:.0} MiB, device peak {:.0} MiB, peak RSS {:.0} MiB",
            r["model"].as_str().unwrap_or(""),
            sel.name,
            vision_s,
            ids.len() as f64 / prefill_s,
            ids.len(),
            dec.tokens_per_s,
            weights_bytes.unwrap_or(0) as f64 / 1048576.0,
            device_peak(&sel.device).unwrap_or(0) as f64 / 1048576.0,
            peak_rss().unwrap_or(0) as f64 / 1048576.0
        );
    }
    if a.profile {
        print_profile(&r);
    }
    Ok(())
}

/// Load time and device memory, printed before the timed runs (which take minutes on a
/// software adapter).
fn loaded_notice(load_s: f64, sel: &device::Selected) {
    let u = sel.device.memory_pool_usage();
    eprintln!(
        "medlens: loaded in {load_s:.1} s; device memory in use {:.0} MiB, reserved {:.0} MiB",
        u.as_ref().map_or(0, |u| u.bytes_in_use) as f64 / 1048576.0,
        u.as_ref().map_or(0, |u| u.bytes_reserved) as f64 / 1048576.0
    );
}

/// A timed greedy decode and what its steady steps asked of the device.
struct Decode {
    tokens_per_s: f64,
    /// Per decode step, over steps 3..N (steps 1 and 2 warm up: their paths are new).
    step: serde_json::Value,
}

/// Decodes `n` greedy tokens after `first` (the token chosen from the prefill's logits),
/// the device choosing each, as `medlens generate --greedy` does. Times all `n` steps;
/// counts steps 3..n: launches (total and by kernel), uploads, read-backs, KV bytes copied,
/// keys attended, kernels not seen in `warm` (compiled after warm-up), memory-pool growth,
/// host CPU time; and the gemv roofline: weight bytes per step ÷ time per step, over the
/// adapter's copy bandwidth measured here.
fn decode_profiled(
    model: &Gemma3,
    cache: &mut medlens_engine::nn::KvCache,
    first: u32,
    n: usize,
    device: &medlens_engine::Device,
    mut warm: std::collections::HashSet<String>,
) -> anyhow::Result<Decode> {
    use medlens_engine::profile;
    let t = Instant::now();
    if n == 0 {
        return Ok(Decode { tokens_per_s: 0.0, step: serde_json::Value::Null });
    }
    // As `generate` decodes greedily: each step's token stays on the device for the next.
    // Two warm-up steps: the first embeds a token from the host, the second the first one
    // gathered on the device (its kernel first runs there).
    let warmup = n.min(2);
    let (r, k1) = profile::kernels_launched(|| model.decode_greedy(first, None, cache));
    let (mut tok, mut id) = r?;
    warm.extend(k1);
    if warmup == 2 {
        let (r, k2) = profile::kernels_launched(|| model.decode_greedy(tok, Some(&id), cache));
        (tok, id) = r?;
        warm.extend(k2);
    }
    let steps = n - warmup;
    let c0 = profile::snapshot();
    let cpu0 = profile::cpu_times();
    let pool0 = device.memory_pool_usage().map(|u| u.bytes_reserved);
    let ts = Instant::now();
    let (r, steady) = profile::kernels_launched(|| -> medlens_engine::Result<()> {
        for _ in 0..steps {
            (tok, id) = model.decode_greedy(tok, Some(&id), cache)?;
        }
        Ok(())
    });
    r?;
    let steady_s = ts.elapsed().as_secs_f64();
    let decode_s = t.elapsed().as_secs_f64();
    let tokens_per_s = n as f64 / decode_s;
    if steps == 0 {
        return Ok(Decode { tokens_per_s, step: serde_json::Value::Null });
    }
    let c = profile::snapshot().since(&c0);
    let per = |x: u64| x as f64 / steps as f64;
    let cpu = profile::cpu_times().zip(cpu0).map(|((u1, s1), (u0, s0))| ((u1 - u0) / steps as f64, (s1 - s0) / steps as f64));
    let pool_growth = device.memory_pool_usage().map(|u| u.bytes_reserved).zip(pool0).map(|(b, a)| b as i64 - a as i64);
    let by_kernel: serde_json::Map<String, serde_json::Value> =
        c.launches_by_kernel.iter().map(|(k, &v)| (k.clone(), serde_json::json!(per(v)))).collect();
    let weight_bytes = model.weight_bytes_per_token();
    let step_s = steady_s / steps as f64;
    let gemv_gbps = weight_bytes as f64 / step_s / 1e9;
    let copy_gbps = profile::copy_bandwidth(device);
    Ok(Decode {
        tokens_per_s,
        step: serde_json::json!({
            "steps_counted": steps,
            "time_s": step_s,
            "launches": per(c.launches),
            "launches_per_layer": per(c.launches) / model.layers.len().max(1) as f64,
            "launches_by_kernel": by_kernel,
            "uploads": per(c.uploads),
            "upload_bytes": per(c.upload_bytes),
            "readbacks": per(c.readbacks),
            "readback_bytes": per(c.readback_bytes),
            "kv_bytes_copied": per(c.kv_bytes_copied),
            "keys_attended": per(c.keys_attended),
            "kernels_new_after_warmup": steady.difference(&warm).count(),
            "pool_growth_bytes": pool_growth,
            "user_cpu_s": cpu.map(|c| c.0),
            "system_cpu_s": cpu.map(|c| c.1),
            "weight_bytes": weight_bytes,
            "gemv_gb_per_s": gemv_gbps,
            "copy_gb_per_s": copy_gbps,
            "roofline_fraction": copy_gbps.map(|c| gemv_gbps / c),
        }),
    })
}

/// What a figure depends on besides the code: the adapter, the build, the commit, and the
/// environment variables that change results.
fn context(device: &medlens_engine::Device) -> serde_json::Value {
    let knobs: serde_json::Map<String, serde_json::Value> = [
        "LP_NUM_THREADS",
        "CUBECL_WGPU_MAX_TASKS",
        "CUBECL_WGPU_DEFAULT_DEVICE",
        "VK_ICD_FILENAMES",
        "WGPU_BACKEND",
        "RAYON_NUM_THREADS",
        "MEDLENS_ENGINE_DENSE",
        "MEDLENS_CPU_ACTIVATIONS",
        "MEDLENS_CPU_SIMD",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), serde_json::json!(v))))
    .collect();
    let id = medlens_engine::device::identity(device);
    serde_json::json!({
        "adapter": id.as_ref().map(|i| i.0.clone()),
        "compiled_for": id.map(|i| i.1),
        "build_profile": if cfg!(debug_assertions) { "dev" } else { "release" },
        "commit": env!("MEDLENS_COMMIT"),
        "threads": std::thread::available_parallelism().map(|n| n.get()).ok(),
        // The CPU kernels' instruction set and arithmetic (none on a GPU).
        "cpu_kernels": (!medlens_engine::device::is_cube(device)).then(|| serde_json::json!({
            "simd": medlens_engine::kernels::cpu::simd().name(),
            "arithmetic": medlens_engine::kernels::cpu::Arithmetic::current().name(),
            "threads": medlens_engine::kernels::cpu::threads(),
        })),
        "env": knobs,
    })
}

/// The `--profile` table: one decode step, by kernel, and its other counters.
fn print_profile(r: &serde_json::Value) {
    let s = &r["decode_step"];
    if s.is_null() {
        println!("(no steady decode steps to profile: use --gen-tokens 2 or more)");
        return;
    }
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    println!("one decode step (mean of steps 3..{}), {}", s["steps_counted"].as_u64().unwrap_or(0) + 2, r["context"]);
    let mut by: Vec<(String, f64)> = s["launches_by_kernel"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0))).collect())
        .unwrap_or_default();
    by.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("  {:<44} {:>10}", "kernel", "launches");
    for (k, v) in &by {
        println!("  {k:<44} {v:>10.1}");
    }
    println!("  {:<44} {:>10.1}  ({:.1} per layer)", "total", f("launches"), f("launches_per_layer"));
    println!("  uploads {:.1} ({:.0} B), read-backs {:.1} ({:.0} B)", f("uploads"), f("upload_bytes"), f("readbacks"), f("readback_bytes"));
    println!("  KV bytes copied {:.0}, keys attended {:.1}", f("kv_bytes_copied"), f("keys_attended"));
    println!("  kernels new after warm-up {}, memory-pool growth {} B", s["kernels_new_after_warmup"], s["pool_growth_bytes"]);
    println!("  host CPU per step: user {:.4} s, system {:.4} s; wall {:.4} s", f("user_cpu_s"), f("system_cpu_s"), f("time_s"));
    println!(
        "  gemv: {:.1} MB of weights per step at {:.2} GB/s; copy bandwidth {:.2} GB/s; roofline fraction {:.3}",
        f("weight_bytes") / 1e6,
        f("gemv_gb_per_s"),
        f("copy_gb_per_s"),
        f("roofline_fraction")
    );
}
