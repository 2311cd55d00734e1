//! Indexing dropped or chosen paths: `medlens_dicom::index_paths`, shaped for the UI.
//!
//! The viewer shows images: instances without pixel data (SR, KOS, presentation
//! states …) are listed among the errors as "not an image" rather than as empty series.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use medlens_dicom::index::{self, IndexOptions};
use serde::Serialize;

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
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
    pub photometric: String,
    pub transfer_syntax: String,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct Series {
    pub uid: String,
    pub modality: String,
    pub number: Option<i64>,
    pub description: String,
    pub instances: Vec<Instance>,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct Study {
    pub uid: String,
    pub date: String,
    pub time: String,
    pub description: String,
    pub accession: String,
    pub series: Vec<Series>,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct Patient {
    pub id: String,
    pub name: String,
    pub studies: Vec<Study>,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct FileError {
    pub path: PathBuf,
    pub error: String,
}

#[derive(Clone, Debug, Default, Serialize, ts_rs::TS)]
pub struct Index {
    pub patients: Vec<Patient>,
    pub errors: Vec<FileError>,
}

pub use medlens_dicom::index::Progress;

/// The reason alone: the crate's messages start with the path, which the UI shows apart.
fn reason(path: &std::path::Path, error: &str) -> String {
    let prefix = format!("{}: ", path.display());
    error.strip_prefix(&prefix).unwrap_or(error).to_string()
}

/// Runs an indexing `job` of `paths`; if it panics, the result is an index whose errors
/// say so for each path, so the UI gets its `index-done` and leaves its indexing state.
pub fn index_or_error(paths: &[PathBuf], job: impl FnOnce() -> Index) -> Index {
    crate::catch_panic("indexing", || Ok(job())).unwrap_or_else(|error| Index {
        patients: Vec::new(),
        errors: paths.iter().map(|p| FileError { path: p.clone(), error: error.clone() }).collect(),
    })
}

/// Index files and folders (recursively). `progress` is called after each file, from
/// worker threads; `cancel` stops early and what was read so far is returned.
pub fn index_paths(paths: &[PathBuf], progress: &(dyn Fn(Progress) + Sync), cancel: &AtomicBool) -> Index {
    let idx = index::index_paths(paths, &IndexOptions { progress: Some(progress), cancel: Some(cancel) });
    let mut errors: Vec<FileError> =
        idx.errors.into_iter().map(|e| FileError { error: reason(&e.path, &e.error), path: e.path }).collect();
    let mut patients = Vec::new();
    for p in idx.patients {
        let mut studies = Vec::new();
        for (k, mut st) in p.studies.into_iter().enumerate() {
            // The UI keys studies and series by UID: give UID-less ones a stable, unique key.
            if st.uid.is_empty() {
                st.uid = format!("(no study UID) {} {} #{k}", p.id, p.name);
            }
            let mut series = Vec::new();
            for (j, mut se) in st.series.into_iter().enumerate() {
                if se.uid.is_empty() {
                    se.uid = format!("(no series UID) {} #{j}", st.uid);
                }
                let mut instances = Vec::new();
                for i in se.instances {
                    match (i.has_pixels, i.rows, i.columns) {
                        (true, Some(rows), Some(columns)) if i.frames > 0 => instances.push(Instance {
                            path: i.path,
                            sop_instance_uid: i.sop_instance_uid,
                            sop_class_uid: i.sop_class_uid,
                            instance_number: i.instance_number,
                            image_position: i.image_position,
                            rows,
                            columns,
                            frames: i.frames,
                            samples_per_pixel: i.samples_per_pixel.unwrap_or(1),
                            bits_allocated: i.bits_allocated.unwrap_or(0),
                            photometric: i.photometric.unwrap_or_default(),
                            transfer_syntax: i.transfer_syntax,
                        }),
                        _ => errors.push(FileError {
                            path: i.path,
                            error: format!(
                                "not an image (no pixel data; SOP class {}), not shown",
                                if i.sop_class_uid.is_empty() { "unknown" } else { &i.sop_class_uid }
                            ),
                        }),
                    }
                }
                if !instances.is_empty() {
                    series.push(Series { uid: se.uid, modality: se.modality, number: se.number, description: se.description, instances });
                }
            }
            if !series.is_empty() {
                studies.push(Study { uid: st.uid, date: st.date, time: st.time, description: st.description, accession: st.accession, series });
            }
        }
        if !studies.is_empty() {
            patients.push(Patient { id: p.id, name: p.name, studies });
        }
    }
    Index { patients, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_index_job_reports_an_error_per_path() {
        let paths = [PathBuf::from("/media/cd"), PathBuf::from("/tmp/x.dcm")];
        let idx = index_or_error(&paths, || panic!("attempt to multiply with overflow"));
        assert!(idx.patients.is_empty());
        assert_eq!(idx.errors.iter().map(|e| e.path.clone()).collect::<Vec<_>>(), paths);
        assert!(idx.errors.iter().all(|e| e.error.contains("indexing failed") && e.error.contains("multiply with overflow")), "{:?}", idx.errors);
        // The next job runs as usual.
        let idx = index_or_error(&paths, Index::default);
        assert!(idx.errors.is_empty());
    }
}
