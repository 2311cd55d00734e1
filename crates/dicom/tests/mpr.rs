//! Reformats of the bundled MR volume and of a real CT volume of the shared corpus against
//! tests/dicom/mpr/expected.json, an independent reslice with numpy from pydicom's arrays
//! (tests/dicom/mpr/make_mpr_reference.py): every slice of every plane, thin and as the
//! reference's thick-slab MIP, hashed from its f32 values, plus each plane's size and spacing.
//! The files are given out of order, so the stacking by position is tested too; and a real
//! CT series with a gap is refused for its uneven spacing.

use std::path::PathBuf;

use medlens_dicom::volume::{NotAVolume, Plane, SliceGeometry, Volume, VolumeGeometry};
use medlens_dicom::DisplayInfo;
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn digest(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    format!("{:x}", Sha256::digest(&bytes))
}

/// Stacks `paths` (opened, in the given order) as a volume of modality values.
fn volume(paths: &[PathBuf]) -> Result<Volume, NotAVolume> {
    let files: Vec<_> = paths.iter().map(|p| medlens_dicom::open(p).unwrap()).collect();
    let geometry: Vec<SliceGeometry> = files.iter().map(|f| SliceGeometry::read(f.dataset(), 0)).collect();
    let checked = VolumeGeometry::check(&geometry)?;
    Ok(Volume::assemble(checked, |n| {
        let fr = files[n].frame(0).map_err(|e| e.to_string())?;
        let lut = DisplayInfo::read(files[n].dataset()).unwrap().modality_lut;
        Ok((0..fr.pixels.len()).map(|i| lut.apply(fr.pixels.get(i) as f64) as f32).collect())
    })
    .unwrap())
}

/// Every plane's size, spacing, and every slice thin and as the reference's slab, against
/// `want` (one volume of expected.json).
fn check_planes(volume: &Volume, want: &serde_json::Value, slab_mm: f64, what: &str) {
    let dims: Vec<usize> = want["dims"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(volume.geometry.dims.to_vec(), dims, "{what}");
    for plane in Plane::ALL {
        let want = &want["planes"][plane.name()];
        let layout = volume.geometry.layout(plane);
        assert_eq!((layout.count, layout.width, layout.height), (want["count"].as_u64().unwrap() as usize, want["width"].as_u64().unwrap() as usize, want["height"].as_u64().unwrap() as usize), "{what} {plane:?}");
        for (a, w) in layout.pixel_spacing.iter().zip(want["pixel_spacing"].as_array().unwrap()) {
            assert!((a - w.as_f64().unwrap()).abs() < 1e-6, "{what} {plane:?} spacing {:?}", layout.pixel_spacing);
        }
        let slab = want["slab_slices"].as_u64().unwrap() as usize;
        assert_eq!(slab, ((slab_mm / layout.slice_spacing).round() as usize).max(1), "{what} {plane:?}");
        for idx in 0..layout.count {
            let thin = volume.reformat(plane, idx, 1).unwrap();
            assert_eq!(digest(&thin.values), want["slices"][idx].as_str().unwrap(), "{what} {plane:?} slice {idx}");
            let mip = volume.reformat(plane, idx, slab).unwrap();
            assert_eq!(digest(&mip.values), want["mip"][idx].as_str().unwrap(), "{what} {plane:?} slab {slab} at slice {idx}");
        }
    }
}

fn files_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    v.sort();
    v
}

#[test]
fn reformats_equal_numpy_reslices() {
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("tests/dicom/mpr/expected.json")).unwrap()).unwrap();
    let slab_mm = expected["slab_mm"].as_f64().unwrap();
    // The bundled MR (oblique), given out of order.
    let mut paths: Vec<PathBuf> = files_in(&repo().join("samples/mr-volume")).into_iter().filter(|p| p.extension().is_some_and(|e| e == "dcm")).collect();
    paths.rotate_left(7);
    let mr = volume(&paths).unwrap();
    check_planes(&mr, &expected, slab_mm, "MR");
    // The clicked voxels' positions: the model (origin + mean spacing) is within the scanner's
    // rounding (0.1 mm) of the slice's own Image Position (Patient).
    for c in expected["clicks"].as_array().unwrap() {
        let v: Vec<f64> = c["voxel"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        let p = mr.geometry.position([v[0], v[1], v[2]]);
        for (a, w) in p.iter().zip(c["position"].as_array().unwrap()) {
            assert!((a - w.as_f64().unwrap()).abs() < 0.1, "{p:?} vs {}", c["position"]);
        }
    }
    // A real CT volume of the shared corpus (5 axial slices, 2.5 mm apart), reversed.
    let corpus = std::env::var_os("MEDLENS_SHARED_DICOM").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/dicom"));
    let ct = &expected["ct"];
    let mut paths = files_in(&corpus.join(ct["series"].as_str().unwrap()));
    paths.reverse();
    check_planes(&volume(&paths).unwrap(), ct, slab_mm, "CT");
    // A real CT series that is not a volume: one slice 200 mm from the other three.
    let gap = &expected["ct_not_a_volume"];
    let steps: Vec<f64> = gap["steps_mm"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let (min, max) = steps.iter().fold((f64::MAX, f64::MIN), |(a, b), &d| (a.min(d), b.max(d)));
    match volume(&files_in(&corpus.join(gap["series"].as_str().unwrap()))) {
        Err(NotAVolume::UnevenSpacing { min: a, max: b }) => assert!((a - min).abs() < 1e-3 && (b - max).abs() < 1e-3, "{a} {b} vs {steps:?}"),
        other => panic!("expected uneven spacing, got {:?}", other.map(|v| v.geometry.dims)),
    }
}
