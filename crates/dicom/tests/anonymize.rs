//! Anonymization (PS3.15 Annex E Basic Profile) of a real series: every profile attribute
//! acted on, UIDs remapped consistently, pixels unchanged, the output read back by DCMTK.

mod common;
use common::{sample, tempdir};

use std::collections::BTreeSet;
use std::path::PathBuf;

use medlens_dicom::anonymize::{action, anonymize_paths, Action, BASIC_PROFILE};
use medlens_dicom::index::{index_paths, IndexOptions};
use medlens_dicom::{open, tags, Tag, Value};

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
