//! `medlens anonymize PATH... -o DIR`

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to anonymize.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output folder (one `<new SOP Instance UID>.dcm` per instance).
    #[arg(short, long)]
    output: PathBuf,
    /// Replace files of the same name already in the output folder.
    #[arg(long)]
    force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Anonymizes into a staging folder inside the output folder, then moves each copy into
/// place by rename: a run that fails or is interrupted leaves no partial file under a final
/// name, and nothing already in the folder is replaced unless `--force` (checked for every
/// copy before any is moved, so a refusal moves nothing).
fn anonymize_into(args: &Args) -> anyhow::Result<medlens_dicom::anonymize::AnonymizeReport> {
    std::fs::create_dir_all(&args.output).with_context(|| format!("{}: cannot create the folder", args.output.display()))?;
    let staging = crate::output::StagingDir::new(&args.output)?;
    let mut report = medlens_dicom::anonymize::anonymize_paths(&args.paths, staging.path())?;
    let final_path = |p: &Path| -> anyhow::Result<PathBuf> {
        let name = p.file_name().with_context(|| format!("{}: no file name", p.display()))?;
        Ok(args.output.join(name))
    };
    if !args.force {
        let existing: Vec<PathBuf> =
            report.written.iter().map(|p| final_path(p.as_path())).collect::<anyhow::Result<Vec<_>>>()?.into_iter().filter(|p| p.exists()).collect();
        if let Some(first) = existing.first() {
            bail!(
                "{} of the {} anonymized file(s) already exist in {} (such as {}); nothing was written; use --force to replace them",
                existing.len(),
                report.written.len(),
                args.output.display(),
                first.file_name().unwrap_or_default().to_string_lossy()
            );
        }
    }
    for p in &mut report.written {
        let dest = final_path(p.as_path())?;
        std::fs::rename(&*p, &dest).with_context(|| format!("{}: writing", dest.display()))?;
        *p = dest;
    }
    for f in &mut report.flagged {
        f.written = final_path(f.written.as_path())?;
    }
    Ok(report)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let report = anonymize_into(&args)?;
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
