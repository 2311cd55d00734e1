//! The model-input rule per modality (see crates/dicom/src/model_input.rs).

mod common;

use std::path::{Path, PathBuf};

use medlens_dicom::display::{render, DisplayInfo, Voi, VoiFunction, Window};
use medlens_dicom::model_input::{model_input, model_input_frame, WindowUsed, CT_CHANNEL_WINDOWS};
use medlens_dicom::plain::is_plain_image_file;
use medlens_dicom::{load_rgb, open, ModelImage};

#[test]
fn ct_without_a_window_uses_three_windows_as_channels() {
    let f = open(common::corpus().join("pydicom/CT_small.dcm")).unwrap();
    let mi = model_input(&f, 0, None).unwrap();
    assert!(matches!(mi.window, WindowUsed::ThreeWindows { .. }));
    let fr = f.frame(0).unwrap();
    let info = DisplayInfo::from_dataset(f.dataset());
    for (c, win) in CT_CHANNEL_WINDOWS.iter().enumerate() {
        let grey = render(&fr, &info, Some(&Voi::Window(*win, VoiFunction::Linear)));
        let channel: Vec<u8> = mi.image.data.chunks_exact(3).map(|p| p[c]).collect();
        assert_eq!(channel, grey.data, "channel {c}");
    }
}

#[test]
fn an_explicit_window_is_the_window_the_model_sees() {
    let f = open(common::corpus().join("pydicom/CT_small.dcm")).unwrap();
    let win = Window { center: -600.0, width: 1500.0 };
    let mi = model_input(&f, 0, Some(win)).unwrap();
    assert_eq!(mi.window, WindowUsed::Window { center: -600.0, width: 1500.0 });
    let fr = f.frame(0).unwrap();
    assert_eq!((mi.image.width, mi.image.height, mi.image.channels), (fr.columns, fr.rows, 3), "native size");
    assert!(mi.image.data.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]), "grey repeated in R, G, B");
    let expect = render(&fr, &DisplayInfo::from_dataset(f.dataset()), Some(&Voi::Window(win, VoiFunction::Linear)));
    let got: Vec<u8> = mi.image.data.chunks_exact(3).map(|p| p[0]).collect();
    assert_eq!(got, expect.data);
}

#[test]
fn monochrome1_radiographs_use_the_file_window_and_come_out_inverted() {
    // CR with MONOCHROME1: the model sees what a reader sees (bone white).
    let f = open(common::corpus().join("pydicom/dicomdirtests/77654033/CR1/6154")).unwrap();
    let info = DisplayInfo::from_dataset(f.dataset());
    assert!(info.monochrome1());
    let fr = f.frame(0).unwrap();
    let mi = model_input(&f, 0, None).unwrap();
    let expect = render(&fr, &info, None);
    let got: Vec<u8> = mi.image.data.chunks_exact(3).map(|p| p[0]).collect();
    assert_eq!(got, expect.data);
    // Inversion: output never rises as the stored value rises, and does fall.
    let mut pairs: Vec<(i64, u8)> = (0..fr.pixels.len()).map(|i| (fr.pixels.get(i), got[i])).collect();
    pairs.sort();
    assert!(pairs.windows(2).all(|w| w[0].1 >= w[1].1));
    assert!(pairs.first().unwrap().1 > pairs.last().unwrap().1);
}

