//! No panic on damaged input: every corpus file truncated at many points and with
//! bytes overwritten, through the header reader, the full reader and the decoder.
//! (The cargo-fuzz target under fuzz/ explores the same path at length.)

mod common;

fn exercise(path: &std::path::Path, bytes: &[u8]) {
    use medlens_dicom::read::{parse, ReadOptions};
    for opts in [ReadOptions { stop_before_pixels: true }, ReadOptions::default()] {
        if let Ok(p) = parse(bytes, opts) {
            let f = medlens_dicom::DicomFile { path: path.to_path_buf(), parsed: p };
            let _ = f.tags();
            if let Ok(info) = f.image_info() {
                for i in 0..info.frames.min(2) as usize {
                    if let Ok(fr) = f.frame(i) {
                        let d = medlens_dicom::DisplayInfo::from_dataset(f.dataset());
                        let _ = medlens_dicom::render(&fr, &d, None);
                    }
                }
            }
        }
    }
}

#[test]
fn damaged_files_never_panic() {
    let corpus = common::corpus();
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases = 0;
    for row in common::manifest() {
        let path = corpus.join(&row.path);
        let bytes = std::fs::read(&path).unwrap();
        if bytes.len() > 600_000 {
            continue; // big files: the fuzz target covers them; keep this test quick
        }
        for k in 1..6 {
            exercise(&path, &bytes[..bytes.len() * k / 6]);
            cases += 1;
        }
        for _ in 0..6 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            exercise(&path, &b);
            cases += 1;
        }
    }
    assert!(cases > 1500, "{cases}");
}
