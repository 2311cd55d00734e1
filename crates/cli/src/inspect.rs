//! `medlens inspect PATH... [--json]`

use std::path::PathBuf;

use medlens_dicom::index::{index_paths, IndexOptions, Progress};

#[derive(clap::Args)]
pub struct Args {
    /// Files, folders (scanned recursively) or DICOMDIRs.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print the index as JSON on stdout (no progress bar).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let pb = crate::progress::bar(!args.json, "indexing");
    let progress = |p: Progress| {
        pb.set_length(p.total as u64);
        pb.set_position(p.done as u64);
    };
    let index = index_paths(&args.paths, &IndexOptions { progress: Some(&progress), cancel: None });
    pb.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&index)?);
        return Ok(());
    }
    for p in &index.patients {
        println!("Patient {} [{}]", if p.name.is_empty() { "(no name)" } else { &p.name }, p.id);
        for st in &p.studies {
            println!("  Study {} {} {}", st.date, st.description, st.uid);
            for se in &st.series {
                println!(
                    "    Series {} {} {} — {} instance(s), {} frame(s)",
                    se.number.map(|n| n.to_string()).unwrap_or_default(),
                    se.modality,
                    se.description,
                    se.instances.len(),
                    se.frame_count()
                );
                for i in &se.instances {
                    println!(
                        "      {} {}x{}x{} {} {} {}",
                        i.path.display(),
                        i.rows.unwrap_or(0),
                        i.columns.unwrap_or(0),
                        i.frames,
                        i.photometric.as_deref().unwrap_or("-"),
                        i.transfer_syntax,
                        i.sop_instance_uid
                    );
                }
            }
        }
    }
    for e in &index.errors {
        println!("error: {}", e.error);
    }
    eprintln!(
        "{} instance(s) in {} series; {} error(s); {} non-DICOM file(s) skipped; {} DICOMDIR(s)",
        index.instance_count(),
        index.series().count(),
        index.errors.len(),
        index.skipped.len(),
        index.dicomdirs.len()
    );
    Ok(())
}
