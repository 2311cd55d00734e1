//! Indexing: slice sorting, DICOMDIR, broken folders (anonymization: `anonymize.rs`).

mod common;
use common::{sample, tempdir};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use medlens_dicom::index::{index_paths, IndexOptions};


fn canon(p: &Path) -> PathBuf {
    p.canonicalize().unwrap()
}

#[test]
fn mr_volume_sorts_along_the_slice_normal_whatever_the_file_names() {
    // Copy the 20 slices under names that sort backwards.
    let dir = tempdir("sort");
    for (i, e) in std::fs::read_dir(sample()).unwrap().flatten().enumerate() {
        if e.path().extension().is_some_and(|x| x == "dcm") {
            std::fs::copy(e.path(), dir.join(format!("z{:02}-{}", 99 - i, e.file_name().to_string_lossy()))).unwrap();
        }
    }
    let index = index_paths(&[dir.clone()], &IndexOptions::default());
    assert!(index.errors.is_empty(), "{:?}", index.errors);
    let series: Vec<_> = index.series().collect();
    assert_eq!(series.len(), 1);
    let inst = &series[0].instances;
    assert_eq!(inst.len(), 20);
    // Independent order: Slice Location (written by the scanner), and the file names.
    let locs: Vec<f64> = inst.iter().map(|i| i.slice_location.unwrap()).collect();
    assert!(locs.windows(2).all(|w| w[0] < w[1]), "{locs:?}");
    let names: Vec<String> = inst.iter().map(|i| i.path.file_name().unwrap().to_string_lossy()[4..].to_string()).collect();
    let want: Vec<String> = (1..=20).map(|k| format!("brain_{k:03}.dcm")).collect();
    assert_eq!(names, want);
    std::fs::remove_dir_all(dir).ok();
}

fn instance_paths(index: &medlens_dicom::Index) -> BTreeSet<PathBuf> {
    index.series().flat_map(|s| &s.instances).map(|i| canon(&i.path)).collect()
}

#[test]
fn dicomdir_records_name_the_same_files_as_walking_the_folders() {
    let base = common::corpus().join("pydicom/dicomdirtests");
    let walked = index_paths(&[base.join("77654033"), base.join("98892001"), base.join("98892003")], &IndexOptions::default());
    let want = instance_paths(&walked);
    assert_eq!(want.len(), 31);
    for variant in ["DICOMDIR", "DICOMDIR-bigEnd", "DICOMDIR-implicit", "DICOMDIR-reordered", "DICOMDIR-nopatient", "DICOMDIR-nooffset"] {
        let idx = index_paths(&[base.join(variant)], &IndexOptions::default());
        assert_eq!(idx.dicomdirs.len(), 1, "{variant}");
        assert!(idx.errors.is_empty(), "{variant}: {:?}", idx.errors);
        assert_eq!(instance_paths(&idx), want, "{variant}");
        // Three folders, two patients (98892001 and 98892003 hold the same patient).
        let ids: Vec<&str> = idx.patients.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["77654033", "98890234"], "{variant}");
    }
    let tiny = base.join("TINY_ALPHA");
    let via_dir = index_paths(&[tiny.join("DICOMDIR")], &IndexOptions::default());
    let walked = index_paths(&[tiny.join("PT000000")], &IndexOptions::default());
    assert_eq!(instance_paths(&via_dir), instance_paths(&walked));
    assert_eq!(via_dir.instance_count(), 50);
    let empty = index_paths(&[base.join("DICOMDIR-empty.dcm")], &IndexOptions::default());
    assert_eq!((empty.dicomdirs.len(), empty.instance_count(), empty.errors.len()), (1, 0, 0));
}

#[test]
fn a_folder_with_broken_files_indexes_the_rest_and_lists_each_failure() {
    let dir = tempdir("broken");
    let good = sample().join("brain_005.dcm");
    std::fs::copy(&good, dir.join("good.dcm")).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(dir.join("truncated.dcm"), &bytes[..bytes.len() / 2]).unwrap();
    let mut garbage = bytes[..200].to_vec();
    garbage.extend_from_slice(&[0xFF; 64]);
    std::fs::write(dir.join("garbage.dcm"), &garbage).unwrap();
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();
    let png = medlens_dicom::export::png_bytes(&medlens_dicom::Image8 { width: 1, height: 1, channels: 1, data: vec![9] }).unwrap();
    std::fs::write(dir.join("photo.png"), png).unwrap();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let progress = |p: medlens_dicom::index::Progress| {
        seen.fetch_max(p.done, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(p.total, 5);
    };
    let idx = index_paths(&[dir.clone()], &IndexOptions { progress: Some(&progress), cancel: Some(&cancel) });
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 5);
    assert_eq!(idx.instance_count(), 2, "good.dcm, and photo.png as a plain image");
    let failed: BTreeSet<String> = idx.errors.iter().map(|e| e.path.file_name().unwrap().to_string_lossy().into()).collect();
    assert_eq!(failed, ["garbage.dcm".to_string(), "truncated.dcm".to_string()].into());
    for e in &idx.errors {
        assert!(e.error.contains(&*e.path.file_name().unwrap().to_string_lossy()), "error names the file: {}", e.error);
    }
    assert_eq!(idx.skipped.len(), 1);
    assert_eq!(idx.images.len(), 1, "plain images are listed (and indexed), not skipped");
    // A cancelled scan returns without reading.
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let idx = index_paths(&[dir.clone()], &IndexOptions { progress: None, cancel: Some(&cancel) });
    assert!(idx.cancelled && idx.instance_count() == 0);
    std::fs::remove_dir_all(dir).ok();
}

/// Number of Frames far beyond what Pixel Data declares: that file is an error naming it and
/// the reason (the header-only read checks it as decoding would), and the others are indexed.
#[test]
fn a_frame_count_beyond_the_pixel_data_is_an_error_for_that_file_only() {
    use medlens_dicom::dataset::{Element, Value, Vr};
    let dir = tempdir("frames");
    let good = sample().join("brain_005.dcm");
    std::fs::copy(&good, dir.join("good.dcm")).unwrap();
    let f = medlens_dicom::open(&good).unwrap();
    let mut ds = f.dataset().clone();
    let tag = medlens_dicom::tags::NUMBER_OF_FRAMES;
    ds.elements.insert(tag, Element { tag, vr: Vr(*b"IS"), value: Value::Bytes(b"100000".to_vec()) });
    let class = f.meta().string(medlens_dicom::tags::MEDIA_STORAGE_SOP_CLASS_UID).unwrap();
    let bytes = medlens_dicom::write::write_file(&ds, &class, "2.25.17", "1.2.840.10008.1.2.1", true).unwrap();
    std::fs::write(dir.join("frames.dcm"), bytes).unwrap();
    let idx = index_paths(&[dir.clone()], &IndexOptions::default());
    assert_eq!(idx.instance_count(), 1);
    assert_eq!(idx.series().next().unwrap().instances[0].frames, 1);
    assert_eq!(idx.errors.len(), 1, "{:?}", idx.errors);
    let e = &idx.errors[0].error;
    assert!(idx.errors[0].path.ends_with("frames.dcm"));
    assert!(e.contains("frames.dcm") && e.contains("NumberOfFrames") && e.contains("100000 frames of 256 x 256"), "{e}");
    std::fs::remove_dir_all(dir).ok();
}
