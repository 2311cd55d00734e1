//! One frame for the UI: a binary message of a JSON header (display parameters) and the
//! stored pixel values, little-endian, 8-byte aligned. Windowing happens in the UI.
//!
//! Layout: b"MLF1", u32 LE header length, header JSON, zero padding to a multiple of 8,
//! then rows*columns*samples values of the header's `kind`.
//!
//! The display parameters are read here from the data set (modality LUT, VOI windows,
//! VOI LUT function, MONOCHROME1) until the crate's `display` module lands.

use medlens_dicom::{tags, DataSet, DicomFile, Pixels};
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NamedWindow {
    pub name: String,
    pub center: f64,
    pub width: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModalityLut {
    pub first_mapped: i64,
    pub data: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FrameHeader {
    pub rows: u32,
    pub columns: u32,
    pub samples: u16,
    pub kind: &'static str,
    pub bits_stored: u16,
    pub slope: f64,
    pub intercept: f64,
    pub modality_lut: Option<ModalityLut>,
    pub windows: Vec<NamedWindow>,
    pub voi_function: &'static str,
    pub monochrome1: bool,
    pub rescale_type: String,
    pub pixel_spacing: Option<[f64; 2]>,
    pub presets: Vec<NamedWindow>,
}

fn w(name: &str, center: f64, width: f64) -> NamedWindow {
    NamedWindow { name: name.into(), center, width }
}

/// Window presets on keys 1–9 for a modality.
pub fn presets_for(modality: &str) -> Vec<NamedWindow> {
    match modality {
        "CT" => vec![
            w("Brain", 40.0, 80.0),
            w("Subdural", 75.0, 215.0),
            w("Stroke", 40.0, 40.0),
            w("Soft tissue", 40.0, 400.0),
            w("Lung", -600.0, 1500.0),
            w("Mediastinum", 50.0, 350.0),
            w("Liver", 60.0, 160.0),
            w("Bone", 400.0, 1800.0),
            w("Temporal bone", 600.0, 2800.0),
        ],
        "PT" | "NM" => vec![w("SUV 0–5", 2.5, 5.0), w("SUV 0–10", 5.0, 10.0), w("SUV 0–20", 10.0, 20.0)],
        _ => vec![],
    }
}

/// Display parameters of a file (frame-independent for the attributes read here).
pub fn header_for(file: &DicomFile, rows: u32, columns: u32, samples: u16, kind: &'static str, photometric: &str) -> FrameHeader {
    let ds = file.dataset();
    let bits_stored = ds.int(tags::BITS_STORED).unwrap_or(16).clamp(1, 32) as u16;
    let num = |t| ds.number(t).filter(|v: &f64| v.is_finite());
    let mut slope = num(tags::RESCALE_SLOPE).unwrap_or(1.0);
    if slope == 0.0 {
        slope = 1.0;
    }
    let intercept = num(tags::RESCALE_INTERCEPT).unwrap_or(0.0);
    let modality_lut = if num(tags::RESCALE_SLOPE).is_none() { lut(ds.items(tags::MODALITY_LUT_SEQUENCE).first()) } else { None };
    let centers = ds.numbers(tags::WINDOW_CENTER);
    let widths = ds.numbers(tags::WINDOW_WIDTH);
    let names = ds.strings(tags::WINDOW_CENTER_WIDTH_EXPLANATION);
    let windows = centers
        .iter()
        .zip(widths.iter())
        .enumerate()
        .filter_map(|(i, (c, wd))| match (c, wd) {
            (Some(c), Some(wd)) if c.is_finite() && wd.is_finite() && *wd >= 1.0 => {
                Some(NamedWindow { name: names.get(i).cloned().unwrap_or_default(), center: *c, width: *wd })
            }
            _ => None,
        })
        .collect();
    let voi_function = match ds.string(tags::VOI_LUT_FUNCTION).as_deref().map(str::trim) {
        Some("SIGMOID") => "SIGMOID",
        Some("LINEAR_EXACT") => "LINEAR_EXACT",
        _ => "LINEAR",
    };
    let spacing = ds.numbers(tags::PIXEL_SPACING);
    let pixel_spacing = match spacing.as_slice() {
        [Some(a), Some(b), ..] => Some([*a, *b]),
        _ => None,
    };
    FrameHeader {
        rows,
        columns,
        samples,
        kind,
        bits_stored,
        slope,
        intercept,
        modality_lut,
        windows,
        voi_function,
        monochrome1: photometric == "MONOCHROME1",
        rescale_type: ds.string(tags::RESCALE_TYPE).unwrap_or_default(),
        pixel_spacing,
        presets: presets_for(&ds.string(tags::MODALITY).unwrap_or_default()),
    }
}

/// A Modality LUT Sequence item: descriptor (entries, first mapped, bits) and data.
fn lut(item: Option<&DataSet>) -> Option<ModalityLut> {
    let item = item?;
    let desc = item.numbers(tags::LUT_DESCRIPTOR);
    let first = desc.get(1).copied().flatten()? as i64;
    let data: Vec<f64> = item.u16_words(tags::LUT_DATA)?.into_iter().map(f64::from).collect();
    (!data.is_empty()).then_some(ModalityLut { first_mapped: first, data })
}

/// Decode frame `n` of `file` into the binary message.
pub fn message(file: &DicomFile, n: usize) -> Result<Vec<u8>, String> {
    let frame = file.frame(n).map_err(|e| e.to_string())?;
    let (kind, bytes): (&'static str, Vec<u8>) = match &frame.pixels {
        Pixels::U8(v) => ("u8", v.clone()),
        Pixels::I8(v) => ("i16", v.iter().flat_map(|x| (*x as i16).to_le_bytes()).collect()),
        Pixels::U16(v) => ("u16", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::I16(v) => ("i16", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::U32(v) => ("u32", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::I32(v) => ("i32", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    let header = header_for(file, frame.rows, frame.columns, frame.samples, kind, &frame.photometric);
    let json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let offset = (8 + json.len()).div_ceil(8) * 8;
    let mut out = Vec::with_capacity(offset + bytes.len());
    out.extend_from_slice(b"MLF1");
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.resize(offset, 0);
    out.extend_from_slice(&bytes);
    Ok(out)
}
