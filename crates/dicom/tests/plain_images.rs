//! Plain images (crates/dicom/src/plain.rs): every fixture in tests/dicom/plain/ decodes to
//! what Pillow reads from it (tests/dicom/make_plain_fixtures.py wrote the files with Pillow,
//! tifffile and a hand-written RLE8 encoder, and saved Pillow's arrays beside them); crafted
//! headers are refused before anything is allocated; the index gives plain images their own
//! series; the models get them windowed as DICOM MONOCHROME2.

mod common;

use std::path::PathBuf;

use medlens_dicom::display::DisplayInfo;
use medlens_dicom::index::{index_paths, IndexOptions};
use medlens_dicom::plain::{self, PLAIN_PATIENT};
use medlens_dicom::{load_rgb, open, tags, Window};

fn fixtures() -> PathBuf {
    common::repo().join("tests/dicom/plain")
}

/// One row of tests/dicom/plain/manifest.json: what Pillow read.
struct Fixture {
    file: String,
    frames: u32,
    rows: u32,
    columns: u32,
    samples: u16,
    max_diff: i64,
    min: i64,
    max: i64,
    /// Pillow's values, frames after one another, samples interleaved.
    values: Vec<i64>,
}

fn manifest() -> Vec<Fixture> {
    let dir = fixtures();
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("tests/dicom/plain/manifest.json");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    rows.iter()
        .map(|r| {
            let raw = std::fs::read(dir.join(r["raw"].as_str().unwrap())).unwrap();
            let values: Vec<i64> = match r["dtype"].as_str().unwrap() {
                "u8" => raw.iter().map(|&b| b as i64).collect(),
                "u16" => raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as i64).collect(),
                "i16" => raw.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as i64).collect(),
                "i32" => raw.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect(),
                d => panic!("dtype {d}"),
            };
            let n = |k: &str| r[k].as_i64().unwrap();
            Fixture {
                file: r["file"].as_str().unwrap().into(),
                frames: n("frames") as u32,
                rows: n("rows") as u32,
                columns: n("columns") as u32,
                samples: n("samples") as u16,
                max_diff: n("max_diff"),
                min: n("min"),
                max: n("max"),
                values,
            }
        })
        .collect()
}

