//! Specific Character Set (0008,0005) against pydicom, and the character set of what we write.
//!
//! `tests/dicom/charset/` holds pydicom's own charset test files (`pydicom/`) and hand-made
//! cases (`cases/`: every defined term, the ISO 2022 forms, whole single-byte tables,
//! malformed and misspelled input, sequence inheritance); `reference.json` is what pydicom
//! 3.0.2 decodes from each (`tests/dicom/make_charset_reference.py`). Every file there must
//! be in the reference and decode to exactly its values, with the one documented pydicom bug
//! (ISO 2022 IR 58 keeps its escape sequence) already corrected in the reference.
//!
//! Written files: SR and anonymized copies of Japanese, Korean, Greek … sources declare the
//! set their bytes are in, checked with our reader and with DCMTK (`dcmdump +U8`) where
//! DCMTK's converter (glibc iconv) knows the set.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use medlens_dicom::charset::PersonName;
use medlens_dicom::dataset::{DataSet, Element, Tag, Value, Vr};
use medlens_dicom::{open, tags};
use serde_json::Value as J;
use sha2::{Digest, Sha256};

fn dir() -> PathBuf {
    common::repo().join("tests/dicom/charset")
}

fn reference() -> J {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn parse_tag(s: &str) -> Tag {
    let s = s.trim_start_matches('(').trim_end_matches(')');
    let (g, e) = s.split_once(',').unwrap();
    Tag(u16::from_str_radix(g, 16).unwrap(), u16::from_str_radix(e, 16).unwrap())
}

/// The data set and tag a reference path such as `(0040,0275)/1/(0008,0070)` names.
fn resolve<'a>(ds: &'a DataSet, path: &str) -> Option<(&'a DataSet, Tag)> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut ds = ds;
    for pair in parts[..parts.len() - 1].chunks(2) {
        ds = ds.items(parse_tag(pair[0])).get(pair[1].parse::<usize>().unwrap())?;
    }
    Some((ds, parse_tag(parts[parts.len() - 1])))
}

/// Every text element of ours, by reference path (the VRs the reference lists).
fn text_paths(ds: &DataSet, prefix: &str, out: &mut BTreeSet<String>) {
    const TEXT: [&[u8; 2]; 15] = [b"AE", b"AS", b"CS", b"DA", b"DT", b"LO", b"LT", b"PN", b"SH", b"ST", b"TM", b"UC", b"UI", b"UR", b"UT"];
    for el in ds.elements.values() {
        let tag = format!("({:04X},{:04X})", el.tag.0, el.tag.1);
        match &el.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    text_paths(item, &format!("{prefix}{tag}/{i}/"), out);
                }
            }
            _ if TEXT.contains(&&el.vr.0) => {
                out.insert(format!("{prefix}{tag}"));
            }
            _ => {}
        }
    }
}

/// The two value lists, or for long values (the whole tables) the characters that differ.
fn difference(ours: &[String], pydicom: &[String]) -> String {
    let long = ours.iter().chain(pydicom).any(|v| v.chars().count() > 200);
    if !long || ours.len() != pydicom.len() {
        return format!("ours {ours:?}, pydicom {pydicom:?}");
    }
    let mut out = Vec::new();
    for (a, b) in ours.iter().zip(pydicom) {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        if a.len() != b.len() {
            out.push(format!("{} characters, pydicom {}", a.len(), b.len()));
        }
        let diffs: Vec<String> = a.iter().zip(&b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, (x, y))| format!("#{i} ours U+{:04X} pydicom U+{:04X}", *x as u32, *y as u32)).collect();
        out.push(format!("{} differ: {}", diffs.len(), diffs.iter().take(40).cloned().collect::<Vec<_>>().join(", ")));
    }
    out.join("; ")
}

fn strings(v: &J) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn names_json(p: &PersonName) -> J {
    serde_json::json!({"value": p.to_string(), "alphabetic": p.alphabetic, "ideographic": p.ideographic, "phonetic": p.phonetic})
}

