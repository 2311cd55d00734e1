//! Anonymized copies following DICOM PS3.15 Annex E, the Basic Application Level
//! Confidentiality Profile: each attribute of Table E.1-1 that is present is removed
//! (X), emptied (Z), replaced by a dummy (D) or, for UIDs, replaced by a new UID (U)
//! that is the same wherever the old one appears in this run (so a series stays one
//! series, and references inside it stay valid). Private attributes are removed, as
//! are curve and overlay comment/data groups. Pixel data is copied untouched (burned-in
//! text is not removed: the profile's "Clean Pixel Data" option is not applied).
//!
//! Character sets: the values kept are copied as their bytes, together with the file's
//! Specific Character Set (0008,0005) and the items' own, unchanged. The values put in
//! (dummies, the de-identification method) are ASCII, which reads the same in every
//! character set DICOM allows (each value starts in the initial set), so bytes and
//! declaration never disagree. Anything non-ASCII added later needs `DataSet::to_utf8` first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dataset::{DataSet, Element, Tag, Value, Vr};
use crate::error::{Error, ErrorKind, Result, WithPath};
use crate::syntax::{self, TransferSyntax};
use crate::write::{pad_text, pad_uid, write_file};
use crate::{object, tags};

/// Action of Table E.1-1 for one attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Remove.
    X,
    /// Replace with a zero-length value.
    Z,
    /// Replace with a non-zero-length dummy of the same VR.
    D,
    /// Replace the UID with a consistent new one.
    U,
}

use Action::*;

