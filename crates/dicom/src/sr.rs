//! DICOM Basic Text SR (PS3.3 A.35.1) holding a draft report about one image: the
//! text, a reference to the exact source instance and frame, and the provenance
//! (model, window, …) as a second text item. Written explicit VR little endian, UTF-8:
//! (0008,0005) is ISO_IR 192, and the patient and study text copied from the source is
//! decoded from the source's own character set (`DataSet::string`) and re-encoded as UTF-8,
//! never copied as bytes.

use crate::dataset::{DataSet, Element, Tag, Value, Vr};
use crate::error::{ErrorKind, KindResult};
use crate::object::DicomFile;
use crate::tags;
use crate::write::{pad_text, pad_uid, write_file};

/// Basic Text SR Storage.
pub const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

/// What goes into the report.
#[derive(Clone, Debug)]
pub struct DraftReport<'a> {
    /// The draft findings text.
    pub text: &'a str,
    /// Provenance (JSON or plain text): model, quantization, prompt, sampling, window.
    pub provenance: &'a str,
    /// 0-based frame of the source that the text is about (written 1-based).
    pub frame: Option<u32>,
    /// Content date and time, `YYYYMMDD` and `HHMMSS`.
    pub date: &'a str,
    pub time: &'a str,
    /// New UIDs for the SR series and instance.
    pub series_uid: &'a str,
    pub instance_uid: &'a str,
}

pub(crate) fn text(vr: &[u8; 2], s: &str) -> (Vr, Vec<u8>) {
    (Vr(*vr), pad_text(s))
}

pub(crate) fn put(ds: &mut DataSet, tag: Tag, (vr, v): (Vr, Vec<u8>)) {
    ds.elements.insert(tag, Element { tag, vr, value: Value::Bytes(v) });
}

pub(crate) fn uid(ds: &mut DataSet, tag: Tag, u: &str) {
    ds.elements.insert(tag, Element { tag, vr: Vr::UI, value: Value::Bytes(pad_uid(u)) });
}

pub(crate) fn seq(ds: &mut DataSet, tag: Tag, items: Vec<DataSet>) {
    ds.elements.insert(tag, Element { tag, vr: Vr::SQ, value: Value::Seq(items) });
}

pub(crate) fn item() -> DataSet {
    DataSet { explicit_vr: true, ..Default::default() }
}

pub(crate) fn code(value: &str, scheme: &str, meaning: &str) -> DataSet {
    let mut c = item();
    put(&mut c, Tag(0x0008, 0x0100), text(b"SH", value));
    put(&mut c, Tag(0x0008, 0x0102), text(b"SH", scheme));
    put(&mut c, Tag(0x0008, 0x0104), text(b"LO", meaning));
    c
}

pub(crate) fn text_item(relationship: &str, concept: DataSet, value: &str) -> DataSet {
    let mut t = item();
    put(&mut t, Tag(0x0040, 0xA010), text(b"CS", relationship));
    put(&mut t, Tag(0x0040, 0xA040), text(b"CS", "TEXT"));
    seq(&mut t, Tag(0x0040, 0xA043), vec![concept]);
    put(&mut t, Tag(0x0040, 0xA160), text(b"UT", value));
    t
}

/// Builds the SR data set for `report` about `source`.
pub fn basic_text_sr(source: &DicomFile, report: &DraftReport<'_>) -> KindResult<DataSet> {
    let src = source.dataset();
    let src_sop = src
        .string(tags::SOP_INSTANCE_UID)
        .or_else(|| source.meta().string(tags::MEDIA_STORAGE_SOP_INSTANCE_UID))
        .ok_or_else(|| ErrorKind::Attribute { keyword: "SOPInstanceUID", tag: "(0008,0018)", reason: "missing from the source".into() })?;
    let src_class = src
        .string(tags::SOP_CLASS_UID)
        .or_else(|| source.meta().string(tags::MEDIA_STORAGE_SOP_CLASS_UID))
        .unwrap_or_default();
    let study_uid = src.string(tags::STUDY_INSTANCE_UID).unwrap_or_else(|| report.series_uid.to_string() + ".1");
    let src_series = src.string(tags::SERIES_INSTANCE_UID).unwrap_or_default();

    let mut ds = item();
    put(&mut ds, tags::SPECIFIC_CHARACTER_SET, text(b"CS", "ISO_IR 192"));
    uid(&mut ds, tags::SOP_CLASS_UID, BASIC_TEXT_SR);
    uid(&mut ds, tags::SOP_INSTANCE_UID, report.instance_uid);
    patient_and_study(&mut ds, source, &study_uid);
    sr_series(&mut ds, report.series_uid, "Medlens draft findings (research use only)");
    sr_document(&mut ds, report.date, report.time);
    // Evidence: the source instance, by study, series and SOP.
    let mut sop_ref = item();
    uid(&mut sop_ref, Tag(0x0008, 0x1150), &src_class);
    uid(&mut sop_ref, Tag(0x0008, 0x1155), &src_sop);
    evidence(&mut ds, &study_uid, &[(src_series, vec![sop_ref.clone()])]);
    // Content: a container holding the draft text, inferred from the source image.
    put(&mut ds, Tag(0x0040, 0xA040), text(b"CS", "CONTAINER"));
    seq(&mut ds, Tag(0x0040, 0xA043), vec![code("18748-4", "LN", "Diagnostic Imaging Report")]);
    put(&mut ds, Tag(0x0040, 0xA050), text(b"CS", "SEPARATE"));
    let mut image = item();
    put(&mut image, Tag(0x0040, 0xA010), text(b"CS", "INFERRED FROM"));
    put(&mut image, Tag(0x0040, 0xA040), text(b"CS", "IMAGE"));
    let mut img_ref = sop_ref;
    if let Some(f) = report.frame {
        put(&mut img_ref, Tag(0x0008, 0x1160), text(b"IS", &(f + 1).to_string()));
    }
    seq(&mut image, Tag(0x0008, 0x1199), vec![img_ref]);
    let mut finding = text_item("CONTAINS", code("121071", "DCM", "Finding"), report.text);
    seq(&mut finding, Tag(0x0040, 0xA730), vec![image]);
    let disclaimer = text_item("CONTAINS", code("121106", "DCM", "Comment"), "DRAFT: research use only, not for diagnosis. Generated by a machine-learning model.");
    // Provenance under a local code (coding scheme designators starting "99" are local).
    let provenance = text_item("CONTAINS", code("PROVENANCE", "99MEDLENS", "Model provenance"), report.provenance);
    seq(&mut ds, Tag(0x0040, 0xA730), vec![finding, disclaimer, provenance]);
    Ok(ds)
}

