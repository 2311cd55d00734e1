//! `medlens`: Medlens without the window, for batch research and tests.

mod anonymize;
mod decode;
mod inspect;
mod progress;
mod render;

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Render(a) => render::run(a),
        Command::Anonymize(a) => anonymize::run(a),
        Command::Decode(a) => decode::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medlens: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
