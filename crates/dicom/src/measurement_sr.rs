//! The viewer's measurements as a DICOM Comprehensive SR following TID 1500 "Measurement
//! Report" (PS3.16): an image library of the measured instances, and one measurement group
//! per measurement, its numbers (TID 300) inferred from its region (an SCOORD in the
//! image's pixel coordinates, selected from the image and frame it was drawn on).
//!
//! The tree written:
//!
//! ```text
//! CONTAINER (126000, DCM, "Imaging Measurement Report")         [DCMR TID 1500]
//!  ├ HAS CONCEPT MOD  CODE  Language of Content Item and Descendants = English
//!  ├ HAS OBS CONTEXT  CODE  Observer Type = Device; UIDREF Device Observer UID; TEXT name
//!  ├ HAS CONCEPT MOD  CODE  Procedure reported = Imaging procedure
//!  ├ CONTAINS CONTAINER Image Library → Image Library Group → IMAGE …
//!  └ CONTAINS CONTAINER Imaging Measurements
//!       └ CONTAINS CONTAINER Measurement Group                  (one per measurement)
//!            ├ HAS OBS CONTEXT TEXT   Tracking Identifier
//!            ├ HAS OBS CONTEXT UIDREF Tracking Unique Identifier
//!            └ CONTAINS NUM  Length | Angle | Area | Mean | Standard Deviation | Minimum | Maximum
//!                 └ INFERRED FROM SCOORD (111030, DCM, "Image Region")
//!                      └ SELECTED FROM IMAGE (class, instance, frame)
//! ```
//!
//! Graphic data are (column, row) pairs with (0, 0) at the top left corner of the top left
//! pixel (PS3.3 C.18.6.1.2), the viewer's own image coordinates. A length is a POLYLINE of
//! its two ends, an angle a POLYLINE through arm end, vertex, arm end; an ellipse is an
//! ELLIPSE (major axis ends, then minor axis ends); a rectangle or an outline a closed
//! POLYLINE (the first point repeated last: SR has no POLYGON graphic type, PS3.3
//! C.18.6.1.2).

use crate::dataset::{DataSet, Element, Tag, Value, Vr};
use crate::error::{ErrorKind, KindResult};
use crate::object::DicomFile;
use crate::sr::{code, evidence, item, patient_and_study, put, seq, sr_document, sr_series, text, uid};
use crate::tags;
use crate::write::write_file;

/// Comprehensive SR Storage (SCOORD and NUM content items).
pub const COMPREHENSIVE_SR: &str = "1.2.840.10008.5.1.4.1.1.88.33";

/// What was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Length,
    Angle,
    Ellipse,
    Rectangle,
    Freehand,
}

/// An image measured on: its SOP class and instance, its series, and the 0-based frame
/// (written 1-based, only for multi-frame images).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuredImage {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub series_uid: String,
    pub frame: Option<u32>,
}

/// One measurement and the numbers the viewer showed for it.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub image: MeasuredImage,
    pub shape: Shape,
    /// Image coordinates (x = column, y = row; pixel (c, r) covers [c, c+1) × [r, r+1)).
    pub points: Vec<[f64; 2]>,
    /// Lengths in mm (else in pixels, without a calibration).
    pub calibrated: bool,
    pub length: Option<f64>,
    /// Degrees.
    pub angle: Option<f64>,
    pub area: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation.
    pub sd: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Unit of the values: `HU`, a Rescale Type, or empty.
    pub value_unit: String,
    /// PET: mean, SD, min and max in SUVbw (reported beside the values in their own unit).
    pub suv: Option<[f64; 4]>,
}

/// The report: its measurements, when it was made, and new UIDs for its series and
/// instance.
#[derive(Clone, Debug)]
pub struct MeasurementReport<'a> {
    pub measurements: &'a [Measurement],
    pub date: &'a str,
    pub time: &'a str,
    pub series_uid: &'a str,
    pub instance_uid: &'a str,
}

/// A UCUM unit as a code.
fn ucum(unit: &str, meaning: &str) -> DataSet {
    code(unit, "UCUM", meaning)
}

/// The unit of a value: Hounsfield units, none, or a Rescale Type as a UCUM annotation.
fn value_unit(u: &str) -> DataSet {
    match u {
        "HU" => ucum("[hnsf'U]", "Hounsfield unit"),
        "" => ucum("1", "no units"),
        other => {
            // UCUM annotations are printable ASCII other than braces.
            let clean: String = other.chars().filter(|c| c.is_ascii_graphic() && *c != '{' && *c != '}').take(14).collect();
            ucum(&format!("{{{clean}}}"), other)
        }
    }
}