fn fixture(name: &str) -> Fixture {
    manifest().into_iter().find(|f| f.file == name).unwrap_or_else(|| panic!("{name} in the manifest"))
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medlens-test-plain-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_fixture_decodes_to_what_pillow_reads() {
    let all = manifest();
    assert!(all.len() >= 20, "the manifest lists the fixtures");
    let mut formats = std::collections::BTreeSet::new();
    for fx in &all {
        let path = fixtures().join(&fx.file);
        let file = open(&path).unwrap_or_else(|e| panic!("{e}"));
        let info = file.image_info().unwrap();
        let what = format!("{} ({}x{}x{}, {} frame(s))", fx.file, fx.columns, fx.rows, fx.samples, fx.frames);
        assert_eq!((info.columns, info.rows, info.samples_per_pixel, info.frames), (fx.columns, fx.rows, fx.samples, fx.frames), "{what}");
        // The index reads the same from the headers alone.
        let probed = plain::probe(&path).unwrap();
        assert_eq!((probed.columns, probed.rows, probed.samples, probed.frames), (fx.columns, fx.rows, fx.samples, fx.frames), "{what}: probe");
        formats.insert(probed.format.name());
        let per_frame = (fx.rows * fx.columns * fx.samples as u32) as usize;
        let mut worst = 0;
        for k in 0..fx.frames as usize {
            let fr = file.frame(k).unwrap();
            assert_eq!(fr.photometric, if fx.samples == 3 { "RGB" } else { "MONOCHROME2" }, "{what}");
            assert_eq!(fr.pixels.len(), per_frame, "{what} frame {k}");
            let want = &fx.values[k * per_frame..(k + 1) * per_frame];
            for (i, &w) in want.iter().enumerate() {
                worst = worst.max((fr.pixels.get(i) - w).abs());
            }
        }
        eprintln!("{what}: largest difference from Pillow {worst}");
        assert!(worst <= fx.max_diff, "{what}: a value differs from Pillow's by {worst} (allowed {})", fx.max_diff);
        // 16-bit grey keeps its type and full range.
        if fx.max > 255 || fx.min < 0 {
            assert!(info.bits_allocated >= 16, "{what}: {} bits", info.bits_allocated);
        }
    }
    assert_eq!(formats.into_iter().collect::<Vec<_>>(), ["BMP", "JPEG", "PNG", "TIFF", "WebP"]);
}

#[test]
fn formats_are_told_by_their_bytes_not_their_names() {
    let dir = tempdir("names");
    for (src, dst) in [("tiff_grey16_deflate.tif", "scan.dcm"), ("webp_lossless.webp", "noextension"), ("bmp_grey8.bmp", "x.png")] {
        std::fs::copy(fixtures().join(src), dir.join(dst)).unwrap();
        let fx = fixture(src);
        let fr = open(dir.join(dst)).unwrap().frame(0).unwrap();
        assert_eq!(fr.pixels.to_i64(), fx.values[..fr.pixels.len()], "{dst}");
    }
    std::fs::write(dir.join("notes.tif"), "plain text named like a TIFF").unwrap();
    assert!(!plain::is_plain_image_file(&dir.join("notes.tif")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plain_images_open_as_secondary_captures_measured_in_pixels() {
    let path = fixtures().join("tiff_grey16_deflate.tif");
    let fx = fixture("tiff_grey16_deflate.tif");
    let file = open(&path).unwrap();
    let ds = file.dataset();
    assert_eq!(ds.string(tags::PATIENT_NAME).as_deref(), Some(PLAIN_PATIENT));
    assert_eq!(ds.string(tags::MODALITY).as_deref(), Some("OT"));
    assert_eq!(ds.string(tags::SOP_CLASS_UID).as_deref(), Some(plain::SECONDARY_CAPTURE));
    assert_eq!(ds.string(tags::STUDY_DESCRIPTION).as_deref(), Some("plain"), "the study is the folder");
    assert!(ds.string(medlens_dicom::Tag(0x0020, 0x4000)).unwrap().starts_with("Not DICOM: tiff_grey16_deflate.tif"));
    assert_eq!(ds.int(tags::BITS_STORED), Some(16));
    let info = DisplayInfo::read(ds).unwrap();
    assert_eq!(info.pixel_spacing, None, "no spacing: measured in pixels");
    // The default window spans the values' min..max (PS3.3 C.11.2.1.2: width max-min+1, so
    // that min maps to 0 and max to 255).
    let w = &info.windows[0];
    let width = (fx.max - fx.min + 1) as f64;
    assert_eq!((w.center, w.width), (fx.min as f64 + width / 2.0, width));
    // The tag browser lists it; the SOP Instance UID is the one the index gives.
    assert!(file.tags().iter().any(|t| t.keyword == "PatientName"));
    assert_eq!(medlens_dicom::sop_instance_uid(&path), ds.string(tags::SOP_INSTANCE_UID));
    // 8-bit grey: the full range, which LINEAR maps onto itself.
    let w8 = DisplayInfo::read(open(fixtures().join("tiff_grey8_lzw.tif")).unwrap().dataset()).unwrap().windows[0].clone();
    assert_eq!((w8.center, w8.width), (128.0, 256.0));
    // Colour: no window.
    assert!(DisplayInfo::read(open(fixtures().join("webp_lossless.webp")).unwrap().dataset()).unwrap().windows.is_empty());
}

/// PS3.3 C.11.2.1.2.1 LINEAR, to 8 bits (rounded half up).
fn linear(x: f64, c: f64, w: f64) -> i64 {
    let y = if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0.0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 {
        1.0
    } else {
        (x - (c - 0.5)) / (w - 1.0) + 0.5
    };
    (y * 255.0 + 0.5).floor() as i64
}

#[test]
fn models_get_plain_images_as_dicom_monochrome2() {
    // 16-bit grey: the min/max window, then an explicit one; every frame of a stack.
    for (name, frame) in [("tiff_grey16_deflate.tif", 0), ("png_grey16.png", 0), ("tiff_multipage_grey16_lzw.tif", 2), ("tiff_int16.tif", 0)] {
        let fx = fixture(name);
        let path = fixtures().join(name);
        let n = (fx.rows * fx.columns) as usize;
        let values = &fx.values[frame * n..(frame + 1) * n];
        let width = (fx.max - fx.min + 1) as f64;
        let center = fx.min as f64 + width / 2.0;
        for window in [None, Some(Window { center: (fx.min + fx.max) as f64 / 3.0, width: (fx.max - fx.min) as f64 / 4.0 })] {
            let img = load_rgb(&path, frame, window).unwrap();
            assert_eq!((img.width, img.height), (fx.columns as usize, fx.rows as usize), "{name}");
            let (c, w) = window.map_or((center, width), |w| (w.center, w.width));
            for (i, &v) in values.iter().enumerate() {
                let want = linear(v as f64, c, w);
                let px = &img.rgb[i * 3..i * 3 + 3];
                assert!(px[0] == px[1] && px[1] == px[2], "{name}: grey in R, G and B");
                assert!((px[0] as i64 - want).abs() <= 1, "{name} frame {frame} pixel {i}: {} where PS3.3 LINEAR gives {want} ({window:?})", px[0]);
            }
        }
    }
    // Colour as stored; 8-bit grey as stored, repeated.
    for name in ["webp_lossless.webp", "tiff_rgba8_packbits.tif", "bmp_rle8.bmp", "bmp_grey8.bmp", "tiff_grey8_lzw.tif"] {
        let fx = fixture(name);
        let img = load_rgb(&fixtures().join(name), 0, None).unwrap();
        let want: Vec<u8> = if fx.samples == 3 {
            fx.values.iter().map(|&v| v as u8).collect()
        } else {
            fx.values.iter().flat_map(|&v| [v as u8; 3]).collect()
        };
        assert_eq!(img.rgb, want, "{name}");
    }
}

// ---- crafted headers ----

/// A little-endian TIFF of `len` bytes: one directory per page (each `w` x `h`, 16-bit grey,
/// compression `c`), strips pointing into the file.
fn crafted_tiff(w: u32, h: u32, c: u16, pages: usize, len: usize) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    for p in 0..pages {
        let entries: [(u16, u16, u32); 9] = [
            (256, 4, w),   // ImageWidth, LONG
            (257, 4, h),   // ImageLength
            (258, 3, 16),  // BitsPerSample, SHORT
            (259, 3, c as u32), // Compression
            (262, 3, 1),   // PhotometricInterpretation: BlackIsZero
            (273, 4, 8),   // StripOffsets
            (277, 3, 1),   // SamplesPerPixel
            (278, 4, h),   // RowsPerStrip
            (279, 4, 64),  // StripByteCounts
        ];
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, ty, v) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            if ty == 3 {
                out.extend_from_slice(&(v as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let next = if p + 1 < pages { out.len() as u32 + 4 } else { 0 };
        out.extend_from_slice(&next.to_le_bytes());
    }
    assert!(out.len() <= len, "the directories fit in {len} bytes");
    out.resize(len, 0);
    out
}

fn crafted_bmp(w: i32, h: i32, bpp: u16, compression: u32) -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&1024u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&54u32.to_le_bytes());
    for v in [40u32, w as u32, h as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&bpp.to_le_bytes());
    out.extend_from_slice(&compression.to_le_bytes());
    out.extend_from_slice(&[0; 20]);
    out.resize(1024, 0);
    out
}

/// A lossless WebP whose VP8L header declares `w` x `h` (bit stream otherwise empty).
fn crafted_webp(w: u32, h: u32) -> Vec<u8> {
    let mut vp8l = vec![0x2f];
    vp8l.extend_from_slice(&((w - 1) | (h - 1) << 14).to_le_bytes());
    vp8l.extend_from_slice(&[0; 16]);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + 8 + vp8l.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    out.extend_from_slice(&vp8l);
    out
}

/// With `MEDLENS_KEEP_HOSTILE=DIR`, a crafted file is also written to DIR (for
/// `tests/hostile/commands.py`, which runs the `medlens` commands on it).
fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("MEDLENS_KEEP_HOSTILE") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}

/// A PNG chunk: length, type, data, CRC over type and data.
fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(kind);
    out.extend(data);
    out.extend(crc.sum().to_be_bytes());
}

/// A valid 11 x 9 4-bit palette PNG, except that its PLTE chunk is `plte` bytes long.
fn crafted_palette_png(plte: usize) -> Vec<u8> {
    use std::io::Write;
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(11u32.to_be_bytes());
    ihdr.extend(9u32.to_be_bytes());
    ihdr.extend([4, 3, 0, 0, 0]); // 4-bit, palette, deflate, adaptive filtering, no interlace
    png_chunk(&mut b, b"IHDR", &ihdr);
    png_chunk(&mut b, b"PLTE", &(0..plte).map(|i| i as u8).collect::<Vec<_>>());
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&[0u8; 9 * 7]).unwrap(); // 9 rows: a filter byte and 6 bytes of pixels each
    png_chunk(&mut b, b"IDAT", &z.finish().unwrap());
    png_chunk(&mut b, b"IEND", &[]);
    b
}

