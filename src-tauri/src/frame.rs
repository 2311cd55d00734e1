//! One frame for the UI: a binary message of a JSON header (display parameters) and the
//! stored pixel values, little-endian, 8-byte aligned. Windowing happens in the UI.
//!
//! Layout: b"MLF1", u32 LE header length, header JSON, zero padding to a multiple of 8,
//! then rows*columns*samples values of the header's `kind`.
//!
//! The display parameters come from `medlens_dicom::display::DisplayInfo`, so the UI's
//! windowing matches `medlens render`.

use medlens_dicom::display::{self, Calibration, DisplayInfo, PixelGeometry, VoiFunction};
use medlens_dicom::export::ExportGeometry;
use medlens_dicom::error::WithPath;
use medlens_dicom::presets::presets_for;
use medlens_dicom::suv::Suv;
use medlens_dicom::{tags, DicomFile, Pixels};
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq, ts_rs::TS)]
pub struct NamedWindow {
    pub name: String,
    pub center: f64,
    pub width: f64,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct ModalityLut {
    pub first_mapped: i64,
    pub data: Vec<f64>,
}

/// One channel of a PALETTE COLOR lookup table.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct PaletteChannel {
    pub first_mapped: i64,
    pub bits: u16,
    pub data: Vec<u16>,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct FrameHeader {
    pub rows: u32,
    pub columns: u32,
    pub samples: u16,
    /// The stored values' type (`message` lays them out after the header).
    /// `f32` only for reformats (`mpr.rs`), whose values are modality values already.
    #[ts(type = r#""u8" | "u16" | "i16" | "u32" | "i32" | "f32""#)]
    pub kind: &'static str,
    pub bits_stored: u16,
    pub slope: f64,
    pub intercept: f64,
    pub modality_lut: Option<ModalityLut>,
    pub windows: Vec<NamedWindow>,
    /// VOI LUT Function (0028,1056), as `header_for` spells it.
    #[ts(type = r#""LINEAR" | "LINEAR_EXACT" | "SIGMOID""#)]
    pub voi_function: &'static str,
    pub monochrome1: bool,
    /// The unit of the modality values: Rescale Type (0028,1054), else a PET's Units
    /// (0054,1001); empty when neither says.
    pub rescale_type: String,
    pub pixel_spacing: Option<[f64; 2]>,
    /// Physical pixel size and where it comes from, aspect, orientation (this frame's:
    /// enhanced multi-frame files may differ per frame).
    pub geometry: PixelGeometry,
    pub presets: Vec<NamedWindow>,
    /// Red, green, blue tables for PALETTE COLOR frames (stored values are indices).
    pub palette: Option<[PaletteChannel; 3]>,
    /// VOI LUTs of the file (applied to modality values; output / (2^bits - 1)).
    pub voi_luts: Vec<VoiLut>,
    /// PET: how modality values become SUVbw (`medlens_dicom::suv`); the PT presets are
    /// SUV windows, so with it they are given here in the image's own units.
    pub suv: Option<Suv>,
    /// PET without an SUV: why (no weight, not decay corrected, …).
    pub suv_missing: Option<String>,
}

#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct VoiLut {
    pub name: String,
    pub first_mapped: i64,
    pub bits: u16,
    pub data: Vec<u16>,
}

/// Display parameters of a file, from the crate's display pipeline (`DisplayInfo::read`:
/// a Modality LUT, VOI LUT or palette that is present but unusable is an error naming the
/// file and the table, as `medlens render` reports it).
pub fn header_for(
    file: &DicomFile,
    frame: usize,
    rows: u32,
    columns: u32,
    samples: u16,
    kind: &'static str,
    photometric: &str,
) -> medlens_dicom::Result<FrameHeader> {
    let ds = file.dataset();
    let info = DisplayInfo::read(ds).at(&file.path)?;
    let (slope, intercept, modality_lut) = match &info.modality_lut {
        display::ModalityLut::Rescale { slope, intercept } => (*slope, *intercept, None),
        display::ModalityLut::Lut(l) => {
            (1.0, 0.0, Some(ModalityLut { first_mapped: l.first_mapped, data: l.data.iter().map(|&v| f64::from(v)).collect() }))
        }
    };
    let windows = info
        .windows
        .iter()
        // Widths below 1 are legal for LINEAR_EXACT (LINEAR treats them as 1).
        .filter(|w| w.center.is_finite() && w.width.is_finite() && w.width > 0.0)
        .map(|w| NamedWindow { name: w.explanation.clone().unwrap_or_default(), center: w.center, width: w.width })
        .collect();
    let voi_function = match info.voi_function {
        VoiFunction::Linear => "LINEAR",
        VoiFunction::LinearExact => "LINEAR_EXACT",
        VoiFunction::Sigmoid => "SIGMOID",
    };
    let (suv, suv_missing) = match (info.modality.as_str(), Suv::read(ds)) {
        ("PT", Ok(s)) => (Some(s), None),
        ("PT", Err(why)) => (None, Some(why)),
        _ => (None, None),
    };
    // SUV windows in the image's units: SUV / factor.
    let scale = suv.as_ref().map_or(1.0, |s| 1.0 / s.factor);
    Ok(FrameHeader {
        rows,
        columns,
        samples,
        kind,
        bits_stored: ds.int(tags::BITS_STORED).unwrap_or(16).clamp(1, 32) as u16,
        slope,
        intercept,
        modality_lut,
        windows,
        voi_function,
        monochrome1: photometric == "MONOCHROME1",
        // PET images rarely carry a Rescale Type; their Units (0054,1001) name the values'
        // unit (BQML, CNTS, GML).
        rescale_type: info
            .rescale_type
            .clone()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| (info.modality == "PT").then(|| ds.string(medlens_dicom::Tag(0x0054, 0x1001))).flatten().map(|u| u.trim().to_string()))
            .unwrap_or_default(),
        pixel_spacing: info.pixel_spacing,
        geometry: PixelGeometry::read(ds, frame),
        presets: presets_for(&info.modality)
            .iter()
            .map(|p| NamedWindow { name: p.name.to_string(), center: p.center * scale, width: p.width * scale })
            .collect(),
        palette: match (&info.palette, photometric == "PALETTE COLOR" && samples == 1) {
            (Some(p), true) => Some([&p.red, &p.green, &p.blue].map(|l| PaletteChannel {
                first_mapped: l.first_mapped,
                bits: l.bits,
                data: l.data.clone(),
            })),
            _ => None,
        },
        voi_luts: info
            .voi_luts
            .iter()
            .map(|l| VoiLut {
                name: l.explanation.clone().unwrap_or_default(),
                first_mapped: l.first_mapped,
                bits: l.bits,
                data: l.data.clone(),
            })
            .collect(),
        suv,
        suv_missing,
    })
}

