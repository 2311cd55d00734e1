//! Indexing: files, folders and DICOMDIRs → patient → study → series → instance.
//!
//! Headers only (reading stops before Pixel Data), in parallel; non-DICOM files are
//! skipped quietly; unreadable DICOM files become error entries and the rest loads.
//! Plain images (PNG, JPEG, TIFF, BMP, WebP, told by their first bytes) are instances too,
//! under the synthetic patient, study and series of `plain::labels`: one series for a
//! folder's single images (in natural name order: `2.png` before `10.png`), one for each
//! multi-page file; their headers are read and bounded (`plain::probe`), pixels are not.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::DataSet;
use crate::error::ErrorKind;
use crate::object::{open_header, DicomFile};
use crate::plain::{self, PlainInfo};
use crate::tags;

/// What a worker made of one file.
enum Scanned {
    Dicom(crate::Result<DicomFile>),
    Plain(crate::Result<PlainInfo>),
}

/// Progress of a scan.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// Callbacks and controls for a scan.
#[derive(Default, Clone, Copy)]
pub struct IndexOptions<'a> {
    /// Called after each file (from worker threads).
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// Set to stop the scan early; what was read so far is returned.
    pub cancel: Option<&'a AtomicBool>,
}

/// A file that could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct FileError {
    pub path: PathBuf,
    pub error: String,
}

/// One SOP instance (a file).
#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    pub path: PathBuf,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i64>,
    pub image_position: Option<[f64; 3]>,
    pub image_orientation: Option<[f64; 6]>,
    pub slice_location: Option<f64>,
    pub rows: Option<u32>,
    pub columns: Option<u32>,
    /// Frames (1 for single-frame images, 0 for objects without pixel data).
    pub frames: u32,
    pub samples_per_pixel: Option<u16>,
    pub bits_allocated: Option<u16>,
    pub bits_stored: Option<u16>,
    pub pixel_representation: Option<u16>,
    pub photometric: Option<String>,
    pub transfer_syntax: String,
    pub has_pixels: bool,
    /// Parse warnings (a damaged tail, a truncated value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A series: instances sorted along the slice normal, then by instance number.
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    pub uid: String,
    pub modality: String,
    pub number: Option<i64>,
    pub description: String,
    pub date: String,
    pub instances: Vec<Instance>,
}

impl Series {
    /// Frames in the series (multi-frame objects count each frame).
    pub fn frame_count(&self) -> u32 {
        self.instances.iter().map(|i| i.frames).sum()
    }
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

/// The result of a scan.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Index {
    pub patients: Vec<Patient>,
    pub errors: Vec<FileError>,
    /// Files that are not DICOM (skipped), plain images excepted.
    pub skipped: Vec<PathBuf>,
    /// Plain images (PNG, JPEG, TIFF, BMP, WebP) found beside the DICOM files; each is also
    /// an instance of the tree (unless its headers are unusable: then it is an error).
    pub images: Vec<PathBuf>,
    /// DICOMDIR files read (their records name the instances).
    pub dicomdirs: Vec<PathBuf>,
    pub cancelled: bool,
}

impl Index {
    pub fn instance_count(&self) -> usize {
        self.patients.iter().flat_map(|p| &p.studies).flat_map(|s| &s.series).map(|s| s.instances.len()).sum()
    }

    pub fn series(&self) -> impl Iterator<Item = &Series> {
        self.patients.iter().flat_map(|p| &p.studies).flat_map(|s| &s.series)
    }
}

const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// Scans files and folders (recursively) and DICOMDIRs.
pub fn index_paths(paths: &[PathBuf], opts: &IndexOptions<'_>) -> Index {
    let mut errors = Vec::new();
    let files = collect_files(paths, &mut errors);
    index_files(files, errors, opts)
}

