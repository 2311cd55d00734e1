//! `medlens findings`: MedGemma draft findings for DICOM frames and images, streamed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use medlens_dicom::{load_rgb, Window};
use medlens_engine::device::{self, DeviceChoice};
use medlens_engine::generate::{decode_loop, GenerateOptions, GenerateOutput, StopReason, TextStream};
use medlens_engine::models::medgemma;
use medlens_engine::serve::findings::{self, file_sha256, InputRecord, Provenance, SamplingRecord, Template};
use medlens_engine::serve::load::load_medgemma_with_mmproj;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// MedGemma: an HF folder (config.json, safetensors, tokenizer.json), a GGUF written by
    /// `medlens models import`, or a llama.cpp text GGUF (LM Studio, Ollama) with its mmproj.
    #[arg(long)]
    pub model: PathBuf,
    /// The mmproj GGUF of a llama.cpp text model (default: the `mmproj*.gguf` next to it).
    #[arg(long)]
    pub mmproj: Option<PathBuf>,
    /// DICOM files or PNG/JPEG images; several make one prompt with several images (for
    /// example slices of one CT series).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Frame of multi-frame DICOM files (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Window CENTER,WIDTH for greyscale DICOM (default: the model-input rule: the file's
    /// window, CT as three windows).
    #[arg(long)]
    pub window: Option<Window>,
    /// The request (replaces the template's).
    #[arg(long)]
    pub prompt: Option<String>,
    /// The system text (replaces the template's).
    #[arg(long)]
    pub system: Option<String>,
    /// A built-in template: cxr, ct, derm, path.
    #[arg(long, default_value = "cxr")]
    pub template: String,
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    #[command(flatten)]
    pub sampling: crate::sampling_args::SamplingArgs,
    /// auto, gpu or cpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// One JSON object with tokens, log-probabilities, timings and provenance.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let tpl: Template = findings::template(&a.template).ok_or_else(|| {
        let names: Vec<String> = findings::templates().into_iter().map(|t| t.name).collect();
        anyhow::anyhow!("unknown template `{}` (built in: {})", a.template, names.join(", "))
    })?;
    let system = a.system.clone().unwrap_or(tpl.system.clone());
    let prompt = a.prompt.clone().unwrap_or(tpl.prompt.clone());
    // Images first: a bad input fails before minutes of model loading.
    let mut images = Vec::new();
    for p in &a.inputs {
        let img = load_rgb(p, a.frame, a.window).with_context(|| format!("{}", p.display()))?;
        images.push((p.clone(), medlens_dicom::sop_instance_uid(p), img));
    }
    let choice: DeviceChoice = a.device.parse().map_err(anyhow::Error::msg)?;
    let sel = device::select(choice)?;
    if let Some(n) = &sel.notice {
        eprintln!("medlens: {n}");
    }
    let t_load = Instant::now();
    let loaded = load_medgemma_with_mmproj(&a.model, a.mmproj.as_deref(), &sel.device).with_context(|| format!("loading {}", a.model.display()))?;
    let load_s = t_load.elapsed().as_secs_f64();
    let m = &loaded.model;
    let tok = &loaded.tokenizer;
    let size = m.config.vision.image_size;
    let pixels: Vec<f32> = images.iter().flat_map(|(_, _, im)| medgemma::pixel_values(&im.rgb, im.width, im.height, size)).collect();
    let sys = if system.trim().is_empty() { None } else { Some(system.as_str()) };
    let ids = medgemma::prompt_ids(tok, sys, &prompt, images.len(), m.config.mm_tokens_per_image)?;

    let t0 = Instant::now();
    let feats = m.image_features(&pixels, images.len())?;
    let mut cache = m.language_model.new_cache_for(ids.len() + a.max_tokens);
    let logits = m.prefill_logits(&ids, Some(feats), &mut cache)?;
    let prefill_s = t0.elapsed().as_secs_f64();

    let sampling = a.sampling.params();
    let opts = GenerateOptions {
        max_tokens: a.max_tokens,
        sampling: sampling.clone(),
        stop_ids: tok.stop_ids(),
        top_logprobs: if a.json { 5 } else { 0 },
    };
    let out0 = GenerateOutput { prefill_s, ..GenerateOutput::new(&ids) };
    let cancel = AtomicBool::new(false);
    let stream = !a.json;
    let mut text_stream = TextStream::new(tok);
    let mut stdout = std::io::stdout();
    let mut first_token_s = None;
    let out = decode_loop(&m.language_model, logits, &mut cache, out0, &opts, &cancel, |t| {
        first_token_s.get_or_insert(t0.elapsed().as_secs_f64());
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
    let text = tok.decode(text_stream.ids(), true)?;
    if !a.json {
        if let Some(rest) = text.strip_prefix(text_stream.text()) {
            print!("{rest}");
        }
        println!();
        eprintln!("DRAFT: research use only, not for diagnosis.");
        return Ok(());
    }
    let cache_dir = std::env::var_os("MEDLENS_CACHE")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("medlens")));
    let mmproj_sha256 = match &loaded.mmproj {
        Some(p) => Some(file_sha256(p, cache_dir.as_deref())?),
        None => None,
    };
    let logprobs: Vec<Vec<serde_json::Value>> = out
        .logprobs
        .iter()
        .map(|s| s.iter().map(|&(id, lp)| serde_json::json!({"id": id, "token": tok.id_to_token(id), "logprob": lp})).collect())
        .collect();
    let n = out.tokens.len() as f64;
    let provenance = Provenance {
        model_file: loaded.file.clone(),
        model_sha256: file_sha256(&loaded.file, cache_dir.as_deref())?,
        quantization: loaded.quantization.clone(),
        mmproj_file: loaded.mmproj.clone(),
        mmproj_sha256,
        adapter: sel.name.clone(),
        template: tpl.name.clone(),
        system: system.clone(),
        prompt: prompt.clone(),
        sampling: SamplingRecord::new(&sampling, a.sampling.greedy, a.max_tokens),
        inputs: images
            .iter()
            .map(|(p, uid, im)| InputRecord {
                path: p.clone(),
                sop_instance_uid: uid.clone(),
                frame: a.frame,
                window: im.window.as_ref().and_then(|w| serde_json::to_value(w).ok()),
                width: im.width,
                height: im.height,
            })
            .collect(),
        created: findings::now_rfc3339(),
    };
    let j = serde_json::json!({
        "text": text,
        "tokens": out.tokens,
        "prompt_ids": out.prompt_ids,
        "logprobs": logprobs,
        "stop": out.stop,
        "draft": "DRAFT: research use only, not for diagnosis",
        "timings": {
            "load_s": load_s,
            "prefill_s": out.prefill_s,
            "time_to_first_token_s": first_token_s,
            "decode_s": out.decode_s,
            "decode_tokens_per_s": (n - 1.0).max(0.0) / out.decode_s.max(1e-9),
        },
        "provenance": provenance,
    });
    println!("{j}");
    Ok(())
}
