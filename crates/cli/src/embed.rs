//! `medlens embed`: SigLIP image and text embeddings to a .npy file (retrieval, linear probes).

use std::path::PathBuf;

use anyhow::Context;
use medlens_dicom::Window;
use medlens_engine::device::{self, DeviceChoice};
use medlens_dicom::load_rgb;
use medlens_engine::serve::zeroshot::ZeroShotModel;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// MedSigLIP model folder (HF layout).
    #[arg(long)]
    pub model: PathBuf,
    /// Images (DICOM, PNG, JPEG); their rows come first, in order.
    #[arg(long = "image")]
    pub images: Vec<PathBuf>,
    /// Texts; their rows follow the images, in order.
    #[arg(long = "text")]
    pub texts: Vec<String>,
    #[arg(long, default_value_t = 0)]
    pub frame: usize,
    #[arg(long)]
    pub window: Option<Window>,
    /// L2-normalize each row (the space the logits use).
    #[arg(long)]
    pub normalize: bool,
    /// Output .npy (float32, [rows, dim]; written whole or not at all).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// A little-endian float32 `.npy` (format 1.0).
pub fn npy_bytes(rows: &[Vec<f32>]) -> Vec<u8> {
    let dim = rows.first().map(|r| r.len()).unwrap_or(0);
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", rows.len(), dim);
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for r in rows {
        for v in r {
            out.extend(v.to_le_bytes());
        }
    }
    out
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.images.is_empty() && a.texts.is_empty() {
        anyhow::bail!("nothing to embed: give --image and/or --text");
    }
    crate::output::check_new(&a.output, a.force)?;
    let choice: DeviceChoice = a.device.parse().map_err(anyhow::Error::msg)?;
    let sel = device::select(choice)?;
    if let Some(n) = &sel.notice {
        eprintln!("medlens: {n}");
    }
    let mut zs = ZeroShotModel::load(&a.model, &sel.device, None).with_context(|| format!("loading {}", a.model.display()))?;
    let mut rows = Vec::new();
    for p in &a.images {
        let img = load_rgb(p, a.frame, a.window)?;
        rows.push(zs.image_embed(None, img.width, img.height, &img.rgb)?);
    }
    if !a.texts.is_empty() {
        rows.extend(zs.text_embeds(&a.texts)?);
    }
    if a.normalize {
        for r in &mut rows {
            let n = r.iter().map(|x| x * x).sum::<f32>().sqrt();
            r.iter_mut().for_each(|x| *x /= n);
        }
    }
    crate::output::write_atomic(&a.output, &npy_bytes(&rows), a.force)?;
    eprintln!("medlens: wrote {} x {} to {}", rows.len(), rows.first().map(|r| r.len()).unwrap_or(0), a.output.display());
    Ok(())
}
