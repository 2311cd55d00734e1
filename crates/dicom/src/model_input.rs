//! A frame as a model sees it: 8-bit RGB at the image's native size.
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
//! No resize here: each model's own preprocessing resizes to its input size (SigLIP and
//! Gemma 3 processors differ), so the image leaves this crate at its native size.
//!
//! [`load_rgb`] is the whole path from a file (DICOM, or a plain image dropped beside it:
//! PNG, JPEG, TIFF, BMP, WebP) to that image, decoding the frame once. Plain images take the
//! same rule as the Secondary Capture `plain::open` makes of them: colour as stored, 8-bit
//! grey as stored (its window is the full 0…255 range), deeper grey (16-bit TIFF or PNG)
//! through the window given, else its min/max window, as DICOM MONOCHROME2.

use std::path::Path;

use serde::Serialize;

use crate::display::{render, DisplayInfo, Image8, Voi, VoiFunction, Window};
use crate::error::Result;
use crate::object::DicomFile;
use crate::pixels::Frame;

/// How the grey values were mapped to 8 bits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// Converts an already decoded frame to RGB8 at its native size; `info` is the display
/// information of the file the frame came from. `window` overrides the rule above for
/// greyscale images.
pub fn model_input_frame(fr: &Frame, info: &DisplayInfo, window: Option<Window>) -> ModelInput {
    let colour = fr.samples == 3 || fr.photometric == "PALETTE COLOR";
    let (rgb, used) = if colour {
        (render(fr, info, None), WindowUsed::Colour)
    } else if let Some(w) = window {
        (render(fr, info, Some(&Voi::Window(w, VoiFunction::Linear))), WindowUsed::Window { center: w.center, width: w.width })
    } else if info.modality == "CT" {
        let channels: Vec<Image8> = CT_CHANNEL_WINDOWS
            .iter()
            .map(|w| render(fr, info, Some(&Voi::Window(*w, VoiFunction::Linear))))
            .collect();
        let data = (0..channels[0].data.len()).flat_map(|i| [channels[0].data[i], channels[1].data[i], channels[2].data[i]]).collect();
        (Image8 { width: fr.columns, height: fr.rows, channels: 3, data }, WindowUsed::ThreeWindows { windows: CT_CHANNEL_WINDOWS })
    } else {
        let voi = info.default_voi(fr);
        let used = match &voi {
            Voi::Window(w, _) => WindowUsed::Window { center: w.center, width: w.width },
            Voi::Lut(_) => WindowUsed::VoiLut,
        };
        (render(fr, info, Some(&voi)), used)
    };
    let image = Image8 { width: rgb.width, height: rgb.height, channels: 3, data: rgb.to_rgb() };
    ModelInput { image, window: used }
}

/// Decodes frame `frame` of `file` and converts it with [`model_input_frame`].
pub fn model_input(file: &DicomFile, frame: usize, window: Option<Window>) -> Result<ModelInput> {
    let fr = file.frame(frame)?;
    Ok(model_input_frame(&fr, &DisplayInfo::from_dataset(file.dataset()), window))
}

/// An image ready for a model's preprocessing, from any file Medlens opens.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelImage {
    pub width: usize,
    pub height: usize,
    /// RGB8, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// How grey values were mapped (`Colour` for colour images).
    pub window: Option<WindowUsed>,
}

/// Reads frame `frame` of a DICOM file or a plain image (told apart by their first bytes,
/// not their names; a multi-page TIFF's pages are its frames) with `window` for greyscale,
/// as the viewer shows it, as RGB8 at native size. Errors name the file.
pub fn load_rgb(path: &Path, frame: usize, window: Option<Window>) -> Result<ModelImage> {
    // `open` keeps `path`, so errors from decoding the frame name it too.
    let mi = model_input(&crate::open(path)?, frame, window)?;
    Ok(ModelImage { width: mi.image.width as usize, height: mi.image.height as usize, rgb: mi.image.data, window: Some(mi.window) })
}
