//! The draft-findings Basic Text SR: DCMTK's dcmdump and dsrdump read it, and it
//! references the exact source instance and frame.

mod common;

use medlens_dicom::sr::{basic_text_sr_file, new_uid, DraftReport, BASIC_TEXT_SR};
use medlens_dicom::{open, tags};

#[test]
fn basic_text_sr_parses_with_dcmtk_and_references_the_source() {
    let src_path = common::repo().join("samples/mr-volume/brain_010.dcm");
    let src = open(&src_path).unwrap();
    let src_uid = src.dataset().string(tags::SOP_INSTANCE_UID).unwrap();
    let text = "No acute intracranial abnormality. Ünïcödé survives: 5 mm.";
    let (series, instance) = (new_uid(), new_uid());
    let report = DraftReport {
        text,
        provenance: r#"{"model":"tiny","window":{"center":40,"width":80}}"#,
        frame: Some(0),
        date: "20261128",
        time: "120000",
        series_uid: &series,
        instance_uid: &instance,
    };
    let bytes = basic_text_sr_file(&src, &report).unwrap();
    let path = std::env::temp_dir().join(format!("medlens-sr-{}.dcm", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();

    // Our reader: the right class, study, and reference.
    let sr = open(&path).unwrap();
    assert_eq!(sr.dataset().string(tags::SOP_CLASS_UID).as_deref(), Some(BASIC_TEXT_SR));
    assert_eq!(sr.dataset().string(tags::STUDY_INSTANCE_UID), src.dataset().string(tags::STUDY_INSTANCE_UID));

    // DCMTK: dcmdump parses it cleanly; dsrdump validates it as a structured report.
    let dump = std::process::Command::new("dcmdump").arg("-q").arg("+P").arg("0008,1155").arg(&path).output().expect("dcmdump (Debian dcmtk)");
    assert!(dump.status.success() && dump.stderr.is_empty(), "{}", String::from_utf8_lossy(&dump.stderr));
    assert!(String::from_utf8_lossy(&dump.stdout).contains(&src_uid), "dcmdump finds the referenced SOP Instance UID");
    let sr_dump = std::process::Command::new("dsrdump").args(["+Pl", "+Pu"]).arg(&path).output().expect("dsrdump (Debian dcmtk)");
    let out = String::from_utf8_lossy(&sr_dump.stdout);
    assert!(sr_dump.status.success(), "dsrdump: {}{}", out, String::from_utf8_lossy(&sr_dump.stderr));
    assert!(out.contains("Basic Text SR"), "{out}");
    assert!(out.contains("No acute intracranial abnormality"), "{out}");
    assert!(out.contains(&src_uid), "{out}");
    std::fs::remove_file(path).ok();
}