/// Table E.1-1, Basic Profile column (where the table allows a choice such as X/Z/D,
/// the first, most protective one that keeps the object valid is used).
pub const BASIC_PROFILE: &[(u16, u16, Action)] = &[
    (0x0008, 0x0014, U), // Instance Creator UID
    (0x0008, 0x0015, X), // Instance Coercion DateTime
    (0x0008, 0x0018, U), // SOP Instance UID
    (0x0008, 0x0020, Z), // Study Date
    (0x0008, 0x0021, X), // Series Date
    (0x0008, 0x0022, X), // Acquisition Date
    (0x0008, 0x0023, Z), // Content Date
    (0x0008, 0x0024, X), // Overlay Date
    (0x0008, 0x0025, X), // Curve Date
    (0x0008, 0x002A, X), // Acquisition DateTime
    (0x0008, 0x0030, Z), // Study Time
    (0x0008, 0x0031, X), // Series Time
    (0x0008, 0x0032, X), // Acquisition Time
    (0x0008, 0x0033, Z), // Content Time
    (0x0008, 0x0034, X), // Overlay Time
    (0x0008, 0x0035, X), // Curve Time
    (0x0008, 0x0050, Z), // Accession Number
    (0x0008, 0x0058, U), // Failed SOP Instance UID List
    (0x0008, 0x0080, X), // Institution Name
    (0x0008, 0x0081, X), // Institution Address
    (0x0008, 0x0082, X), // Institution Code Sequence
    (0x0008, 0x0090, Z), // Referring Physician's Name
    (0x0008, 0x0092, X), // Referring Physician's Address
    (0x0008, 0x0094, X), // Referring Physician's Telephone Numbers
    (0x0008, 0x0096, X), // Referring Physician Identification Sequence
    (0x0008, 0x009C, Z), // Consulting Physician's Name
    (0x0008, 0x009D, X), // Consulting Physician Identification Sequence
    (0x0008, 0x0201, X), // Timezone Offset From UTC
    (0x0008, 0x1010, X), // Station Name
    (0x0008, 0x1030, X), // Study Description
    (0x0008, 0x103E, X), // Series Description
    (0x0008, 0x1040, X), // Institutional Department Name
    (0x0008, 0x1041, X), // Institutional Department Type Code Sequence
    (0x0008, 0x1048, X), // Physician(s) of Record
    (0x0008, 0x1049, X), // Physician(s) of Record Identification Sequence
    (0x0008, 0x1050, X), // Performing Physician's Name
    (0x0008, 0x1052, X), // Performing Physician Identification Sequence
    (0x0008, 0x1060, X), // Name of Physician(s) Reading Study
    (0x0008, 0x1062, X), // Physician(s) Reading Study Identification Sequence
    (0x0008, 0x1070, X), // Operators' Name
    (0x0008, 0x1072, X), // Operator Identification Sequence
    (0x0008, 0x1080, X), // Admitting Diagnoses Description
    (0x0008, 0x1084, X), // Admitting Diagnoses Code Sequence
    (0x0008, 0x1110, X), // Referenced Study Sequence
    (0x0008, 0x1111, X), // Referenced Performed Procedure Step Sequence
    (0x0008, 0x1120, X), // Referenced Patient Sequence
    (0x0008, 0x1155, U), // Referenced SOP Instance UID
    (0x0008, 0x1195, U), // Transaction UID
    (0x0008, 0x2111, X), // Derivation Description
    (0x0008, 0x3010, U), // Irradiation Event UID
    (0x0008, 0x4000, X), // Identifying Comments
    (0x0010, 0x0010, Z), // Patient's Name
    (0x0010, 0x0020, Z), // Patient ID
    (0x0010, 0x0021, X), // Issuer of Patient ID
    (0x0010, 0x0030, Z), // Patient's Birth Date
    (0x0010, 0x0032, X), // Patient's Birth Time
    (0x0010, 0x0040, Z), // Patient's Sex
    (0x0010, 0x0050, X), // Patient's Insurance Plan Code Sequence
    (0x0010, 0x0101, X), // Patient's Primary Language Code Sequence
    (0x0010, 0x0102, X), // Patient's Primary Language Modifier Code Sequence
    (0x0010, 0x1000, X), // Other Patient IDs
    (0x0010, 0x1001, X), // Other Patient Names
    (0x0010, 0x1002, X), // Other Patient IDs Sequence
    (0x0010, 0x1005, X), // Patient's Birth Name
    (0x0010, 0x1010, X), // Patient's Age
    (0x0010, 0x1020, X), // Patient's Size
    (0x0010, 0x1030, X), // Patient's Weight
    (0x0010, 0x1040, X), // Patient's Address
    (0x0010, 0x1050, X), // Insurance Plan Identification
    (0x0010, 0x1060, X), // Patient's Mother's Birth Name
    (0x0010, 0x1080, X), // Military Rank
    (0x0010, 0x1081, X), // Branch of Service
    (0x0010, 0x1090, X), // Medical Record Locator
    (0x0010, 0x1100, X), // Referenced Patient Photo Sequence
    (0x0010, 0x2000, X), // Medical Alerts
    (0x0010, 0x2110, X), // Allergies
    (0x0010, 0x2150, X), // Country of Residence
    (0x0010, 0x2152, X), // Region of Residence
    (0x0010, 0x2154, X), // Patient's Telephone Numbers
    (0x0010, 0x2155, X), // Patient's Telecom Information
    (0x0010, 0x2160, X), // Ethnic Group
    (0x0010, 0x2180, X), // Occupation
    (0x0010, 0x21A0, X), // Smoking Status
    (0x0010, 0x21B0, X), // Additional Patient History
    (0x0010, 0x21C0, X), // Pregnancy Status
    (0x0010, 0x21D0, X), // Last Menstrual Date
    (0x0010, 0x21F0, X), // Patient's Religious Preference
    (0x0010, 0x2203, X), // Patient's Sex Neutered
    (0x0010, 0x2297, X), // Responsible Person
    (0x0010, 0x2299, X), // Responsible Organization
    (0x0010, 0x4000, X), // Patient Comments
    (0x0018, 0x1000, X), // Device Serial Number
    (0x0018, 0x1002, U), // Device UID
    (0x0018, 0x1004, X), // Plate ID
    (0x0018, 0x1005, X), // Generator ID
    (0x0018, 0x1007, X), // Cassette ID
    (0x0018, 0x1008, X), // Gantry ID
    (0x0018, 0x1030, X), // Protocol Name
    (0x0018, 0x1400, X), // Acquisition Device Processing Description
    (0x0018, 0x4000, X), // Acquisition Comments
    (0x0018, 0x700A, X), // Detector ID
    (0x0018, 0x9424, X), // Acquisition Protocol Description
    (0x0018, 0xA003, X), // Contribution Description
    (0x0020, 0x000D, U), // Study Instance UID
    (0x0020, 0x000E, U), // Series Instance UID
    (0x0020, 0x0010, Z), // Study ID
    (0x0020, 0x0052, U), // Frame of Reference UID
    (0x0020, 0x0200, U), // Synchronization Frame of Reference UID
    (0x0020, 0x4000, X), // Image Comments
    (0x0020, 0x9158, X), // Frame Comments
    (0x0020, 0x9161, U), // Concatenation UID
    (0x0020, 0x9164, U), // Dimension Organization UID
    (0x0028, 0x1199, U), // Palette Color Lookup Table UID
    (0x0028, 0x1214, U), // Large Palette Color Lookup Table UID
    (0x0028, 0x4000, X), // Image Presentation Comments
    (0x0032, 0x0012, X), // Study ID Issuer
    (0x0032, 0x1020, X), // Scheduled Study Location
    (0x0032, 0x1021, X), // Scheduled Study Location AE Title
    (0x0032, 0x1030, X), // Reason for Study
    (0x0032, 0x1032, X), // Requesting Physician
    (0x0032, 0x1033, X), // Requesting Service
    (0x0032, 0x1060, X), // Requested Procedure Description
    (0x0032, 0x1070, X), // Requested Contrast Agent
    (0x0032, 0x4000, X), // Study Comments
    (0x0038, 0x0004, X), // Referenced Patient Alias Sequence
    (0x0038, 0x0010, X), // Admission ID
    (0x0038, 0x0011, X), // Issuer of Admission ID
    (0x0038, 0x001E, X), // Scheduled Patient Institution Residence
    (0x0038, 0x0020, X), // Admitting Date
    (0x0038, 0x0021, X), // Admitting Time
    (0x0038, 0x0040, X), // Discharge Diagnosis Description
    (0x0038, 0x0050, X), // Special Needs
    (0x0038, 0x0060, X), // Service Episode ID
    (0x0038, 0x0061, X), // Issuer of Service Episode ID
    (0x0038, 0x0062, X), // Service Episode Description
    (0x0038, 0x0300, X), // Current Patient Location
    (0x0038, 0x0400, X), // Patient's Institution Residence
    (0x0038, 0x0500, X), // Patient State
    (0x0038, 0x4000, X), // Visit Comments
    (0x0040, 0x0001, X), // Scheduled Station AE Title
    (0x0040, 0x0002, X), // Scheduled Procedure Step Start Date
    (0x0040, 0x0003, X), // Scheduled Procedure Step Start Time
    (0x0040, 0x0004, X), // Scheduled Procedure Step End Date
    (0x0040, 0x0005, X), // Scheduled Procedure Step End Time
    (0x0040, 0x0006, X), // Scheduled Performing Physician Name
    (0x0040, 0x0007, X), // Scheduled Procedure Step Description
    (0x0040, 0x000B, X), // Scheduled Performing Physician Identification Sequence
    (0x0040, 0x0010, X), // Scheduled Station Name
    (0x0040, 0x0011, X), // Scheduled Procedure Step Location
    (0x0040, 0x0012, X), // Pre-Medication
    (0x0040, 0x0241, X), // Performed Station AE Title
    (0x0040, 0x0242, X), // Performed Station Name
    (0x0040, 0x0243, X), // Performed Location
    (0x0040, 0x0244, X), // Performed Procedure Step Start Date
    (0x0040, 0x0245, X), // Performed Procedure Step Start Time
    (0x0040, 0x0250, X), // Performed Procedure Step End Date
    (0x0040, 0x0251, X), // Performed Procedure Step End Time
    (0x0040, 0x0253, X), // Performed Procedure Step ID
    (0x0040, 0x0254, X), // Performed Procedure Step Description
    (0x0040, 0x0275, X), // Request Attributes Sequence
    (0x0040, 0x0280, X), // Comments on the Performed Procedure Step
    (0x0040, 0x0555, X), // Acquisition Context Sequence
    (0x0040, 0x1001, X), // Requested Procedure ID
    (0x0040, 0x1004, X), // Patient Transport Arrangements
    (0x0040, 0x1005, X), // Requested Procedure Location
    (0x0040, 0x1010, X), // Names of Intended Recipients of Results
    (0x0040, 0x1011, X), // Intended Recipients of Results Identification Sequence
    (0x0040, 0x1101, X), // Person Identification Code Sequence
    (0x0040, 0x1102, X), // Person's Address
    (0x0040, 0x1103, X), // Person's Telephone Numbers
    (0x0040, 0x1400, X), // Requested Procedure Comments
    (0x0040, 0x2001, X), // Reason for the Imaging Service Request
    (0x0040, 0x2008, X), // Order Entered By
    (0x0040, 0x2009, X), // Order Enterer's Location
    (0x0040, 0x2010, X), // Order Callback Phone Number
    (0x0040, 0x2016, Z), // Placer Order Number / Imaging Service Request
    (0x0040, 0x2017, Z), // Filler Order Number / Imaging Service Request
    (0x0040, 0x2400, X), // Imaging Service Request Comments
    (0x0040, 0x3001, X), // Confidentiality Constraint on Patient Data Description
    (0x0040, 0x4023, U), // Referenced General Purpose Scheduled Procedure Step Transaction UID
    (0x0040, 0xA027, X), // Verifying Organization
    (0x0040, 0xA073, D), // Verifying Observer Sequence
    (0x0040, 0xA075, D), // Verifying Observer Name
    (0x0040, 0xA078, X), // Author Observer Sequence
    (0x0040, 0xA07A, X), // Participant Sequence
    (0x0040, 0xA07C, X), // Custodial Organization Sequence
    (0x0040, 0xA088, Z), // Verifying Observer Identification Code Sequence
    (0x0040, 0xA123, D), // Person Name
    (0x0040, 0xA124, U), // UID
    (0x0040, 0xA730, X), // Content Sequence
    (0x0040, 0xDB0C, U), // Template Extension Organization UID
    (0x0040, 0xDB0D, U), // Template Extension Creator UID
    (0x0070, 0x0001, D), // Graphic Annotation Sequence
    (0x0070, 0x0084, Z), // Content Creator's Name
    (0x0070, 0x0086, X), // Content Creator's Identification Code Sequence
    (0x0070, 0x031A, U), // Fiducial UID
    (0x0088, 0x0140, U), // Storage Media File-set UID
    (0x0088, 0x0200, X), // Icon Image Sequence
    (0x0088, 0x0904, X), // Topic Title
    (0x0088, 0x0906, X), // Topic Subject
    (0x0088, 0x0910, X), // Topic Author
    (0x0088, 0x0912, X), // Topic Keywords
    (0x0400, 0x0100, U), // Digital Signature UID
    (0x0400, 0x0402, X), // Referenced Digital Signature Sequence
    (0x0400, 0x0403, X), // Referenced SOP Instance MAC Sequence
    (0x0400, 0x0404, X), // MAC
    (0x0400, 0x0550, X), // Modified Attributes Sequence
    (0x0400, 0x0561, X), // Original Attributes Sequence
    (0x2030, 0x0020, X), // Text String
    (0x3006, 0x0024, U), // Referenced Frame of Reference UID
    (0x3006, 0x00C2, U), // Related Frame of Reference UID
    (0x300A, 0x0013, U), // Dose Reference UID
    (0x4000, 0x0010, X), // Arbitrary
    (0x4000, 0x4000, X), // Text Comments
    (0x4008, 0x0042, X), // Results ID Issuer
    (0x4008, 0x0102, X), // Interpretation Recorder
    (0x4008, 0x010A, X), // Interpretation Transcriber
    (0x4008, 0x010B, X), // Interpretation Text
    (0x4008, 0x010C, X), // Interpretation Author
    (0x4008, 0x0111, X), // Interpretation Approver Sequence
    (0x4008, 0x0114, X), // Physician Approving Interpretation
    (0x4008, 0x0115, X), // Interpretation Diagnosis Description
    (0x4008, 0x0118, X), // Results Distribution List Sequence
    (0x4008, 0x0119, X), // Distribution Name
    (0x4008, 0x011A, X), // Distribution Address
    (0x4008, 0x0202, X), // Interpretation ID Issuer
    (0x4008, 0x0300, X), // Impressions
    (0x4008, 0x4000, X), // Results Comments
    (0xFFFA, 0xFFFA, X), // Digital Signatures Sequence
    (0xFFFC, 0xFFFC, X), // Data Set Trailing Padding
];