/// A DS value (at most 16 characters): the shortest round-trip form when it fits, else the
/// fixed or exponent form within 16 characters that comes closest to `v`.
fn decimal_string(v: f64) -> String {
    let s = v.to_string();
    if s.len() <= 16 {
        return s;
    }
    let fixed = (0..16).map(|p| format!("{v:.p$}"));
    let exponent = (0..16).map(|p| format!("{v:.p$E}"));
    let error = |s: &String| s.parse::<f64>().map_or(f64::INFINITY, |b| (b - v).abs());
    fixed.chain(exponent).filter(|s| s.len() <= 16).min_by(|a, b| error(a).total_cmp(&error(b))).unwrap_or_else(|| format!("{v:.0E}"))
}

fn relationship(ds: &mut DataSet, r: &str) {
    put(ds, Tag(0x0040, 0xA010), text(b"CS", r));
}

fn value_type(ds: &mut DataSet, t: &str) {
    put(ds, Tag(0x0040, 0xA040), text(b"CS", t));
}

fn concept(ds: &mut DataSet, c: DataSet) {
    seq(ds, Tag(0x0040, 0xA043), vec![c]);
}

fn container(rel: Option<&str>, name: DataSet, children: Vec<DataSet>) -> DataSet {
    let mut c = item();
    if let Some(r) = rel {
        relationship(&mut c, r);
    }
    value_type(&mut c, "CONTAINER");
    concept(&mut c, name);
    put(&mut c, Tag(0x0040, 0xA050), text(b"CS", "SEPARATE"));
    seq(&mut c, Tag(0x0040, 0xA730), children);
    c
}

fn code_item(rel: &str, name: DataSet, value: DataSet) -> DataSet {
    let mut c = item();
    relationship(&mut c, rel);
    value_type(&mut c, "CODE");
    concept(&mut c, name);
    seq(&mut c, Tag(0x0040, 0xA168), vec![value]);
    c
}

fn text_value(rel: &str, name: DataSet, value: &str) -> DataSet {
    let mut c = item();
    relationship(&mut c, rel);
    value_type(&mut c, "TEXT");
    concept(&mut c, name);
    put(&mut c, Tag(0x0040, 0xA160), text(b"UT", value));
    c
}

fn uid_value(rel: &str, name: DataSet, value: &str) -> DataSet {
    let mut c = item();
    relationship(&mut c, rel);
    value_type(&mut c, "UIDREF");
    concept(&mut c, name);
    uid(&mut c, Tag(0x0040, 0xA124), value);
    c
}

/// The (class, instance[, frame]) reference item of an image.
fn image_ref(image: &MeasuredImage) -> DataSet {
    let mut r = item();
    uid(&mut r, Tag(0x0008, 0x1150), &image.sop_class_uid);
    uid(&mut r, Tag(0x0008, 0x1155), &image.sop_instance_uid);
    if let Some(f) = image.frame {
        put(&mut r, Tag(0x0008, 0x1160), text(b"IS", &(f + 1).to_string()));
    }
    r
}

fn image_item(rel: &str, image: &MeasuredImage) -> DataSet {
    let mut c = item();
    relationship(&mut c, rel);
    value_type(&mut c, "IMAGE");
    seq(&mut c, Tag(0x0008, 0x1199), vec![image_ref(image)]);
    c
}

/// The region as an SCOORD: its graphic type and (column, row) points.
fn graphic(m: &Measurement) -> KindResult<(&'static str, Vec<f32>)> {
    let p = &m.points;
    let bad = |what: &str| ErrorKind::Output(format!("a {:?} measurement {what}", m.shape));
    let flat = |pts: &[[f64; 2]]| pts.iter().flat_map(|[x, y]| [*x as f32, *y as f32]).collect::<Vec<f32>>();
    if !p.iter().flatten().all(|v| v.is_finite()) {
        return Err(bad("has a point that is not a finite number"));
    }
    Ok(match m.shape {
        Shape::Length if p.len() == 2 => ("POLYLINE", flat(p)),
        Shape::Angle if p.len() == 3 => ("POLYLINE", flat(p)),
        Shape::Ellipse if p.len() == 2 => {
            // The bounding box's corners → the axes' end points, the longer one first.
            let (cx, cy) = ((p[0][0] + p[1][0]) / 2.0, (p[0][1] + p[1][1]) / 2.0);
            let (rx, ry) = ((p[1][0] - p[0][0]).abs() / 2.0, (p[1][1] - p[0][1]).abs() / 2.0);
            let horizontal = [[cx - rx, cy], [cx + rx, cy]];
            let vertical = [[cx, cy - ry], [cx, cy + ry]];
            let axes = if rx >= ry { [horizontal, vertical] } else { [vertical, horizontal] };
            ("ELLIPSE", flat(&axes.concat()))
        }
        Shape::Rectangle if p.len() == 2 => {
            let (x0, x1) = (p[0][0].min(p[1][0]), p[0][0].max(p[1][0]));
            let (y0, y1) = (p[0][1].min(p[1][1]), p[0][1].max(p[1][1]));
            ("POLYLINE", flat(&[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]))
        }
        Shape::Freehand if p.len() >= 3 => {
            let mut closed = p.clone();
            closed.push(p[0]);
            ("POLYLINE", flat(&closed))
        }
        _ => return Err(bad(&format!("has {} points", p.len()))),
    })
}

