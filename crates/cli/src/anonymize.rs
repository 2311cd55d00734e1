//! `medlens anonymize PATH... -o DIR`

use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to anonymize.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output folder.
    #[arg(short, long)]
    output: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let report = medlens_dicom::anonymize::anonymize_paths(&args.paths, &args.output)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for e in &report.errors {
            eprintln!("error: {}", e.error);
        }
        // Written, but not marked de-identified: their pixels may show identifying text.
        for f in &report.flagged {
            eprintln!("flagged: {} (written as {}): {}; review its pixels for burned-in text before sharing", f.path.display(), f.written.display(), f.reason);
        }
        eprintln!("{} anonymized file(s) written to {}", report.written.len(), args.output.display());
        if !report.flagged.is_empty() {
            eprintln!("{} of them flagged as possibly showing burned-in text (Patient Identity Removed = NO)", report.flagged.len());
        }
    }
    Ok(())
}