/// The profile's action for a tag, including the repeating curve and overlay groups
/// and private attributes.
pub fn action(tag: Tag) -> Option<Action> {
    if tag.is_private() {
        return Some(X);
    }
    // Curve Data (50xx,xxxx), Overlay Data (60xx,3000) and Overlay Comments (60xx,4000).
    if tag.0 & 0xFF00 == 0x5000 {
        return Some(X);
    }
    if tag.0 & 0xFF00 == 0x6000 && (tag.1 == 0x3000 || tag.1 == 0x4000) {
        return Some(X);
    }
    BASIC_PROFILE.iter().find(|(g, e, _)| Tag(*g, *e) == tag).map(|(_, _, a)| *a)
}

/// Consistent old → new UID mapping for one anonymization run.
#[derive(Default)]
pub struct UidMap {
    map: HashMap<String, String>,
}

impl UidMap {
    /// The new UID for an old one: `2.25.` and 128 random bits, the same each time.
    pub fn map(&mut self, old: &str) -> String {
        self.map.entry(old.to_string()).or_insert_with(crate::write::new_uid).clone()
    }
}

/// Applies the profile to a data set, recursively into sequence items.
pub fn anonymize_dataset(ds: &mut DataSet, uids: &mut UidMap) {
    let tags_here: Vec<Tag> = ds.elements.keys().copied().collect();
    for tag in tags_here {
        match action(tag) {
            Some(X) => {
                ds.elements.remove(&tag);
            }
            Some(Z) => {
                let el = ds.elements.get_mut(&tag).unwrap();
                el.value = if matches!(el.value, Value::Seq(_)) { Value::Seq(Vec::new()) } else { Value::Bytes(Vec::new()) };
            }
            Some(D) => {
                let el = ds.elements.get_mut(&tag).unwrap();
                match &mut el.value {
                    Value::Seq(items) => {
                        for item in items {
                            anonymize_dataset(item, uids);
                        }
                    }
                    v => *v = Value::Bytes(dummy(el.vr)),
                }
            }
            Some(U) => {
                let el = ds.elements.get_mut(&tag).unwrap();
                if let Value::Bytes(b) = &el.value {
                    let old = crate::dataset::decode_text(b);
                    let new: Vec<String> = old
                        .trim_end_matches(['\0', ' '])
                        .split('\\')
                        .map(|u| if u.trim().is_empty() { String::new() } else { uids.map(u.trim()) })
                        .collect();
                    el.value = Value::Bytes(pad_uid(&new.join("\\")));
                }
            }
            None => {
                if let Some(Element { value: Value::Seq(items), .. }) = ds.elements.get_mut(&tag) {
                    for item in items {
                        anonymize_dataset(item, uids);
                    }
                }
            }
        }
    }
}

