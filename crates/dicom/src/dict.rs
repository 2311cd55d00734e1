//! The standard data dictionary (from dicom-rs): keywords for the tag browser and VRs
//! for implicit-VR data sets.

use crate::dataset::{Tag, Vr};
use dicom_core::dictionary::{DataDictionary, VirtualVr};
use dicom_dictionary_std::StandardDataDictionary;

fn entry(tag: Tag) -> Option<&'static dicom_core::dictionary::DataDictionaryEntryRef<'static>> {
    StandardDataDictionary.by_tag(dicom_core::Tag(tag.0, tag.1))
}

/// The standard keyword of a tag (`PatientName`), if it has one.
pub fn keyword(tag: Tag) -> Option<&'static str> {
    if tag.is_private() {
        return None;
    }
    entry(tag).map(|e| e.alias)
}

/// The VR an implicit-VR data set implies for a tag. Context-dependent VRs resolve
/// to their unsigned / word forms; unknown and private tags are UN.
pub fn implicit_vr(tag: Tag) -> Vr {
    if tag.1 == 0x0000 {
        return Vr::UL; // group length
    }
    if tag.is_private() {
        return if (0x0010..=0x00FF).contains(&tag.1) { Vr(*b"LO") } else { Vr::UN };
    }
    match entry(tag).map(|e| e.vr) {
        Some(VirtualVr::Exact(vr)) => {
            let s = vr.to_string();
            let b = s.as_bytes();
            if b.len() == 2 { Vr([b[0], b[1]]) } else { Vr::UN }
        }
        Some(VirtualVr::Xs) | Some(VirtualVr::Lt) => Vr::US,
        Some(VirtualVr::Ox) | Some(VirtualVr::Px) => Vr::OW,
        _ => Vr::UN,
    }
}