#[test]
fn every_charset_file_decodes_like_pydicom() {
    let reference = reference();
    let files = reference["files"].as_object().unwrap();
    let mut on_disk = BTreeSet::new();
    for folder in ["pydicom", "cases"] {
        for e in std::fs::read_dir(dir().join(folder)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".dcm") {
                on_disk.insert(format!("{folder}/{name}"));
            }
        }
    }
    let in_reference: BTreeSet<String> = files.keys().cloned().collect();
    assert_eq!(on_disk, in_reference, "the files and reference.json disagree: rerun tests/dicom/make_charset_reference.py");
    assert!(in_reference.len() >= 17 + 30, "pydicom's 17 files and the cases");

    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, entry) in files {
        let path = dir().join(name);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(format!("{:x}", Sha256::digest(&bytes)), entry["sha256"].as_str().unwrap(), "{name} changed since the reference was made");
        let file = match open(&path) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{name}: does not open: {e}"));
                continue;
            }
        };
        let ds = file.dataset();
        let mut expected_paths = BTreeSet::new();
        for e in entry["elements"].as_array().unwrap() {
            let p = e["path"].as_str().unwrap();
            let Some((item, tag)) = resolve(ds, p).filter(|(item, tag)| item.contains(*tag)) else {
                failures.push(format!("{name} {p}: missing"));
                continue;
            };
            let vr = e["vr"].as_str().unwrap();
            let got_vr = item.get(tag).map(|el| el.vr.as_str().to_string()).unwrap_or_default();
            if got_vr != "UN" {
                expected_paths.insert(p.to_string());
            }
            let want = strings(&e["values"]);
            let got: Vec<String> = if got_vr == "UN" && tag.is_private() {
                // Implicit VR: pydicom knows these private VRs from its private dictionary, we
                // have none and read UN. The text is still compared, decoded with pydicom's VR.
                let text = item.decode_value(Vr(vr.as_bytes().try_into().unwrap()), item.bytes(tag).unwrap_or_default());
                let text = text.trim_end_matches(['\0', ' ']);
                if text.is_empty() { vec![] } else { text.split('\\').map(|v| v.trim_end_matches(['\0', ' ']).to_string()).collect() }
            } else if got_vr != vr {
                failures.push(format!("{name} {p}: VR {got_vr}, pydicom {vr}"));
                continue;
            } else if vr == "PN" {
                item.person_names(tag).iter().map(|n| n.to_string()).collect()
            } else {
                item.text_values(tag)
            };
            compared += 1;
            if got != want {
                failures.push(format!("{name} {p} {vr}: {}", difference(&got, &want)));
            }
            if let Some(names) = e.get("names") {
                let ours: Vec<J> = item.person_names(tag).iter().filter(|n| !n.to_string().is_empty()).map(names_json).collect();
                if &J::Array(ours.clone()) != names {
                    failures.push(format!("{name} {p}: name groups {ours:?}, pydicom {names}"));
                }
            }
        }
        let mut ours = BTreeSet::new();
        text_paths(ds, "", &mut ours);
        if ours != expected_paths {
            failures.push(format!(
                "{name}: text elements differ: only ours {:?}, only pydicom's {:?}",
                ours.difference(&expected_paths).collect::<Vec<_>>(),
                expected_paths.difference(&ours).collect::<Vec<_>>()
            ));
        }
        if let Some(pn) = entry.get("patient_name") {
            let ours = ds.person_names(tags::PATIENT_NAME).first().map(names_json).unwrap_or(J::Null);
            if &ours != pn {
                failures.push(format!("{name}: PatientName {ours}, pydicom {pn}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {compared} values differ from pydicom:\n{}", failures.len(), failures.join("\n"));
}

/// The reference's PatientName of a charset file.
fn reference_name(name: &str) -> String {
    reference()["files"][name]["patient_name"]["value"].as_str().unwrap().to_string()
}

/// `dcmdump +U8` of one element: DCMTK converts the file's character set to UTF-8. `None`
/// when DCMTK cannot convert that set (Debian's DCMTK uses glibc iconv, which lacks the ISO
/// 2022 Japanese sets).
fn dcmdump_utf8(path: &Path, tag: &str) -> Option<String> {
    let o = Command::new("dcmdump").args(["-q", "+U8", "+P", tag]).arg(path).output().expect("dcmdump (Debian dcmtk) is needed");
    let text = String::from_utf8(o.stdout).expect("dcmdump +U8 prints UTF-8");
    if !o.status.success() || !o.stderr.is_empty() {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("not supported by the utilized character set conversion library") || err.contains("Cannot open character encoding"),
            "dcmdump on {}: {err}",
            path.display()
        );
        return None;
    }
    let line = text.lines().next().unwrap_or_default();
    let (start, end) = (line.find('[')?, line.rfind(']')?);
    Some(line[start + 1..end].to_string())
}

const SOURCES: [&str; 9] = [
    "pydicom/chrH31.dcm",
    "pydicom/chrH32.dcm",
    "pydicom/chrI2.dcm",
    "pydicom/chrGreek.dcm",
    "pydicom/chrRuss.dcm",
    "pydicom/chrArab.dcm",
    "pydicom/chrHbrw.dcm",
    "pydicom/chrX2.dcm",
    "cases/chinese_ir58.dcm",
];

#[test]
fn sr_from_a_non_ascii_source_declares_utf8_and_keeps_the_name() {
    use medlens_dicom::sr::{basic_text_sr_file, new_uid, DraftReport};
    let out = common::tempdir("charset-sr");
    let text = "所見なし。Ελληνικά. 정상.";
    for name in SOURCES {
        let src = open(dir().join(name)).unwrap();
        let (series, instance) = (new_uid(), new_uid());
        let report = DraftReport { text, provenance: "{}", frame: None, date: "20261130", time: "120000", series_uid: &series, instance_uid: &instance };
        let path = out.join(name.replace('/', "_"));
        std::fs::write(&path, basic_text_sr_file(&src, &report).unwrap()).unwrap();
        let want = reference_name(name);

        let sr = open(&path).unwrap();
        assert_eq!(sr.dataset().strings(tags::SPECIFIC_CHARACTER_SET), ["ISO_IR 192"], "{name}");
        // The bytes are UTF-8 (what ISO_IR 192 says), not the source's encoding.
        let raw = sr.dataset().bytes(tags::PATIENT_NAME).unwrap();
        let raw = std::str::from_utf8(raw).unwrap_or_else(|_| panic!("{name}: PatientName is not UTF-8"));
        assert_eq!(PersonName::parse(raw.trim_end()).to_string(), want, "{name}");
        assert_eq!(sr.dataset().person_names(tags::PATIENT_NAME)[0].to_string(), want, "{name}");
        // DCMTK reads the same name and the report text.
        let dumped = dcmdump_utf8(&path, "0010,0010").expect("DCMTK converts ISO_IR 192");
        assert_eq!(PersonName::parse(&dumped).to_string(), want, "{name}: dcmdump +U8");
        let dumped = dcmdump_utf8(&path, "0040,a160").expect("DCMTK converts ISO_IR 192");
        assert_eq!(dumped, text, "{name}: dcmdump +U8 report text");
    }
    std::fs::remove_dir_all(out).ok();
}

/// Anonymized copies keep the source's (0008,0005) and the bytes of the values they keep;
/// the values they put in are ASCII, which reads the same in every set. To have a non-ASCII
/// value survive the profile, the source's name bytes are copied into Manufacturer (LO, kept).
#[test]
fn anonymized_copies_keep_bytes_and_declaration_together() {
    let out = common::tempdir("charset-anon");
    let src_dir = out.join("src");
    let anon_dir = out.join("anon");
    std::fs::create_dir_all(&src_dir).unwrap();
    for name in SOURCES {
        let src = open(dir().join(name)).unwrap();
        let mut ds = src.dataset().clone();
        let pn = ds.bytes(tags::PATIENT_NAME).unwrap().to_vec();
        let manufacturer = Tag(0x0008, 0x0070);
        ds.elements.insert(manufacturer, Element { tag: manufacturer, vr: Vr(*b"LO"), value: Value::Bytes(pn) });
        let sop = src.dataset().string(tags::SOP_INSTANCE_UID).unwrap();
        let class = src.dataset().string(tags::SOP_CLASS_UID).unwrap();
        let bytes = medlens_dicom::write::write_file(&ds, &class, &sop, "1.2.840.10008.1.2.1", true).unwrap();
        std::fs::write(src_dir.join(name.replace('/', "_")), bytes).unwrap();
    }
    let report = medlens_dicom::anonymize::anonymize_paths(std::slice::from_ref(&src_dir), &anon_dir).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.written.len(), SOURCES.len());
    let mut converted = 0;
    for path in &report.written {
        let anon = open(path).unwrap();
        let ds = anon.dataset();
        // Which source: the one whose name this Manufacturer holds.
        let got = ds.string(Tag(0x0008, 0x0070)).unwrap();
        let name = SOURCES
            .iter()
            .find(|n| PersonName::parse(&got).to_string() == reference_name(n))
            .unwrap_or_else(|| panic!("{}: Manufacturer {got:?} is none of the sources' names", path.display()));
        let src = open(dir().join(name)).unwrap();
        assert_eq!(
            ds.strings(tags::SPECIFIC_CHARACTER_SET),
            src.dataset().strings(tags::SPECIFIC_CHARACTER_SET),
            "{name}: the declaration is kept with the bytes"
        );
        assert_eq!(ds.bytes(Tag(0x0008, 0x0070)), src.dataset().bytes(tags::PATIENT_NAME), "{name}: bytes copied unchanged");
        assert_eq!(ds.string(tags::PATIENT_NAME), None, "{name}: name emptied");
        assert_eq!(ds.string(tags::DEIDENTIFICATION_METHOD).as_deref().map(str::is_ascii), Some(true));
        // DCMTK 3.6.7 leaves the second ESC $ ) A of the IR 58 name in the text when it is an
        // LO (it reads the same bytes right as a PN): not compared there.
        let dumped = if name.contains("ir58") { None } else { dcmdump_utf8(path, "0008,0070") };
        if let Some(dumped) = dumped {
            assert_eq!(PersonName::parse(&dumped).to_string(), reference_name(name), "{name}: dcmdump +U8");
            converted += 1;
        }
    }
    // glibc iconv converts all but the ISO 2022 Japanese sets and IR 58.
    assert!(converted >= 6, "DCMTK converted only {converted} copies");
    std::fs::remove_dir_all(out).ok();
}

