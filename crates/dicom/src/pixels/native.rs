//! Native (uncompressed) pixel data: 1, 8, 16 and 32 bits, either byte order,
//! planar configuration 0 and 1, and subsampled YBR_FULL_422.

use super::{sign_extend, ybr_full_to_rgb, ImageInfo, Pixels};
use crate::error::{ErrorKind, KindResult};

/// Decodes frame `index`; returns the values and their photometric interpretation.
pub(super) fn decode(data: &[u8], info: &ImageInfo, big_endian: bool, ow: bool, index: usize) -> KindResult<(Pixels, String)> {
    let n = info.pixels_per_frame();
    let spp = info.samples_per_pixel as usize;
    let subsampled = info.photometric == "YBR_FULL_422" && spp == 3;
    // Samples actually stored per frame (4:2:2 keeps 2 samples per pixel).
    let stored_samples = if subsampled { n * 2 } else { n * spp };

    let values: Vec<i64> = if info.bits_allocated == 1 {
        let first_bit = index * stored_samples;
        let last_bit = first_bit + stored_samples;
        let need = last_bit.div_ceil(8);
        if data.len() < need {
            return Err(ErrorKind::ShortPixelData { expected: need, actual: data.len() });
        }
        (first_bit..last_bit).map(|b| ((data[b / 8] >> (b % 8)) & 1) as i64).collect()
    } else {
        let bytes = info.bits_allocated as usize / 8;
        let frame_len = stored_samples * bytes;
        let start = index * frame_len;
        let end = start + frame_len;
        if data.len() < end {
            // pydicom's message for the same case names the whole-object shortfall.
            let total = frame_len * info.frames as usize;
            return Err(ErrorKind::ShortPixelData { expected: total, actual: data.len() });
        }
        let raw = &data[start..end];
        // 8-bit samples in an OW value of a big-endian data set are swapped in 16-bit words.
        let swapped: Vec<u8>;
        let raw = if big_endian && ow && bytes == 1 {
            let base = start & !1;
            let stop = (end + 1).min(data.len() & !1).max(end);
            let mut w: Vec<u8> = data[base..stop.min(data.len())].to_vec();
            for c in w.chunks_exact_mut(2) {
                c.swap(0, 1);
            }
            swapped = w;
            &swapped[start - base..start - base + frame_len]
        } else {
            raw
        };
        let signed = info.signed() && !subsampled;
        let bs = info.bits_stored;
        let word = |c: &[u8]| -> i64 {
            let u: u64 = match bytes {
                1 => c[0] as u64,
                2 => {
                    let a = [c[0], c[1]];
                    (if big_endian { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) }) as u64
                }
                _ => {
                    let a = [c[0], c[1], c[2], c[3]];
                    (if big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }) as u64
                }
            };
            if signed && bs < 64 { sign_extend(u as i64, bs) } else { u as i64 }
        };
        raw.chunks_exact(bytes).map(word).collect()
    };

    let (values, photometric) = if subsampled {
        // Y1 Y2 Cb Cr for each pair of pixels.
        let mut full = Vec::with_capacity(n * 3);
        for quad in values.chunks_exact(4) {
            full.extend_from_slice(&[quad[0], quad[2], quad[3], quad[1], quad[2], quad[3]]);
        }
        full.truncate(n * 3);
        let max = (1i64 << info.bits_allocated.min(16)) - 1;
        ybr_full_to_rgb(&mut full, max);
        (full, "RGB".to_string())
    } else if spp == 3 {
        let mut v = if info.planar_configuration == 1 {
            let mut out = vec![0i64; n * 3];
            for s in 0..3 {
                for i in 0..n {
                    out[i * 3 + s] = values[s * n + i];
                }
            }
            out
        } else {
            values
        };
        if info.photometric == "YBR_FULL" {
            let max = (1i64 << info.bits_allocated.min(16)) - 1;
            ybr_full_to_rgb(&mut v, max);
            (v, "RGB".to_string())
        } else {
            (v, info.photometric.clone())
        }
    } else {
        (values, info.photometric.clone())
    };
    let signed = info.signed() && spp == 1;
    Ok((Pixels::from_i64(values.into_iter(), info.bits_allocated, signed), photometric))
}
