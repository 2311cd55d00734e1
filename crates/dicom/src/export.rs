//! PNG export of a rendered frame, at its true aspect and with its scale written in.

use std::path::Path;

use crate::display::{resize_bilinear, Calibration, Image8};
use crate::error::{Error, ErrorKind, Result};

/// Encodes an 8-bit image as PNG bytes: greyscale for one channel, RGB for three,
/// RGBA for four.
pub fn png_bytes(img: &Image8) -> std::result::Result<Vec<u8>, String> {
    encode(img, None)
}

/// Writes an 8-bit image to a PNG file.
pub fn write_png(img: &Image8, path: &Path) -> Result<()> {
    let bytes = png_bytes(img).map_err(|e| Error::new(path, ErrorKind::Output(e)))?;
    std::fs::write(path, bytes).map_err(|e| Error::new(path, ErrorKind::Io(e)))
}

/// What an export knows of the frame's pixels (from `display::PixelGeometry`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExportGeometry {
    /// Pixel height and width relative to each other (vertical, horizontal).
    pub aspect: [f64; 2],
    /// mm between rows and between columns, when calibrated.
    pub spacing: Option<[f64; 2]>,
    pub calibration: Calibration,
}

/// The scale of an exported image, as its PNG states it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportScale {
    pub width: u32,
    pub height: u32,
    /// mm per exported pixel, the same across and down; `None` when uncalibrated.
    pub mm_per_pixel: Option<f64>,
    pub calibration: Calibration,
}

/// The most pixels a resampled export may have (a 16k × 16k image): the aspect comes from
/// the file, and a wild ratio must not turn into a huge allocation.
const MAX_EXPORT_PIXELS: u64 = 1 << 28;

/// Resamples `img` to square pixels: the finer of the two pixel sizes becomes the exported
/// pixel and the coarser direction is interpolated (bilinear), so no detail is thrown
/// away; sizes are rounded, so the extent is right to half a pixel. Square input (within
/// 1e-3) is returned as is.
pub fn to_square_pixels(img: &Image8, aspect: [f64; 2]) -> std::result::Result<Image8, String> {
    let [v, h] = aspect;
    if !(v.is_finite() && h.is_finite() && v > 0.0 && h > 0.0) {
        return Err(format!("pixel aspect {v}\\{h} is not two positive numbers"));
    }
    if (v / h - 1.0).abs() < 1e-3 {
        return Ok(img.clone());
    }
    let unit = v.min(h);
    let out_w = (img.width as f64 * h / unit).round().max(1.0);
    let out_h = (img.height as f64 * v / unit).round().max(1.0);
    if out_w * out_h > MAX_EXPORT_PIXELS as f64 {
        return Err(format!("pixel aspect {v}\\{h} would make a {out_w}×{out_h} image, more than the export allows"));
    }
    Ok(resize_bilinear(img, out_w as u32, out_h as u32))
}

/// The PNG of `img` drawn at its true aspect, with its scale stated: the text chunks
/// `mm per pixel` (when calibrated) and `Calibration` (where the size comes from, e.g.
/// "Imager Pixel Spacing (detector)"), and a pHYs chunk in pixels per metre, which image
/// programs read as the print size.
pub fn png_true_aspect(img: &Image8, g: &ExportGeometry) -> std::result::Result<(Vec<u8>, ExportScale), String> {
    let out = to_square_pixels(img, g.aspect)?;
    let mm = g.spacing.map(|[r, c]| r.min(c));
    let scale = ExportScale { width: out.width, height: out.height, mm_per_pixel: mm, calibration: g.calibration };
    Ok((encode(&out, Some(&scale))?, scale))
}

