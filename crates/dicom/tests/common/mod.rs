//! Shared helpers for the corpus tests: where the shared DICOM corpus and the
//! committed pydicom references live.
#![allow(dead_code)]

use std::path::PathBuf;

/// The package folder at run time: cargo and tests/lib/rust.sh run tests from it, so a test
/// binary that another checkout of the repository built (a shared target folder) still reads
/// this checkout's files. `CARGO_MANIFEST_DIR` (baked in at build time) is the fallback.
pub fn package_dir() -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("Cargo.toml").is_file() {
        cwd
    } else {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

/// The repository root.
pub fn repo() -> PathBuf {
    package_dir().join("../..").canonicalize().unwrap()
}

/// The shared real-DICOM corpus (`../shared/dicom` beside the checkout, or
/// `$MEDLENS_SHARED_DICOM`). Tests fail, not skip, when it is missing.
pub fn corpus() -> PathBuf {
    let p = std::env::var_os("MEDLENS_SHARED_DICOM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/dicom"));
    assert!(p.join("MANIFEST.tsv").is_file(), "the DICOM corpus is missing at {} (set MEDLENS_SHARED_DICOM)", p.display());
    p
}

/// One MANIFEST.tsv row.
#[derive(Debug, Clone)]
pub struct Row {
    pub path: String,
    pub transfer_syntax: String,
    pub rows: Option<u32>,
    pub cols: Option<u32>,
    pub frames: u32,
    pub photometric: String,
    pub samples: Option<u16>,
    pub decode: String,
}

impl Row {
    pub fn pydicom_decodes(&self) -> bool {
        self.decode.starts_with("OK")
    }
    pub fn pydicom_fails(&self) -> bool {
        self.decode.starts_with("FAIL")
    }
}

pub fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let num = |s: &str| s.parse::<u32>().ok();
            Row {
                path: f[0].to_string(),
                transfer_syntax: f[2].to_string(),
                rows: num(f[3]),
                cols: num(f[4]),
                frames: num(f[5]).unwrap_or(1),
                photometric: f[7].to_string(),
                samples: f[8].parse().ok(),
                decode: f[9].to_string(),
            }
        })
        .collect()
}

/// A fresh, empty folder for one test run.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medlens-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The bundled sample study.
pub fn sample() -> PathBuf {
    repo().join("samples/mr-volume")
}
