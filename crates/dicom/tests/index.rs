//! Indexing: slice sorting, DICOMDIR, broken folders, anonymization round trips.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use medlens_dicom::anonymize::{action, anonymize_paths, Action, BASIC_PROFILE};
use medlens_dicom::index::{index_paths, IndexOptions};
use medlens_dicom::{open, tags, Tag, Value};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medlens-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sample() -> PathBuf {
    common::repo().join("samples/mr-volume")
}

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
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let seen = std::sync::atomic::AtomicUsize::new(0);
    let progress = |p: medlens_dicom::index::Progress| {
        seen.fetch_max(p.done, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(p.total, 4);
    };
    let idx = index_paths(&[dir.clone()], &IndexOptions { progress: Some(&progress), cancel: Some(&cancel) });
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 4);
    assert_eq!(idx.instance_count(), 1);
    let failed: BTreeSet<String> = idx.errors.iter().map(|e| e.path.file_name().unwrap().to_string_lossy().into()).collect();
    assert_eq!(failed, ["garbage.dcm".to_string(), "truncated.dcm".to_string()].into());
    for e in &idx.errors {
        assert!(e.error.contains(&*e.path.file_name().unwrap().to_string_lossy()), "error names the file: {}", e.error);
    }
    assert_eq!(idx.skipped.len(), 1);
    // A cancelled scan returns without reading.
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let idx = index_paths(&[dir.clone()], &IndexOptions { progress: None, cancel: Some(&cancel) });
    assert!(idx.cancelled && idx.instance_count() == 0);
    std::fs::remove_dir_all(dir).ok();
}

fn all_tags(ds: &medlens_dicom::DataSet, out: &mut Vec<(Tag, Vec<u8>)>) {
    for el in ds.elements.values() {
        match &el.value {
            Value::Bytes(b) => out.push((el.tag, b.clone())),
            Value::Seq(items) => {
                out.push((el.tag, Vec::new()));
                for i in items {
                    all_tags(i, out);
                }
            }
            _ => out.push((el.tag, Vec::new())),
        }
    }
}

#[test]
fn anonymized_series_drops_every_basic_profile_attribute_and_keeps_pixels() {
    let out = tempdir("anon");
    // The sample MR plus a file with many identifying attributes and sequences.
    let extra = common::corpus().join("pydicom/CT_small.dcm");
    let report = anonymize_paths(&[sample(), extra.clone()], &out).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.written.len(), 21);

    let re = index_paths(&[out.clone()], &IndexOptions::default());
    assert!(re.errors.is_empty());
    let mr: Vec<_> = re.series().filter(|s| s.instances.len() == 20).collect();
    assert_eq!(mr.len(), 1, "the 20 MR slices re-index as one series");
    assert_eq!(re.series().count(), 2);

    let originals = index_paths(&[sample(), extra], &IndexOptions::default());
    let src_by_number: std::collections::HashMap<(usize, Option<i64>), PathBuf> = originals
        .series()
        .flat_map(|s| s.instances.iter().map(move |i| ((s.instances.len(), i.instance_number), i.path.clone())))
        .collect();
    let mut old_uids = BTreeSet::new();
    for s in originals.series() {
        for i in &s.instances {
            old_uids.insert(i.sop_instance_uid.clone());
        }
    }
    for s in re.series() {
        for inst in &s.instances {
            let anon = open(&inst.path).unwrap();
            let src = open(&src_by_number[&(s.instances.len(), inst.instance_number)]).unwrap();
            let mut src_tags = Vec::new();
            all_tags(src.dataset(), &mut src_tags);
            let mut anon_tags = Vec::new();
            all_tags(anon.dataset(), &mut anon_tags);
            let anon_map: std::collections::HashMap<Tag, Vec<u8>> = anon_tags.iter().cloned().collect();
            for (tag, value) in &src_tags {
                let Some(a) = action(*tag) else { continue };
                let now = anon_map.get(tag);
                match a {
                    Action::X => assert!(now.is_none(), "{tag} should be removed"),
                    Action::Z => assert!(now.is_none_or(|v| v.is_empty()), "{tag} should be empty"),
                    Action::D => assert!(now.is_none_or(|v| v != value || value.is_empty()), "{tag} should be replaced"),
                    Action::U => {
                        let v = now.expect("UIDs are replaced, not removed");
                        assert_ne!(v, value, "{tag} should be a new UID");
                        let s = String::from_utf8_lossy(v);
                        assert!(s.starts_with("2.25."), "{tag}: {s}");
                    }
                }
            }
            assert!(anon_tags.iter().all(|(t, _)| !t.is_private()), "private attributes remain");
            assert_eq!(anon.dataset().string(tags::PATIENT_IDENTITY_REMOVED).as_deref(), Some("YES"));
            assert!(!old_uids.contains(&inst.sop_instance_uid));
            assert_eq!(anon.meta().string(tags::MEDIA_STORAGE_SOP_INSTANCE_UID).as_deref(), Some(inst.sop_instance_uid.as_str()));
            let (a, b) = (anon.frame(0).unwrap(), src.frame(0).unwrap());
            assert_eq!(a.pixels, b.pixels, "pixel data unchanged");
        }
    }
    assert!(BASIC_PROFILE.len() > 200);
    // An independent reader (DCMTK) parses every output without complaint.
    for p in &report.written {
        let o = std::process::Command::new("dcmdump").arg("-q").arg(p).output().expect("dcmdump (Debian dcmtk) is needed");
        assert!(o.status.success() && o.stderr.is_empty(), "dcmdump on {}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
    }
    std::fs::remove_dir_all(out).ok();
}
