//! Replays files (e.g. a fuzz corpus) through parse → decode → render, as the fuzz
//! target does; in a debug build this also catches arithmetic overflow.
//! `cargo run --example replay -- fuzz/corpus/parse_decode`
fn main() {
    let mut n = 0;
    for dir in std::env::args().skip(1) {
        let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap();
            for opts in [medlens_dicom::read::ReadOptions { stop_before_pixels: true }, Default::default()] {
                if let Ok(parsed) = medlens_dicom::read::parse(&data, opts) {
                    let f = medlens_dicom::DicomFile { path: p.clone(), parsed };
                    let _ = f.tags();
                    if let Ok(info) = f.image_info() {
                        if (info.rows as u64) * (info.columns as u64) * (info.frames as u64) <= 1 << 22 {
                            for i in 0..info.frames.min(4) as usize {
                                if let Ok(fr) = f.frame(i) {
                                    let d = medlens_dicom::DisplayInfo::from_dataset(f.dataset());
                                    let img = medlens_dicom::render(&fr, &d, None);
                                    let _ = medlens_dicom::display::resize_bilinear(&img, 7, 5);
                                }
                            }
                        }
                    }
                }
            }
            n += 1;
        }
    }
    println!("replayed {n} inputs without a panic");
}
