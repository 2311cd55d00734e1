//! Model input from files: DICOM through `medlens_dicom::model_input` (so the window on
//! screen is the window the model sees), PNG/JPEG through `medlens_dicom::plain`. The image
//! comes back at its native size; the model's preprocessing does the resize.

use std::path::Path;

use medlens_dicom::model_input::{model_input, WindowUsed};
use medlens_dicom::{Pixels, Window};

use crate::error::{EngineError, Result};

/// An RGB8 image, `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb8 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
    /// How grey values were mapped (DICOM), `None` for plain images.
    pub window: Option<WindowUsed>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> EngineError {
    // The DICOM crate's errors usually name the file already.
    let (p, e) = (path.display().to_string(), e.to_string());
    let detail = e.strip_prefix(&format!("{p}: ")).map(str::to_string).unwrap_or(e);
    EngineError::Input { file: path.into(), detail }
}

/// Whether `path` looks like a PNG or JPEG (by its first bytes).
pub fn is_plain_image(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && medlens_dicom::plain::is_plain_image(&head)
}

/// Reads frame `frame` of a DICOM file (with `window` for greyscale), or a PNG/JPEG.
pub fn load_rgb(path: &Path, frame: usize, window: Option<Window>) -> Result<Rgb8> {
    if is_plain_image(path) {
        let f = medlens_dicom::plain::open_image(path).map_err(|e| err(path, e))?;
        let (w, h) = (f.columns as usize, f.rows as usize);
        let vals: Vec<u8> = match &f.pixels {
            Pixels::U8(v) => v.clone(),
            Pixels::U16(v) => v.iter().map(|&x| (x >> 8) as u8).collect(),
            _ => return Err(err(path, "unsupported plain image sample type")),
        };
        let data = if f.samples == 1 { vals.iter().flat_map(|&g| [g, g, g]).collect() } else { vals };
        return Ok(Rgb8 { width: w, height: h, data, window: None });
    }
    let file = medlens_dicom::open(path).map_err(|e| err(path, e))?;
    let fr = file.frame(frame).map_err(|e| err(path, e))?;
    let mi = model_input(&file, frame, window, (fr.columns, fr.rows)).map_err(|e| err(path, e))?;
    Ok(Rgb8 { width: mi.image.width as usize, height: mi.image.height as usize, data: mi.image.data, window: Some(mi.window) })
}