/// Indexes `files` that [`collect_files`] found (with the errors it met), without walking
/// them again: a caller that indexes in parts walks once.
pub fn index_files(files: Vec<PathBuf>, mut errors: Vec<FileError>, opts: &IndexOptions<'_>) -> Index {
    let total = files.len();
    let done = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let results: Vec<(PathBuf, Option<Scanned>)> = files
        .into_par_iter()
        .map(|path| {
            if opts.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                cancelled.store(true, Ordering::Relaxed);
                return (path, None);
            }
            let r = match open_header(&path) {
                Err(e) if matches!(e.kind, ErrorKind::NotDicom) && plain::is_plain_image_file(&path) => {
                    Scanned::Plain(plain::probe(&path))
                }
                r => Scanned::Dicom(r),
            };
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = opts.progress {
                p(Progress { done: n, total });
            }
            (path, Some(r))
        })
        .collect();

    let mut index = Index { cancelled: cancelled.load(Ordering::Relaxed), ..Default::default() };
    let mut instances = Vec::new();
    let mut extra = Vec::new();
    let mut plain_series: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (path, r) in results {
        let r = match r {
            None => None,
            Some(Scanned::Dicom(r)) => Some(r),
            Some(Scanned::Plain(Ok(info))) => {
                let (inst, keys) = plain_instance(path.clone(), info);
                plain_series.entry(keys.series.0.clone()).or_default().push(instances.len());
                instances.push((inst, keys));
                index.images.push(path);
                continue;
            }
            Some(Scanned::Plain(Err(e))) => {
                errors.push(FileError { path, error: e.to_string() });
                continue;
            }
        };
        match r {
            None => {}
            Some(Ok(f)) if is_dicomdir(&f) => {
                extra.extend(dicomdir_files(&f));
                index.dicomdirs.push(path);
            }
            Some(Ok(f)) if f.pixel_data_truncated() => {
                let why = f.parsed.warnings.iter().find(|w| w.starts_with("Pixel Data")).cloned().unwrap_or_default();
                errors.push(FileError { error: format!("{}: {why}", path.display()), path });
            }
            Some(Ok(f)) => match instance(f) {
                Ok(i) => instances.push(i),
                Err(e) => errors.push(FileError { path, error: e.to_string() }),
            },
            Some(Err(e)) if matches!(e.kind, ErrorKind::NotDicom) => index.skipped.push(path),
            Some(Err(e)) => errors.push(FileError { path, error: e.to_string() }),
        }
    }
    // Plain images have no Instance Number: their rank in natural name order is one.
    for members in plain_series.values() {
        let mut order = members.clone();
        order.sort_by(|&a, &b| natural_cmp(&file_name(&instances[a].0.path), &file_name(&instances[b].0.path)).then_with(|| instances[a].0.path.cmp(&instances[b].0.path)));
        for (rank, i) in order.into_iter().enumerate() {
            instances[i].0.instance_number = Some(rank as i64 + 1);
        }
    }
    // Files named by a DICOMDIR but outside the folders scanned.
    let seen: HashSet<PathBuf> = instances.iter().map(|(i, _)| canonical(&i.path)).chain(errors.iter().map(|e| canonical(&e.path))).collect();
    let mut pending: Vec<PathBuf> = extra.into_iter().filter(|p| !seen.contains(&canonical(p))).collect();
    pending.sort();
    pending.dedup();
    if !index.cancelled {
        for (path, r) in pending.into_par_iter().map(|p| {
            let r = open_header(&p);
            (p, r)
        }).collect::<Vec<_>>() {
            match r {
                Ok(f) if !is_dicomdir(&f) => match instance(f) {
                    Ok(i) => instances.push(i),
                    Err(e) => errors.push(FileError { path, error: e.to_string() }),
                },
                Ok(_) => {}
                Err(e) => errors.push(FileError { path, error: e.to_string() }),
            }
        }
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    index.errors = errors;
    index.skipped.sort();
    index.images.sort();
    index.patients = build_tree(instances);
    index
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Every file under `paths` (folders walked in name order, each file once, links followed
/// once); what cannot be read or listed goes to `errors`. [`index_paths`] starts with this; a
/// caller that indexes in parts (the app streams its index) walks once and indexes the files.
pub fn collect_files(paths: &[PathBuf], errors: &mut Vec<FileError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for p in paths {
        walk(p, &mut out, &mut seen, errors);
    }
    out
}

fn walk(p: &Path, out: &mut Vec<PathBuf>, seen: &mut HashSet<PathBuf>, errors: &mut Vec<FileError>) {
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            errors.push(FileError { path: p.to_path_buf(), error: format!("{}: cannot read: {e}", p.display()) });
            return;
        }
    };
    if !seen.insert(canonical(p)) {
        return; // already scanned (or a link loop)
    }
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                errors.push(FileError { path: p.to_path_buf(), error: format!("{}: cannot list folder: {e}", p.display()) });
                return;
            }
        };
        entries.sort();
        for e in entries {
            walk(&e, out, seen, errors);
        }
    } else if meta.is_file() {
        out.push(p.to_path_buf());
    }
}

