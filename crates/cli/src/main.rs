//! `medlens`: Medlens without the window, for batch research and tests.

mod anonymize;
mod bench;
mod decode;
mod embed;
mod findings;
mod generate;
mod inspect;
mod labels;
mod models;
mod output;
mod progress;
mod render;
mod sampling_args;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "medlens", version, about = "Offline DICOM viewer toolkit and local medical AI (headless)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Index DICOM files, folders and DICOMDIRs: patients, studies, series, instances.
    Inspect(inspect::Args),
    /// Render one frame to PNG through the display pipeline.
    Render(render::Args),
    /// Decode every frame of DICOM files; report time and a checksum.
    Decode(decode::Args),
    /// Write anonymized copies (PS3.15 Annex E Basic Profile) of DICOM files.
    Anonymize(anonymize::Args),
    /// Generate text with a Gemma 3 model (GGUF or HF folder), streamed.
    Generate(generate::Args),
    /// Prefill and decode speed and peak memory of a Gemma 3 model (or shape-exact random weights).
    Bench(bench::Args),
    /// Zero-shot labels with a SigLIP / MedSigLIP model for DICOM files, images or folders.
    Labels(labels::Args),
    /// Image or text embeddings of a SigLIP model, written as .npy.
    Embed(embed::Args),
    /// MedGemma draft findings for DICOM frames and images, streamed.
    Findings(findings::Args),
    /// Model files: list what the app would find, import (quantize) an HF release into one GGUF.
    Models(models::Args),
}

fn main() -> std::process::ExitCode {
    medlens_engine::device::keep_large_allocations();
    output::clean_up_on_signals();
    let cli = Cli::parse();
    quiet_gpu_failures();
    // burn cannot return an allocation the GPU refuses, or a lost device, as an error: such a
    // panic becomes the engine's error, which says what failed and offers `--device cpu`.
    // Any other panic is a bug and stays one.
    let run = std::panic::catch_unwind(move || match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Render(a) => render::run(a),
        Command::Anonymize(a) => anonymize::run(a),
        Command::Decode(a) => decode::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Labels(a) => labels::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Findings(a) => findings::run(a),
        Command::Models(a) => models::run(a),
    });
    let result = match run {
        Ok(r) => r,
        Err(payload) => match medlens_engine::device::panic_text(&*payload).as_deref().and_then(medlens_engine::device::gpu_failure) {
            Some(e) => Err(e.into()),
            None => std::panic::resume_unwind(payload),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A GPU failure reported as a device error (a read-back that found the allocation
            // refused, a lost device) is said in the user's words, with `--device cpu`.
            let text = error_text(&e);
            let text = medlens_engine::device::gpu_failure(&text).map_or(text, |g| g.to_string());
            eprintln!("medlens: {text}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The default panic message, except for a GPU failure's (said once, as an error, by `main`).
fn quiet_gpu_failures() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if medlens_engine::device::panic_text(info.payload()).as_deref().and_then(medlens_engine::device::gpu_failure).is_none() {
            default(info);
        }
    }));
}

/// The error chain joined by ": ", skipping a cause whose text the message above it already
/// carries (the engine's errors name the file and include their cause), so a path or an OS
/// error is said once.
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if out.contains(&c) {
            continue;
        }
        if c.contains(&out) && !out.is_empty() {
            out = c; // the cause restates the context: keep the fuller one
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn error_text_says_each_part_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let e = anyhow::Error::new(io).context("/x/model.safetensors: cannot read: No such file or directory (os error 2)");
        let e = e.context("loading /x");
        assert_eq!(
            super::error_text(&e),
            "loading /x: /x/model.safetensors: cannot read: No such file or directory (os error 2)"
        );
        let e = anyhow::anyhow!("/t/notes.txt: not a DICOM file").context("/t/notes.txt");
        assert_eq!(super::error_text(&e), "/t/notes.txt: not a DICOM file");
    }
}
