//! A plain image (PNG, JPEG, TIFF, BMP, WebP) as a drop gives it to the viewer and the
//! models: sniffed by its first bytes, its headers checked against the memory bound, decoded
//! (up to 4 MiB) and rendered. Nothing may panic out of our code, and nothing may be allocated that the
//! bytes do not justify (`scripts/fuzz.sh` runs this target with an allocation limit).
//!
//! `plain::read` runs the decoders (other people's crates) under `catch_unwind` and turns a
//! panic into an error naming the file. libfuzzer-sys's panic hook would abort at the panic,
//! before that catch, so the hook here only prints; a panic that escapes our code still
//! aborts (libfuzzer-sys catches the unwind at the target's edge and aborts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use medlens_dicom::plain;

fuzz_target!(
    init: std::panic::set_hook(Box::new(|info| eprintln!("panic (caught by the code under test, or about to abort): {info}"))),
    |data: &[u8]| {
        if !plain::is_plain_image(data) {
            return;
        }
        // Headers for every input; decoding for images up to 4 MiB, so that each run stays
        // short (the bound on larger ones is what the headers check, and the crafted-file
        // tests cover it).
        match plain::probe_image(data) {
            Ok(info) if info.decoded_bytes() <= 4 << 20 => {}
            _ => return,
        }
        if let Ok(frame) = plain::decode_image(data) {
            let display = medlens_dicom::DisplayInfo::from_dataset(&medlens_dicom::DataSet::default());
            let _ = medlens_dicom::render(&frame, &display, None);
        }
    }
);
