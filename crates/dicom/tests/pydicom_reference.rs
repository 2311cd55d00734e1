//! Pixel exactness against pydicom 3.0.2 + pylibjpeg (references made by
//! tests/dicom/make_reference.py and committed): stored values hash-equal for lossless
//! data, within a small tolerance of pydicom's decoder for lossy data; 8-bit renders
//! with an explicit window within ±1 of pydicom's modality LUT + PS3.3 linear VOI;
//! dcmtk/gdcm lossless re-encodings bit-identical to their sources.

mod common;

use std::io::Read;
use std::path::Path;

use medlens_dicom::display::{render, DisplayInfo, Voi, VoiFunction, Window};
use medlens_dicom::{open, Pixels};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn reference_dir() -> std::path::PathBuf {
    common::repo().join("tests/dicom")
}

fn json(rel: &str) -> Value {
    let p = reference_dir().join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// sha256 of every frame's values as little-endian i64, frames in order.
fn pixel_hash(path: &Path) -> Result<(String, Vec<i64>), String> {
    let f = open(path).map_err(|e| e.to_string())?;
    let info = f.image_info().map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    let mut first = Vec::new();
    for i in 0..info.frames as usize {
        let fr = f.frame(i).map_err(|e| e.to_string())?;
        let v = fr.pixels.to_i64();
        for x in &v {
            h.update(x.to_le_bytes());
        }
        if i == 0 {
            first = v;
        }
    }
    Ok((format!("{:x}", h.finalize()), first))
}

/// Reads a gzipped .npy of little-endian i4 values.
fn npy_gz_i4(rel: &str) -> Vec<i64> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(reference_dir().join("reference").join(rel)).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(&raw[..6], b"\x93NUMPY");
    let (hlen, start) = if raw[6] == 1 { (u16::from_le_bytes([raw[8], raw[9]]) as usize, 10) } else { (u32::from_le_bytes(raw[8..12].try_into().unwrap()) as usize, 12) };
    let header = std::str::from_utf8(&raw[start..start + hlen]).unwrap();
    assert!(header.contains("'<i4'") && header.contains("'fortran_order': False"), "{header}");
    raw[start + hlen..].chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64).collect()
}

