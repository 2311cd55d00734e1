//! Indexing dropped or chosen paths into patient → study → series → instance.
//!
//! A thin layer over `medlens_dicom::open_header`, to be replaced by the crate's own
//! `index` module when it lands (the shapes here follow its contract).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use medlens_dicom::{tags, DicomFile, Value};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    pub path: PathBuf,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i64>,
    pub image_position: Option<[f64; 3]>,
    pub rows: u32,
    pub columns: u32,
    pub frames: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub pixel_representation: u16,
    pub photometric: String,
    pub transfer_syntax: String,
    #[serde(skip)]
    orientation: Option<[f64; 6]>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub uid: String,
    pub modality: String,
    pub number: Option<i64>,
    pub description: String,
    pub instances: Vec<Instance>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Study {
    pub uid: String,
    pub date: String,
    pub time: String,
    pub description: String,
    pub accession: String,
    pub series: Vec<Series>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Patient {
    pub id: String,
    pub name: String,
    pub studies: Vec<Study>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileError {
    pub path: PathBuf,
    pub error: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Index {
    pub patients: Vec<Patient>,
    pub errors: Vec<FileError>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub path: PathBuf,
}

/// Files that are obviously not DICOM and are skipped silently when walking folders.
fn skipped(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') {
        return true;
    }
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "md" | "txt" | "tsv" | "csv" | "json" | "py" | "html" | "xml" | "pdf" | "png" | "jpg" | "jpeg" | "gif" | "zip" | "gz" | "toml" | "yml" | "yaml" | "sh"
    ) || matches!(name, "LICENSE" | "LICENCE" | "README" | "COPYING" | "DICOMDIR")
}

/// Every file under the given paths (folders walked recursively, symlinks not followed).
pub fn collect_files(paths: &[PathBuf], cancel: &AtomicBool, errors: &mut Vec<FileError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                errors.push(FileError { path: p, error: format!("cannot read: {e}") });
                continue;
            }
        };
        if meta.is_dir() {
            match std::fs::read_dir(&p) {
                Ok(rd) => {
                    let mut children: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    stack.extend(children.into_iter().rev().filter(|c| !skipped(c)));
                }
                Err(e) => errors.push(FileError { path: p, error: format!("cannot list folder: {e}") }),
            }
        } else if meta.is_file() {
            out.push(p);
        }
    }
    out
}

fn text(f: &DicomFile, tag: medlens_dicom::Tag) -> String {
    f.dataset().string(tag).unwrap_or_default()
}

fn read_instance(path: &Path) -> Result<(DicomFile, Instance), String> {
    let f = medlens_dicom::open_header(path).map_err(|e| e.kind.to_string())?;
    if !f.dataset().contains(tags::PIXEL_DATA) {
        let class = text(&f, tags::SOP_CLASS_UID);
        return Err(format!("not an image (no pixel data; SOP class {})", if class.is_empty() { "unknown" } else { &class }));
    }
    let info = f.image_info().map_err(|e| e.kind.to_string())?;
    let ds = f.dataset();
    // The header reader stops before the pixels: check that they are all there.
    if let Some(medlens_dicom::Element { value: Value::NotLoaded { offset, length }, .. }) = ds.get(tags::PIXEL_DATA) {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if *length != u64::MAX && offset.saturating_add(*length) > size {
            return Err(format!(
                "the file is truncated: Pixel Data needs {length} bytes from byte {offset}, but the file ends at byte {size}"
            ));
        }
    }
    let pos = ds.numbers(tags::IMAGE_POSITION_PATIENT);
    let image_position = match pos.as_slice() {
        [Some(x), Some(y), Some(z), ..] => Some([*x, *y, *z]),
        _ => None,
    };
    let ori = ds.numbers(tags::IMAGE_ORIENTATION_PATIENT);
    let orientation = if ori.len() >= 6 && ori.iter().take(6).all(|v| v.is_some()) {
        let v: Vec<f64> = ori.iter().take(6).map(|v| v.unwrap()).collect();
        Some([v[0], v[1], v[2], v[3], v[4], v[5]])
    } else {
        None
    };
    let ts = f.meta().string(tags::TRANSFER_SYNTAX_UID).unwrap_or_default();
    let inst = Instance {
        path: path.to_path_buf(),
        sop_instance_uid: text(&f, tags::SOP_INSTANCE_UID),
        sop_class_uid: text(&f, tags::SOP_CLASS_UID),
        instance_number: ds.int(tags::INSTANCE_NUMBER),
        image_position,
        rows: info.rows,
        columns: info.columns,
        frames: info.frames,
        samples_per_pixel: info.samples_per_pixel,
        bits_allocated: info.bits_allocated,
        bits_stored: info.bits_stored,
        pixel_representation: info.pixel_representation,
        photometric: info.photometric.clone(),
        transfer_syntax: ts,
        orientation,
    };
    Ok((f, inst))
}