/// Decode frame `n` of `file` into the binary message.
pub fn message(file: &DicomFile, n: usize) -> Result<Vec<u8>, String> {
    let frame = file.frame(n).map_err(|e| e.kind.to_string())?;
    let (kind, bytes): (&'static str, Vec<u8>) = match &frame.pixels {
        Pixels::U8(v) => ("u8", v.clone()),
        Pixels::I8(v) => ("i16", v.iter().flat_map(|x| (*x as i16).to_le_bytes()).collect()),
        Pixels::U16(v) => ("u16", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::I16(v) => ("i16", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::U32(v) => ("u32", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::I32(v) => ("i32", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    // The UI prefixes errors with the file's path (as for the decoding error above).
    let header = header_for(file, n, frame.rows, frame.columns, frame.samples, kind, &frame.photometric).map_err(|e| e.kind.to_string())?;
    pack(&header, &bytes)
}

/// The binary message of a header and its values' bytes.
pub fn pack(header: &FrameHeader, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let json = serde_json::to_vec(header).map_err(|e| e.to_string())?;
    let offset = (8 + json.len()).div_ceil(8) * 8;
    let mut out = Vec::with_capacity(offset + bytes.len());
    out.extend_from_slice(b"MLF1");
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.resize(offset, 0);
    out.extend_from_slice(bytes);
    Ok(out)
}

/// `export_png`'s reply: where the PNG went and the scale it states.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct ExportedPng {
    pub path: String,
    /// The PNG's size: the frame's, or resampled to square pixels.
    pub width: u32,
    pub height: u32,
    /// mm per PNG pixel (written into the file as the `mm per pixel` text and pHYs).
    pub mm_per_pixel: Option<f64>,
    /// Where the size comes from, as the viewer names it ("Pixel Spacing", …).
    pub calibration: String,
}

/// The export's geometry from the request headers the UI sets from the frame header:
/// `x-spacing` (mm) and `x-aspect` (used without a spacing) as DICOM writes pairs
/// (`vertical\horizontal`), and `x-calibration` (the `Calibration` name). Absent headers
/// mean square and uncalibrated;
/// present but malformed ones are an error that names the header.
pub fn export_geometry(aspect: Option<&str>, spacing: Option<&str>, calibration: Option<&str>) -> Result<ExportGeometry, String> {
    let pair = |name: &str, v: &str| -> Result<[f64; 2], String> {
        let parsed: Option<Vec<f64>> = v.split('\\').map(|x| x.trim().parse().ok()).collect();
        match parsed.as_deref() {
            Some(&[a, b]) if a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0 => Ok([a, b]),
            _ => Err(format!("export: {name} '{v}' is not two positive numbers")),
        }
    };
    let spacing = spacing.map(|v| pair("x-spacing", v)).transpose()?;
    // With a spacing the aspect is the spacing's, so the stated mm per pixel holds both ways.
    let aspect = match (spacing, aspect) {
        (Some(s), _) => s,
        (None, Some(v)) => pair("x-aspect", v)?,
        (None, None) => [1.0, 1.0],
    };
    let calibration = match calibration {
        Some(c) => c.parse::<Calibration>().map_err(|e| format!("export: x-calibration: {e}"))?,
        None if spacing.is_some() => Calibration::PixelSpacing,
        None => Calibration::Uncalibrated,
    };
    Ok(ExportGeometry { aspect, spacing, calibration })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_geometry_headers() {
        let g = export_geometry(None, Some("0.5\\0.25"), Some("detector")).unwrap();
        assert_eq!((g.aspect, g.spacing, g.calibration), ([0.5, 0.25], Some([0.5, 0.25]), Calibration::Detector));
        let g = export_geometry(Some("4\\3"), None, Some("aspect")).unwrap();
        assert_eq!((g.aspect, g.spacing, g.calibration), ([4.0, 3.0], None, Calibration::Aspect));
        let g = export_geometry(None, None, None).unwrap();
        assert_eq!((g.aspect, g.spacing, g.calibration), ([1.0, 1.0], None, Calibration::Uncalibrated));
        for (a, s, c) in [(Some("0\\1"), None, None), (None, Some("1"), None), (None, Some("1\\x\\2"), None), (None, None, Some("fiducial"))] {
            assert!(export_geometry(a, s, c).is_err(), "{a:?} {s:?} {c:?}");
        }
    }
}
