//! Reformats of the bundled MR volume against tests/dicom/mpr/expected.json, an independent
//! reslice with numpy from pydicom's arrays (tests/dicom/mpr/make_mpr_reference.py): every
//! slice of every plane, thin and as the reference's thick-slab MIP, hashed from its f32
//! values, plus each plane's size and spacing. The files are given out of order, so the
//! stacking by position is tested too.

use std::path::PathBuf;

use medlens_dicom::volume::{Plane, SliceGeometry, Volume, VolumeGeometry};
use medlens_dicom::DisplayInfo;
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn digest(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    format!("{:x}", Sha256::digest(&bytes))
}

#[test]
fn reformats_equal_numpy_reslices() {
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("tests/dicom/mpr/expected.json")).unwrap()).unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("samples/mr-volume")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "dcm")).collect();
    paths.sort();
    paths.rotate_left(7);
    let files: Vec<_> = paths.iter().map(|p| medlens_dicom::open(p).unwrap()).collect();
    let geometry: Vec<SliceGeometry> = files.iter().map(|f| SliceGeometry::read(f.dataset(), 0)).collect();
    let checked = VolumeGeometry::check(&geometry).unwrap();
    let volume = Volume::assemble(checked, |n| {
        let fr = files[n].frame(0).map_err(|e| e.to_string())?;
        let lut = DisplayInfo::read(files[n].dataset()).unwrap().modality_lut;
        Ok((0..fr.pixels.len()).map(|i| lut.apply(fr.pixels.get(i) as f64) as f32).collect())
    })
    .unwrap();
    let dims: Vec<usize> = expected["dims"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(volume.geometry.dims.to_vec(), dims);
    for plane in Plane::ALL {
        let want = &expected["planes"][plane.name()];
        let layout = volume.geometry.layout(plane);
        assert_eq!((layout.count, layout.width, layout.height), (want["count"].as_u64().unwrap() as usize, want["width"].as_u64().unwrap() as usize, want["height"].as_u64().unwrap() as usize), "{plane:?}");
        for (a, w) in layout.pixel_spacing.iter().zip(want["pixel_spacing"].as_array().unwrap()) {
            assert!((a - w.as_f64().unwrap()).abs() < 1e-6, "{plane:?} spacing {:?}", layout.pixel_spacing);
        }
        let slab = want["slab_slices"].as_u64().unwrap() as usize;
        assert_eq!(slab, ((expected["slab_mm"].as_f64().unwrap() / layout.slice_spacing).round() as usize).max(1), "{plane:?}");
        for idx in 0..layout.count {
            let thin = volume.reformat(plane, idx, 1).unwrap();
            assert_eq!(digest(&thin.values), want["slices"][idx].as_str().unwrap(), "{plane:?} slice {idx}");
            let mip = volume.reformat(plane, idx, slab).unwrap();
            assert_eq!(digest(&mip.values), want["mip"][idx].as_str().unwrap(), "{plane:?} slab {slab} at slice {idx}");
        }
    }
    // The clicked voxels' positions: the model (origin + mean spacing) is within the scanner's
    // rounding (0.1 mm) of the slice's own Image Position (Patient).
    for c in expected["clicks"].as_array().unwrap() {
        let v: Vec<f64> = c["voxel"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let p = volume.geometry.position([v[0], v[1], v[2]]);
        for (a, w) in p.iter().zip(c["position"].as_array().unwrap()) {
            assert!((a - w.as_f64().unwrap()).abs() < 0.1, "{p:?} vs {}", c["position"]);
        }
    }
}