/// `DataSet::to_utf8`: every text value re-encoded, ISO_IR 192 declared once at the top,
/// items' own declarations gone; the values read the same before and after, here and in DCMTK.
#[test]
fn to_utf8_rewrites_every_value_and_the_declaration() {
    let out = common::tempdir("charset-utf8");
    for name in ["pydicom/chrH32.dcm", "pydicom/chrSQEncoding.dcm", "cases/sequence_inheritance.dcm", "cases/japanese_jis_values.dcm", "cases/iso2022_latin1_greek.dcm"] {
        let src = open(dir().join(name)).unwrap();
        let mut ds = src.dataset().clone();
        ds.to_utf8();
        let sop = src.dataset().string(tags::SOP_INSTANCE_UID).unwrap_or_else(|| "2.25.1".into());
        let class = src.dataset().string(tags::SOP_CLASS_UID).unwrap_or_else(|| "1.2.840.10008.5.1.4.1.1.7".into());
        let path = out.join(name.replace('/', "_"));
        std::fs::write(&path, medlens_dicom::write::write_file(&ds, &class, &sop, "1.2.840.10008.1.2.1", true).unwrap()).unwrap();
        let copy = open(&path).unwrap();
        let (mut before, mut after) = (BTreeSet::new(), BTreeSet::new());
        text_paths(src.dataset(), "", &mut before);
        text_paths(copy.dataset(), "", &mut after);
        before.retain(|p| !p.ends_with("(0008,0005)"));
        after.retain(|p| !p.ends_with("(0008,0005)"));
        assert_eq!(before, after, "{name}");
        for p in &before {
            let (a, t) = resolve(src.dataset(), p).unwrap();
            let (b, u) = resolve(copy.dataset(), p).unwrap();
            assert_eq!(a.text_values(t), b.text_values(u), "{name} {p}");
            if b.get(u).is_some_and(|e| medlens_dicom::charset::is_charset_vr(&e.vr.0)) {
                assert!(std::str::from_utf8(b.bytes(u).unwrap()).is_ok(), "{name} {p}: not UTF-8");
            }
        }
        assert_eq!(copy.dataset().strings(tags::SPECIFIC_CHARACTER_SET), ["ISO_IR 192"]);
        if src.dataset().contains(tags::PATIENT_NAME) {
            let want = src.dataset().person_names(tags::PATIENT_NAME)[0].to_string();
            let dumped = dcmdump_utf8(&path, "0010,0010").expect("DCMTK converts ISO_IR 192");
            assert_eq!(PersonName::parse(&dumped).to_string(), want, "{name}: dcmdump +U8");
        }
    }
    std::fs::remove_dir_all(out).ok();
}