/// Patient and study: the source's, so the report files with its study. Text is decoded
/// from the source's character set and written as UTF-8 (the report declares ISO_IR 192).
pub(crate) fn patient_and_study(ds: &mut DataSet, source: &DicomFile, study_uid: &str) {
    let src = source.dataset();
    for (tag, vr) in [
        (tags::PATIENT_NAME, b"PN"),
        (tags::PATIENT_ID, b"LO"),
        (Tag(0x0010, 0x0030), b"DA"),
        (Tag(0x0010, 0x0040), b"CS"),
        (tags::STUDY_DATE, b"DA"),
        (tags::STUDY_TIME, b"TM"),
        (Tag(0x0008, 0x0090), b"PN"),
        (Tag(0x0020, 0x0010), b"SH"),
        (tags::ACCESSION_NUMBER, b"SH"),
    ] {
        put(ds, tag, text(vr, &src.string(tag).unwrap_or_default()));
    }
    uid(ds, tags::STUDY_INSTANCE_UID, study_uid);
}

/// The SR document's own series (a new one, number 9001) and equipment.
pub(crate) fn sr_series(ds: &mut DataSet, series_uid: &str, description: &str) {
    put(ds, tags::MODALITY, text(b"CS", "SR"));
    uid(ds, tags::SERIES_INSTANCE_UID, series_uid);
    put(ds, tags::SERIES_NUMBER, text(b"IS", "9001"));
    put(ds, tags::SERIES_DESCRIPTION, text(b"LO", description));
    seq(ds, Tag(0x0008, 0x1111), vec![]);
    put(ds, Tag(0x0008, 0x0070), text(b"LO", "Medlens"));
    put(ds, Tag(0x0018, 0x1020), text(b"LO", env!("CARGO_PKG_VERSION")));
}

/// SR Document General: a partial, unverified document made now.
pub(crate) fn sr_document(ds: &mut DataSet, date: &str, time: &str) {
    put(ds, tags::INSTANCE_NUMBER, text(b"IS", "1"));
    put(ds, Tag(0x0040, 0xA491), text(b"CS", "PARTIAL"));
    put(ds, Tag(0x0040, 0xA493), text(b"CS", "UNVERIFIED"));
    put(ds, Tag(0x0008, 0x0023), text(b"DA", date));
    put(ds, Tag(0x0008, 0x0033), text(b"TM", time));
    seq(ds, Tag(0x0040, 0xA372), vec![]);
}

/// Current Requested Procedure Evidence: the referenced instances (`(class, instance)`
/// items) by series, in one study.
pub(crate) fn evidence(ds: &mut DataSet, study_uid: &str, series: &[(String, Vec<DataSet>)]) {
    let series_refs = series
        .iter()
        .map(|(series_uid, sops)| {
            let mut r = item();
            uid(&mut r, tags::SERIES_INSTANCE_UID, series_uid);
            seq(&mut r, Tag(0x0008, 0x1199), sops.clone());
            r
        })
        .collect();
    let mut study_ref = item();
    uid(&mut study_ref, tags::STUDY_INSTANCE_UID, study_uid);
    seq(&mut study_ref, Tag(0x0008, 0x1115), series_refs);
    seq(ds, Tag(0x0040, 0xA375), vec![study_ref]);
}

/// Serialises the SR as a PS3.10 file.
pub fn basic_text_sr_file(source: &DicomFile, report: &DraftReport<'_>) -> KindResult<Vec<u8>> {
    let ds = basic_text_sr(source, report)?;
    write_file(&ds, BASIC_TEXT_SR, report.instance_uid, crate::syntax::EXPLICIT_VR_LITTLE_ENDIAN, true)
}

pub use crate::write::new_uid;
