//! The model-input rule per modality (see crates/dicom/src/model_input.rs).

mod common;

use medlens_dicom::display::{render, DisplayInfo, Voi, VoiFunction, Window};
use medlens_dicom::model_input::{model_input, WindowUsed, CT_CHANNEL_WINDOWS};
use medlens_dicom::open;

#[test]
fn ct_without_a_window_uses_three_windows_as_channels() {
    let f = open(common::corpus().join("pydicom/CT_small.dcm")).unwrap();
    let (w, h) = (f.image_info().unwrap().columns, f.image_info().unwrap().rows);
    let mi = model_input(&f, 0, None, (w, h)).unwrap();
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
    let mi = model_input(&f, 0, Some(win), (448, 448)).unwrap();
    assert_eq!(mi.window, WindowUsed::Window { center: -600.0, width: 1500.0 });
    assert_eq!((mi.image.width, mi.image.height, mi.image.channels), (448, 448, 3));
    assert!(mi.image.data.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]), "grey repeated in R, G, B");
}

#[test]
fn monochrome1_radiographs_use_the_file_window_and_come_out_inverted() {
    // CR with MONOCHROME1: the model sees what a reader sees (bone white).
    let f = open(common::corpus().join("pydicom/dicomdirtests/77654033/CR1/6154")).unwrap();
    let info = DisplayInfo::from_dataset(f.dataset());
    assert!(info.monochrome1());
    let fr = f.frame(0).unwrap();
    let mi = model_input(&f, 0, None, (fr.columns, fr.rows)).unwrap();
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
    let mi = model_input(&f, 0, Some(Window { center: 0.0, width: 10.0 }), (fr.columns, fr.rows)).unwrap();
    assert_eq!(mi.window, WindowUsed::Colour);
    let stored: Vec<u8> = fr.pixels.to_i64().into_iter().map(|v| v as u8).collect();
    assert_eq!(mi.image.data, stored);
}
