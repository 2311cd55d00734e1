//! Plain images (PNG, JPEG) dropped beside DICOM: read into the same [`Frame`] so the
//! viewer and the models treat them alike.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::pixels::{Frame, Pixels};

/// Whether the bytes start like a PNG or a JPEG file.
pub fn is_plain_image(head: &[u8]) -> bool {
    head.starts_with(b"\x89PNG\r\n\x1a\n") || head.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Whether the file at `path` starts like a PNG or a JPEG (its first 8 bytes; the name
/// does not count). False when it cannot be read or is shorter than 8 bytes.
pub fn is_plain_image_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && is_plain_image(&head)
}

/// Reads a PNG (8/16-bit grey or colour; alpha dropped, palettes expanded) or a JPEG
/// (colour converted to RGB as JFIF says) into a frame of stored values.
pub fn open_image(path: &Path) -> Result<Frame> {
    let bytes = std::fs::read(path).map_err(|e| Error::new(path, ErrorKind::Io(e)))?;
    decode_image(&bytes).map_err(|k| Error::new(path, k))
}

pub fn decode_image(bytes: &[u8]) -> std::result::Result<Frame, ErrorKind> {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let (w, h, v, comps) = crate::pixels::codecs::jpeg(bytes)?;
        return Ok(Frame {
            rows: h,
            columns: w,
            samples: comps as u16,
            photometric: if comps == 3 { "RGB".into() } else { "MONOCHROME2".into() },
            pixels: Pixels::U8(v.into_iter().map(|x| x.clamp(0, 255) as u8).collect()),
        });
    }
    if !bytes.starts_with(b"\x89PNG") {
        return Err(ErrorKind::Unsupported("not a PNG, JPEG or DICOM file".into()));
    }
    let fail = |e: png::DecodingError| ErrorKind::Codec { codec: "PNG", reason: e.to_string() };
    let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().map_err(fail)?;
    let (w, h) = (reader.info().width, reader.info().height);
    if (w as u64) * (h as u64) > 1 << 28 {
        return Err(ErrorKind::Unsupported(format!("a {w} x {h} image is too large")));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(fail)?;
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    let wide = info.bit_depth == png::BitDepth::Sixteen;
    let values: Vec<u16> = if wide {
        buf.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
    } else {
        buf.iter().map(|&b| b as u16).collect()
    };
    // Keep grey as grey and colour as RGB; drop alpha.
    let keep = if channels >= 3 { 3 } else { 1 };
    let kept: Vec<u16> = values.chunks_exact(channels).flat_map(|px| px[..keep].to_vec()).collect();
    let pixels = if wide { Pixels::U16(kept) } else { Pixels::U8(kept.into_iter().map(|v| v as u8).collect()) };
    Ok(Frame {
        rows: h,
        columns: w,
        samples: keep as u16,
        photometric: if keep == 3 { "RGB".into() } else { "MONOCHROME2".into() },
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_grey_and_rgba() {
        let img = crate::display::Image8 { width: 2, height: 1, channels: 1, data: vec![7, 200] };
        let f = decode_image(&crate::export::png_bytes(&img).unwrap()).unwrap();
        assert_eq!((f.rows, f.columns, f.samples), (1, 2, 1));
        assert_eq!(f.pixels, Pixels::U8(vec![7, 200]));
        let img = crate::display::Image8 { width: 1, height: 1, channels: 4, data: vec![1, 2, 3, 4] };
        let f = decode_image(&crate::export::png_bytes(&img).unwrap()).unwrap();
        assert_eq!(f.pixels, Pixels::U8(vec![1, 2, 3]));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_image(b"\x89PNG\r\n\x1a\nnonsense").is_err());
        assert!(decode_image(&[0xFF, 0xD8, 0xFF, 0, 1, 2]).is_err());
        assert!(decode_image(b"hello").is_err());
    }
}