fn dummy(vr: Vr) -> Vec<u8> {
    match &vr.0 {
        b"DA" => pad_text("19000101"),
        b"TM" => pad_text("000000"),
        b"DT" => pad_text("19000101000000"),
        b"PN" => pad_text("ANONYMIZED"),
        b"UI" => pad_uid("2.25.0"),
        b"IS" | b"DS" => pad_text("0"),
        b"US" | b"SS" => vec![0, 0],
        b"UL" | b"SL" | b"FL" => vec![0; 4],
        b"FD" => vec![0; 8],
        _ => pad_text("ANONYMIZED"),
    }
}

/// What one anonymize run did.
#[derive(Debug, Default, Serialize)]
pub struct AnonymizeReport {
    pub written: Vec<PathBuf>,
    pub errors: Vec<crate::index::FileError>,
}

/// Writes anonymized copies of DICOM files (files or folders, recursively) into
/// `out_dir`, named by their new SOP Instance UIDs. One UID map serves the whole run.
pub fn anonymize_paths(paths: &[PathBuf], out_dir: &Path) -> Result<AnonymizeReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::new(out_dir, ErrorKind::Io(e)))?;
    let index = crate::index::index_paths(paths, &Default::default());
    let mut report = AnonymizeReport { errors: index.errors.clone(), ..Default::default() };
    let mut uids = UidMap::default();
    for series in index.series() {
        for inst in &series.instances {
            match anonymize_file(&inst.path, out_dir, &mut uids) {
                Ok(p) => report.written.push(p),
                Err(e) => report.errors.push(crate::index::FileError { path: inst.path.clone(), error: e.to_string() }),
            }
        }
    }
    Ok(report)
}

