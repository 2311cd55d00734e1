//! Every file of the shared corpus against what pydicom 3.0.2 does with it
//! (MANIFEST.tsv): same geometry and a decode where pydicom decodes, a clear error
//! where pydicom fails, no panic anywhere.

mod common;

use medlens_dicom::open;

/// Files pydicom's plugins cannot decode but which are valid; we decode them and
/// check the result against DCMTK instead (below).
const BEYOND_PYDICOM: &[&str] = &["pydicom/JPEG-lossy.dcm"];

/// The files we decode beyond pydicom equal DCMTK's decode (dcmdjpeg, IJG libjpeg
/// 12-bit), sample for sample.
#[test]
fn beyond_pydicom_matches_dcmtk() {
    let corpus = common::corpus();
    for rel in BEYOND_PYDICOM {
        let src = corpus.join(rel);
        let out = std::env::temp_dir().join(format!("medlens-dcmdjpeg-{}.dcm", std::process::id()));
        let status = std::process::Command::new("dcmdjpeg")
            .arg(&src)
            .arg(&out)
            .status()
            .expect("dcmdjpeg (Debian dcmtk) is needed for this test");
        assert!(status.success(), "dcmdjpeg failed on {rel}");
        let ours = open(&src).unwrap().frame(0).unwrap();
        let theirs = open(&out).unwrap().frame(0).unwrap();
        std::fs::remove_file(&out).ok();
        assert_eq!((ours.rows, ours.columns), (theirs.rows, theirs.columns));
        let (a, b) = (ours.pixels.to_i64(), theirs.pixels.to_i64());
        let max_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).max().unwrap();
        assert_eq!(max_diff, 0, "{rel}: largest difference from DCMTK is {max_diff}");
    }
}

#[test]
fn every_manifest_file_decodes_where_pydicom_decodes() {
    let corpus = common::corpus();
    let mut problems = Vec::new();
    let mut decoded = 0;
    for row in common::manifest() {
        let path = corpus.join(&row.path);
        let result = std::panic::catch_unwind(|| -> Result<(u32, u32, u32, u16), String> {
            let f = open(&path).map_err(|e| e.to_string())?;
            let info = f.image_info().map_err(|e| e.to_string())?;
            let mut samples = 0;
            for i in 0..info.frames as usize {
                let fr = f.frame(i).map_err(|e| e.to_string())?;
                samples = fr.samples;
            }
            Ok((info.rows, info.columns, info.frames, samples))
        });
        match (result, row.pydicom_decodes()) {
            (Err(_), _) => problems.push(format!("{}: PANIC", row.path)),
            (Ok(Ok((r, c, n, s))), true) => {
                decoded += 1;
                let want = (row.rows.unwrap(), row.cols.unwrap(), row.frames, row.samples.unwrap_or(1));
                if (r, c, n, s) != want {
                    problems.push(format!("{}: geometry {:?} but pydicom {:?}", row.path, (r, c, n, s), want));
                }
            }
            (Ok(Err(e)), true) => problems.push(format!("{}: pydicom decodes, we fail: {e}", row.path)),
            (Ok(Ok(_)), false) if row.pydicom_fails() && !BEYOND_PYDICOM.contains(&row.path.as_str()) => {
                problems.push(format!("{}: pydicom fails ({}), we decode", row.path, row.decode))
            }
            (Ok(Err(e)), false) => {
                assert!(e.contains(&row.path.rsplit('/').next().unwrap().to_string()), "error must name the file: {e}");
            }
            (Ok(Ok(_)), false) => {}
        }
    }
    eprintln!("decoded {decoded} files like pydicom");
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
