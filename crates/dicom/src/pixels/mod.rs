//! Pixel decoding: from the Pixel Data element to stored values, one frame at a time.
//!
//! The output matches pydicom's default `pixel_array`: stored values (before any
//! modality or VOI LUT), signed values sign-extended from Bits Stored, colour as
//! interleaved RGB (YBR_FULL / YBR_FULL_422 converted, planar configuration 1
//! interleaved), PALETTE COLOR left as indices (see [`crate::display`] for the palette).

pub(crate) mod codecs;
mod native;
mod rle;

use crate::dataset::{DataSet, Value};
use crate::error::{ErrorKind, KindResult};
use crate::syntax::{Codec, TransferSyntax};
use crate::tags;
use serde::Serialize;

/// The image pixel module attributes that decoding needs, validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageInfo {
    pub rows: u32,
    pub columns: u32,
    pub frames: u32,
    pub samples_per_pixel: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub pixel_representation: u16,
    pub planar_configuration: u16,
    pub photometric: String,
}

impl ImageInfo {
    /// Reads and validates the image pixel attributes of a data set.
    pub fn from_dataset(ds: &DataSet) -> KindResult<Self> {
        fn req(ds: &DataSet, tag: crate::dataset::Tag, keyword: &'static str, t: &'static str) -> KindResult<i64> {
            match ds.int_checked(tag) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => Err(ErrorKind::Attribute { keyword, tag: t, reason: "missing".into() }),
                Err(reason) => Err(ErrorKind::Attribute { keyword, tag: t, reason }),
            }
        }
        fn opt(ds: &DataSet, tag: crate::dataset::Tag, keyword: &'static str, t: &'static str) -> KindResult<Option<i64>> {
            ds.int_checked(tag).map_err(|reason| ErrorKind::Attribute { keyword, tag: t, reason })
        }
        let rows = req(ds, tags::ROWS, "Rows", "(0028,0010)")?;
        let columns = req(ds, tags::COLUMNS, "Columns", "(0028,0011)")?;
        let bits_allocated = req(ds, tags::BITS_ALLOCATED, "BitsAllocated", "(0028,0100)")?;
        let bits_stored = opt(ds, tags::BITS_STORED, "BitsStored", "(0028,0101)")?.unwrap_or(bits_allocated);
        let pixel_representation =
            opt(ds, tags::PIXEL_REPRESENTATION, "PixelRepresentation", "(0028,0103)")?.unwrap_or(0);
        let samples = opt(ds, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel", "(0028,0002)")?.unwrap_or(1);
        let planar = opt(ds, tags::PLANAR_CONFIGURATION, "PlanarConfiguration", "(0028,0006)")?.unwrap_or(0);
        let frames = opt(ds, tags::NUMBER_OF_FRAMES, "NumberOfFrames", "(0028,0008)")?.unwrap_or(1).max(1);
        let photometric = ds.string(tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| {
            if samples == 3 { "RGB".into() } else { "MONOCHROME2".into() }
        });
        let bad = |keyword, tag, reason: String| Err(ErrorKind::Attribute { keyword, tag, reason });
        if !(1..=65535).contains(&rows) || !(1..=65535).contains(&columns) {
            return bad("Rows/Columns", "(0028,0010)", format!("{rows} x {columns} is not a valid image size"));
        }
        if ![1, 8, 16, 32].contains(&bits_allocated) {
            return bad("BitsAllocated", "(0028,0100)", format!("{bits_allocated} is not supported (1, 8, 16 or 32)"));
        }
        if bits_stored < 1 || bits_stored > bits_allocated {
            return bad("BitsStored", "(0028,0101)", format!("{bits_stored} with Bits Allocated {bits_allocated}"));
        }
        if samples != 1 && samples != 3 {
            return bad("SamplesPerPixel", "(0028,0002)", format!("{samples} is not supported (1 or 3)"));
        }
        if !(0..=1).contains(&pixel_representation) {
            return bad("PixelRepresentation", "(0028,0103)", format!("{pixel_representation} is not 0 or 1"));
        }
        // Bound what one frame may allocate whatever the codestream claims (real frames,
        // even 16-bit colour at 65535², stay far below; whole-slide images are tiled).
        // Decoding widens samples to i64 on the way: 8 bytes each.
        let frame_bytes = rows as u64 * columns as u64 * samples as u64 * 8;
        if frame_bytes > 1 << 32 {
            return bad("Rows/Columns", "(0028,0010)", format!("a {rows} x {columns} x {samples} frame is too large to decode"));
        }
        if frames > 100_000 {
            return bad("NumberOfFrames", "(0028,0008)", format!("{frames} frames is implausible"));
        }
        let info = ImageInfo {
            rows: rows as u32,
            columns: columns as u32,
            frames: frames as u32,
            samples_per_pixel: samples as u16,
            bits_allocated: bits_allocated as u16,
            bits_stored: bits_stored as u16,
            pixel_representation: pixel_representation as u16,
            planar_configuration: planar as u16,
            photometric,
        };
        info.check_frames_fit(ds)?;
        Ok(info)
    }

