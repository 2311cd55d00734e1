//! Measurements kept with their study and exported.
//!
//! The viewer's measurements (ui/src/measure.ts) are saved per study in the data folder as
//! `measurements/<StudyInstanceUID>.json`, each naming its image by SOP Instance UID and
//! frame (so they come back when the study is opened again, from wherever its files now
//! are), with its points in image coordinates and the numbers the viewer showed for it. An
//! export writes the same records as CSV and JSON to a folder the user picks, and a DICOM
//! TID 1500 measurement report (`medlens_dicom::measurement_sr`) when every measured image is
//! an opened DICOM file.
//!
//! Everything here comes from the page, so it is checked before it is written: the study
//! UID must be a DICOM UID (it becomes a file name), every point finite, every kind known
//! with its number of points.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_plugin_dialog::DialogExt;

use crate::files;

/// The `format` of a saved or exported JSON file.
pub const FORMAT: &str = "medlens-measurements/1";

/// Saved files larger than this are refused on load (a study's measurements are kilobytes).
const MAX_FILE_BYTES: u64 = 32 << 20;
/// Measurements per save or export (far beyond what a person draws on one study).
const MAX_MEASUREMENTS: usize = 100_000;
/// Vertices of a freehand outline (the viewer keeps at most this many).
const MAX_OUTLINE: usize = 10_000;

/// One measurement: its image, its points and the numbers shown for it when it was last
/// placed or edited (the statistics of an ROI need the frame's pixels, which a reader of
/// the file does not have).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SavedMeasurement {
    pub sop_instance_uid: String,
    /// 0-based frame of a multi-frame image.
    pub frame: u32,
    /// The file it was drawn on, for the reader (the UID is what a load matches).
    pub path: String,
    #[ts(type = r#""length" | "angle" | "ellipse" | "rect" | "freehand""#)]
    pub kind: String,
    /// Image coordinates: x along the row, y down the column; pixel (c, r) covers
    /// [c, c+1) × [r, r+1). A freehand outline's vertices, in drawing order (closed).
    pub points: Vec<[f64; 2]>,
    /// The unit of lengths (and, squared, of areas): `mm`, or `px` without a calibration.
    #[ts(type = r#""mm" | "px""#)]
    pub unit: String,
    pub length: Option<f64>,
    /// Degrees.
    pub angle: Option<f64>,
    pub area: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation.
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Pixels inside an ROI.
    pub count: Option<u32>,
    /// The unit of the values (`HU`, a Rescale Type), empty when they have none.
    pub value_unit: String,
    /// PET with an SUV: the ROI's mean, SD, min and max in SUVbw (absent in files saved
    /// before SUV was measured).
    #[serde(default)]
    pub suv_mean: Option<f64>,
    #[serde(default)]
    pub suv_sd: Option<f64>,
    #[serde(default)]
    pub suv_min: Option<f64>,
    #[serde(default)]
    pub suv_max: Option<f64>,
}

/// A saved or exported file.
#[derive(Debug, Serialize, Deserialize)]
struct Document {
    format: String,
    study_uid: String,
    measurements: Vec<SavedMeasurement>,
}

/// Where an export went (`measurements_export`).
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct MeasurementsExported {
    pub csv: PathBuf,
    pub json: PathBuf,
    /// The DICOM SR (TID 1500), unless `sr_skipped` says why there is none.
    pub sr: Option<PathBuf>,
    pub sr_skipped: Option<String>,
}

/// A DICOM UID (PS3.5 9.1): 1-64 characters, digits in dot-separated components, none
/// empty, none with a leading zero.
pub fn check_uid(uid: &str) -> Result<(), String> {
    let ok = !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) && (c == "0" || !c.starts_with('0')));
    if ok {
        Ok(())
    } else {
        Err(format!("`{}` is not a DICOM UID", uid.chars().take(80).collect::<String>()))
    }
}