/// Anonymizes one file into `out_dir`; returns the new file's path.
pub fn anonymize_file(path: &Path, out_dir: &Path, uids: &mut UidMap) -> Result<PathBuf> {
    let f = object::open(path)?;
    let mut ds = f.parsed.dataset.clone();
    let sop_class = ds
        .string(tags::SOP_CLASS_UID)
        .or_else(|| f.meta().string(tags::MEDIA_STORAGE_SOP_CLASS_UID))
        .unwrap_or_default();
    anonymize_dataset(&mut ds, uids);
    let add = |ds: &mut DataSet, tag: Tag, vr: Vr, v: Vec<u8>| {
        debug_assert!(v.is_ascii(), "text added to a copy kept in its own character set must be ASCII");
        ds.elements.insert(tag, Element { tag, vr, value: Value::Bytes(v) });
    };
    add(&mut ds, tags::PATIENT_IDENTITY_REMOVED, Vr(*b"CS"), pad_text("YES"));
    add(&mut ds, tags::DEIDENTIFICATION_METHOD, Vr(*b"LO"), pad_text("PS3.15 Annex E Basic Application Level Confidentiality Profile (Medlens)"));
    let code = DataSet {
        elements: [
            (Tag(0x0008, 0x0100), Vr(*b"SH"), pad_text("113100")),
            (Tag(0x0008, 0x0102), Vr(*b"SH"), pad_text("DCM")),
            (Tag(0x0008, 0x0104), Vr(*b"LO"), pad_text("Basic Application Confidentiality Profile")),
        ]
        .into_iter()
        .map(|(t, vr, v)| (t, Element { tag: t, vr, value: Value::Bytes(v) }))
        .collect(),
        big_endian: false,
        explicit_vr: ds.explicit_vr,
        charset: ds.charset.clone(),
    };
    let seq = Tag(0x0012, 0x0064);
    ds.elements.insert(seq, Element { tag: seq, vr: Vr::SQ, value: Value::Seq(vec![code]) });
    let sop_instance = ds.string(tags::SOP_INSTANCE_UID).unwrap_or_else(|| uids.map(&path.display().to_string()));
    // Little-endian syntaxes are kept; big endian and deflate become explicit VR LE.
    let ts: &TransferSyntax = &f.parsed.syntax;
    let (ts_uid, explicit) = if ts.big_endian || ts.deflated || !f.parsed.syntax_declared {
        (syntax::EXPLICIT_VR_LITTLE_ENDIAN.to_string(), true)
    } else {
        (ts.uid.clone(), ts.explicit_vr)
    };
    let bytes = write_file(&ds, &sop_class, &sop_instance, &ts_uid, explicit).at(path)?;
    let out = out_dir.join(format!("{sop_instance}.dcm"));
    std::fs::write(&out, bytes).map_err(|e| Error::new(&out, ErrorKind::Io(e)))?;
    Ok(out)
}
