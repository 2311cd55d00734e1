//! The greyscale display pipeline of PS3.3 C.11: stored value → modality LUT
//! (rescale or LUT sequence) → VOI (window with LINEAR / LINEAR_EXACT / SIGMOID, or a
//! VOI LUT) → 8-bit, inverted after VOI for MONOCHROME1. Colour images skip VOI;
//! PALETTE COLOR indices go through the palette.

use serde::Serialize;

use crate::dataset::{DataSet, Tag};
use crate::error::{ErrorKind, KindResult};
use crate::pixels::{Frame, Pixels};
use crate::tags;

/// A window: centre and width in modality-LUT output units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Window {
    pub center: f64,
    pub width: f64,
}

impl std::str::FromStr for Window {
    type Err = String;
    /// Parses `CENTER,WIDTH`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (c, w) = s.split_once(',').ok_or_else(|| format!("'{s}' is not CENTER,WIDTH"))?;
        let center: f64 = c.trim().parse().map_err(|_| format!("'{c}' is not a number"))?;
        let width: f64 = w.trim().parse().map_err(|_| format!("'{w}' is not a number"))?;
        if !center.is_finite() || !width.is_finite() || width < 1.0 {
            return Err(format!("window {center},{width}: the width must be at least 1"));
        }
        Ok(Window { center, width })
    }
}

/// A window stored in the file, with its explanation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileWindow {
    pub center: f64,
    pub width: f64,
    pub explanation: Option<String>,
}

/// VOI LUT Function (0028,1056).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum VoiFunction {
    #[default]
    Linear,
    LinearExact,
    Sigmoid,
}

/// A lookup table: LUT Descriptor (entries, first stored value mapped, bits) and data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lut {
    pub first_mapped: i64,
    pub bits: u16,
    pub data: Vec<u16>,
    pub explanation: Option<String>,
}

impl Lut {
    /// A LUT from a Modality or VOI LUT Sequence item, validated: a three-value descriptor,
    /// 1 to 16 bits, and at least as many entries of LUT Data as the descriptor declares.
    fn from_item(item: &DataSet, signed_first: bool) -> KindResult<Lut> {
        let desc = item.numbers(tags::LUT_DESCRIPTOR);
        let bad = |reason: String| ErrorKind::Attribute { keyword: "LUTDescriptor", tag: "(0028,3002)", reason };
        let [Some(n), Some(first), Some(bits)] = desc[..] else {
            return Err(bad(format!("{} values where 3 are required", desc.len())));
        };
        let data = item.u16_words(tags::LUT_DATA).ok_or_else(|| ErrorKind::Attribute {
            keyword: "LUTData",
            tag: "(0028,3006)",
            reason: "missing".into(),
        })?;
        let mut lut = Lut::checked([n, first, bits], data, signed_first, "LUTData", "(0028,3006)")?;
        lut.explanation = item.string(tags::LUT_EXPLANATION);
        Ok(lut)
    }

    /// Builds a LUT from its descriptor (entries, first mapped value, bits) and its data
    /// words; an empty or short table, or a bit depth outside 1..=16, is an error naming the
    /// data element. 8-bit entries packed two to a word are unpacked; entries beyond the
    /// declared count are ignored (as pydicom does).
    fn checked(desc: [f64; 3], mut data: Vec<u16>, signed_first: bool, keyword: &'static str, tag: &'static str) -> KindResult<Lut> {
        let bad = |reason: String| ErrorKind::Attribute { keyword, tag, reason };
        let [mut n, first, bits] = desc;
        if (-32768.0..0.0).contains(&n) {
            n += 65536.0; // the entry count read from an SS descriptor
        }
        if !(0.0..=65535.0).contains(&n) || !(1.0..=16.0).contains(&bits) || !(-65536.0..=65535.0).contains(&first) {
            return Err(bad(format!("unusable LUT descriptor {n}\\{first}\\{bits}")));
        }
        let entries = if n == 0.0 { 65536 } else { n as usize };
        let bits = bits as u16;
        let mut first = first as i64;
        if signed_first && first > 32767 {
            first -= 65536;
        }
        if bits <= 8 && data.len() * 2 == entries {
            // 8-bit entries packed two per word.
            data = data.iter().flat_map(|w| [w & 0xFF, w >> 8]).collect();
        }
        if data.len() < entries {
            return Err(bad(format!("{} entries where the descriptor declares {entries}", data.len())));
        }
        data.truncate(entries);
        Ok(Lut { first_mapped: first, bits, data, explanation: None })
    }

    fn lookup(&self, x: f64) -> f64 {
        let Some(last) = self.data.len().checked_sub(1) else { return 0.0 };
        let i = (x.floor() as i64).saturating_sub(self.first_mapped).clamp(0, last as i64);
        self.data[i as usize] as f64
    }