/// Found by the plain_image fuzz target: a PLTE chunk that is not whole RGB entries made the
/// png crate index past its end (a panic, and the app's crash) while expanding the palette.
/// With valid CRCs, as a real file would have them: refused from the headers.
#[test]
fn a_palette_that_is_not_whole_rgb_entries_is_an_error() {
    let dir = tempdir("plte");
    let good = dir.join("palette-48.png");
    std::fs::write(&good, crafted_palette_png(48)).unwrap();
    let f = open(&good).unwrap();
    assert_eq!((f.frame(0).unwrap().columns, f.frame(0).unwrap().rows), (11, 9), "the same file with 16 whole entries decodes");
    for n in [1, 49, 50] {
        let path = dir.join(format!("palette-{n}.png"));
        std::fs::write(&path, crafted_palette_png(n)).unwrap();
        keep(&format!("plain_palette-{n}.png"), &crafted_palette_png(n));
        for e in [plain::probe(&path).map(|_| ()).unwrap_err(), open(&path).and_then(|f| f.frame(0)).map(|_| ()).unwrap_err()] {
            let msg = e.to_string();
            assert!(msg.contains(&*path.to_string_lossy()) && msg.contains(&format!("PLTE chunk is {n} bytes")), "{msg}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn crafted_headers_are_refused_before_decoding() {
    let dir = tempdir("crafted");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("side.tif", crafted_tiff(100_000, 100_000, 1, 1, 1024), "at most 65535 a side"),
        ("pixels.tif", crafted_tiff(60_000, 60_000, 5, 1, 1024), "a page are read"),
        ("uncompressed.tif", crafted_tiff(10_000, 10_000, 1, 1, 1024), "uncompressed pixel data, and the file has 1024 bytes"),
        ("lzw.tif", crafted_tiff(10_000, 10_000, 5, 1, 1024), "more than LZW data can expand"),
        ("deflate.tif", crafted_tiff(8_000, 8_000, 8, 1, 1024), "more than Deflate data can expand (1032-fold)"),
        ("pages.tif", crafted_tiff(16_000, 16_000, 8, 3, 1024), "at most 256 MiB"),
        ("wide.bmp", crafted_bmp(60_000, -60_000, 24, 0), "a page are read"),
        ("tall.bmp", crafted_bmp(9_000, 9_000, 24, 0), "uncompressed pixel data, and the file has 1024 bytes"),
        ("rle.bmp", crafted_bmp(8_000, 8_000, 8, 1), "more than RLE8 data can expand"),
        ("big.webp", crafted_webp(8_000, 8_000), "more than lossless WebP data can expand"),
    ];
    for (name, bytes, why) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        keep(&format!("plain_{name}"), &bytes);
        let t = std::time::Instant::now();
        for e in [plain::probe(&path).map(|_| ()).unwrap_err(), open(&path).map(|_| ()).unwrap_err()] {
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("{}: ", path.display())), "names the file: {msg}");
            assert!(msg.contains(why), "{name}: {msg:?} should say {why:?}");
        }
        assert!(t.elapsed().as_secs_f64() < 1.0, "{name}: refused from the headers, in {:?}", t.elapsed());
    }
    // The index lists them as errors that name the file, and carries on.
    let idx = index_paths(&[dir.clone()], &IndexOptions::default());
    assert_eq!(idx.errors.len(), 10, "{:?}", idx.errors);
    assert_eq!(idx.instance_count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the index ----

#[test]
fn a_folder_of_dicom_and_plain_images_gives_them_their_own_series() {
    let dir = tempdir("index");
    let mr = common::repo().join("samples/mr-volume");
    for k in [1, 2] {
        std::fs::copy(mr.join(format!("brain_{k:03}.dcm")), dir.join(format!("brain_{k:03}.dcm"))).unwrap();
    }
    let copies = [
        ("tiff_grey16_deflate.tif", "img10.tif"),
        ("bmp_rgb24.bmp", "img2.bmp"),
        ("webp_lossy.webp", "img1.webp"),
        ("tiff_multipage_grey16_lzw.tif", "stack.tif"),
        ("tiff_stack_with_thumbnail.tif", "with_thumb.tif"),
    ];
    for (src, dst) in copies {
        std::fs::copy(fixtures().join(src), dir.join(dst)).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    std::fs::write(dir.join("broken.tif"), crafted_tiff(10, 10, 7, 1, 256)).unwrap(); // JPEG-in-TIFF

    let idx = index_paths(&[dir.clone()], &IndexOptions::default());
    let names = |v: &[PathBuf]| v.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect::<Vec<_>>();
    assert_eq!(names(&idx.skipped), ["notes.txt"]);
    assert_eq!(idx.errors.len(), 1, "{:?}", idx.errors);
    assert!(idx.errors[0].error.contains("broken.tif") && idx.errors[0].error.contains("compression 7 (JPEG)"), "{}", idx.errors[0].error);
    assert_eq!(idx.images.len(), 5);

    assert_eq!(idx.patients.len(), 2, "the MR patient and the plain images");
    let plain_patient = idx.patients.iter().find(|p| p.name == PLAIN_PATIENT).expect("the (plain images) patient");
    let dicom_patient = idx.patients.iter().find(|p| p.name != PLAIN_PATIENT).unwrap();
    assert_eq!(dicom_patient.studies.iter().flat_map(|s| &s.series).map(|s| s.instances.len()).sum::<usize>(), 2, "DICOM as before");
    assert_eq!(plain_patient.studies.len(), 1);
    let study = &plain_patient.studies[0];
    assert_eq!(study.description, dir.file_name().unwrap().to_string_lossy(), "the study is the folder");
    assert_eq!(study.series.len(), 3, "single images, and each multi-page file");
    for s in &study.series {
        assert_eq!(s.modality, "OT");
        let paths: Vec<PathBuf> = s.instances.iter().map(|i| i.path.clone()).collect();
        match s.instances.len() {
            3 => {
                assert_eq!(names(&paths), ["img1.webp", "img2.bmp", "img10.tif"], "natural name order");
                assert_eq!(s.instances.iter().map(|i| i.instance_number).collect::<Vec<_>>(), [Some(1), Some(2), Some(3)]);
                assert_eq!(s.frame_count(), 3);
                let t = &s.instances[2];
                assert_eq!((t.columns, t.rows, t.bits_allocated, t.photometric.as_deref()), (Some(64), Some(48), Some(16), Some("MONOCHROME2")));
            }
            1 => {
                let i = &s.instances[0];
                match names(&paths)[0].as_str() {
                    "stack.tif" => assert_eq!(i.frames, 4),
                    "with_thumb.tif" => {
                        assert_eq!(i.frames, 3);
                        assert!(i.warnings.iter().any(|w| w.contains("1 of 4 pages left out")), "{:?}", i.warnings);
                    }
                    other => panic!("unexpected series of {other}"),
                }
            }
            n => panic!("a series of {n}"),
        }
        // What the index says is what opening gives.
        for i in &s.instances {
            let f = open(&i.path).unwrap();
            assert_eq!(f.dataset().string(tags::SOP_INSTANCE_UID).as_deref(), Some(i.sop_instance_uid.as_str()));
            assert_eq!(f.dataset().string(tags::SERIES_INSTANCE_UID).as_deref(), Some(s.uid.as_str()));
            assert_eq!(f.dataset().string(tags::STUDY_INSTANCE_UID).as_deref(), Some(study.uid.as_str()));
            assert_eq!(f.image_info().unwrap().frames, i.frames);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fixtures_are_small() {
    let total: u64 = std::fs::read_dir(fixtures()).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(total < 400_000, "tests/dicom/plain holds {total} bytes");
}

#[test]
fn truncated_and_corrupted_fixtures_are_errors_not_panics() {
    let dir = tempdir("damaged");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut tried, mut refused) = (0, 0);
    for fx in manifest() {
        let bytes = std::fs::read(fixtures().join(&fx.file)).unwrap();
        let mut variants: Vec<Vec<u8>> = [8, 16, 40, 100, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1]
            .into_iter()
            .filter(|&n| n < bytes.len())
            .map(|n| bytes[..n].to_vec())
            .collect();
        for _ in 0..24 {
            let mut b = bytes.clone();
            // Keep the signature, so the file is still taken for its format.
            for _ in 0..4 {
                let i = 12 + (next() as usize) % (b.len() - 12);
                b[i] = next() as u8;
            }
            variants.push(b);
        }
        for (k, v) in variants.iter().enumerate() {
            let path = dir.join(format!("{k}-{}", fx.file));
            std::fs::write(&path, v).unwrap();
            tried += 1;
            // Errors are fine (and name the file); a panic fails the test.
            for r in [plain::probe(&path).map(|_| ()), open(&path).and_then(|f| f.frame(0)).map(|_| ())] {
                if let Err(e) = r {
                    refused += 1;
                    assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
                }
            }
        }
    }
    eprintln!("{tried} damaged files, {refused} refusals");
    let _ = std::fs::remove_dir_all(&dir);
}
