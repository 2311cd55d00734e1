//! Modality LUT Sequence, VOI LUT Sequence and VOI LUT Functions (LINEAR_EXACT,
//! SIGMOID) against pydicom 3.0.2 on synthetic files (tests/dicom/lut/, made by
//! make_lut_reference.py; where pydicom is wrong, the expected values follow PS3.3 and
//! DCMTK agrees, as the JSON records). The corpus has no file that uses these.

mod common;

use medlens_dicom::display::{render, DisplayInfo};
use medlens_dicom::open;

#[test]
fn lut_and_voi_function_renders_equal_pydicom() {
    let dir = common::repo().join("tests/dicom/lut");
    let mut n = 0;
    for entry in std::fs::read_dir(dir.join("expected")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name == "index.json" || !name.ends_with(".json") {
            continue;
        }
        let exp: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        let file = dir.join(exp["file"].as_str().unwrap());
        let f = open(&file).unwrap();
        let fr = f.frame(0).unwrap();
        let info = DisplayInfo::from_dataset(f.dataset());
        // Modality step first: the LUT or rescale output, value by value.
        let modality: Vec<f64> = exp["modality"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        for (i, want) in modality.iter().enumerate() {
            let got = info.modality_lut.apply(fr.pixels.get(i) as f64);
            assert!((got - want).abs() < 1e-9, "{name}: modality value {i}: {got} vs {want}");
        }
        // Then the default VOI (window first, then VOI LUT) to 8 bits.
        let img = render(&fr, &info, None);
        let want: Vec<i64> = exp["u8"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        let ties: std::collections::HashSet<usize> =
            exp["ties"].as_array().map(|a| a.iter().map(|v| v.as_u64().unwrap() as usize).collect()).unwrap_or_default();
        assert_eq!(img.data.len(), want.len(), "{name}");
        for (i, (&g, &w)) in img.data.iter().zip(&want).enumerate() {
            let d = (g as i64 - w).abs();
            assert!(d == 0 || (d == 1 && ties.contains(&i)), "{name}: pixel {i}: {g} vs {w}");
        }
        n += 1;
    }
    assert!(n >= 12, "{n} cases");
}