    /// The largest value an entry of `bits` bits can hold (at least 1).
    fn max_value(&self) -> f64 {
        ((1u64 << self.bits.clamp(1, 32)) - 1) as f64
    }
}

/// Modality LUT (C.11.1).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ModalityLut {
    Rescale { slope: f64, intercept: f64 },
    Lut(Lut),
}

impl ModalityLut {
    pub fn apply(&self, x: f64) -> f64 {
        match self {
            ModalityLut::Rescale { slope, intercept } => x * slope + intercept,
            ModalityLut::Lut(l) => l.lookup(x),
        }
    }
}

/// RGB palette for PALETTE COLOR.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Palette {
    pub red: Lut,
    pub green: Lut,
    pub blue: Lut,
}

/// Everything needed to display a frame, read once per file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DisplayInfo {
    pub modality: String,
    pub photometric: String,
    pub modality_lut: ModalityLut,
    pub rescale_type: Option<String>,
    pub windows: Vec<FileWindow>,
    pub voi_luts: Vec<Lut>,
    pub voi_function: VoiFunction,
    pub palette: Option<Palette>,
    pub pixel_spacing: Option<[f64; 2]>,
}

impl DisplayInfo {
    /// Everything needed to display a frame of `ds`. Tables that are present but unusable
    /// (empty, shorter than their descriptor, bad descriptor) are left out here: the modality
    /// LUT falls back to rescale, the VOI LUT to the windows; [`DisplayInfo::read`] reports
    /// them instead, and decoding a PALETTE COLOR frame refuses an unusable palette.
    pub fn from_dataset(ds: &DataSet) -> DisplayInfo {
        match Self::build(ds, false) {
            Ok(info) => info,
            // The lenient build drops what it cannot use and has no error to return.
            Err(_) => DisplayInfo {
                modality: String::new(),
                photometric: "MONOCHROME2".into(),
                modality_lut: ModalityLut::Rescale { slope: 1.0, intercept: 0.0 },
                rescale_type: None,
                windows: Vec::new(),
                voi_luts: Vec::new(),
                voi_function: VoiFunction::Linear,
                palette: None,
                pixel_spacing: None,
            },
        }
    }

    /// Like [`from_dataset`](Self::from_dataset), but a Modality LUT, VOI LUT or palette
    /// that is present and unusable is an error that says which and why.
    pub fn read(ds: &DataSet) -> KindResult<DisplayInfo> {
        Self::build(ds, true)
    }