fn region(m: &Measurement) -> KindResult<DataSet> {
    let (kind, data) = graphic(m)?;
    let mut s = item();
    relationship(&mut s, "INFERRED FROM");
    value_type(&mut s, "SCOORD");
    concept(&mut s, code("111030", "DCM", "Image Region"));
    put(&mut s, Tag(0x0070, 0x0023), text(b"CS", kind));
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    s.elements.insert(Tag(0x0070, 0x0022), Element { tag: Tag(0x0070, 0x0022), vr: Vr(*b"FL"), value: Value::Bytes(bytes) });
    seq(&mut s, Tag(0x0040, 0xA730), vec![image_item("SELECTED FROM", &m.image)]);
    Ok(s)
}

/// A NUM content item: `name` = `value` `unit`, inferred from the region.
fn num(name: DataSet, value: f64, unit: DataSet, from: &DataSet) -> DataSet {
    let mut c = item();
    relationship(&mut c, "CONTAINS");
    value_type(&mut c, "NUM");
    concept(&mut c, name);
    let mut mv = item();
    put(&mut mv, Tag(0x0040, 0xA30A), text(b"DS", &decimal_string(value)));
    seq(&mut mv, Tag(0x0040, 0x08EA), vec![unit]);
    seq(&mut c, Tag(0x0040, 0xA300), vec![mv]);
    seq(&mut c, Tag(0x0040, 0xA730), vec![from.clone()]);
    c
}

fn group(index: usize, m: &Measurement) -> KindResult<DataSet> {
    let from = region(m)?;
    let (len_unit, area_unit) = if m.calibrated {
        (ucum("mm", "millimeter"), ucum("mm2", "square millimeter"))
    } else {
        (ucum("{pixel}", "pixel"), ucum("{pixel^2}", "square pixel"))
    };
    let name = match m.shape {
        Shape::Length => "length",
        Shape::Angle => "angle",
        Shape::Ellipse => "ellipse ROI",
        Shape::Rectangle => "rectangle ROI",
        Shape::Freehand => "freehand ROI",
    };
    let mut children = vec![
        text_value("HAS OBS CONTEXT", code("112039", "DCM", "Tracking Identifier"), &format!("Medlens {name} {}", index + 1)),
        uid_value("HAS OBS CONTEXT", code("112040", "DCM", "Tracking Unique Identifier"), &crate::write::new_uid()),
    ];
    let values = [
        (m.length, code("410668003", "SCT", "Length"), len_unit.clone()),
        (m.angle, code("1483009", "SCT", "Angle"), ucum("deg", "degree")),
        (m.area, code("42798000", "SCT", "Area"), area_unit),
        (m.mean, code("373098007", "SCT", "Mean"), value_unit(&m.value_unit)),
        (m.sd, code("386136009", "SCT", "Standard Deviation"), value_unit(&m.value_unit)),
        (m.min, code("255605001", "SCT", "Minimum"), value_unit(&m.value_unit)),
        (m.max, code("56851009", "SCT", "Maximum"), value_unit(&m.value_unit)),
    ];
    for (v, name, unit) in values {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            children.push(num(name, v, unit, &from));
        }
    }
    if let Some(suv) = m.suv {
        // CID 85's unit for SUV normalised by body weight.
        let unit = ucum("{SUVbw}g/ml", "Standardized Uptake Value body weight");
        let names = [code("373098007", "SCT", "Mean"), code("386136009", "SCT", "Standard Deviation"), code("255605001", "SCT", "Minimum"), code("56851009", "SCT", "Maximum")];
        for (v, name) in suv.into_iter().zip(names) {
            if v.is_finite() {
                children.push(num(name, v, unit.clone(), &from));
            }
        }
    }
    Ok(container(Some("CONTAINS"), code("125007", "DCM", "Measurement Group"), children))
}