    /// Bytes of native pixel data that `frames` frames need (1-bit data packed, 4:2:2
    /// subsampled data two samples a pixel).
    pub fn native_bytes(&self, frames: u64) -> u64 {
        let spp = self.samples_per_pixel as u64;
        let per_frame = if self.photometric == "YBR_FULL_422" && spp == 3 { 2 } else { spp } * self.pixels_per_frame() as u64;
        if self.bits_allocated == 1 {
            (per_frame * frames).div_ceil(8)
        } else {
            per_frame * frames * (self.bits_allocated as u64 / 8)
        }
    }

    /// A multi-frame Number of Frames must be held by the pixel data that is there: native
    /// data at least that many frames long, encapsulated data at least one fragment a frame
    /// (PS3.5 A.4: a fragment holds data of one frame only). A single frame that is short is
    /// left to decoding, which reports the shortfall.
    fn check_frames_fit(&self, ds: &DataSet) -> KindResult<()> {
        if self.frames <= 1 {
            return Ok(());
        }
        let held = match ds.get(tags::PIXEL_DATA).map(|e| &e.value) {
            Some(Value::Bytes(b)) => {
                let need = self.native_bytes(self.frames as u64);
                (need > b.len() as u64).then(|| format!("{need} bytes of pixel data, and Pixel Data holds {}", b.len()))
            }
            Some(Value::NotLoaded { length, .. }) if *length != u64::MAX => {
                let need = self.native_bytes(self.frames as u64);
                (need > *length).then(|| format!("{need} bytes of pixel data, and Pixel Data declares {length}"))
            }
            Some(Value::Fragments { fragments, .. }) => return self.check_fragments(fragments.len() as u64),
            _ => None,
        };
        match held {
            Some(what) => Err(self.too_many_frames(&what)),
            None => Ok(()),
        }
    }

    /// Encapsulated Pixel Data of `fragments` fragments holds at most that many frames.
    pub(crate) fn check_fragments(&self, fragments: u64) -> KindResult<()> {
        if (self.frames as u64) <= fragments.max(1) {
            return Ok(());
        }
        Err(self.too_many_frames(&format!("a fragment each, and the encapsulated Pixel Data has {fragments} fragment(s)")))
    }

    fn too_many_frames(&self, what: &str) -> ErrorKind {
        ErrorKind::Attribute {
            keyword: "NumberOfFrames",
            tag: "(0028,0008)",
            reason: format!("{} frames of {} x {} need {what}", self.frames, self.rows, self.columns),
        }
    }

    pub fn signed(&self) -> bool {
        self.pixel_representation == 1
    }

    pub fn pixels_per_frame(&self) -> usize {
        self.rows as usize * self.columns as usize
    }

}

/// Stored values of one frame, interleaved by pixel for colour.
#[derive(Clone, Debug, PartialEq)]
pub enum Pixels {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
}