fn encode(img: &Image8, scale: Option<&ExportScale>) -> std::result::Result<Vec<u8>, String> {
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
        if let Some(s) = scale {
            if let Some(mm) = s.mm_per_pixel {
                enc.add_text_chunk("mm per pixel".into(), format_mm(mm)).map_err(|e| e.to_string())?;
                let ppm = (1000.0 / mm).round();
                if ppm >= 1.0 && ppm <= u32::MAX as f64 {
                    enc.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm as u32, yppu: ppm as u32, unit: png::Unit::Meter }));
                }
            }
            enc.add_text_chunk("Calibration".into(), s.calibration.label().into()).map_err(|e| e.to_string())?;
        }
        let mut w = enc.write_header().map_err(|e| e.to_string())?;
        w.write_image_data(&img.data).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A length in mm with enough digits for a DS value (up to 6 decimals, no trailing zeros).
pub fn format_mm(mm: f64) -> String {
    let s = format!("{mm:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (png::OutputInfo, Vec<(String, String)>, Option<png::PixelDimensions>, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        let texts = r.info().uncompressed_latin1_text.iter().map(|t| (t.keyword.clone(), t.text.clone())).collect();
        (info, texts, r.info().pixel_dims, buf)
    }

    #[test]
    fn non_square_pixels_are_resampled_to_the_finer_size() {
        // 4 columns × 2 rows, rows 1.0 mm apart and columns 0.5 mm apart: 2 mm × 2 mm, so
        // 4 × 4 pixels of 0.5 mm.
        let img = Image8 { width: 4, height: 2, channels: 1, data: vec![0, 0, 0, 0, 200, 200, 200, 200] };
        let g = ExportGeometry { aspect: [1.0, 0.5], spacing: Some([1.0, 0.5]), calibration: Calibration::PixelSpacing };
        let (bytes, scale) = png_true_aspect(&img, &g).unwrap();
        assert_eq!((scale.width, scale.height, scale.mm_per_pixel), (4, 4, Some(0.5)));
        let (info, texts, dims, data) = decode(&bytes);
        assert_eq!((info.width, info.height), (4, 4));
        assert!(texts.contains(&("mm per pixel".into(), "0.5".into())), "{texts:?}");
        assert!(texts.contains(&("Calibration".into(), "Pixel Spacing".into())), "{texts:?}");
        let dims = dims.unwrap();
        assert_eq!((dims.xppu, dims.yppu, dims.unit), (2000, 2000, png::Unit::Meter));
        // Half-pixel centres: output rows sit at input rows -0.25, 0.25, 0.75, 1.25, so
        // 0, 0.25·200, 0.75·200, 200 down each column.
        assert_eq!(&data[..], &[0, 0, 0, 0, 50, 50, 50, 50, 150, 150, 150, 150, 200, 200, 200, 200]);
    }

    #[test]
    fn square_and_uncalibrated_exports() {
        let img = Image8 { width: 3, height: 2, channels: 1, data: vec![1, 2, 3, 4, 5, 6] };
        let g = ExportGeometry { aspect: [0.7, 0.7], spacing: Some([0.7, 0.7]), calibration: Calibration::Detector };
        let (bytes, scale) = png_true_aspect(&img, &g).unwrap();
        assert_eq!((scale.width, scale.height), (3, 2));
        let (_, texts, _, data) = decode(&bytes);
        assert_eq!(data, img.data, "square pixels are not resampled");
        assert!(texts.contains(&("Calibration".into(), "Imager Pixel Spacing (detector)".into())));
        // Pixel Aspect Ratio 2\1 (pixels twice as tall as wide), nothing in mm.
        let g = ExportGeometry { aspect: [2.0, 1.0], spacing: None, calibration: Calibration::Aspect };
        let (bytes, scale) = png_true_aspect(&img, &g).unwrap();
        assert_eq!((scale.width, scale.height, scale.mm_per_pixel), (3, 4, None));
        let (_, texts, dims, _) = decode(&bytes);
        assert!(texts.iter().all(|(k, _)| k != "mm per pixel") && dims.is_none());
    }

    #[test]
    fn absurd_aspects_are_refused() {
        let img = Image8 { width: 4096, height: 4096, channels: 1, data: vec![0; 4096 * 4096] };
        assert!(to_square_pixels(&img, [1000.0, 1.0]).is_err());
        assert!(to_square_pixels(&img, [0.0, 1.0]).is_err());
        assert!(to_square_pixels(&img, [f64::NAN, 1.0]).is_err());
    }
}