/// Builds the report's data set. `source` is one of the measured files: the report takes
/// its patient and study.
pub fn measurement_report(source: &DicomFile, report: &MeasurementReport<'_>) -> KindResult<DataSet> {
    if report.measurements.is_empty() {
        return Err(ErrorKind::Output("a measurement report needs at least one measurement".into()));
    }
    let study_uid = source
        .dataset()
        .string(tags::STUDY_INSTANCE_UID)
        .ok_or_else(|| ErrorKind::Attribute { keyword: "StudyInstanceUID", tag: "(0020,000D)", reason: "missing from the source".into() })?;
    let mut ds = item();
    put(&mut ds, tags::SPECIFIC_CHARACTER_SET, text(b"CS", "ISO_IR 192"));
    uid(&mut ds, tags::SOP_CLASS_UID, COMPREHENSIVE_SR);
    uid(&mut ds, tags::SOP_INSTANCE_UID, report.instance_uid);
    patient_and_study(&mut ds, source, &study_uid);
    sr_series(&mut ds, report.series_uid, "Medlens measurements");
    sr_document(&mut ds, report.date, report.time);

    // The images measured on, once each, by series (evidence) and in the library.
    let mut images: Vec<&MeasuredImage> = Vec::new();
    for m in report.measurements {
        if !images.iter().any(|i| i.sop_instance_uid == m.image.sop_instance_uid && i.frame == m.image.frame) {
            images.push(&m.image);
        }
    }
    let mut series: Vec<(String, Vec<DataSet>)> = Vec::new();
    for i in &images {
        let mut r = item();
        uid(&mut r, Tag(0x0008, 0x1150), &i.sop_class_uid);
        uid(&mut r, Tag(0x0008, 0x1155), &i.sop_instance_uid);
        match series.iter_mut().find(|(s, _)| *s == i.series_uid) {
            Some((_, refs)) if refs.iter().any(|x| x.string(Tag(0x0008, 0x1155)).as_deref() == Some(i.sop_instance_uid.as_str())) => {}
            Some((_, refs)) => refs.push(r),
            None => series.push((i.series_uid.clone(), vec![r])),
        }
    }
    evidence(&mut ds, &study_uid, &series);

    // Content: TID 1500.
    value_type(&mut ds, "CONTAINER");
    concept(&mut ds, code("126000", "DCM", "Imaging Measurement Report"));
    put(&mut ds, Tag(0x0040, 0xA050), text(b"CS", "SEPARATE"));
    let mut template = item();
    put(&mut template, Tag(0x0008, 0x0105), text(b"CS", "DCMR"));
    put(&mut template, Tag(0x0040, 0xDB00), text(b"CS", "1500"));
    seq(&mut ds, Tag(0x0040, 0xA504), vec![template]);
    let library = container(Some("CONTAINS"), code("111028", "DCM", "Image Library"), vec![container(
        Some("CONTAINS"),
        code("126200", "DCM", "Image Library Group"),
        images.iter().map(|i| image_item("CONTAINS", i)).collect(),
    )]);
    let groups = report.measurements.iter().enumerate().map(|(k, m)| group(k, m)).collect::<KindResult<Vec<_>>>()?;
    let measurements = container(Some("CONTAINS"), code("126010", "DCM", "Imaging Measurements"), groups);
    let children = vec![
        code_item("HAS CONCEPT MOD", code("121049", "DCM", "Language of Content Item and Descendants"), code("eng", "RFC5646", "English")),
        code_item("HAS OBS CONTEXT", code("121005", "DCM", "Observer Type"), code("121007", "DCM", "Device")),
        uid_value("HAS OBS CONTEXT", code("121012", "DCM", "Device Observer UID"), crate::write::IMPLEMENTATION_CLASS_UID),
        text_value("HAS OBS CONTEXT", code("121013", "DCM", "Device Observer Name"), "Medlens"),
        code_item("HAS CONCEPT MOD", code("121058", "DCM", "Procedure reported"), code("363679005", "SCT", "Imaging procedure")),
        library,
        measurements,
    ];
    seq(&mut ds, Tag(0x0040, 0xA730), children);
    Ok(ds)
}

/// The report as a PS3.10 file (explicit VR little endian).
pub fn measurement_report_file(source: &DicomFile, report: &MeasurementReport<'_>) -> KindResult<Vec<u8>> {
    let ds = measurement_report(source, report)?;
    write_file(&ds, COMPREHENSIVE_SR, report.instance_uid, crate::syntax::EXPLICIT_VR_LITTLE_ENDIAN, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_sixteen_characters_and_keep_what_fits() {
        for (v, want) in [(12.5, "12.5"), (-98.0, "-98"), (0.1 + 0.2, "0.3"), (29.581748258816617, "29.5817482588166")] {
            assert_eq!(decimal_string(v), want);
        }
        for v in [274.9144365383401, -448.32443531827516, 1e-300, 1.234567890123e300] {
            let s = decimal_string(v);
            assert!(s.len() <= 16, "{s}");
            let back: f64 = s.parse().unwrap();
            assert!(((back - v) / v).abs() < 1e-9, "{v} → {s}");
        }
    }
}