#[test]
fn colour_images_pass_through() {
    let f = open(common::corpus().join("pydicom/SC_rgb_rle.dcm")).unwrap();
    let fr = f.frame(0).unwrap();
    let mi = model_input(&f, 0, Some(Window { center: 0.0, width: 10.0 })).unwrap();
    assert_eq!(mi.window, WindowUsed::Colour);
    let stored: Vec<u8> = fr.pixels.to_i64().into_iter().map(|v| v as u8).collect();
    assert_eq!(mi.image.data, stored);
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medlens-test-model-input-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_png(path: &Path, width: u32, height: u32, colour: png::ColorType, depth: png::BitDepth, data: &[u8]) {
    let mut enc = png::Encoder::new(std::fs::File::create(path).unwrap(), width, height);
    enc.set_color(colour);
    enc.set_depth(depth);
    enc.write_header().unwrap().write_image_data(data).unwrap();
}

#[test]
fn model_input_frame_converts_a_frame_decoded_elsewhere() {
    let f = open(common::corpus().join("pydicom/MR_small.dcm")).unwrap();
    let fr = f.frame(0).unwrap();
    let info = DisplayInfo::from_dataset(f.dataset());
    let mi = model_input_frame(&fr, &info, None);
    let expect = render(&fr, &info, Some(&info.default_voi(&fr)));
    assert_eq!((mi.image.width, mi.image.height, mi.image.channels), (fr.columns, fr.rows, 3));
    let want: Vec<u8> = expect.data.iter().flat_map(|&g| [g, g, g]).collect();
    assert_eq!(mi.image.data, want);
}

#[test]
fn load_rgb_on_dicom_is_model_input() {
    let cases: [(&str, usize, Option<Window>); 4] = [
        ("pydicom/CT_small.dcm", 0, None),
        ("pydicom/CT_small.dcm", 0, Some(Window { center: -600.0, width: 1500.0 })),
        ("pydicom/MR_small.dcm", 0, None),
        // Frame 1 of two: the frame index reaches the decoder.
        ("pydicom/SC_rgb_rle_2frame.dcm", 1, None),
    ];
    for (name, frame, window) in cases {
        let path = common::corpus().join(name);
        let mi = model_input(&open(&path).unwrap(), frame, window).unwrap();
        let got = load_rgb(&path, frame, window).unwrap();
        let want = ModelImage { width: mi.image.width as usize, height: mi.image.height as usize, rgb: mi.image.data, window: Some(mi.window) };
        assert_eq!(got.rgb.len(), got.width * got.height * 3, "{name}");
        assert_eq!(got, want, "{name} frame {frame}");
    }
    // The two frames differ, so the comparison above is about frame 1.
    let two = common::corpus().join("pydicom/SC_rgb_rle_2frame.dcm");
    assert_ne!(load_rgb(&two, 0, None).unwrap().rgb, load_rgb(&two, 1, None).unwrap().rgb);
}

#[test]
fn load_rgb_reads_plain_images() {
    let dir = tempdir("plain");
    // 16-bit grey: windowed as MONOCHROME2 by its min/max (0..65535 here: center 32768,
    // width 65536), PS3.3 LINEAR: 511 -> 1.99 -> 2, 32768 -> 127.5 -> 128; repeated in R, G, B.
    let grey = dir.join("grey16.png");
    let values: [u16; 4] = [0x0000, 0x01FF, 0x8000, 0xFFFF];
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    write_png(&grey, 2, 2, png::ColorType::Grayscale, png::BitDepth::Sixteen, &bytes);
    let img = load_rgb(&grey, 0, None).unwrap();
    let window = Some(WindowUsed::Window { center: 32768.0, width: 65536.0 });
    assert_eq!(img, ModelImage { width: 2, height: 2, rgb: vec![0, 0, 0, 2, 2, 2, 128, 128, 128, 255, 255, 255], window });
    // 8-bit RGB: as stored. The file name says nothing: the content decides.
    let rgb = dir.join("colour.dcm");
    let data = [10, 20, 30, 200, 100, 50, 1, 2, 3];
    write_png(&rgb, 3, 1, png::ColorType::Rgb, png::BitDepth::Eight, &data);
    let img = load_rgb(&rgb, 0, None).unwrap();
    assert_eq!(img, ModelImage { width: 3, height: 1, rgb: data.to_vec(), window: Some(WindowUsed::Colour) });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_rgb_errors_name_the_file_once() {
    let dir = tempdir("errors");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not an image, not DICOM either").unwrap();
    let broken_png = dir.join("broken.png");
    std::fs::write(&broken_png, b"\x89PNG\r\n\x1a\nnonsense").unwrap();
    let missing = dir.join("missing.dcm");
    let ct = common::corpus().join("pydicom/CT_small.dcm");
    for (path, frame) in [(&text, 0), (&broken_png, 0), (&missing, 0), (&ct, 5)] {
        let e = load_rgb(path, frame, None).expect_err(&path.display().to_string());
        let msg = e.to_string();
        let p = path.display().to_string();
        assert_eq!(e.path, *path);
        assert_eq!(msg.matches(&p).count(), 1, "the path once in {msg:?}");
        assert!(msg.starts_with(&format!("{p}: ")), "{msg}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plain_images_are_told_by_their_first_bytes() {
    let dir = tempdir("sniff");
    let png_file = dir.join("a.bin");
    write_png(&png_file, 1, 1, png::ColorType::Grayscale, png::BitDepth::Eight, &[7]);
    let jpeg = dir.join("b");
    std::fs::write(&jpeg, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F']).unwrap();
    let short = dir.join("short.jpg");
    std::fs::write(&short, [0xFF, 0xD8, 0xFF]).unwrap();
    let text = dir.join("c.png");
    std::fs::write(&text, "plain text, named like a PNG").unwrap();
    assert!(is_plain_image_file(&png_file));
    assert!(is_plain_image_file(&jpeg));
    assert!(!is_plain_image_file(&short), "shorter than 8 bytes");
    assert!(!is_plain_image_file(&text));
    assert!(!is_plain_image_file(&common::corpus().join("pydicom/CT_small.dcm")));
    assert!(!is_plain_image_file(&dir.join("missing.png")));
    assert!(!is_plain_image_file(&dir), "a folder");
    let _ = std::fs::remove_dir_all(&dir);
}
