//! `medlens models`: model files on this machine.

use std::path::PathBuf;

use anyhow::Context;
use medlens_engine::serve::import::{import_hf, TextQuant};
use medlens_engine::quant::GgmlType;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Quantize an HF MedGemma folder once into one GGUF that loads without re-quantizing.
    Import(ImportArgs),
    /// The models found in DIRS (as the app's `models/` folders), the Hugging Face cache, and
    /// Ollama's and LM Studio's stores: what the app's model manager lists, each usable or
    /// with the reason it is not. Headers only: nothing is loaded.
    List(ListArgs),
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Folders holding models (each GGUF file or model folder in them is one candidate).
    pub dirs: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The HF folder (config.json, model*.safetensors, tokenizer.json, ...).
    pub dir: PathBuf,
    /// The GGUF to write (outside DIR; written whole or not at all).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Text weights: q4_k_m, q8_0 or f16.
    #[arg(long, default_value = "q4_k_m")]
    pub quant: TextQuant,
    /// Vision tower weights: f16 or q8_0.
    #[arg(long, default_value = "f16")]
    pub vision: String,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match a.command {
        Command::Import(a) => import(a),
        Command::List(a) => list(a),
    }
}

fn list(a: ListArgs) -> anyhow::Result<()> {
    for d in &a.dirs {
        if !d.is_dir() {
            anyhow::bail!("{}: not a folder", d.display());
        }
    }
    let models = medlens_engine::serve::discover::scan(&a.dirs, &[]);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&models)?);
        return Ok(());
    }
    if models.is_empty() {
        println!("no models found");
    }
    for m in &models {
        let kind = match m.kind {
            medlens_engine::serve::discover::Kind::Medgemma => "MedGemma",
            medlens_engine::serve::discover::Kind::Medsiglip => "MedSigLIP",
        };
        println!("{kind:9}  {:7}  {:>9}  {}  ({}, {})", m.status, human_bytes(m.bytes), m.path.display(), m.format, m.source);
        if m.status == "ok" && m.weights_in_memory > 0 {
            println!("           {} in memory once loaded (the weights; RAM on the CPU, GPU memory on a GPU)", human_bytes(m.weights_in_memory));
        }
        if let Some(msg) = &m.message {
            println!("           {msg}");
        }
    }
    Ok(())
}

fn human_bytes(n: u64) -> String {
    let (v, unit) = match n {
        n if n >= 1 << 30 => (n as f64 / (1u64 << 30) as f64, "GiB"),
        n if n >= 1 << 20 => (n as f64 / (1u64 << 20) as f64, "MiB"),
        n => (n as f64 / 1024.0, "KiB"),
    };
    format!("{v:.1} {unit}")
}

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let vision = match a.vision.to_ascii_lowercase().as_str() {
        "f16" => GgmlType::F16,
        "q8_0" => GgmlType::Q8_0,
        o => anyhow::bail!("--vision {o}: expected f16 or q8_0"),
    };
    // Before minutes of quantizing: an existing output (without --force), or one inside the
    // folder being imported, is refused. The engine writes a temporary file and renames it,
    // so a failed import leaves nothing.
    crate::output::check_new(&a.output, a.force)?;
    medlens_engine::serve::import::check_output_outside(&a.dir, &a.output)?;
    let pb = crate::progress::bar(!a.json, "import");
    let t = std::time::Instant::now();
    let r = import_hf(&a.dir, &a.output, a.quant, vision, a.force, &mut |done, total, name| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
        pb.set_message(name.to_string());
    })
    .with_context(|| format!("importing {}", a.dir.display()))?;
    pb.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    if a.json {
        let types: serde_json::Map<String, serde_json::Value> = r.types.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
        println!(
            "{}",
            serde_json::json!({"output": r.output, "tensors": r.tensors, "bytes": r.bytes, "types": types, "seconds": secs})
        );
    } else {
        let types: Vec<String> = r.types.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!(
            "{}: {} tensors ({}), {:.1} MiB in {:.1} s",
            r.output.display(),
            r.tensors,
            types.join(", "),
            r.bytes as f64 / 1048576.0,
            secs
        );
    }
    Ok(())
}
