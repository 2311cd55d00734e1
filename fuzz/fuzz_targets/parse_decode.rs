//! Bytes → parsed file → index entry → decoded, rendered frame. Nothing may panic,
//! hang or read out of bounds on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medlens_dicom::read::{parse, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.dcm");
    // Header-only, as the indexer reads.
    if let Ok(p) = parse(data, ReadOptions { stop_before_pixels: true }) {
        let f = medlens_dicom::DicomFile { path: path.into(), parsed: p };
        let _ = f.tags();
        let _ = f.image_info();
    }
    // Whole file, then every frame (bounded) through the display pipeline.
    if let Ok(p) = parse(data, ReadOptions::default()) {
        let f = medlens_dicom::DicomFile { path: path.into(), parsed: p };
        if let Ok(info) = f.image_info() {
            // Keep each run small: refuse images the fuzzer inflates to huge sizes.
            if (info.rows as u64) * (info.columns as u64) * (info.frames as u64) <= 1 << 22 {
                for i in 0..info.frames.min(4) as usize {
                    if let Ok(fr) = f.frame(i) {
                        let d = medlens_dicom::DisplayInfo::from_dataset(f.dataset());
                        let _ = medlens_dicom::render(&fr, &d, None);
                    }
                }
            }
        }
    }
});
