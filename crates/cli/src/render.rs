//! `medlens render FILE [--frame N] [--window C,W | --preset NAME] [--size WxH] -o OUT.png`

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use medlens_dicom::display::{render, resize_bilinear, DisplayInfo, Voi, VoiFunction, Window};
use medlens_dicom::error::WithPath;

#[derive(clap::Args)]
pub struct Args {
    file: PathBuf,
    /// Frame index (0-based).
    #[arg(long, default_value_t = 0)]
    frame: usize,
    /// Window as CENTER,WIDTH in modality units (e.g. -600,1500).
    #[arg(long, conflicts_with = "preset", allow_hyphen_values = true)]
    window: Option<Window>,
    /// A named preset (brain, lung, mediastinum, bone, abdomen, ...).
    #[arg(long)]
    preset: Option<String>,
    /// Output size WIDTHxHEIGHT (bilinear, no antialiasing).
    #[arg(long, value_parser = parse_size, conflicts_with = "true_aspect")]
    size: Option<(u32, u32)>,
    /// Draw non-square pixels at their true aspect, as the viewer shows them (the coarser
    /// direction resampled to the finer pixel size), and state the scale in the PNG (tEXt
    /// `mm per pixel` and `Calibration`, pHYs). Without it the PNG has the stored pixels.
    #[arg(long)]
    true_aspect: bool,
    /// Output PNG (written whole or not at all).
    #[arg(short, long)]
    output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
    /// Print what was rendered as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT"))?;
    let w: u32 = w.parse().map_err(|_| format!("'{w}' is not a width"))?;
    let h: u32 = h.parse().map_err(|_| format!("'{h}' is not a height"))?;
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return Err(format!("{w}x{h} is not a usable size"));
    }
    Ok((w, h))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // Refused before any work when the output exists (and not --force).
    let mut out = crate::output::AtomicFile::create(&args.output, args.force)?;
    let file = medlens_dicom::open(&args.file)?;
    let frame = file.frame(args.frame)?;
    // Strict: a Modality LUT, VOI LUT or palette that is present but unusable is an error
    // naming the file and the table, not silently left out of the render.
    let info = DisplayInfo::read(file.dataset()).at(&args.file)?;
    let window = match (&args.window, &args.preset) {
        (Some(w), _) => Some(*w),
        (None, Some(name)) => {
            let p = medlens_dicom::presets::preset(name)
                .ok_or_else(|| anyhow!("unknown preset '{name}'; known: {}", medlens_dicom::presets::names().join(", ")))?;
            let mut w = p.window();
            // The PT presets are SUV windows: a PET image in Bq/ml gets them in its own units.
            if info.modality == "PT" && medlens_dicom::presets::PT.iter().any(|q| q.name == p.name) {
                let suv = medlens_dicom::suv::Suv::read(file.dataset()).map_err(|why| anyhow!("{}: preset {name} is an SUV window, and this image has no SUV: {why}", args.file.display()))?;
                w.center /= suv.factor;
                w.width /= suv.factor;
            }
            Some(w)
        }
        _ => None,
    };
    let voi = window.map(|w| Voi::Window(w, VoiFunction::Linear)).unwrap_or_else(|| info.default_voi(&frame));
    let mut img = render(&frame, &info, Some(&voi));
    if let Some((w, h)) = args.size {
        img = resize_bilinear(&img, w, h);
    }
    let (png, scale) = if args.true_aspect {
        let g = medlens_dicom::display::PixelGeometry::read(file.dataset(), args.frame);
        let geometry = medlens_dicom::export::ExportGeometry { aspect: g.aspect, spacing: g.spacing, calibration: g.calibration };
        let (png, scale) = medlens_dicom::export::png_true_aspect(&img, &geometry).map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
        (png, Some(scale))
    } else {
        (medlens_dicom::export::png_bytes(&img).map_err(|e| anyhow!("{}: encoding the PNG: {e}", args.output.display()))?, None)
    };
    std::io::Write::write_all(out.file(), &png).with_context(|| format!("{}: writing", args.output.display()))?;
    out.commit()?;
    if args.json {
        let voi_json = match &voi {
            Voi::Window(w, f) => serde_json::json!({"center": w.center, "width": w.width, "function": format!("{f:?}")}),
            Voi::Lut(_) => serde_json::json!({"voi_lut": true}),
        };
        let (width, height) = scale.as_ref().map_or((img.width, img.height), |s| (s.width, s.height));
        let mut reply = serde_json::json!({"output": args.output, "width": width, "height": height, "channels": img.channels, "voi": voi_json});
        if let Some(s) = &scale {
            reply["mm_per_pixel"] = serde_json::json!(s.mm_per_pixel);
            reply["calibration"] = serde_json::json!(s.calibration.label());
        }
        println!("{reply}");
    }
    Ok(())
}