#[test]
fn stored_values_equal_pydicom() {
    let corpus = common::corpus();
    let refs = json("reference/pixels.json");
    let mut checked_exact = 0;
    let mut checked_lossy = 0;
    let mut problems = Vec::new();
    for (rel, r) in refs.as_object().unwrap() {
        if r["decodes"] != Value::Bool(true) {
            continue;
        }
        let (hash, first) = match pixel_hash(&corpus.join(rel)) {
            Ok(x) => x,
            Err(e) => {
                problems.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let want = r["sha256"].as_str().unwrap();
        if hash == want {
            checked_exact += 1;
            continue;
        }
        match r["array_f0"].as_str() {
            Some(arr) if r["lossy"] == Value::Bool(true) => {
                // Lossy codecs: decoders may round differently. Compare frame 0.
                let theirs = npy_gz_i4(arr);
                if theirs.len() != first.len() {
                    problems.push(format!("{rel}: {} values vs pydicom {}", first.len(), theirs.len()));
                    continue;
                }
                let max = first.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).max().unwrap_or(0);
                let mean = first.iter().zip(&theirs).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / first.len() as f64;
                eprintln!("{rel}: lossy, max |diff| {max}, mean {mean:.4}");
                // libjpeg-turbo and pylibjpeg's libjpeg both use the islow IDCT; their
                // upsampling and rounding may differ by a few levels.
                if max > 4 || mean > 0.5 {
                    problems.push(format!("{rel}: lossy decode differs from pydicom by up to {max} (mean {mean:.3})"));
                } else {
                    checked_lossy += 1;
                }
            }
            _ => problems.push(format!("{rel}: stored values differ from pydicom (lossless)")),
        }
    }
    eprintln!("{checked_exact} files hash-equal to pydicom, {checked_lossy} lossy files within tolerance");
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    assert!(checked_exact >= 90, "too few exact comparisons: {checked_exact}");
}

#[test]
fn renders_with_explicit_window_within_one_of_pydicom() {
    let corpus = common::corpus();
    let refs = json("reference/render.json");
    let pixels = json("reference/pixels.json");
    let mut problems = Vec::new();
    let mut n = 0;
    for r in refs.as_array().unwrap() {
        let rel = r["file"].as_str().unwrap();
        let frame = r["frame"].as_u64().unwrap() as usize;
        let f = open(corpus.join(rel)).unwrap();
        let fr = f.frame(frame).unwrap();
        let info = DisplayInfo::from_dataset(f.dataset());
        let voi = match (r["center"].as_f64(), r["width"].as_f64()) {
            (Some(c), Some(w)) => Some(Voi::Window(Window { center: c, width: w }, VoiFunction::Linear)),
            _ => None,
        };
        let img = render(&fr, &info, voi.as_ref());
        let png_path = reference_dir().join("reference").join(r["png"].as_str().unwrap());
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let out = reader.next_frame(&mut buf).unwrap();
        buf.truncate(out.buffer_size());
        let channels = match out.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::Rgb => 3,
            c => panic!("{c:?}"),
        };
        if channels != img.channels as usize || buf.len() != img.data.len() {
            problems.push(format!("{rel} f{frame}: {} channels / {} bytes vs reference {channels} / {}", img.channels, img.data.len(), buf.len()));
            continue;
        }
        let max = img.data.iter().zip(&buf).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
        // Lossless sources: ±1 (float rounding). Lossy sources: decoders may round a
        // stored value by up to LOSSY_STORED levels (checked above), which the window's
        // slope turns into render levels.
        const LOSSY_STORED: f64 = 2.0;
        let lossy = pixels[rel]["lossy"] == Value::Bool(true);
        let slope = match (img.channels, r["width"].as_f64()) {
            (1, Some(w)) if w > 1.0 => 255.0 / (w - 1.0),
            _ => 1.0,
        };
        let tol = if lossy { 1 + (LOSSY_STORED * slope).ceil() as i32 } else { 1 };
        if max > tol {
            problems.push(format!("{rel} f{frame}: render differs by up to {max} (tolerance {tol})"));
        }
        n += 1;
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    assert!(n >= 25, "only {n} renders compared");
}

#[test]
fn lossless_reencodings_decode_bit_identical_to_their_source() {
    let refs = json("reencoded/index.json");
    let mut problems = Vec::new();
    for r in refs.as_array().unwrap() {
        let rel = r["file"].as_str().unwrap();
        match pixel_hash(&reference_dir().join(rel)) {
            Ok((h, _)) if h == r["sha256"].as_str().unwrap() => {}
            Ok(_) => problems.push(format!("{rel} ({}): values differ from {}", r["tool"], r["source"])),
            Err(e) => problems.push(format!("{rel}: {e}")),
        }
    }
    assert!(refs.as_array().unwrap().len() >= 30);
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn palette_color_lut_matches_pydicom() {
    let refs = json("reference/pixels.json");
    let corpus = common::corpus();
    for (rel, r) in refs.as_object().unwrap() {
        let Some(want) = r["palette_rgb_sha256"].as_str() else { continue };
        let f = open(corpus.join(rel)).unwrap();
        let info = DisplayInfo::from_dataset(f.dataset());
        let pal = info.palette.as_ref().expect("palette");
        let mut h = Sha256::new();
        for i in 0..f.image_info().unwrap().frames as usize {
            let fr = f.frame(i).unwrap();
            assert!(matches!(fr.pixels, Pixels::U8(_) | Pixels::U16(_)), "palette indices are unsigned");
            for k in 0..fr.pixels.len() {
                let v = fr.pixels.get(k);
                for l in [&pal.red, &pal.green, &pal.blue] {
                    let idx = (v - l.first_mapped).clamp(0, l.data.len() as i64 - 1) as usize;
                    h.update((l.data[idx] as i64).to_le_bytes());
                }
            }
        }
        assert_eq!(format!("{:x}", h.finalize()), want, "{rel}: palette colours differ from pydicom's apply_color_lut");
    }
}