    fn build(ds: &DataSet, strict: bool) -> KindResult<DisplayInfo> {
        let keep = |r: KindResult<Lut>| -> KindResult<Option<Lut>> {
            match r {
                Ok(l) => Ok(Some(l)),
                Err(e) if strict => Err(e),
                Err(_) => Ok(None),
            }
        };
        let signed = ds.int(tags::PIXEL_REPRESENTATION) == Some(1);
        let modality_lut = match ds.items(tags::MODALITY_LUT_SEQUENCE).first() {
            Some(item) => keep(Lut::from_item(item, signed))?,
            None => None,
        };
        let modality_lut = modality_lut.map(ModalityLut::Lut).unwrap_or_else(|| ModalityLut::Rescale {
            slope: ds.number(tags::RESCALE_SLOPE).filter(|s| *s != 0.0 && s.is_finite()).unwrap_or(1.0),
            intercept: ds.number(tags::RESCALE_INTERCEPT).filter(|s| s.is_finite()).unwrap_or(0.0),
        });
        let centers = ds.numbers(tags::WINDOW_CENTER);
        let widths = ds.numbers(tags::WINDOW_WIDTH);
        let explanations = ds.strings(tags::WINDOW_CENTER_WIDTH_EXPLANATION);
        let windows = centers
            .iter()
            .zip(&widths)
            .enumerate()
            .filter_map(|(i, (c, w))| match (c, w) {
                (Some(c), Some(w)) if *w > 0.0 && c.is_finite() && w.is_finite() => Some(FileWindow {
                    center: *c,
                    width: *w,
                    explanation: explanations.get(i).filter(|s| !s.is_empty()).cloned(),
                }),
                _ => None,
            })
            .collect();
        let mut voi_luts = Vec::new();
        for item in ds.items(tags::VOI_LUT_SEQUENCE) {
            voi_luts.extend(keep(Lut::from_item(item, false))?);
        }
        let voi_function = match ds.string(tags::VOI_LUT_FUNCTION).as_deref() {
            Some("LINEAR_EXACT") => VoiFunction::LinearExact,
            Some("SIGMOID") => VoiFunction::Sigmoid,
            _ => VoiFunction::Linear,
        };
        let photometric = ds.string(tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".into());
        let palette = if photometric == "PALETTE COLOR" {
            match palette(ds) {
                Ok(p) => Some(p),
                Err(e) if strict => return Err(e),
                Err(_) => None,
            }
        } else {
            None
        };
        let spacing = ds.numbers(tags::PIXEL_SPACING);
        let pixel_spacing = match spacing.as_slice() {
            [Some(r), Some(c)] => Some([*r, *c]),
            _ => None,
        };
        Ok(DisplayInfo {
            modality: ds.string(tags::MODALITY).unwrap_or_default(),
            photometric,
            modality_lut,
            rescale_type: ds.string(tags::RESCALE_TYPE),
            windows,
            voi_luts,
            voi_function,
            palette,
            pixel_spacing,
        })
    }

    pub fn monochrome1(&self) -> bool {
        self.photometric == "MONOCHROME1"
    }
}

// Geometry tags read only here (the shared list in tags.rs is the data-flow core's).
const IMAGER_PIXEL_SPACING: Tag = Tag(0x0018, 0x1164);
const ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR: Tag = Tag(0x0018, 0x1114);
const PATIENT_ORIENTATION: Tag = Tag(0x0020, 0x0020);
const PIXEL_ASPECT_RATIO: Tag = Tag(0x0028, 0x0034);
const PIXEL_SPACING_CALIBRATION_TYPE: Tag = Tag(0x0028, 0x0A02);
const PIXEL_MEASURES_SEQUENCE: Tag = Tag(0x0028, 0x9110);
const PLANE_ORIENTATION_SEQUENCE: Tag = Tag(0x0020, 0x9116);
const SHARED_FUNCTIONAL_GROUPS_SEQUENCE: Tag = Tag(0x5200, 0x9229);
const PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE: Tag = Tag(0x5200, 0x9230);

/// Where a frame's physical pixel size comes from (PS3.3 10.7.1.3 and C.8.11.4): what the
/// viewer names beside its scale bar, and what the PNG export writes with the scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Calibration {
    /// Pixel Spacing (0028,0030): in the patient (or specimen) plane.
    PixelSpacing,
    /// Imager Pixel Spacing (0018,1164) as is: at the detector (front plane), so a
    /// projection image's anatomy measures larger than it is by the geometric magnification.
    Detector,
    /// Imager Pixel Spacing divided by the Estimated Radiographic Magnification Factor
    /// (0018,1114): the detector calibration brought to the patient plane.
    Magnification,
    /// No physical size: only Pixel Aspect Ratio (0028,0034), so the shape is right but
    /// nothing can be measured in mm.
    Aspect,
    /// Nothing usable: pixels are shown square and nothing is in mm.
    Uncalibrated,
}

impl Calibration {
    /// The name shown to the user (viewport corner, PNG export).
    pub fn label(self) -> &'static str {
        match self {
            Calibration::PixelSpacing => "Pixel Spacing",
            Calibration::Detector => "Imager Pixel Spacing (detector)",
            Calibration::Magnification => "Imager Pixel Spacing ÷ magnification",
            Calibration::Aspect => "uncalibrated (Pixel Aspect Ratio)",
            Calibration::Uncalibrated => "uncalibrated",
        }
    }
}

impl std::str::FromStr for Calibration {
    type Err = String;
    /// The serialized name (`pixel_spacing`, `detector`, …), as the UI sends it back.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pixel_spacing" => Calibration::PixelSpacing,
            "detector" => Calibration::Detector,
            "magnification" => Calibration::Magnification,
            "aspect" => Calibration::Aspect,
            "uncalibrated" => Calibration::Uncalibrated,
            _ => return Err(format!("'{s}' is not a calibration")),
        })
    }
}

/// A frame's geometry on screen: physical pixel size, aspect and orientation.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PixelGeometry {
    /// mm between the centres of adjacent rows, then of adjacent columns (DICOM order:
    /// vertical first), in the plane `calibration` names; `None` when nothing is in mm.
    pub spacing: Option<[f64; 2]>,
    /// The pixel's height and width relative to each other (vertical, horizontal): the
    /// spacing, else Pixel Aspect Ratio, else 1\1. The viewer and the export draw this.
    pub aspect: [f64; 2],
    pub calibration: Calibration,
    /// The Estimated Radiographic Magnification Factor applied (`Magnification` only).
    pub magnification: Option<f64>,
    /// Image Orientation (Patient) (0020,0037): the row direction (towards higher column
    /// numbers) then the column direction, unit vectors in LPS; only when both are unit
    /// length and orthogonal within 1e-2 (normalised here).
    pub orientation: Option<[f64; 6]>,
    /// Patient Orientation (0020,0020): the row and column directions as letters of
    /// A/P/R/L/H/F (projection images, which have no Image Orientation (Patient)).
    pub patient_orientation: Option<[String; 2]>,
}

