//! Bytes → parsed file → index (as a dropped file: DICOMDIR records followed, patient → study
//! → series built) → decoded, rendered frame. Nothing may panic, hang or read out of bounds on
//! any input.
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
    // The indexer reads from a path: the bytes as a file in a folder of their own (one per
    // process), indexed as a drop of that folder would be, a DICOMDIR's records included.
    thread_local! {
        static DIR: std::path::PathBuf = {
            let d = std::env::temp_dir().join(format!("medlens-fuzz-dcm-{}", std::process::id()));
            std::fs::create_dir_all(&d).expect("a temporary folder");
            d
        };
    }
    DIR.with(|d| {
        if std::fs::write(d.join("FUZZ.DCM"), data).is_ok() {
            let _ = medlens_dicom::index_paths(&[d.clone()], &medlens_dicom::IndexOptions::default());
        }
    });
    // Whole file, then every frame (bounded) through the display pipeline.
    if let Ok(p) = parse(data, ReadOptions::default()) {
        let f = medlens_dicom::DicomFile { path: path.into(), parsed: p };
        if let Ok(info) = f.image_info() {
            // Keep each run short: decode and render images of up to 256 K pixels (512 × 512)
            // in all; every codec and display path is reached at that size. Larger ones
            // still go through the header checks and the index above.
            if (info.rows as u64) * (info.columns as u64) * (info.frames as u64) <= 1 << 18 {
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