/// Each record well formed: a known kind with its number of points, finite coordinates,
/// a DICOM UID for the image, finite numbers.
fn check(items: &[SavedMeasurement]) -> Result<(), String> {
    if items.len() > MAX_MEASUREMENTS {
        return Err(format!("{} measurements (at most {MAX_MEASUREMENTS})", items.len()));
    }
    for (i, m) in items.iter().enumerate() {
        let what = |e: String| format!("measurement {}: {e}", i + 1);
        check_uid(&m.sop_instance_uid).map_err(what)?;
        let points = match m.kind.as_str() {
            "length" | "ellipse" | "rect" => 2..=2,
            "angle" => 3..=3,
            "freehand" => 3..=MAX_OUTLINE,
            k => return Err(what(format!("unknown kind `{}`", k.chars().take(40).collect::<String>()))),
        };
        if !points.contains(&m.points.len()) {
            let want = if points.start() == points.end() { points.start().to_string() } else { format!("{} to {}", points.start(), points.end()) };
            return Err(what(format!("a {} has {want} points, not {}", m.kind, m.points.len())));
        }
        if !m.points.iter().flatten().all(|v| v.is_finite()) {
            return Err(what("a point is not a finite number".into()));
        }
        if m.unit != "mm" && m.unit != "px" {
            return Err(what(format!("unit `{}` (mm or px)", m.unit.chars().take(20).collect::<String>())));
        }
        let numbers = [m.length, m.angle, m.area, m.mean, m.sd, m.min, m.max, m.suv_mean, m.suv_sd, m.suv_min, m.suv_max];
        if !numbers.iter().flatten().all(|v| v.is_finite()) {
            return Err(what("a value is not a finite number".into()));
        }
    }
    Ok(())
}

/// `dir/<study_uid>.json`.
fn study_file(dir: &Path, study_uid: &str) -> Result<PathBuf, String> {
    check_uid(study_uid)?;
    Ok(dir.join(format!("{study_uid}.json")))
}

/// The study's saved measurements in `dir`; none when it has no file. A file that cannot be
/// read, is too large, is not this format or is another study's is an error naming it.
pub fn load(dir: &Path, study_uid: &str) -> Result<Vec<SavedMeasurement>, String> {
    let path = study_file(dir, study_uid)?;
    let name = path.display();
    let size = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    if size > MAX_FILE_BYTES {
        return Err(format!("{name}: {size} bytes, more than a measurements file holds ({MAX_FILE_BYTES})"));
    }
    let text = std::fs::read(&path).map_err(|e| format!("{name}: {e}"))?;
    let doc: Document = serde_json::from_slice(&text).map_err(|e| format!("{name}: not a Medlens measurements file ({e})"))?;
    if doc.format != FORMAT {
        return Err(format!("{name}: format `{}`, expected `{FORMAT}`", doc.format.chars().take(60).collect::<String>()));
    }
    if doc.study_uid != study_uid {
        return Err(format!("{name}: holds study {}, not {study_uid}", doc.study_uid.chars().take(64).collect::<String>()));
    }
    check(&doc.measurements).map_err(|e| format!("{name}: {e}"))?;
    Ok(doc.measurements)
}

/// Replaces the study's saved measurements in `dir` (through a temporary file: the old
/// file or the new one, never half of one); none removes the file.
pub fn save(dir: &Path, study_uid: &str, items: Vec<SavedMeasurement>) -> Result<(), String> {
    let path = study_file(dir, study_uid)?;
    check(&items)?;
    if items.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("{}: {e}", path.display())),
            _ => Ok(()),
        };
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let body = json_body(study_uid, items)?;
    Ok(files::write_atomic(&path, true, &|w| w.write_all(&body))?)
}

fn json_body(study_uid: &str, measurements: Vec<SavedMeasurement>) -> Result<Vec<u8>, String> {
    let doc = Document { format: FORMAT.into(), study_uid: study_uid.into(), measurements };
    serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())
}

/// The CSV columns, one row per measurement; empty cells where a number does not apply.
pub const CSV_HEADER: [&str; 21] = [
    "study_uid",
    "sop_instance_uid",
    "frame",
    "path",
    "kind",
    "points",
    "unit",
    "length",
    "angle_deg",
    "area",
    "mean",
    "sd",
    "min",
    "max",
    "count",
    "value_unit",
    "area_unit",
    "suv_bw_mean",
    "suv_bw_sd",
    "suv_bw_min",
    "suv_bw_max",
];