fn is_dicomdir(f: &DicomFile) -> bool {
    f.meta().string(tags::MEDIA_STORAGE_SOP_CLASS_UID).as_deref() == Some(DICOMDIR_SOP_CLASS)
        || f.dataset().contains(tags::DIRECTORY_RECORD_SEQUENCE)
}

/// The files a DICOMDIR's records reference, resolved against its folder.
fn dicomdir_files(f: &DicomFile) -> Vec<PathBuf> {
    let base = f.path.parent().unwrap_or(Path::new("."));
    f.dataset()
        .items(tags::DIRECTORY_RECORD_SEQUENCE)
        .iter()
        .filter_map(|rec| file_id_path(base, &rec.strings(tags::REFERENCED_FILE_ID)))
        .map(|p| resolve_case(&p))
        .collect()
}

/// The file a DICOMDIR's Referenced File ID names, below the DICOMDIR's folder `base`; `None`
/// for one that could leave it. PS3.10 file IDs are plain components (upper case letters,
/// digits, underscore); anything that a file system reads as more than a name (`..`, `.`,
/// a separator, a drive letter or stream like `C:`) is refused, on every system.
fn file_id_path(base: &Path, parts: &[String]) -> Option<PathBuf> {
    if parts.is_empty() || parts.iter().any(|s| s.is_empty() || s == ".." || s == "." || s.contains(['/', '\\', ':'])) {
        return None;
    }
    let mut p = base.to_path_buf();
    for s in parts {
        p.push(s);
    }
    Some(p)
}

/// DICOMDIR file IDs are upper case; file systems may hold them in another case.
fn resolve_case(p: &Path) -> PathBuf {
    if p.exists() {
        return p.to_path_buf();
    }
    let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else { return p.to_path_buf() };
    let parent = resolve_case(parent);
    if let Ok(rd) = std::fs::read_dir(&parent) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().eq_ignore_ascii_case(&name.to_string_lossy()) {
                return e.path();
            }
        }
    }
    parent.join(name)
}

struct Keys {
    patient_id: String,
    patient_name: String,
    study: (String, String, String, String, String),
    series: (String, String, Option<i64>, String, String),
}

/// One instance of the index. A file with pixel data whose image attributes do not hold
/// (a Number of Frames beyond what Pixel Data declares, an impossible size) is an error, so
/// that nothing sized by them (a frame count, a cine buffer) follows them.
fn instance(f: DicomFile) -> crate::Result<(Instance, Keys)> {
    let ds: &DataSet = f.dataset();
    let s = |t| ds.string(t).unwrap_or_default();
    let arr = |t, n| -> Option<Vec<f64>> {
        let v: Vec<f64> = ds.numbers(t).into_iter().collect::<Option<Vec<f64>>>()?;
        (v.len() == n && v.iter().all(|x| x.is_finite())).then_some(v)
    };
    let has_pixels = ds.contains(tags::PIXEL_DATA);
    let frames = if has_pixels { f.image_info()?.frames } else { 0 };
    let small = |t| ds.int(t).and_then(|v| u16::try_from(v).ok());
    let inst = Instance {
        sop_instance_uid: ds.string(tags::SOP_INSTANCE_UID).or_else(|| f.meta().string(tags::MEDIA_STORAGE_SOP_INSTANCE_UID)).unwrap_or_default(),
        sop_class_uid: ds.string(tags::SOP_CLASS_UID).or_else(|| f.meta().string(tags::MEDIA_STORAGE_SOP_CLASS_UID)).unwrap_or_default(),
        instance_number: ds.int(tags::INSTANCE_NUMBER),
        image_position: arr(tags::IMAGE_POSITION_PATIENT, 3).map(|v| [v[0], v[1], v[2]]),
        image_orientation: arr(tags::IMAGE_ORIENTATION_PATIENT, 6).map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]),
        slice_location: ds.number(tags::SLICE_LOCATION),
        rows: ds.int(tags::ROWS).and_then(|v| u32::try_from(v).ok()),
        columns: ds.int(tags::COLUMNS).and_then(|v| u32::try_from(v).ok()),
        frames,
        samples_per_pixel: small(tags::SAMPLES_PER_PIXEL),
        bits_allocated: small(tags::BITS_ALLOCATED),
        bits_stored: small(tags::BITS_STORED),
        pixel_representation: small(tags::PIXEL_REPRESENTATION),
        photometric: ds.string(tags::PHOTOMETRIC_INTERPRETATION),
        transfer_syntax: f.parsed.syntax.uid.clone(),
        has_pixels,
        warnings: f.parsed.warnings.clone(),
        path: f.path.clone(),
    };
    let keys = Keys {
        patient_id: s(tags::PATIENT_ID),
        patient_name: s(tags::PATIENT_NAME),
        study: (s(tags::STUDY_INSTANCE_UID), s(tags::STUDY_DATE), s(tags::STUDY_TIME), s(tags::STUDY_DESCRIPTION), s(tags::ACCESSION_NUMBER)),
        series: (
            s(tags::SERIES_INSTANCE_UID),
            s(tags::MODALITY),
            ds.int(tags::SERIES_NUMBER),
            s(tags::SERIES_DESCRIPTION),
            ds.string(tags::SERIES_DATE).unwrap_or_else(|| s(tags::STUDY_DATE)),
        ),
    };
    Ok((inst, keys))
}