impl Pixels {
    pub fn len(&self) -> usize {
        match self {
            Pixels::U8(v) => v.len(),
            Pixels::I8(v) => v.len(),
            Pixels::U16(v) => v.len(),
            Pixels::I16(v) => v.len(),
            Pixels::U32(v) => v.len(),
            Pixels::I32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at an index, widened.
    pub fn get(&self, i: usize) -> i64 {
        match self {
            Pixels::U8(v) => v[i] as i64,
            Pixels::I8(v) => v[i] as i64,
            Pixels::U16(v) => v[i] as i64,
            Pixels::I16(v) => v[i] as i64,
            Pixels::U32(v) => v[i] as i64,
            Pixels::I32(v) => v[i] as i64,
        }
    }

    /// All values widened to i64 (tests and hashing).
    pub fn to_i64(&self) -> Vec<i64> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// (min, max) of the values; (0, 0) when empty.
    pub fn min_max(&self) -> (i64, i64) {
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for i in 0..self.len() {
            let v = self.get(i);
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo > hi { (0, 0) } else { (lo, hi) }
    }

    /// Type name as numpy spells it (`uint16`), for reports.
    pub fn dtype(&self) -> &'static str {
        match self {
            Pixels::U8(_) => "uint8",
            Pixels::I8(_) => "int8",
            Pixels::U16(_) => "uint16",
            Pixels::I16(_) => "int16",
            Pixels::U32(_) => "uint32",
            Pixels::I32(_) => "int32",
        }
    }

    /// Little-endian bytes of the values in their own width (for binary IPC).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Pixels::U8(v) => v.clone(),
            Pixels::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Pixels::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Pixels::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Pixels::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Pixels::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Builds the container for `bits` and signedness from widened values.
    pub(crate) fn from_i64(values: impl Iterator<Item = i64>, bits_allocated: u16, signed: bool) -> Pixels {
        match (bits_allocated, signed) {
            (1 | 8, false) => Pixels::U8(values.map(|v| v as u8).collect()),
            (1 | 8, true) => Pixels::I8(values.map(|v| v as i8).collect()),
            (16, false) => Pixels::U16(values.map(|v| v as u16).collect()),
            (16, true) => Pixels::I16(values.map(|v| v as i16).collect()),
            (_, false) => Pixels::U32(values.map(|v| v as u32).collect()),
            (_, true) => Pixels::I32(values.map(|v| v as i32).collect()),
        }
    }
}

/// One decoded frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub rows: u32,
    pub columns: u32,
    /// 1 (grey or palette indices) or 3 (RGB, interleaved).
    pub samples: u16,
    /// Photometric interpretation of these values (`RGB` after colour conversion).
    pub photometric: String,
    pub pixels: Pixels,
}

/// Decodes frame `index` of a data set read with the given syntax.
pub fn decode_frame(ds: &DataSet, syntax: &TransferSyntax, index: usize) -> KindResult<Frame> {
    let info = ImageInfo::from_dataset(ds)?;
    if index >= info.frames as usize {
        return Err(ErrorKind::FrameOutOfRange { frame: index, frames: info.frames as usize });
    }
    let element = ds
        .get(tags::PIXEL_DATA)
        .ok_or(ErrorKind::NoPixelData)?;
    if info.photometric == "PALETTE COLOR" && info.samples_per_pixel == 1 {
        // Palette indices mean nothing without their palette: refuse an unusable one here,
        // where every caller (render, export, model input) hears of it.
        crate::display::palette(ds)?;
    }
    let (pixels, photometric) = match (&element.value, syntax.codec) {
        (Value::Bytes(bytes), None) => {
            native::decode(bytes, &info, ds.big_endian, element.vr == crate::dataset::Vr::OW, index)?
        }
        (Value::Fragments { offset_table, fragments }, Some(codec)) => {
            let data = frame_fragments(offset_table, fragments, info.frames as usize, index, codec)?;
            codecs::decode(codec, &data, &info)?
        }
        (Value::Bytes(_), Some(_)) => {
            return Err(ErrorKind::Malformed {
                offset: 0,
                reason: format!("transfer syntax {} needs encapsulated pixel data, but it is native", syntax.uid),
            })
        }
        (Value::Fragments { .. }, None) => {
            if TransferSyntax::from_uid(&syntax.uid).is_none() {
                return Err(ErrorKind::Unsupported(format!("transfer syntax {}", syntax.uid)));
            }
            return Err(ErrorKind::Malformed {
                offset: 0,
                reason: format!("encapsulated pixel data in a native transfer syntax ({})", syntax.uid),
            });
        }
        (Value::NotLoaded { .. }, _) => return Err(ErrorKind::Unsupported("pixel data was not loaded".into())),
        (Value::Seq(_), _) => {
            return Err(ErrorKind::Malformed { offset: 0, reason: "Pixel Data is a sequence".into() })
        }
    };
    let expected = info.pixels_per_frame() * if photometric == "RGB" || info.samples_per_pixel == 3 { 3 } else { 1 };
    if pixels.len() != expected {
        return Err(ErrorKind::Codec {
            codec: "pixel data",
            reason: format!("decoded {} values where {} x {} x {} = {expected} are needed", pixels.len(), info.rows, info.columns, info.samples_per_pixel),
        });
    }
    Ok(Frame {
        rows: info.rows,
        columns: info.columns,
        samples: if photometric == "RGB" { 3 } else { info.samples_per_pixel },
        photometric,
        pixels,
    })
}

/// The compressed bytes of one frame (PS3.5 A.4: fragments to frames).
fn frame_fragments(
    offset_table: &[u8],
    fragments: &[Vec<u8>],
    frames: usize,
    index: usize,
    codec: Codec,
) -> KindResult<Vec<u8>> {
    if fragments.is_empty() {
        return Err(ErrorKind::Malformed { offset: 0, reason: "encapsulated pixel data has no fragments".into() });
    }
    if frames == 1 {
        return Ok(fragments.concat());
    }
    if fragments.len() == frames {
        return Ok(fragments[index].clone());
    }
    // Group fragments by the basic offset table when it is usable.
    if offset_table.len() >= 4 * frames && offset_table.len() % 4 == 0 {
        let offsets: Vec<u64> = offset_table.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u64).collect();
        let mut starts = Vec::with_capacity(fragments.len());
        let mut pos = 0u64;
        for f in fragments {
            starts.push(pos);
            pos += 8 + f.len() as u64;
        }
        let begin = offsets[index];
        let end = offsets.get(index + 1).copied().unwrap_or(u64::MAX);
        let parts: Vec<&Vec<u8>> = fragments.iter().zip(&starts).filter(|(_, &s)| s >= begin && s < end).map(|(f, _)| f).collect();
        if !parts.is_empty() && starts.contains(&begin) {
            return Ok(parts.into_iter().flatten().copied().collect());
        }
    }
    // No usable table: a new frame starts at each fragment that opens a codestream.
    let starts_frame = |f: &Vec<u8>| match codec {
        Codec::JpegDct | Codec::JpegLossless | Codec::JpegLs => f.starts_with(&[0xFF, 0xD8]),
        Codec::Jpeg2000 => f.starts_with(&[0xFF, 0x4F]) || f.get(4..8) == Some(b"jP  "),
        Codec::Rle => true,
    };
    let mut groups: Vec<Vec<u8>> = Vec::new();
    for f in fragments {
        if groups.is_empty() || starts_frame(f) {
            groups.push(f.clone());
        } else if let Some(last) = groups.last_mut() {
                last.extend_from_slice(f);
        }
    }
    if groups.len() == frames {
        return Ok(groups.swap_remove(index));
    }
    Err(ErrorKind::Malformed {
        offset: 0,
        reason: format!("cannot map {} fragments to {frames} frames", fragments.len()),
    })
}

/// Sign-extends `v` from `bits` bits.
pub(crate) fn sign_extend(v: i64, bits: u16) -> i64 {
    let shift = 64 - bits as u32;
    (v << shift) >> shift
}

/// YBR_FULL to RGB as pydicom's `convert_color_space` does it (ITU-R BT.601 full range,
/// rounded half up, clipped).
pub(crate) fn ybr_full_to_rgb(ybr: &mut [i64], max: i64) {
    let half = (max + 1) as f32 / 2.0;
    for px in ybr.chunks_exact_mut(3) {
        let y = px[0] as f32;
        let cb = px[1] as f32 - half;
        let cr = px[2] as f32 - half;
        let r = y + 1.402 * cr;
        let g = y + (-0.114 * 1.772 / 0.587) * cb + (-0.299 * 1.402 / 0.587) * cr;
        let b = y + 1.772 * cb;
        for (o, v) in px.iter_mut().zip([r, g, b]) {
            *o = ((v + 0.5).floor() as i64).clamp(0, max);
        }
    }
}
