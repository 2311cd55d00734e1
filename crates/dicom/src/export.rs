//! PNG export of a rendered frame.

use std::path::Path;

use crate::display::Image8;
use crate::error::{Error, ErrorKind, Result};

/// Encodes an 8-bit image as PNG bytes: greyscale for one channel, RGB for three,
/// RGBA for four.
pub fn png_bytes(img: &Image8) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, img.width, img.height);
        enc.set_color(match img.channels {
            1 => png::ColorType::Grayscale,
            3 => png::ColorType::Rgb,
            4 => png::ColorType::Rgba,
            c => return Err(format!("{c} channels cannot be written as PNG")),
        });
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&img.data).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Writes an 8-bit image to a PNG file.
pub fn write_png(img: &Image8, path: &Path) -> Result<()> {
    let bytes = png_bytes(img).map_err(|e| Error::new(path, ErrorKind::Output(e)))?;
    std::fs::write(path, bytes).map_err(|e| Error::new(path, ErrorKind::Io(e)))
}
