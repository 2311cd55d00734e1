//! A frame as a model sees it: 8-bit RGB at the model's size.
//!
//! The rule, per modality:
//! - **CT**: an explicit window when one is given; otherwise three windows as the three
//!   channels (R: −1024…1024 HU, G: −135…215 HU soft tissue, B: 0…80 HU brain), the
//!   CT layout MedGemma's CT work uses.
//! - **Everything else greyscale** (CR, DX, MG, MR, …): the window given, else the file's
//!   own VOI (first window or VOI LUT), else the full range; MONOCHROME1 inverted.
//!   The grey value is repeated in R, G and B.
//! - **Colour** (RGB, YBR, palette): the colours as stored, scaled to 8 bits.
//!
//! Resizing is bilinear with half-pixel centres and no antialiasing; aspect ratio is not
//! kept (SigLIP and Gemma 3 image processors resize to a square the same way).

use serde::Serialize;

use crate::display::{render, resize_bilinear, DisplayInfo, Image8, Voi, VoiFunction, Window};
use crate::error::Result;
use crate::object::DicomFile;

/// How the grey values were mapped to 8 bits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WindowUsed {
    Window { center: f64, width: f64 },
    ThreeWindows { windows: [Window; 3] },
    VoiLut,
    Colour,
}

/// The model's view of one frame.
#[derive(Clone, Debug)]
pub struct ModelInput {
    /// RGB8, `width * height * 3` bytes.
    pub image: Image8,
    pub window: WindowUsed,
}

/// The three CT windows used as channels when no window is given.
pub const CT_CHANNEL_WINDOWS: [Window; 3] = [
    Window { center: 0.0, width: 2048.0 },
    Window { center: 40.0, width: 350.0 },
    Window { center: 40.0, width: 80.0 },
];

/// Converts frame `frame` of `file` to RGB8 at `size` (width, height); `window`
/// overrides the rule above for greyscale images.
pub fn model_input(file: &DicomFile, frame: usize, window: Option<Window>, size: (u32, u32)) -> Result<ModelInput> {
    let fr = file.frame(frame)?;
    let info = DisplayInfo::from_dataset(file.dataset());
    let colour = fr.samples == 3 || fr.photometric == "PALETTE COLOR";
    let (rgb, used) = if colour {
        (render(&fr, &info, None), WindowUsed::Colour)
    } else if let Some(w) = window {
        (render(&fr, &info, Some(&Voi::Window(w, VoiFunction::Linear))), WindowUsed::Window { center: w.center, width: w.width })
    } else if info.modality == "CT" {
        let channels: Vec<Image8> = CT_CHANNEL_WINDOWS
            .iter()
            .map(|w| render(&fr, &info, Some(&Voi::Window(*w, VoiFunction::Linear))))
            .collect();
        let data = (0..channels[0].data.len()).flat_map(|i| [channels[0].data[i], channels[1].data[i], channels[2].data[i]]).collect();
        (Image8 { width: fr.columns, height: fr.rows, channels: 3, data }, WindowUsed::ThreeWindows { windows: CT_CHANNEL_WINDOWS })
    } else {
        let voi = info.default_voi(&fr);
        let used = match &voi {
            Voi::Window(w, _) => WindowUsed::Window { center: w.center, width: w.width },
            Voi::Lut(_) => WindowUsed::VoiLut,
        };
        (render(&fr, &info, Some(&voi)), used)
    };
    let rgb = Image8 { width: rgb.width, height: rgb.height, channels: 3, data: rgb.to_rgb() };
    let image = if (rgb.width, rgb.height) == size { rgb } else { resize_bilinear(&rgb, size.0, size.1) };
    Ok(ModelInput { image, window: used })
}