impl PixelGeometry {
    /// The geometry of frame `frame` (0-based) of `ds`. Enhanced multi-frame objects carry
    /// Pixel Spacing and Image Orientation (Patient) in the frame's Per-Frame Functional
    /// Groups item, else the Shared one; those come first, then the top level. A value
    /// that is present but unusable (not two positive finite numbers, vectors that are not
    /// an orthonormal pair) is passed over for the next source, never an error: geometry
    /// only changes how an image is drawn.
    pub fn read(ds: &DataSet, frame: usize) -> PixelGeometry {
        let groups = functional_groups(ds, frame);
        let from_groups = |seq: Tag, tag: Tag| groups.iter().find_map(|g| g.items(seq).first().filter(|i| i.contains(tag)).map(|i| i.numbers(tag)));
        let pixel_spacing = from_groups(PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING)
            .and_then(|v| positive_pair(&v))
            .or_else(|| positive_pair(&ds.numbers(tags::PIXEL_SPACING)));
        let imager = positive_pair(&ds.numbers(IMAGER_PIXEL_SPACING));
        let ermf = ds.number(ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR).filter(|m| m.is_finite() && *m > 0.0);
        // PS3.3 10.7.1.3: Pixel Spacing equal to Imager Pixel Spacing without a Pixel Spacing
        // Calibration Type means nobody calibrated it: it is still the detector's size.
        let uncalibrated_copy = match (pixel_spacing, imager) {
            (Some(p), Some(i)) => same_pair(p, i) && !ds.contains(PIXEL_SPACING_CALIBRATION_TYPE),
            _ => false,
        };
        let (spacing, calibration, magnification) = match (pixel_spacing, imager) {
            (Some(p), _) if !uncalibrated_copy => (Some(p), Calibration::PixelSpacing, None),
            (_, Some(i)) => match ermf {
                Some(m) => (Some([i[0] / m, i[1] / m]), Calibration::Magnification, Some(m)),
                None => (Some(i), Calibration::Detector, None),
            },
            _ => (None, Calibration::Uncalibrated, None),
        };
        let ratio = positive_pair(&ds.numbers(PIXEL_ASPECT_RATIO));
        let (aspect, calibration) = match (spacing, ratio) {
            (Some(s), _) => (s, calibration),
            (None, Some(r)) => (r, Calibration::Aspect),
            (None, None) => ([1.0, 1.0], Calibration::Uncalibrated),
        };
        let orientation = from_groups(PLANE_ORIENTATION_SEQUENCE, tags::IMAGE_ORIENTATION_PATIENT)
            .and_then(|v| orthonormal(&v))
            .or_else(|| orthonormal(&ds.numbers(tags::IMAGE_ORIENTATION_PATIENT)));
        let patient_orientation = match ds.strings(PATIENT_ORIENTATION).as_slice() {
            [r, c] if [r, c].iter().all(|v| !v.is_empty() && v.chars().all(|ch| "APRLHF".contains(ch))) => Some([r.clone(), c.clone()]),
            _ => None,
        };
        PixelGeometry { spacing, aspect, calibration, magnification, orientation, patient_orientation }
    }

    /// Whether pixels are square (within 1e-3): then nothing needs resampling.
    pub fn is_square(&self) -> bool {
        (self.aspect[0] / self.aspect[1] - 1.0).abs() < 1e-3
    }
}

/// The frame's Per-Frame Functional Groups item, then the Shared one (either may be absent).
fn functional_groups(ds: &DataSet, frame: usize) -> Vec<&DataSet> {
    ds.items(PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).get(frame).into_iter().chain(ds.items(SHARED_FUNCTIONAL_GROUPS_SEQUENCE).first()).collect()
}

fn positive_pair(v: &[Option<f64>]) -> Option<[f64; 2]> {
    match v {
        [Some(a), Some(b)] if a.is_finite() && b.is_finite() && *a > 0.0 && *b > 0.0 => Some([*a, *b]),
        _ => None,
    }
}

fn same_pair(a: [f64; 2], b: [f64; 2]) -> bool {
    (0..2).all(|k| (a[k] - b[k]).abs() <= 1e-6 * a[k].abs().max(b[k].abs()))
}