/// Index files and folders. `progress` is called after each file; `cancel` stops early
/// (what was read so far is returned).
pub fn index_paths(paths: &[PathBuf], progress: &dyn Fn(Progress), cancel: &AtomicBool) -> Index {
    let mut errors = Vec::new();
    let files = collect_files(paths, cancel, &mut errors);
    let total = files.len();
    // patient key → (patient, study uid → (study, series uid → series))
    type SeriesMap = BTreeMap<String, Series>;
    let mut patients: BTreeMap<(String, String), (Patient, BTreeMap<String, (Study, SeriesMap)>)> = BTreeMap::new();
    for (i, path) in files.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        match read_instance(path) {
            Err(error) => errors.push(FileError { path: path.clone(), error }),
            Ok((f, inst)) => {
                let pid = text(&f, tags::PATIENT_ID);
                let pname = text(&f, tags::PATIENT_NAME);
                let study_uid = text(&f, tags::STUDY_INSTANCE_UID);
                let series_uid = text(&f, tags::SERIES_INSTANCE_UID);
                let study_uid = if study_uid.is_empty() { format!("(no study UID) {}", path.parent().unwrap_or(path).display()) } else { study_uid };
                let series_uid = if series_uid.is_empty() { format!("(no series UID) {}", path.parent().unwrap_or(path).display()) } else { series_uid };
                let entry = patients
                    .entry((pid.clone(), pname.clone()))
                    .or_insert_with(|| (Patient { id: pid, name: pname, studies: vec![] }, BTreeMap::new()));
                let study = entry.1.entry(study_uid.clone()).or_insert_with(|| {
                    (
                        Study {
                            uid: study_uid,
                            date: text(&f, tags::STUDY_DATE),
                            time: text(&f, tags::STUDY_TIME),
                            description: text(&f, tags::STUDY_DESCRIPTION),
                            accession: text(&f, tags::ACCESSION_NUMBER),
                            series: vec![],
                        },
                        BTreeMap::new(),
                    )
                });
                let series = study.1.entry(series_uid.clone()).or_insert_with(|| Series {
                    uid: series_uid,
                    modality: text(&f, tags::MODALITY),
                    number: f.dataset().int(tags::SERIES_NUMBER),
                    description: text(&f, tags::SERIES_DESCRIPTION),
                    instances: vec![],
                });
                series.instances.push(inst);
            }
        }
        progress(Progress { done: i + 1, total, path: path.clone() });
    }
    let patients = patients
        .into_values()
        .map(|(mut p, studies)| {
            p.studies = studies
                .into_values()
                .map(|(mut st, series)| {
                    st.series = series.into_values().map(sorted).collect();
                    st.series.sort_by_key(|s| s.number.unwrap_or(i64::MAX));
                    st
                })
                .collect();
            p
        })
        .collect();
    Index { patients, errors }
}

/// Sort instances along the slice normal (from Image Orientation), else by instance number.
fn sorted(mut s: Series) -> Series {
    let normal = s.instances.iter().find_map(|i| i.orientation).map(|o| {
        let (r, c) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
        [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
    });
    let all_pos = s.instances.iter().all(|i| i.image_position.is_some());
    s.instances.sort_by(|a, b| {
        let by_pos = match (normal, all_pos) {
            (Some(n), true) => {
                let d = |i: &Instance| {
                    let p = i.image_position.unwrap();
                    p[0] * n[0] + p[1] * n[1] + p[2] * n[2]
                };
                d(a).partial_cmp(&d(b)).unwrap_or(std::cmp::Ordering::Equal)
            }
            _ => std::cmp::Ordering::Equal,
        };
        by_pos
            .then(a.instance_number.unwrap_or(i64::MAX).cmp(&b.instance_number.unwrap_or(i64::MAX)))
            .then(a.path.cmp(&b.path))
    });
    s
}
