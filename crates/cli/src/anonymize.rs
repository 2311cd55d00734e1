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
        eprintln!("{} anonymized file(s) written to {}", report.written.len(), args.output.display());
    }
    Ok(())
}
