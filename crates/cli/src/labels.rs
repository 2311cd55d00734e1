//! `medlens labels`: MedSigLIP zero-shot labels for DICOM frames and PNG/JPEG images.

use std::path::{Path, PathBuf};

use anyhow::Context;
use medlens_dicom::Window;
use medlens_engine::device::{self, DeviceChoice};
use medlens_dicom::load_rgb;
use medlens_engine::image::preprocess::Resize;
use medlens_engine::serve::zeroshot::{LabelSet, Mode, ZeroShotModel};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// MedSigLIP model folder (HF layout: config.json, model.safetensors, tokenizer.json,
    /// preprocessor_config.json).
    #[arg(long)]
    pub model: PathBuf,
    /// DICOM files, PNG/JPEG images, or folders (then one CSV row per image).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Frame of multi-frame DICOM files (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    /// Window CENTER,WIDTH for greyscale DICOM (default: the rule of the model input:
    /// the file's own window, CT as three windows).
    #[arg(long)]
    pub window: Option<Window>,
    /// Labels separated by `;` (each is its own prompt).
    #[arg(long, conflicts_with = "label_set")]
    pub labels: Option<String>,
    /// A built-in label set (chest, dermatology, pathology, ct) or a JSON file.
    #[arg(long)]
    pub label_set: Option<String>,
    /// sigmoid (multi-label), softmax (across labels) or paired (finding vs negative).
    #[arg(long, default_value = "sigmoid")]
    pub mode: Mode,
    /// Resize: card (bilinear without antialiasing, as the model card) or pil
    /// (transformers' SiglipImageProcessor).
    #[arg(long, default_value = "card")]
    pub resize: Resize,
    /// Quantize weights to Q8_0 blocks on import.
    #[arg(long)]
    pub q8: bool,
    /// Keep weights as f16 (on the GPU: f16 blocks read by the same kernels).
    #[arg(long, conflicts_with = "q8")]
    pub f16: bool,
    /// auto, gpu or cpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).with_context(|| format!("{}", dir.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let set = match (&a.labels, &a.label_set) {
        (Some(l), _) => LabelSet::from_list(l)?,
        (None, Some(s)) => LabelSet::named_or_file(s)?,
        (None, None) => LabelSet::named_or_file("chest")?,
    };
    let choice: DeviceChoice = a.device.parse().map_err(anyhow::Error::msg)?;
    let sel = device::select(choice)?;
    if let Some(n) = &sel.notice {
        eprintln!("medlens: {n}");
    }
    let q = if a.q8 {
        Some(medlens_engine::quant::GgmlType::Q8_0)
    } else if a.f16 {
        Some(medlens_engine::quant::GgmlType::F16)
    } else {
        None
    };
    let mut zs = ZeroShotModel::load(&a.model, &sel.device, q).with_context(|| format!("loading {}", a.model.display()))?;
    zs.preprocess.resize = a.resize;
    let names: Vec<String> = set.labels.iter().map(|l| l.label.clone()).collect();

    let folder = a.inputs.iter().any(|p| p.is_dir());
    if folder {
        // One CSV row per image; files that are not images are reported and skipped.
        let mut files = Vec::new();
        for p in &a.inputs {
            if p.is_dir() {
                collect(p, &mut files)?;
            } else {
                files.push(p.clone());
            }
        }
        let pb = crate::progress::bar(true, "labels");
        pb.set_length(files.len() as u64);
        println!("path,{}", names.iter().map(|n| csv_field(n)).collect::<Vec<_>>().join(","));
        let mut skipped = 0;
        for f in &files {
            pb.inc(1);
            let img = match load_rgb(f, a.frame, a.window) {
                Ok(i) => i,
                Err(e) => {
                    pb.suspend(|| eprintln!("medlens: skipped {e}"));
                    skipped += 1;
                    continue;
                }
            };
            let e = zs.image_embed(None, img.width, img.height, &img.rgb)?;
            let s = zs.score(&e, &set, a.mode)?;
            println!("{},{}", csv_field(&f.display().to_string()), s.iter().map(|x| format!("{x:.6}")).collect::<Vec<_>>().join(","));
        }
        pb.finish_and_clear();
        if skipped > 0 {
            eprintln!("medlens: {skipped} of {} files skipped", files.len());
        }
        return Ok(());
    }

    let mut results = Vec::new();
    for p in &a.inputs {
        let img = load_rgb(p, a.frame, a.window)?;
        let e = zs.image_embed(None, img.width, img.height, &img.rgb)?;
        let s = zs.score(&e, &set, a.mode)?;
        if a.json {
            results.push(serde_json::json!({
                "input": p.display().to_string(),
                "frame": a.frame,
                "window": img.window,
                "scores": names.iter().zip(&s).map(|(n, v)| serde_json::json!({"label": n, "probability": v})).collect::<Vec<_>>(),
            }));
        } else {
            println!("{} ({:?}, {})", p.display(), a.mode, set.name);
            let w = names.iter().map(|n| n.len()).max().unwrap_or(0);
            for (n, v) in names.iter().zip(&s) {
                println!("  {n:<w$}  {v:.6}");
            }
        }
    }
    if a.json {
        let out = serde_json::json!({
            "model": a.model.display().to_string(),
            "mode": a.mode,
            "label_set": set.name,
            "device": sel.name,
            "results": results,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
