//! RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one
//! PackBits segment per byte plane (most significant byte first, sample by sample).

use crate::error::{ErrorKind, KindResult};

fn err(reason: impl Into<String>) -> ErrorKind {
    ErrorKind::Codec { codec: "RLE", reason: reason.into() }
}

/// Decodes one RLE frame to interleaved values (`samples` per pixel, `bytes` each).
/// The header (segment count and every offset) is validated, and each segment must be long
/// enough to expand to `pixels` bytes, before the output is allocated.
pub(super) fn decode(data: &[u8], pixels: usize, samples: usize, bytes: usize) -> KindResult<Vec<u64>> {
    if data.len() < 64 {
        return Err(err(format!("frame is {} bytes, shorter than the 64-byte header", data.len())));
    }
    let word = |i: usize| u32::from_le_bytes([data[i * 4], data[i * 4 + 1], data[i * 4 + 2], data[i * 4 + 3]]) as usize;
    let nseg = word(0);
    let expected = samples * bytes;
    if nseg != expected || nseg > 15 {
        return Err(err(format!("{nseg} segments where {expected} are expected ({samples} samples x {bytes} bytes)")));
    }
    let mut bounds = Vec::with_capacity(nseg);
    for seg in 0..nseg {
        let start = word(seg + 1);
        let end = if seg + 1 < nseg { word(seg + 2) } else { data.len() };
        if start < 64 || start > end || end > data.len() {
            return Err(err(format!("segment {seg} has bad offsets {start}..{end} in {} bytes", data.len())));
        }
        // PackBits expands at most 64-fold (2 bytes → 128): refuse before allocating.
        if (pixels as u64).div_ceil(64) > (end - start) as u64 {
            return Err(err(format!(
                "segment {seg} is {} bytes, which cannot hold {pixels} pixels (Rows x Columns of the data set)",
                end - start
            )));
        }
        bounds.push((start, end));
    }
    let mut out = vec![0u64; pixels * samples];
    for (seg, &(start, end)) in bounds.iter().enumerate() {
        let plane = unpack(&data[start..end], pixels);
        if plane.len() < pixels {
            return Err(err(format!("segment {seg} decodes to {} bytes where {pixels} are needed", plane.len())));
        }
        let sample = seg / bytes;
        let shift = 8 * (bytes - 1 - seg % bytes);
        for (i, &b) in plane.iter().take(pixels).enumerate() {
            out[i * samples + sample] |= (b as u64) << shift;
        }
    }
    Ok(out)
}

/// PackBits, stopping once `want` bytes are out (segments may carry padding).
fn unpack(src: &[u8], want: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(want);
    let mut i = 0;
    while i < src.len() && out.len() < want {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let end = (i + count).min(src.len());
            out.extend_from_slice(&src[i..end]);
            i = end;
        } else if n != -128 {
            let count = (1 - n as isize) as usize;
            if let Some(&b) = src.get(i) {
                out.extend(std::iter::repeat_n(b, count));
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packbits_literal_and_run() {
        // literal of 3, run of 4 x 0xAA, no-op, literal of 1
        let src = [2u8, 1, 2, 3, (-3i8) as u8, 0xAA, 0x80, 0, 9];
        assert_eq!(unpack(&src, 100), vec![1, 2, 3, 0xAA, 0xAA, 0xAA, 0xAA, 9]);
    }

    #[test]
    fn sixteen_bit_planes_combine_msb_first() {
        let mut data = vec![0u8; 64];
        data[0..4].copy_from_slice(&2u32.to_le_bytes());
        data[4..8].copy_from_slice(&64u32.to_le_bytes());
        data[8..12].copy_from_slice(&67u32.to_le_bytes());
        data.extend_from_slice(&[1, 0x12, 0x34]); // high bytes
        data.extend_from_slice(&[1, 0x56, 0x78]); // low bytes
        assert_eq!(decode(&data, 2, 1, 2).unwrap(), vec![0x1256, 0x3478]);
    }

    #[test]
    fn a_huge_claimed_size_is_refused_before_allocating() {
        let mut data = vec![0u8; 64];
        data[0..4].copy_from_slice(&1u32.to_le_bytes());
        data[4..8].copy_from_slice(&64u32.to_le_bytes());
        data.extend_from_slice(&[0x81, 0]); // a run of 128 zeros
        assert!(decode(&data, 65535 * 65535, 1, 1).is_err());
        assert_eq!(decode(&data, 128, 1, 1).unwrap(), vec![0; 128]);
    }

    #[test]
    fn bad_offsets_are_errors() {
        let mut data = vec![0u8; 64];
        data[0..4].copy_from_slice(&1u32.to_le_bytes());
        data[4..8].copy_from_slice(&9999u32.to_le_bytes());
        assert!(decode(&data, 4, 1, 1).is_err());
    }

    #[test]
    fn a_bad_later_offset_is_refused_before_the_output_is_allocated() {
        // Three segments, the last one starting past the end; a size the first one alone
        // would justify.
        let mut data = vec![0u8; 64 + 3000];
        data[0..4].copy_from_slice(&3u32.to_le_bytes());
        data[4..8].copy_from_slice(&64u32.to_le_bytes());
        data[8..12].copy_from_slice(&1064u32.to_le_bytes());
        data[12..16].copy_from_slice(&99_999u32.to_le_bytes());
        let e = decode(&data, 1000, 3, 1).unwrap_err().to_string();
        assert!(e.contains("segment 1 has bad offsets"), "{e}");
        // Segments too short for the pixels claimed.
        data[12..16].copy_from_slice(&2064u32.to_le_bytes());
        let e = decode(&data, 64 * 1000 + 1, 3, 1).unwrap_err().to_string();
        assert!(e.contains("cannot hold"), "{e}");
    }
}