/// A plain image as an instance of the tree: what opening it gives (`plain::open`), from
/// its headers.
fn plain_instance(path: PathBuf, info: PlainInfo) -> (Instance, Keys) {
    let l = plain::labels(&path, info.frames);
    let inst = Instance {
        sop_instance_uid: l.instance_uid,
        sop_class_uid: plain::SECONDARY_CAPTURE.into(),
        instance_number: None,
        image_position: None,
        image_orientation: None,
        slice_location: None,
        rows: Some(info.rows),
        columns: Some(info.columns),
        frames: info.frames,
        samples_per_pixel: Some(info.samples),
        bits_allocated: Some(info.bits),
        bits_stored: Some(info.bits),
        pixel_representation: Some(info.signed as u16),
        photometric: Some(info.photometric().into()),
        transfer_syntax: crate::syntax::EXPLICIT_VR_LITTLE_ENDIAN.into(),
        has_pixels: true,
        warnings: info.warnings,
        path,
    };
    let keys = Keys {
        patient_id: plain::PLAIN_PATIENT.into(),
        patient_name: plain::PLAIN_PATIENT.into(),
        study: (l.study_uid, String::new(), String::new(), l.study_description, String::new()),
        series: (l.series_uid, "OT".into(), None, l.series_description, String::new()),
    };
    (inst, keys)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Compares names as people read them: runs of digits by their value (`2` before `10`),
/// the rest character by character.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                fn take(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
                    let mut s = String::new();
                    while let Some(c) = it.peek().copied().filter(char::is_ascii_digit) {
                        s.push(c);
                        it.next();
                    }
                    s
                }
                let (da, db) = (take(&mut a), take(&mut b));
                let (ta, tb) = (da.trim_start_matches('0'), db.trim_start_matches('0'));
                let o = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| da.len().cmp(&db.len()));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a.next();
                b.next();
            }
        }
    }
}

fn build_tree(instances: Vec<(Instance, Keys)>) -> Vec<Patient> {
    type SeriesMap = BTreeMap<String, Series>;
    let mut patients: BTreeMap<(String, String), BTreeMap<String, (Study, SeriesMap)>> = BTreeMap::new();
    for (inst, k) in instances {
        let studies = patients.entry((k.patient_id.clone(), k.patient_name.clone())).or_default();
        let (study_uid, date, time, description, accession) = k.study;
        let (_, series) = studies.entry(study_uid.clone()).or_insert_with(|| {
            (Study { uid: study_uid, date, time, description, accession, series: Vec::new() }, BTreeMap::new())
        });
        let (series_uid, modality, number, description, date) = k.series;
        series
            .entry(series_uid.clone())
            .or_insert_with(|| Series { uid: series_uid, modality, number, description, date, instances: Vec::new() })
            .instances
            .push(inst);
    }
    patients
        .into_iter()
        .map(|((id, name), studies)| {
            let mut studies: Vec<Study> = studies
                .into_values()
                .map(|(mut study, series)| {
                    study.series = series.into_values().map(|mut s| {
                        sort_instances(&mut s.instances);
                        s
                    }).collect();
                    study.series.sort_by(|a, b| a.number.cmp(&b.number).then_with(|| a.uid.cmp(&b.uid)));
                    study
                })
                .collect();
            studies.sort_by(|a, b| (&a.date, &a.time, &a.uid).cmp(&(&b.date, &b.time, &b.uid)));
            Patient { id, name, studies }
        })
        .collect()
}