/// A text cell that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab or CR
/// first: a Rescale Type or a file name come from the data) gets a leading `'`, which
/// spreadsheets show as text.
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The measurements as CSV: numbers in full precision (Rust's shortest round-trip form),
/// points as `x y` pairs separated by `;`, the area's unit (`mm²`, `px²`) spelled out.
pub fn csv_body(study_uid: &str, items: &[SavedMeasurement]) -> Result<Vec<u8>, String> {
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).map_err(|e| e.to_string())?;
    for m in items {
        let points = m.points.iter().map(|[x, y]| format!("{x} {y}")).collect::<Vec<_>>().join(";");
        let area_unit = if m.area.is_some() { format!("{}²", m.unit) } else { String::new() };
        let row = [
            study_uid.to_string(),
            m.sop_instance_uid.clone(),
            m.frame.to_string(),
            text_cell(&m.path),
            m.kind.clone(),
            points,
            m.unit.clone(),
            num(m.length),
            num(m.angle),
            num(m.area),
            num(m.mean),
            num(m.sd),
            num(m.min),
            num(m.max),
            m.count.map(|c| c.to_string()).unwrap_or_default(),
            text_cell(&m.value_unit),
            area_unit,
            num(m.suv_mean),
            num(m.suv_sd),
            num(m.suv_min),
            num(m.suv_max),
        ];
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// The measurements as a TID 1500 SR. `open` reads a measured file (or says why it may
/// not); each gives its SOP class and series, the first the patient and study. The error
/// says why there is no SR (a plain image, a file that cannot be read, a bad region).
pub fn sr_bytes(study_uid: &str, items: &[SavedMeasurement], open: &dyn Fn(&Path) -> Result<medlens_dicom::DicomFile, String>, date: &str, time: &str) -> Result<Vec<u8>, String> {
    use medlens_dicom::measurement_sr::{measurement_report_file, MeasuredImage, Measurement, MeasurementReport, Shape};
    use medlens_dicom::tags;
    let mut files: Vec<(String, medlens_dicom::DicomFile)> = Vec::new();
    let mut out = Vec::new();
    for m in items {
        if !files.iter().any(|(p, _)| *p == m.path) {
            let path = Path::new(&m.path);
            if medlens_dicom::plain::is_plain_image_file(path) {
                return Err(format!("{}: a plain image, not DICOM", m.path));
            }
            files.push((m.path.clone(), open(path)?));
        }
        let f = &files.iter().find(|(p, _)| *p == m.path).expect("just read").1;
        let ds = f.dataset();
        if ds.string(tags::SOP_INSTANCE_UID).as_deref() != Some(m.sop_instance_uid.as_str()) {
            return Err(format!("{}: no longer holds instance {}", m.path, m.sop_instance_uid));
        }
        if ds.string(tags::STUDY_INSTANCE_UID).as_deref() != Some(study_uid) {
            return Err(format!("{}: belongs to another study", m.path));
        }
        let frames = ds.string(tags::NUMBER_OF_FRAMES).and_then(|n| n.trim().parse::<u32>().ok()).unwrap_or(1);
        let shape = match m.kind.as_str() {
            "length" => Shape::Length,
            "angle" => Shape::Angle,
            "ellipse" => Shape::Ellipse,
            "rect" => Shape::Rectangle,
            _ => Shape::Freehand,
        };
        out.push(Measurement {
            image: MeasuredImage {
                sop_class_uid: ds.string(tags::SOP_CLASS_UID).unwrap_or_default(),
                sop_instance_uid: m.sop_instance_uid.clone(),
                series_uid: ds.string(tags::SERIES_INSTANCE_UID).unwrap_or_default(),
                frame: (frames > 1).then_some(m.frame),
            },
            shape,
            points: m.points.clone(),
            calibrated: m.unit == "mm",
            length: m.length,
            angle: m.angle,
            area: m.area,
            mean: m.mean,
            sd: m.sd,
            min: m.min,
            max: m.max,
            value_unit: m.value_unit.clone(),
            suv: match (m.suv_mean, m.suv_sd, m.suv_min, m.suv_max) {
                (Some(a), Some(b), Some(c), Some(d)) => Some([a, b, c, d]),
                _ => None,
            },
        });
    }
    let (series_uid, instance_uid) = (medlens_dicom::sr::new_uid(), medlens_dicom::sr::new_uid());
    let report = MeasurementReport { measurements: &out, date, time, series_uid: &series_uid, instance_uid: &instance_uid };
    let source = &files.first().ok_or("no measurements")?.1;
    measurement_report_file(source, &report).map_err(|e| format!("measurement report: {e}"))
}

/// Writes `medlens-measurements-<date>-<time>.csv`, `.json` and, when `sr` holds one, the
/// SR as `…-sr.dcm` into `dir` (new names, never over an earlier export).
pub fn export_to(dir: &Path, study_uid: &str, items: Vec<SavedMeasurement>, stamp: &str, sr: Result<Vec<u8>, String>) -> Result<MeasurementsExported, String> {
    check_uid(study_uid)?;
    check(&items)?;
    if items.is_empty() {
        return Err("this study has no measurements to export".into());
    }
    let stem = format!("medlens-measurements-{stamp}");
    let csv = csv_body(study_uid, &items)?;
    let json = json_body(study_uid, items)?;
    let csv = files::write_unique(dir, &stem, "csv", &|w| w.write_all(&csv))?;
    let json = files::write_unique(dir, &stem, "json", &|w| w.write_all(&json))?;
    let (sr, sr_skipped) = match sr {
        Ok(bytes) => (Some(files::write_unique(dir, &format!("{stem}-sr"), "dcm", &|w| w.write_all(&bytes))?), None),
        Err(why) => (None, Some(why)),
    };
    Ok(MeasurementsExported { csv, json, sr, sr_skipped })
}

fn measurements_dir(app: &AppHandle) -> PathBuf {
    crate::ai::data_dir(app).join("measurements")
}

/// The study's saved measurements (none when it has none).
#[tauri::command]
pub async fn measurements_load(app: AppHandle, study_uid: String) -> Result<Vec<SavedMeasurement>, String> {
    crate::blocking("loading measurements", move || load(&measurements_dir(&app), &study_uid)).await
}

/// Replaces the study's saved measurements (the UI sends all of them after each change).
#[tauri::command]
pub async fn measurements_save(app: AppHandle, study_uid: String, measurements: Vec<SavedMeasurement>) -> Result<(), String> {
    crate::blocking("saving measurements", move || save(&measurements_dir(&app), &study_uid, measurements)).await
}

/// Exports the study's measurements as CSV, JSON and a TID 1500 SR into a folder picked in a
/// dialog, or into `$MEDLENS_EXPORT_DIR` for automation. Null when the dialog is cancelled.
#[tauri::command]
pub async fn measurements_export(app: AppHandle, study_uid: String, measurements: Vec<SavedMeasurement>) -> Result<Option<MeasurementsExported>, String> {
    let dir = match std::env::var_os("MEDLENS_EXPORT_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None => app.dialog().file().set_title("Export measurements (CSV and JSON) to a folder").blocking_pick_folder().and_then(|p| p.into_path().ok()),
    };
    let Some(dir) = dir else { return Ok(None) };
    let (d, t) = crate::ai::dicom_date_time_now();
    crate::blocking("exporting measurements", move || {
        // The SR reads the measured files: only those the user opened.
        let state = app.state::<crate::AppState>();
        let open = |p: &Path| -> Result<medlens_dicom::DicomFile, String> {
            crate::check_known(state.inner(), p)?;
            medlens_dicom::open(p).map_err(|e| format!("{}: {}", p.display(), e.kind))
        };
        let sr = check_uid(&study_uid).and_then(|()| check(&measurements)).and_then(|()| sr_bytes(&study_uid, &measurements, &open, &d, &t));
        export_to(&dir, &study_uid, measurements, &format!("{d}-{t}"), sr).map(Some)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary one, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let d = std::env::temp_dir().join(format!("medlens-measurements-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The same records, numbers to 15 significant digits: serde_json's default float
    /// parser is not correctly rounded (195.40907519014226 reads back one unit in the last
    /// place lower), which no measurement shown to 1-2 decimals can tell.
    fn assert_same(got: &[SavedMeasurement], want: &[SavedMeasurement]) {
        assert_eq!(got.len(), want.len());
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-15 * a.abs().max(b.abs()),
            (a, b) => a == b,
        };
        for (g, w) in got.iter().zip(want) {
            let numbers = |m: &SavedMeasurement| [m.length, m.angle, m.area, m.mean, m.sd, m.min, m.max];
            assert!(numbers(g).into_iter().zip(numbers(w)).all(|(a, b)| close(a, b)), "{g:?} vs {w:?}");
            let rest = |m: &SavedMeasurement| (m.sop_instance_uid.clone(), m.frame, m.path.clone(), m.kind.clone(), m.points.clone(), m.unit.clone(), m.count, m.value_unit.clone());
            assert_eq!(rest(g), rest(w));
        }
    }

    fn length(uid: &str, points: Vec<[f64; 2]>) -> SavedMeasurement {
        SavedMeasurement {
            sop_instance_uid: uid.into(),
            frame: 0,
            path: "/data/ct/1.dcm".into(),
            kind: "length".into(),
            points,
            unit: "mm".into(),
            length: Some(29.581748258816617),
            angle: None,
            area: None,
            mean: None,
            sd: None,
            suv_mean: None,
            suv_sd: None,
            suv_min: None,
            suv_max: None,
            min: None,
            max: None,
            count: None,
            value_unit: String::new(),
        }
    }

    fn roi() -> SavedMeasurement {
        SavedMeasurement {
            kind: "rect".into(),
            frame: 2,
            path: "/data/ct/a, \"b\".dcm".into(),
            length: None,
            area: Some(210.01915921152),
            mean: Some(148.9),
            sd: Some(195.40907519014226),
            suv_mean: None,
            suv_sd: None,
            suv_min: None,
            suv_max: None,
            min: Some(-98.0),
            max: Some(886.0),
            count: Some(480),
            value_unit: "HU".into(),
            ..length("1.2.3.5", vec![[84.0, 40.0], [60.0, 60.0]])
        }
    }

    #[test]
    fn uids_are_checked_before_they_name_a_file() {
        for ok in ["1.2.840.10008.1.2", "2.25.340282366920938463463374607431768211455", "0.1", "1"] {
            assert!(check_uid(ok).is_ok(), "{ok}");
        }
        let long = format!("1.{}", "2".repeat(63));
        for bad in ["", "../x", "1..2", "1.02", ".1", "1.", "1.2/3", "１.2", long.as_str(), "1.2.3.json"] {
            assert!(check_uid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn save_then_load_gives_the_same_records_and_none_removes_the_file() {
        let dir = Scratch::new("roundtrip");
        let items = vec![length("1.2.3.4", vec![[80.5, 100.5], [120.5, 80.5]]), roi()];
        assert_eq!(load(dir.path(), "1.2.3").unwrap(), vec![], "no file: no measurements");
        save(dir.path(), "1.2.3", items.clone()).unwrap();
        assert_same(&load(dir.path(), "1.2.3").unwrap(), &items);
        // Another study's file is not this one's.
        assert_eq!(load(dir.path(), "1.2.4").unwrap(), vec![]);
        save(dir.path(), "1.2.3", vec![]).unwrap();
        assert!(!dir.path().join("1.2.3.json").exists());
        save(dir.path(), "1.2.3", vec![]).unwrap();
    }

    #[test]
    fn bad_records_are_refused_and_nothing_is_written() {
        let dir = Scratch::new("bad");
        let cases: Vec<(SavedMeasurement, &str)> = vec![
            (length("1.2", vec![[0.0, 0.0]]), "2 points, not 1"),
            (SavedMeasurement { kind: "freehand".into(), ..length("1.2", vec![[0.0, 0.0], [1.0, 1.0]]) }, "a freehand has 3 to 10000 points, not 2"),
            (length("1.2", vec![[0.0, f64::NAN], [1.0, 1.0]]), "not a finite number"),
            (SavedMeasurement { kind: "polygon".into(), ..length("1.2", vec![[0.0, 0.0], [1.0, 1.0]]) }, "unknown kind"),
            (length("x/y", vec![[0.0, 0.0], [1.0, 1.0]]), "not a DICOM UID"),
            (SavedMeasurement { unit: "cm".into(), ..length("1.2", vec![[0.0, 0.0], [1.0, 1.0]]) }, "unit `cm`"),
            (SavedMeasurement { length: Some(f64::INFINITY), ..length("1.2", vec![[0.0, 0.0], [1.0, 1.0]]) }, "value is not a finite"),
        ];
        for (m, want) in cases {
            let e = save(dir.path(), "1.2.3", vec![m]).unwrap_err();
            assert!(e.contains("measurement 1") && e.contains(want), "{e}");
        }
        assert!(save(dir.path(), "../../etc/passwd", vec![roi()]).unwrap_err().contains("not a DICOM UID"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn a_damaged_or_foreign_file_is_an_error_naming_it() {
        let dir = Scratch::new("damaged");
        let f = dir.path().join("1.2.3.json");
        std::fs::write(&f, b"{\"format\": \"medlens-measurements/1\", \"study_uid\": \"1.2.3\", \"measurements\": [").unwrap();
        let e = load(dir.path(), "1.2.3").unwrap_err();
        assert!(e.starts_with(&f.display().to_string()) && e.contains("not a Medlens measurements file"), "{e}");
        std::fs::write(&f, br#"{"format": "other/2", "study_uid": "1.2.3", "measurements": []}"#).unwrap();
        assert!(load(dir.path(), "1.2.3").unwrap_err().contains("format `other/2`"));
        std::fs::write(&f, br#"{"format": "medlens-measurements/1", "study_uid": "1.2.9", "measurements": []}"#).unwrap();
        assert!(load(dir.path(), "1.2.3").unwrap_err().contains("holds study 1.2.9"));
        let bad = r#"{"format": "medlens-measurements/1", "study_uid": "1.2.3", "measurements": [{"sop_instance_uid": "1.2", "frame": 0, "path": "", "kind": "angle", "points": [[0,0],[1,1]], "unit": "mm", "length": null, "angle": 3, "area": null, "mean": null, "sd": null, "min": null, "max": null, "count": null, "value_unit": ""}]}"#;
        std::fs::write(&f, bad).unwrap();
        assert!(load(dir.path(), "1.2.3").unwrap_err().contains("a angle has 3 points, not 2"));
        std::fs::write(&f, vec![b' '; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        assert!(load(dir.path(), "1.2.3").unwrap_err().contains("more than a measurements file holds"));
    }

    #[test]
    fn a_pet_roi_keeps_its_suv_in_the_file_and_the_csv() {
        let dir = Scratch::new("suv");
        let pet = SavedMeasurement { suv_mean: Some(2.5), suv_sd: Some(0.25), suv_min: Some(1.5), suv_max: Some(3.75), ..roi() };
        save(dir.path(), "1.2.3", vec![pet.clone(), roi()]).unwrap();
        let back = load(dir.path(), "1.2.3").unwrap();
        assert_eq!((back[0].suv_mean, back[0].suv_sd, back[0].suv_min, back[0].suv_max), (Some(2.5), Some(0.25), Some(1.5), Some(3.75)));
        assert_eq!(back[1].suv_mean, None);
        let csv = String::from_utf8(csv_body("1.2.3", &[pet, roi()]).unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let col = |row: &csv::StringRecord, name: &str| row.get(CSV_HEADER.iter().position(|h| *h == name).unwrap()).unwrap().to_string();
        assert_eq!(["suv_bw_mean", "suv_bw_sd", "suv_bw_min", "suv_bw_max"].map(|c| col(&rows[0], c)), ["2.5", "0.25", "1.5", "3.75"].map(String::from));
        assert_eq!(col(&rows[1], "suv_bw_mean"), "");
        let bad = SavedMeasurement { suv_max: Some(f64::NAN), ..roi() };
        assert!(save(dir.path(), "1.2.3", vec![bad]).unwrap_err().contains("not a finite number"));
    }

    #[test]
    fn export_writes_csv_and_json_that_read_back() {
        let dir = Scratch::new("export");
        let items = vec![length("1.2.3.4", vec![[80.5, 100.5], [120.5, 80.5]]), roi()];
        let out = export_to(dir.path(), "1.2.3", items.clone(), "20261207-101500", Err("no SR here".into())).unwrap();
        assert_eq!((out.sr.as_ref(), out.sr_skipped.as_deref()), (None, Some("no SR here")));
        assert_eq!(out.csv, dir.path().join("medlens-measurements-20261207-101500.csv"));
        // A second export in the same second gets new names.
        let again = export_to(dir.path(), "1.2.3", items.clone(), "20261207-101500", Ok(b"DICM".to_vec())).unwrap();
        assert_eq!(again.sr, Some(dir.path().join("medlens-measurements-20261207-101500-sr.dcm")));
        assert_eq!(again.json, dir.path().join("medlens-measurements-20261207-101500-2.json"));

        let mut r = csv::Reader::from_path(&out.csv).unwrap();
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        let col = |row: &csv::StringRecord, name: &str| row.get(CSV_HEADER.iter().position(|h| *h == name).unwrap()).unwrap().to_string();
        assert_eq!(col(&rows[0], "points"), "80.5 100.5;120.5 80.5");
        assert_eq!(col(&rows[0], "length").parse::<f64>().unwrap(), 29.581748258816617, "full precision");
        assert_eq!((col(&rows[0], "mean"), col(&rows[0], "area_unit")), (String::new(), String::new()));
        assert_eq!(col(&rows[1], "path"), "/data/ct/a, \"b\".dcm", "quoted where needed");
        assert_eq!((col(&rows[1], "frame"), col(&rows[1], "count"), col(&rows[1], "min")), ("2".into(), "480".into(), "-98".into()));
        assert_eq!((col(&rows[1], "value_unit"), col(&rows[1], "area_unit")), ("HU".into(), "mm²".into()));
        assert_eq!(col(&rows[1], "study_uid"), "1.2.3");

        let doc: Document = serde_json::from_slice(&std::fs::read(&out.json).unwrap()).unwrap();
        assert_eq!((doc.format.as_str(), doc.study_uid.as_str()), (FORMAT, "1.2.3"));
        assert_same(&doc.measurements, &items);
        assert!(export_to(dir.path(), "1.2.3", vec![], "x", Err(String::new())).unwrap_err().contains("no measurements"));

        // Text from the data that a spreadsheet would run as a formula is written as text.
        let hostile = SavedMeasurement { value_unit: "=HYPERLINK(\"http://x\")".into(), path: "@evil.dcm".into(), ..roi() };
        let body = csv_body("1.2.3", &[hostile]).unwrap();
        let mut r = csv::Reader::from_reader(body.as_slice());
        let row = r.records().next().unwrap().unwrap();
        assert_eq!((col(&row, "value_unit"), col(&row, "path")), ("'=HYPERLINK(\"http://x\")".into(), "'@evil.dcm".into()));
        assert_eq!(col(&row, "min"), "-98", "numbers are not text");
    }

    #[test]
    fn the_sr_reads_the_measured_files_and_says_why_there_is_none() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/mr-volume/brain_010.dcm");
        let f = medlens_dicom::open(&sample).unwrap();
        let (sop, study) = (f.dataset().string(medlens_dicom::tags::SOP_INSTANCE_UID).unwrap(), f.dataset().string(medlens_dicom::tags::STUDY_INSTANCE_UID).unwrap());
        let opened = |p: &Path| medlens_dicom::open(p).map_err(|e| e.kind.to_string());
        let on_sample = SavedMeasurement { sop_instance_uid: sop.clone(), path: sample.display().to_string(), ..length(&sop, vec![[1.0, 2.0], [3.0, 4.0]]) };
        let bytes = sr_bytes(&study, std::slice::from_ref(&on_sample), &opened, "20261207", "101500").unwrap();
        assert_eq!(&bytes[128..132], b"DICM");
        // A file the user did not open, a plain image, another instance, another study.
        let refused = |_: &Path| -> Result<medlens_dicom::DicomFile, String> { Err("x.dcm: not an opened file".into()) };
        assert!(sr_bytes(&study, std::slice::from_ref(&on_sample), &refused, "d", "t").unwrap_err().contains("not an opened file"));
        let bmp = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dicom/plain/bmp_grey8.bmp");
        let plain = SavedMeasurement { path: bmp.display().to_string(), ..on_sample.clone() };
        assert!(sr_bytes(&study, &[plain], &opened, "d", "t").unwrap_err().contains("a plain image, not DICOM"));
        let moved = SavedMeasurement { sop_instance_uid: "1.2.3".into(), ..on_sample.clone() };
        assert!(sr_bytes(&study, &[moved], &opened, "d", "t").unwrap_err().contains("no longer holds instance 1.2.3"));
        assert!(sr_bytes("1.2.3", &[on_sample], &opened, "d", "t").unwrap_err().contains("belongs to another study"));
    }
}
