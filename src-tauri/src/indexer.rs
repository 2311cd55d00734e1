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

/// Index files and folders (recursively) at once: the reference the parts are tested against.
/// `progress` is called after each file, from worker threads; `cancel` stops early and what
/// was read so far is returned.
#[cfg(test)]
pub fn index_paths(paths: &[PathBuf], progress: &(dyn Fn(Progress) + Sync), cancel: &AtomicBool) -> Index {
    shape(index::index_paths(paths, &IndexOptions { progress: Some(progress), cancel: Some(cancel) }))
}

/// The first part's files: enough for a series or two, so the first image is on screen long
/// before a big folder is read.
const FIRST_PART: usize = 64;
/// Parts grow fourfold up to this, so a big folder costs a handful of merges in the UI.
const MAX_PART: usize = 4096;

/// Where the parts of `files` end: the first `FIRST_PART` files, then each part four times the
/// last, up to `MAX_PART`; a part ends only where the folder changes (plain images are numbered
/// within their folder, so a folder is never split). One part when a DICOMDIR is among the files
/// (its records name files that may lie in any part).
pub fn part_ends(files: &[PathBuf]) -> Vec<usize> {
    let dicomdir = files.iter().any(|f| f.file_name().is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR")));
    if dicomdir || files.is_empty() {
        return vec![files.len()];
    }
    let mut ends = Vec::new();
    let (mut start, mut size) = (0, FIRST_PART);
    let mut k = 0;
    while k < files.len() {
        k += 1;
        let folder_changes = k == files.len() || files[k].parent() != files[k - 1].parent();
        if k - start >= size && folder_changes {
            ends.push(k);
            start = k;
            size = (size * 4).min(MAX_PART);
        }
    }
    if ends.last() != Some(&files.len()) {
        ends.push(files.len());
    }
    ends
}

/// Index `paths` in parts (`part_ends`), handing each part's index to `part` as soon as it is
/// read (`true` for the last), so the viewer shows the first series while the rest is read.
/// `progress` counts over all the files; `cancel` stops after the file being read, and the
/// part read so far is the last.
pub fn index_in_parts(paths: &[PathBuf], progress: &(dyn Fn(Progress) + Sync), cancel: &AtomicBool, part: &mut dyn FnMut(Index, bool)) {
    let mut errors = Vec::new();
    let files = index::collect_files(paths, &mut errors);
    let total = files.len();
    let mut start = 0;
    let ends = part_ends(&files);
    for (n, &end) in ends.iter().enumerate() {
        let offset = start;
        let shifted = move |p: Progress| progress(Progress { done: offset + p.done, total });
        let walk_errors = if n == 0 { std::mem::take(&mut errors) } else { Vec::new() };
        let idx = index::index_files(files[start..end].to_vec(), walk_errors, &IndexOptions { progress: Some(&shifted), cancel: Some(cancel) });
        let stop = idx.cancelled || cancel.load(std::sync::atomic::Ordering::Relaxed);
        let last = n + 1 == ends.len() || stop;
        part(shape(idx), last);
        if last {
            return;
        }
        start = end;
    }
}

/// The crate's index as the UI takes it.
fn shape(idx: index::Index) -> Index {
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
    fn parts_start_small_grow_and_never_split_a_folder() {
        let files: Vec<PathBuf> = (0..500).map(|k| PathBuf::from(format!("/d/s{}/f{}.dcm", k / 20, k % 20))).collect();
        // 64 files reach into folder 3 (files 60..80): the part ends with it; then 256 more
        // reach into folder 16 (320..340); the rest is the last part.
        assert_eq!(part_ends(&files), vec![80, 340, 500]);
        let one_folder: Vec<PathBuf> = (0..300).map(|k| PathBuf::from(format!("/d/f{k}.png"))).collect();
        assert_eq!(part_ends(&one_folder), vec![300]);
        let mut with_dir = files.clone();
        with_dir.push(PathBuf::from("/d/DICOMDIR"));
        assert_eq!(part_ends(&with_dir), vec![501]);
        assert_eq!(part_ends(&[]), vec![0]);
    }

    #[test]
    fn the_sample_in_parts_is_the_sample_at_once() {
        let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/mr-volume");
        let whole = index_paths(&[sample.clone()], &|_| {}, &AtomicBool::new(false));
        let mut parts = Vec::new();
        let done = std::sync::Mutex::new(0);
        let most = |p: Progress| {
            let mut d = done.lock().unwrap();
            *d = (*d).max(p.done);
        };
        index_in_parts(&[sample, PathBuf::from("/no/such/folder")], &most, &AtomicBool::new(false), &mut |idx, last| parts.push((idx, last)));
        assert_eq!(parts.len(), 1, "22 files are one part");
        let (idx, last) = &parts[0];
        assert!(*last);
        assert_eq!(serde_json::to_string(&idx.patients).unwrap(), serde_json::to_string(&whole.patients).unwrap());
        assert_eq!(idx.errors.len(), 1, "the missing folder is reported: {:?}", idx.errors);
        // Every file under the folder was counted (the images, its README and LICENSE).
        assert_eq!(*done.lock().unwrap(), std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/mr-volume")).unwrap().count());
    }

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