/// Six direction cosines that form two orthogonal unit vectors (tolerance 1e-2, the
/// precision of a DS written with few digits), normalised; else `None`.
fn orthonormal(v: &[Option<f64>]) -> Option<[f64; 6]> {
    let [Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)] = *v else { return None };
    let (r, col) = ([a, b, c], [d, e, f]);
    if !r.iter().chain(&col).all(|x| x.is_finite()) {
        return None;
    }
    let norm = |x: [f64; 3]| (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt();
    let (nr, nc) = (norm(r), norm(col));
    let dot = r[0] * col[0] + r[1] * col[1] + r[2] * col[2];
    if (nr - 1.0).abs() > 1e-2 || (nc - 1.0).abs() > 1e-2 || dot.abs() > 1e-2 {
        return None;
    }
    Some([r[0] / nr, r[1] / nr, r[2] / nr, col[0] / nc, col[1] / nc, col[2] / nc])
}

/// The red, green and blue palette of a PALETTE COLOR image (PS3.3 C.7.6.3.1.5), each
/// validated as a LUT. Segmented palettes are not supported: that is an error too.
pub(crate) fn palette(ds: &DataSet) -> KindResult<Palette> {
    let one = |desc, desc_name: &'static str, desc_tag: &'static str, data, data_name: &'static str, data_tag: &'static str| -> KindResult<Lut> {
        let d = ds.numbers(desc);
        let [Some(n), Some(first), Some(bits)] = d[..] else {
            return Err(ErrorKind::Attribute { keyword: desc_name, tag: desc_tag, reason: format!("{} usable values where 3 are required", d.len()) });
        };
        let reason = if ds.contains(tags::SEGMENTED_RED_PALETTE_DATA) { "missing (segmented palettes are not supported)" } else { "missing" };
        let words = ds
            .u16_words(data)
            .ok_or_else(|| ErrorKind::Attribute { keyword: data_name, tag: data_tag, reason: reason.into() })?;
        Lut::checked([n, first, bits], words, false, data_name, data_tag)
    };
    Ok(Palette {
        red: one(tags::RED_PALETTE_DESCRIPTOR, "RedPaletteColorLookupTableDescriptor", "(0028,1101)", tags::RED_PALETTE_DATA, "RedPaletteColorLookupTableData", "(0028,1201)")?,
        green: one(tags::GREEN_PALETTE_DESCRIPTOR, "GreenPaletteColorLookupTableDescriptor", "(0028,1102)", tags::GREEN_PALETTE_DATA, "GreenPaletteColorLookupTableData", "(0028,1202)")?,
        blue: one(tags::BLUE_PALETTE_DESCRIPTOR, "BluePaletteColorLookupTableDescriptor", "(0028,1103)", tags::BLUE_PALETTE_DATA, "BluePaletteColorLookupTableData", "(0028,1203)")?,
    })
}

/// Maps a modality value to [0, 1] through a window (C.11.2.1.2 / C.11.2.1.3).
pub fn voi(x: f64, w: Window, f: VoiFunction) -> f64 {
    let (c, width) = (w.center, w.width);
    match f {
        VoiFunction::Linear => {
            let width = width.max(1.0);
            if x <= c - 0.5 - (width - 1.0) / 2.0 {
                0.0
            } else if x > c - 0.5 + (width - 1.0) / 2.0 || width <= 1.0 {
                1.0
            } else {
                (x - (c - 0.5)) / (width - 1.0) + 0.5
            }
        }
        VoiFunction::LinearExact => {
            if x <= c - width / 2.0 {
                0.0
            } else if x > c + width / 2.0 {
                1.0
            } else {
                (x - c) / width + 0.5
            }
        }
        VoiFunction::Sigmoid => 1.0 / (1.0 + (-4.0 * (x - c) / width).exp()),
    }
}

