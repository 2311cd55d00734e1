//! `medlens decode PATH... [--json]`: decode every frame of each file and report the
//! time taken and a checksum of the stored values (for benchmarks and for checking a
//! decoder against another one).

use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// DICOM files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON object per file.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut failed = 0;
    for path in &args.files {
        let start = Instant::now();
        let result = (|| -> medlens_dicom::Result<(u32, u64)> {
            let f = medlens_dicom::open(path)?;
            let frames = f.image_info()?.frames;
            // FNV-1a over whole values (one multiply per value, not per byte): cheap,
            // order-sensitive, and the same for equal values whatever their storage type.
            let mut h: u64 = 0xcbf29ce484222325;
            for i in 0..frames as usize {
                let fr = f.frame(i)?;
                for k in 0..fr.pixels.len() {
                    h = (h ^ fr.pixels.get(k) as u64).wrapping_mul(0x100000001b3);
                }
            }
            Ok((frames, h))
        })();
        let ms = start.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok((frames, h)) => {
                if args.json {
                    println!("{}", serde_json::json!({"path": path, "frames": frames, "ms": ms, "checksum": format!("{h:016x}")}));
                } else {
                    println!("{}: {frames} frame(s) in {ms:.2} ms, checksum {h:016x}", path.display());
                }
            }
            Err(e) => {
                failed += 1;
                if args.json {
                    println!("{}", serde_json::json!({"path": path, "error": e.to_string()}));
                } else {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} file(s) could not be decoded");
    }
    Ok(())
}