/// Sorts along the slice normal (row × column direction cosines) by Image Position
/// (Patient), then by Instance Number, then by path. Instances without a position
/// sort by Instance Number alone.
pub fn sort_instances(instances: &mut [Instance]) {
    let normal = instances.iter().find_map(|i| i.image_orientation).map(|o| {
        let (r, c) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
        [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
    });
    let all_positioned = instances.iter().all(|i| i.image_position.is_some());
    let key = |i: &Instance| -> Option<f64> {
        let (n, p) = (normal?, i.image_position?);
        Some(n[0] * p[0] + n[1] * p[1] + n[2] * p[2])
    };
    instances.sort_by(|a, b| {
        // total_cmp: a position of NaN (a damaged file's "NaN" string) must still give a
        // total order, or the sort panics.
        let by_position = match (key(a), key(b)) {
            (Some(x), Some(y)) if all_positioned => x.total_cmp(&y),
            _ => std::cmp::Ordering::Equal,
        };
        by_position
            .then_with(|| a.instance_number.cmp(&b.instance_number))
            .then_with(|| a.path.cmp(&b.path))
    });
}

#[cfg(test)]
mod tests {
    use super::{file_id_path, natural_cmp};
    use std::path::{Path, PathBuf};
    use std::cmp::Ordering::*;

    fn at(path: &str, z: f64) -> super::Instance {
        super::Instance {
            path: path.into(),
            sop_instance_uid: String::new(),
            sop_class_uid: String::new(),
            instance_number: None,
            image_position: Some([0.0, 0.0, z]),
            // Finite but not unit vectors: their cross product's z is 1e600, infinite.
            image_orientation: Some([1e300, 0.0, 0.0, 0.0, 1e300, 0.0]),
            slice_location: None,
            rows: None,
            columns: None,
            frames: 1,
            samples_per_pixel: None,
            bits_allocated: None,
            bits_stored: None,
            pixel_representation: None,
            photometric: None,
            transfer_syntax: String::new(),
            has_pixels: true,
            warnings: Vec::new(),
        }
    }

    /// Finite attributes whose distance along the normal is not a number (an infinite normal
    /// times a position of 0): a damaged series still sorts, without the standard library's
    /// panic on an inconsistent order, and deterministically.
    #[test]
    fn slices_whose_distance_is_not_a_number_still_sort() {
        // Distances: NaN at z = 0, otherwise -inf or +inf.
        let mut v: Vec<super::Instance> = (0..40).map(|i| at(&format!("f{i:02}"), if i % 3 == 0 { 0.0 } else { i as f64 - 20.0 })).collect();
        super::sort_instances(&mut v);
        let mut w = v.clone();
        w.reverse();
        super::sort_instances(&mut w);
        let names = |v: &[super::Instance]| v.iter().map(|i| i.path.clone()).collect::<Vec<_>>();
        assert_eq!(names(&v), names(&w), "the same order from any start");
    }

    #[test]
    fn dicomdir_file_ids_stay_in_their_folder() {
        let base = Path::new("/cd");
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(file_id_path(base, &ids(&["DICOM", "ST000", "IM0001"])), Some(PathBuf::from("/cd/DICOM/ST000/IM0001")));
        for bad in [&["..", "etc", "passwd"][..], &["DICOM", ".."], &["/etc"], &["C:", "WINDOWS"], &["C:IM1"], &["IM1:stream"], &["."], &[""], &[]] {
            assert_eq!(file_id_path(base, &ids(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("img2.png", "img10.png"), Less);
        assert_eq!(natural_cmp("img10.png", "img2.png"), Greater);
        assert_eq!(natural_cmp("a.png", "b.png"), Less);
        assert_eq!(natural_cmp("x07", "x7"), Greater, "equal values: the longer spelling last");
        assert_eq!(natural_cmp("same", "same"), Equal);
        assert_eq!(natural_cmp("a", "a1"), Less);
    }
}