/// Rounds [0, 1] to 0..=255, half up (as the reference computes it).
fn to_u8(y: f64) -> u8 {
    (y * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
}

/// What VOI to use for a greyscale render.
#[derive(Clone, Debug, PartialEq)]
pub enum Voi {
    Window(Window, VoiFunction),
    Lut(Lut),
}

impl DisplayInfo {
    /// The default VOI: the file's first window, else its first VOI LUT, else the full
    /// range of the frame's modality-LUT output.
    pub fn default_voi(&self, frame: &Frame) -> Voi {
        if let Some(w) = self.windows.first() {
            return Voi::Window(Window { center: w.center, width: w.width }, self.voi_function);
        }
        if let Some(l) = self.voi_luts.first() {
            return Voi::Lut(l.clone());
        }
        Voi::Window(self.full_range_window(frame), VoiFunction::Linear)
    }

    /// The window that maps the frame's modality output range exactly onto 0..255.
    pub fn full_range_window(&self, frame: &Frame) -> Window {
        let (lo, hi) = frame.pixels.min_max();
        let (a, b) = (self.modality_lut.apply(lo as f64), self.modality_lut.apply(hi as f64));
        let (lo, hi) = (a.min(b), a.max(b));
        let width = (hi - lo + 1.0).max(1.0);
        Window { center: lo + width / 2.0, width }
    }
}

/// An 8-bit render: 1 channel for greyscale, 3 for colour.
#[derive(Clone, Debug, PartialEq)]
pub struct Image8 {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

impl Image8 {

    /// Expands to RGB8 (model input).
    pub fn to_rgb(&self) -> Vec<u8> {
        match self.channels {
            1 => self.data.iter().flat_map(|&g| [g, g, g]).collect(),
            _ => self.data.clone(),
        }
    }
}

/// Renders a frame to 8 bits. Greyscale goes through modality LUT and `voi`
/// (default: [`DisplayInfo::default_voi`]); colour is scaled from its bit depth.
pub fn render(frame: &Frame, info: &DisplayInfo, voi_choice: Option<&Voi>) -> Image8 {
    let (w, h) = (frame.columns, frame.rows);
    if frame.samples == 3 {
        let max = max_of(&frame.pixels);
        let shift = bits_needed(max).saturating_sub(8);
        let data = (0..frame.pixels.len()).map(|i| (frame.pixels.get(i).max(0) >> shift).min(255) as u8).collect();
        return Image8 { width: w, height: h, channels: 3, data };
    }
    if frame.photometric == "PALETTE COLOR" {
        if let Some(p) = &info.palette {
            let scale = |l: &Lut, v: i64| {
                let x = l.lookup(v as f64) as u32;
                x.checked_shr(l.bits.saturating_sub(8) as u32).unwrap_or(0).min(255) as u8
            };
            let data = (0..frame.pixels.len())
                .flat_map(|i| {
                    let v = frame.pixels.get(i);
                    [scale(&p.red, v), scale(&p.green, v), scale(&p.blue, v)]
                })
                .collect();
            return Image8 { width: w, height: h, channels: 3, data };
        }
    }
    let default;
    let voi_choice = match voi_choice {
        Some(v) => v,
        None => {
            default = info.default_voi(frame);
            &default
        }
    };
    let invert = info.monochrome1();
    let map = |x: i64| -> u8 {
        let m = info.modality_lut.apply(x as f64);
        let y = match voi_choice {
            Voi::Window(win, f) => voi(m, *win, *f),
            Voi::Lut(l) => l.lookup(m) / l.max_value(),
        };
        let v = to_u8(y);
        if invert { 255 - v } else { v }
    };
    // Integer stored values repeat: map each distinct value once when the range is small.
    let (lo, hi) = frame.pixels.min_max();
    let data: Vec<u8> = if hi - lo < 1 << 20 {
        let table: Vec<u8> = (lo..=hi).map(map).collect();
        (0..frame.pixels.len()).map(|i| table[(frame.pixels.get(i) - lo) as usize]).collect()
    } else {
        (0..frame.pixels.len()).map(|i| map(frame.pixels.get(i))).collect()
    };
    Image8 { width: w, height: h, channels: 1, data }
}

fn max_of(p: &Pixels) -> i64 {
    p.min_max().1
}

fn bits_needed(max: i64) -> u32 {
    64 - (max.max(1) as u64).leading_zeros()
}

/// Bilinear resize with half-pixel centres and no antialiasing (as
/// `tf.image.resize(..., antialias=False)`); the rule the model input uses.
pub fn resize_bilinear(img: &Image8, out_w: u32, out_h: u32) -> Image8 {
    let c = img.channels as usize;
    let (iw, ih) = (img.width as usize, img.height as usize);
    let mut out = vec![0u8; out_w as usize * out_h as usize * c];
    if iw == 0 || ih == 0 || img.data.len() < iw * ih * c {
        // Nothing (or not enough) to sample from: a black image rather than a panic.
        return Image8 { width: out_w, height: out_h, channels: img.channels, data: out };
    }
    let sx = iw as f64 / out_w as f64;
    let sy = ih as f64 / out_h as f64;
    for oy in 0..out_h as usize {
        let fy = ((oy as f64 + 0.5) * sy - 0.5).max(0.0);
        let y0 = (fy.floor() as usize).min(ih - 1);
        let y1 = (y0 + 1).min(ih - 1);
        let wy = fy - y0 as f64;
        for ox in 0..out_w as usize {
            let fx = ((ox as f64 + 0.5) * sx - 0.5).max(0.0);
            let x0 = (fx.floor() as usize).min(iw - 1);
            let x1 = (x0 + 1).min(iw - 1);
            let wx = fx - x0 as f64;
            for k in 0..c {
                let p = |x: usize, y: usize| img.data[(y * iw + x) * c + k] as f64;
                let v = (p(x0, y0) * (1.0 - wx) + p(x1, y0) * wx) * (1.0 - wy) + (p(x0, y1) * (1.0 - wx) + p(x1, y1) * wx) * wy;
                out[(oy * out_w as usize + ox) * c + k] = (v + 0.5).floor().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Image8 { width: out_w, height: out_h, channels: img.channels, data: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_window_follows_ps33_edges() {
        let w = Window { center: 40.0, width: 80.0 };
        // Lower edge: c - 0.5 - (w-1)/2 = 0.0
        assert_eq!(voi(0.0, w, VoiFunction::Linear), 0.0);
        // Upper edge: c - 0.5 + (w-1)/2 = 79.0, and anything above is 1.
        assert_eq!(voi(79.5, w, VoiFunction::Linear), 1.0);
        assert!((voi(39.5, w, VoiFunction::Linear) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn linear_exact_and_sigmoid() {
        let w = Window { center: 0.0, width: 100.0 };
        assert_eq!(voi(-50.0, w, VoiFunction::LinearExact), 0.0);
        assert!((voi(25.0, w, VoiFunction::LinearExact) - 0.75).abs() < 1e-12);
        assert!((voi(0.0, w, VoiFunction::Sigmoid) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn window_parses_and_rejects_nonsense() {
        assert_eq!("40,400".parse::<Window>().unwrap(), Window { center: 40.0, width: 400.0 });
        assert!("40".parse::<Window>().is_err());
        assert!("40,0".parse::<Window>().is_err());
    }

    #[test]
    fn full_range_window_maps_min_and_max_to_the_ends() {
        let frame = Frame { rows: 1, columns: 3, samples: 1, photometric: "MONOCHROME2".into(), pixels: Pixels::I16(vec![-1000, 0, 3000]) };
        let info = DisplayInfo::from_dataset(&DataSet::default());
        let img = render(&frame, &info, None);
        assert_eq!(img.data[0], 0);
        assert_eq!(img.data[2], 255);
    }

    /// A data set of text values (DS/IS/CS), as a file would hold them.
    fn text_ds(values: &[(Tag, &[u8; 2], &str)]) -> DataSet {
        let mut ds = DataSet::default();
        for (tag, vr, text) in values {
            let mut b = text.as_bytes().to_vec();
            if b.len() % 2 == 1 {
                b.push(b' ');
            }
            ds.elements.insert(*tag, crate::dataset::Element { tag: *tag, vr: crate::dataset::Vr(**vr), value: crate::dataset::Value::Bytes(b) });
        }
        ds
    }

    #[test]
    fn pixel_spacing_is_row_spacing_first() {
        // PS3.3 10.7.1.3: "0.5\0.8" = 0.5 mm between rows (vertical), 0.8 mm between columns.
        let g = PixelGeometry::read(&text_ds(&[(tags::PIXEL_SPACING, b"DS", "0.5\\0.8")]), 0);
        assert_eq!(g.spacing, Some([0.5, 0.8]));
        assert_eq!(g.aspect, [0.5, 0.8]);
        assert_eq!(g.calibration, Calibration::PixelSpacing);
        assert!(!g.is_square());
    }

    #[test]
    fn imager_pixel_spacing_is_the_detector_unless_magnification_is_known() {
        let det = PixelGeometry::read(&text_ds(&[(IMAGER_PIXEL_SPACING, b"DS", "0.2\\0.2")]), 0);
        assert_eq!((det.spacing, det.calibration), (Some([0.2, 0.2]), Calibration::Detector));
        // Patient-plane size = detector size / magnification (0.2 / 1.25 = 0.16).
        let mag = PixelGeometry::read(
            &text_ds(&[(IMAGER_PIXEL_SPACING, b"DS", "0.2\\0.2"), (ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR, b"DS", "1.25")]),
            0,
        );
        assert_eq!((mag.calibration, mag.magnification), (Calibration::Magnification, Some(1.25)));
        let s = mag.spacing.unwrap();
        assert!((s[0] - 0.16).abs() < 1e-12 && (s[1] - 0.16).abs() < 1e-12);
        // Pixel Spacing that merely repeats Imager Pixel Spacing is still the detector's …
        let copy = PixelGeometry::read(&text_ds(&[(tags::PIXEL_SPACING, b"DS", "0.2\\0.2"), (IMAGER_PIXEL_SPACING, b"DS", "0.2\\0.2")]), 0);
        assert_eq!(copy.calibration, Calibration::Detector);
        // … unless a calibration type says it was calibrated; a different value was calibrated.
        let geometry = text_ds(&[
            (tags::PIXEL_SPACING, b"DS", "0.2\\0.2"),
            (IMAGER_PIXEL_SPACING, b"DS", "0.2\\0.2"),
            (PIXEL_SPACING_CALIBRATION_TYPE, b"CS", "GEOMETRY"),
        ]);
        assert_eq!(PixelGeometry::read(&geometry, 0).calibration, Calibration::PixelSpacing);
        let differs = PixelGeometry::read(&text_ds(&[(tags::PIXEL_SPACING, b"DS", "0.18\\0.18"), (IMAGER_PIXEL_SPACING, b"DS", "0.2\\0.2")]), 0);
        assert_eq!((differs.spacing, differs.calibration), (Some([0.18, 0.18]), Calibration::PixelSpacing));
    }

    #[test]
    fn aspect_ratio_without_spacing_and_unusable_values() {
        // PS3.3 C.7.6.3.1.7: Pixel Aspect Ratio is vertical\horizontal.
        let g = PixelGeometry::read(&text_ds(&[(PIXEL_ASPECT_RATIO, b"IS", "4\\3")]), 0);
        assert_eq!((g.spacing, g.aspect, g.calibration), (None, [4.0, 3.0], Calibration::Aspect));
        for bad in ["0\\0.5", "0.5", "-1\\1", "x\\1"] {
            let g = PixelGeometry::read(&text_ds(&[(tags::PIXEL_SPACING, b"DS", bad)]), 0);
            assert_eq!((g.spacing, g.aspect, g.calibration), (None, [1.0, 1.0], Calibration::Uncalibrated), "{bad}");
        }
    }

    #[test]
    fn orientation_must_be_two_orthogonal_unit_vectors() {
        let ok = PixelGeometry::read(&text_ds(&[(tags::IMAGE_ORIENTATION_PATIENT, b"DS", "1\\0\\0\\0\\1\\0")]), 0);
        assert_eq!(ok.orientation, Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
        for bad in ["1\\0\\0\\1\\0\\0", "2\\0\\0\\0\\1\\0", "1\\0\\0\\0\\1"] {
            assert_eq!(PixelGeometry::read(&text_ds(&[(tags::IMAGE_ORIENTATION_PATIENT, b"DS", bad)]), 0).orientation, None, "{bad}");
        }
        let po = PixelGeometry::read(&text_ds(&[(PATIENT_ORIENTATION, b"CS", "A\\FR")]), 0);
        assert_eq!(po.patient_orientation, Some(["A".to_string(), "FR".to_string()]));
        assert_eq!(PixelGeometry::read(&text_ds(&[(PATIENT_ORIENTATION, b"CS", "A\\X")]), 0).patient_orientation, None);
    }

    #[test]
    fn functional_groups_come_before_the_top_level() {
        let sq = |tag: Tag, items: Vec<DataSet>| crate::dataset::Element { tag, vr: crate::dataset::Vr(*b"SQ"), value: crate::dataset::Value::Seq(items) };
        // A functional group item holding one macro sequence with one attribute.
        let group = |inner: Tag, tag: Tag, text: &str| {
            let mut g = DataSet::default();
            g.elements.insert(inner, sq(inner, vec![text_ds(&[(tag, b"DS", text)])]));
            g
        };
        let shared = group(PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING, "0.3\\0.6");
        let frame1 = group(PLANE_ORIENTATION_SEQUENCE, tags::IMAGE_ORIENTATION_PATIENT, "0\\1\\0\\0\\0\\-1");
        let mut ds = text_ds(&[(tags::PIXEL_SPACING, b"DS", "1\\1"), (tags::IMAGE_ORIENTATION_PATIENT, b"DS", "1\\0\\0\\0\\1\\0")]);
        ds.elements.insert(SHARED_FUNCTIONAL_GROUPS_SEQUENCE, sq(SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]));
        ds.elements.insert(PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, sq(PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, vec![DataSet::default(), frame1]));
        let g0 = PixelGeometry::read(&ds, 0);
        assert_eq!((g0.spacing, g0.orientation), (Some([0.3, 0.6]), Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])));
        let g1 = PixelGeometry::read(&ds, 1);
        assert_eq!((g1.spacing, g1.orientation), (Some([0.3, 0.6]), Some([0.0, 1.0, 0.0, 0.0, 0.0, -1.0])));
    }

    #[test]
    fn resize_identity_and_average() {
        let img = Image8 { width: 2, height: 1, channels: 1, data: vec![0, 200] };
        assert_eq!(resize_bilinear(&img, 2, 1).data, vec![0, 200]);
        assert_eq!(resize_bilinear(&img, 1, 1).data, vec![100]);
    }
}
