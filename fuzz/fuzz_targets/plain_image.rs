//! A plain image (PNG, JPEG, TIFF, BMP, WebP) as a drop gives it to the viewer and the
//! models: sniffed by its first bytes, its headers checked against the memory bound, decoded
//! and rendered. Nothing may panic, and nothing may be allocated that the bytes do not
//! justify (`scripts/fuzz.sh` runs this target with an allocation limit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medlens_dicom::plain;

fuzz_target!(|data: &[u8]| {
    if !plain::is_plain_image(data) {
        return;
    }
    if let Ok(frame) = plain::decode_image(data) {
        let display = medlens_dicom::DisplayInfo::from_dataset(&medlens_dicom::DataSet::default());
        let _ = medlens_dicom::render(&frame, &display, None);
    }
});
