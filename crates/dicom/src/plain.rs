//! Plain images (PNG, JPEG, TIFF, BMP, WebP) dropped beside DICOM files.
//!
//! A file is a plain image by its first bytes ([`sniff`]), never by its name. It is read into
//! the stored values a DICOM frame has, and [`open`] wraps them in an in-memory Secondary
//! Capture data set, so that the viewer (`load_frame`, the tag browser), the display pipeline
//! and the models take it through the very path DICOM takes, frame by frame:
//! - grey stays grey at its depth (16-bit TIFF and PNG keep their full range; signed TIFF
//!   samples stay signed), with a window from the values' min/max (8-bit: 0…255, shown as
//!   stored); colour stays RGB; alpha is dropped; palettes are expanded, and a BMP whose
//!   palette is all grey is grey (as Pillow reads it);
//! - the pages of a multi-page TIFF that match its first page (size, samples, depth) are the
//!   frames of one instance; other pages (thumbnails, masks) are left out with a warning;
//! - no Pixel Spacing: plain images are measured in pixels; Modality OT;
//! - patient and study are synthetic and say so: patient [`PLAIN_PATIENT`], one study per
//!   folder (its name), one series per folder for single images and one per multi-page file;
//!   UIDs derived from the paths, so the index and a later open agree (see [`labels`]).
//!
//! Memory: what an image takes decoded (columns × rows × samples × bytes × pages) follows
//! from its headers and is checked before anything is decoded: at most [`MAX_SIDE`] pixels a
//! side, [`MAX_PAGE_PIXELS`] a page, [`MAX_PAGES`] pages and [`MAX_BYTES`] in all (the peak
//! is at most about twice that: the image and the one page being decoded); and above
//! [`FREE_BYTES`], no more than the file's coding can produce from its size (uncompressed data
//! must be in the file, always; PackBits expands at most 64-fold, Deflate 1032-fold, other
//! codings are allowed 4096-fold). A crafted header therefore gets an error naming the file,
//! never an allocation.

use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::dataset::{DataSet, Element, Tag, Value, Vr};
use crate::error::{Error, ErrorKind, KindResult, Result};
use crate::object::DicomFile;
use crate::pixels::{Frame, Pixels};
use crate::read::Parsed;
use crate::syntax::{TransferSyntax, EXPLICIT_VR_LITTLE_ENDIAN};
use crate::tags;

/// Most pixels a side (DICOM Rows and Columns are 16-bit).
pub const MAX_SIDE: u32 = 65535;
/// Most pixels a page.
pub const MAX_PAGE_PIXELS: u64 = 1 << 28;
/// Most pages of a multi-page file.
pub const MAX_PAGES: usize = 10_000;
/// Most bytes a whole file may take decoded. A multi-page file's peak is about twice this
/// (the image and the page being decoded into it), kept under the 600 MB that a crafted file
/// may cost (issue 16's bound) with room for the process itself.
pub const MAX_BYTES: u64 = 256 << 20;
/// Decoded sizes up to this need no proof from the file size (compressed data only).
pub const FREE_BYTES: u64 = 64 << 20;
/// The patient name and ID of every plain image: they are not DICOM and name no patient.
pub const PLAIN_PATIENT: &str = "(plain images)";
/// Secondary Capture Image Storage: what a plain image is as DICOM.
pub const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

/// A plain image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Tiff,
    Bmp,
    WebP,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
            Format::Bmp => "BMP",
            Format::WebP => "WebP",
        }
    }
}

/// The format the first bytes of a file announce: PNG's signature, JPEG's SOI + a marker,
/// TIFF's byte order + 42 (BigTIFF: 43), RIFF…WEBP, and `BM` followed by a known BMP info
/// header size (two letters alone are too weak a sign).
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"].iter().any(|m| head.starts_with(*m)) {
        Some(Format::Tiff)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Format::WebP)
    } else if head.len() >= 18
        && head.starts_with(b"BM")
        && matches!(u32::from_le_bytes([head[14], head[15], head[16], head[17]]), 12 | 40 | 52 | 56 | 64 | 108 | 124)
    {
        Some(Format::Bmp)
    } else {
        None
    }
}

/// Whether the bytes start like a plain image ([`sniff`]).
pub fn is_plain_image(head: &[u8]) -> bool {
    sniff(head).is_some()
}

/// The first bytes of a file (up to 132: a DICOM preamble and its `DICM`).
fn head_of(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)?.take(132).read_to_end(&mut head)?;
    Ok(head)
}

/// Whether the file at `path` is a plain image: it starts like one (the name does not
/// count) and is not a DICOM file whose preamble holds an image header (dual-personality
/// TIFF/DICOM files, like pydicom's CT_small.dcm, are DICOM). False when it cannot be read
/// or is shorter than 8 bytes.
pub fn is_plain_image_file(path: &Path) -> bool {
    head_of(path).is_ok_and(|h| h.len() >= 8 && is_plain_image(&h) && h.get(128..132) != Some(b"DICM"))
}

/// What a plain image's headers say, read without decoding its pixels; exactly what
/// decoding gives.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainInfo {
    pub format: Format,
    pub columns: u32,
    pub rows: u32,
    /// Samples a pixel as read: 1 (grey) or 3 (RGB; alpha dropped, palettes expanded).
    pub samples: u16,
    /// Bits a sample as read: 8, 16 or 32.
    pub bits: u16,
    pub signed: bool,
    /// Frames: the pages of a TIFF that match its first page; 1 for the other formats.
    pub frames: u32,
    /// The file for people: "TIFF, 16-bit grey, LZW, 3 pages".
    pub description: String,
    /// Pages left out and the like.
    pub warnings: Vec<String>,
}

impl PlainInfo {
    pub fn photometric(&self) -> &'static str {
        if self.samples == 3 {
            "RGB"
        } else {
            "MONOCHROME2"
        }
    }

    fn frame_values(&self) -> u64 {
        self.columns as u64 * self.rows as u64 * self.samples as u64
    }

    /// Bytes of all frames decoded.
    pub fn decoded_bytes(&self) -> u64 {
        self.frame_values() * (self.bits as u64 / 8) * self.frames as u64
    }
}

/// How the pixel data of a file is coded: its name, and how many times its size it can
/// expand to at most (`None`: not compressed, so it must all be in the file).
#[derive(Clone, Copy)]
struct Coding {
    name: &'static str,
    expansion: Option<u64>,
}

const UNCOMPRESSED: Coding = Coding { name: "uncompressed", expansion: None };
const DEFLATE: Coding = Coding { name: "Deflate", expansion: Some(1032) };
const PACKBITS: Coding = Coding { name: "PackBits", expansion: Some(64) };
const fn other(name: &'static str) -> Coding {
    Coding { name, expansion: Some(4096) }
}

fn too_large(format: Format, reason: String) -> ErrorKind {
    ErrorKind::Unsupported(format!("{} image {reason}", format.name()))
}

/// The memory bound of the module docs, from headers only. `coded` is the bytes the coding
/// must produce (alpha and extra samples included), `file_len` the file's size.
fn check_budget(info: &PlainInfo, coded: u64, file_len: u64, coding: Coding) -> KindResult<()> {
    let (c, r, f) = (info.columns, info.rows, info.format);
    if c == 0 || r == 0 {
        return Err(ErrorKind::Codec { codec: f.name(), reason: format!("the header declares an empty {c} x {r} image") });
    }
    if c > MAX_SIDE || r > MAX_SIDE {
        return Err(too_large(f, format!("of {c} x {r} pixels: at most {MAX_SIDE} a side are read")));
    }
    if c as u64 * r as u64 > MAX_PAGE_PIXELS {
        return Err(too_large(f, format!("of {c} x {r} pixels: at most {MAX_PAGE_PIXELS} a page are read")));
    }
    let need = info.decoded_bytes().max(coded);
    if need > MAX_BYTES {
        return Err(too_large(
            f,
            format!(
                "of {c} x {r} pixels x {} sample(s) x {} bit(s) x {} page(s) would take {} MiB decoded: at most {} MiB are read",
                info.samples,
                info.bits,
                info.frames,
                need >> 20,
                MAX_BYTES >> 20
            ),
        ));
    }
    match coding.expansion {
        None if coded > file_len => Err(ErrorKind::Codec {
            codec: f.name(),
            reason: format!(
                "the header declares {c} x {r} pixels, {coded} bytes of uncompressed pixel data, and the file has {file_len} bytes"
            ),
        }),
        Some(k) if need > FREE_BYTES && coded > file_len.saturating_mul(k) => Err(too_large(
            f,
            format!(
                "of {c} x {r} pixels would take {need} bytes decoded from a file of {file_len} bytes: more than {} data can expand ({k}-fold)",
                coding.name
            ),
        )),
        _ => Ok(()),
    }
}

/// Empty stored values of the type `info` declares, with room for all its frames.
fn empty_pixels(info: &PlainInfo) -> KindResult<Pixels> {
    let n = (info.frame_values() * info.frames as u64) as usize;
    Ok(match (info.bits, info.signed) {
        (8, false) => Pixels::U8(Vec::with_capacity(n)),
        (8, true) => Pixels::I8(Vec::with_capacity(n)),
        (16, false) => Pixels::U16(Vec::with_capacity(n)),
        (16, true) => Pixels::I16(Vec::with_capacity(n)),
        (32, false) => Pixels::U32(Vec::with_capacity(n)),
        (32, true) => Pixels::I32(Vec::with_capacity(n)),
        (b, _) => return Err(ErrorKind::Unsupported(format!("{b}-bit samples"))),
    })
}

/// Appends pixels of `n_in` samples each, keeping the first `n_keep` of each.
fn keep_samples<T: Copy>(v: &[T], n_in: usize, n_keep: usize, out: &mut Vec<T>) {
    if n_in == n_keep {
        out.extend_from_slice(v);
    } else {
        for px in v.chunks_exact(n_in) {
            out.extend_from_slice(&px[..n_keep]);
        }
    }
}

/// Reads a plain image from `r` (`file_len` bytes): its headers, checked against the memory
/// bound, then (`pixels`) all its frames' stored values, frame after frame.
fn read<R: BufRead + Seek>(mut r: R, file_len: u64, pixels: bool) -> KindResult<(PlainInfo, Option<Pixels>)> {
    let mut head = Vec::with_capacity(64);
    (&mut r).take(64).read_to_end(&mut head)?;
    r.seek(SeekFrom::Start(0))?;
    let format = sniff(&head);
    // The decoders are other people's crates (png, tiff, image-webp, image's BMP): a panic in
    // one on a damaged file (png 0.17 indexes past a PLTE chunk that is not whole RGB
    // entries) is an error naming the format, never a crash of the app.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_format(format, &head, r, file_len, pixels))).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ErrorKind::Codec {
            codec: format.map_or("image", Format::name),
            reason: format!("the decoder failed on damaged data ({msg})"),
        })
    })
}

fn read_format<R: BufRead + Seek>(
    format: Option<Format>,
    head: &[u8],
    r: R,
    file_len: u64,
    pixels: bool,
) -> KindResult<(PlainInfo, Option<Pixels>)> {
    match format {
        Some(Format::Png) => png_read(r, file_len, pixels),
        Some(Format::Jpeg) => jpeg_read(r, file_len, pixels),
        Some(Format::Tiff) => tiff_read(r, file_len, pixels),
        Some(Format::Bmp) => bmp_read(r, head, file_len, pixels),
        Some(Format::WebP) => webp_read(r, file_len, pixels),
        None => Err(ErrorKind::Unsupported("not a PNG, JPEG, TIFF, BMP, WebP or DICOM file".into())),
    }
}

fn open_reader(path: &Path) -> Result<(BufReader<std::fs::File>, u64)> {
    let f = std::fs::File::open(path).map_err(|e| Error::new(path, ErrorKind::Io(e)))?;
    let len = f.metadata().map_err(|e| Error::new(path, ErrorKind::Io(e)))?.len();
    Ok((BufReader::new(f), len))
}

/// A plain image's headers (for the index): what decoding it will give, checked against
/// the memory bound. Errors name the file.
pub fn probe(path: &Path) -> Result<PlainInfo> {
    let (r, len) = open_reader(path)?;
    read(r, len, false).map(|(i, _)| i).map_err(|k| Error::new(path, k))
}

/// A plain image's headers and the stored values of all its frames (frame after frame,
/// samples interleaved). Errors name the file.
pub fn decode_file(path: &Path) -> Result<(PlainInfo, Pixels)> {
    let (r, len) = open_reader(path)?;
    match read(r, len, true) {
        Ok((info, Some(p))) => Ok((info, p)),
        Ok((_, None)) => unreachable!("read decodes when asked to"),
        Err(k) => Err(Error::new(path, k)),
    }
}

/// A plain image's headers, from bytes in memory: what decoding it will give, checked
/// against the memory bound.
pub fn probe_image(bytes: &[u8]) -> KindResult<PlainInfo> {
    read(Cursor::new(bytes), bytes.len() as u64, false).map(|(i, _)| i)
}

/// The first frame of a plain image in memory.
pub fn decode_image(bytes: &[u8]) -> KindResult<Frame> {
    let (info, p) = read(Cursor::new(bytes), bytes.len() as u64, true)?;
    Ok(first_frame(&info, p.expect("read decodes when asked to")))
}

/// The first frame of a plain image file (all frames: [`open`] or [`decode_file`]).
pub fn open_image(path: &Path) -> Result<Frame> {
    let (info, p) = decode_file(path)?;
    Ok(first_frame(&info, p))
}

fn first_frame(info: &PlainInfo, p: Pixels) -> Frame {
    let n = info.frame_values() as usize;
    let pixels = match p {
        Pixels::U8(mut v) => Pixels::U8({ v.truncate(n); v }),
        Pixels::I8(mut v) => Pixels::I8({ v.truncate(n); v }),
        Pixels::U16(mut v) => Pixels::U16({ v.truncate(n); v }),
        Pixels::I16(mut v) => Pixels::I16({ v.truncate(n); v }),
        Pixels::U32(mut v) => Pixels::U32({ v.truncate(n); v }),
        Pixels::I32(mut v) => Pixels::I32({ v.truncate(n); v }),
    };
    Frame { rows: info.rows, columns: info.columns, samples: info.samples, photometric: info.photometric().into(), pixels }
}

// ---- PNG ----

fn png_read<R: BufRead + Seek>(r: R, file_len: u64, pixels: bool) -> KindResult<(PlainInfo, Option<Pixels>)> {
    let fail = |e: png::DecodingError| ErrorKind::Codec { codec: "PNG", reason: e.to_string() };
    let mut dec = png::Decoder::new_with_limits(r, png::Limits { bytes: MAX_BYTES as usize });
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().map_err(fail)?;
    // PNG's PLTE chunk is whole RGB entries, at most 256; the png crate indexes past one
    // that is not (a panic).
    if reader.info().color_type == png::ColorType::Indexed {
        let n = reader.info().palette.as_ref().map_or(0, |p| p.len());
        if n == 0 || n % 3 != 0 || n > 3 * 256 {
            return Err(ErrorKind::Codec {
                codec: "PNG",
                reason: format!("a palette image whose PLTE chunk is {n} bytes, not 1 to 256 RGB entries of 3 bytes"),
            });
        }
    }
    let (w, h) = (reader.info().width, reader.info().height);
    let (colour, depth) = reader.output_color_type();
    let channels = colour.samples();
    let wide = depth == png::BitDepth::Sixteen;
    let keep = if channels >= 3 { 3 } else { 1 };
    let what = match (reader.info().color_type, keep) {
        (png::ColorType::Indexed, _) => "palette",
        (_, 3) => "RGB",
        _ => "grey",
    };
    let info = PlainInfo {
        format: Format::Png,
        columns: w,
        rows: h,
        samples: keep as u16,
        bits: if wide { 16 } else { 8 },
        signed: false,
        frames: 1,
        description: format!("PNG, {}-bit {what}", reader.info().bit_depth as u8),
        warnings: Vec::new(),
    };
    // Deflate produces the filtered rows: one filter byte a row more than the pixels.
    let coded = (w as u64 * channels as u64 * if wide { 2 } else { 1 } + 1) * h as u64;
    check_budget(&info, coded, file_len, DEFLATE)?;
    if !pixels {
        return Ok((info, None));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let fr = reader.next_frame(&mut buf).map_err(fail)?;
    buf.truncate(fr.buffer_size());
    let mut out = empty_pixels(&info)?;
    match &mut out {
        Pixels::U16(o) => {
            let v: Vec<u16> = buf.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            keep_samples(&v, channels, keep, o);
        }
        Pixels::U8(o) => keep_samples(&buf, channels, keep, o),
        _ => unreachable!("PNG samples are 8 or 16 bits after EXPAND"),
    }
    Ok((info, Some(out)))
}

// ---- JPEG ----

fn jpeg_read<R: BufRead + Seek>(mut r: R, file_len: u64, pixels: bool) -> KindResult<(PlainInfo, Option<Pixels>)> {
    use crate::pixels::codecs;
    let fail = |reason: String| ErrorKind::Codec { codec: "JPEG", reason };
    if file_len > MAX_BYTES {
        return Err(too_large(Format::Jpeg, format!("file of {} MiB: at most {} MiB are read", file_len >> 20, MAX_BYTES >> 20)));
    }
    // The frame header is near the start; read it from a prefix, the whole file to decode.
    let mut data = Vec::new();
    (&mut r).take(if pixels { file_len } else { 1 << 20 }).read_to_end(&mut data)?;
    let sof = match codecs::read_sof(&data) {
        Err(_) if !pixels && (data.len() as u64) < file_len => {
            r.read_to_end(&mut data)?;
            codecs::read_sof(&data)
        }
        s => s,
    }
    .map_err(fail)?;
    let comps = sof.sampling.len();
    let info = PlainInfo {
        format: Format::Jpeg,
        columns: sof.width as u32,
        rows: sof.height as u32,
        samples: if comps == 1 { 1 } else { 3 },
        bits: if sof.precision > 8 { 16 } else { 8 },
        signed: false,
        frames: 1,
        description: format!(
            "JPEG, {}-bit {}{}",
            sof.precision,
            if comps == 1 { "grey" } else { "colour" },
            if sof.lossless() { ", lossless" } else { "" }
        ),
        warnings: Vec::new(),
    };
    if comps != 1 && comps != 3 {
        return Err(fail(format!("{comps} components (CMYK?) are not supported; grey and colour are")));
    }
    check_budget(&info, info.decoded_bytes(), file_len, other("JPEG"))?;
    if !pixels {
        return Ok((info, None));
    }
    let (w, h, v, got) = codecs::jpeg(&data)?;
    if (w, h, got as u16) != (info.columns, info.rows, info.samples) {
        return Err(fail(format!("decoded {w} x {h} x {got} where the frame header says {} x {} x {comps}", info.columns, info.rows)));
    }
    let max = if info.bits == 16 { u16::MAX as i64 } else { 255 };
    let out = if info.bits == 16 {
        Pixels::U16(v.into_iter().map(|x| x.clamp(0, max) as u16).collect())
    } else {
        Pixels::U8(v.into_iter().map(|x| x.clamp(0, max) as u8).collect())
    };
    Ok((info, Some(out)))
}

// ---- TIFF ----

/// What one TIFF page (image file directory) holds, as far as reading it goes.
#[derive(Clone, Debug, PartialEq)]
struct TiffPage {
    width: u32,
    height: u32,
    /// Samples a pixel in the file, and how many are kept (alpha and extra samples dropped).
    n_in: usize,
    n_keep: usize,
    bits: u16,
    signed: bool,
    colour: &'static str,
    coding: &'static str,
    expansion: Option<u64>,
}

impl TiffPage {
    fn same_layout(&self, o: &TiffPage) -> bool {
        (self.width, self.height, self.n_in, self.n_keep, self.bits, self.signed) == (o.width, o.height, o.n_in, o.n_keep, o.bits, o.signed)
    }
}

fn tiff_compression(code: u16) -> std::result::Result<Coding, String> {
    Ok(match code {
        1 => UNCOMPRESSED,
        5 => other("LZW"),
        8 | 32946 => DEFLATE,
        32773 => PACKBITS,
        c => {
            let name = match c {
                2 => " (CCITT RLE)",
                3 => " (CCITT Group 3 fax)",
                4 => " (CCITT Group 4 fax)",
                6 | 7 => " (JPEG)",
                34712 => " (JPEG 2000)",
                34925 => " (LZMA)",
                50000 => " (Zstandard)",
                50001 => " (WebP)",
                _ => "",
            };
            return Err(format!("compression {c}{name} is not supported (uncompressed, LZW, Deflate and PackBits are)"));
        }
    })
}

fn tiff_page<R: Read + Seek>(dec: &mut tiff::decoder::Decoder<R>) -> std::result::Result<TiffPage, String> {
    use tiff::tags::Tag as T;
    use tiff::ColorType as C;
    let s = |e: tiff::TiffError| e.to_string();
    let (width, height) = dec.dimensions().map_err(s)?;
    let ct = dec.colortype().map_err(s)?;
    let compression = dec.find_tag_unsigned::<u16>(T::Compression).map_err(s)?.unwrap_or(1);
    let planar = dec.find_tag_unsigned::<u16>(T::PlanarConfiguration).map_err(s)?.unwrap_or(1);
    let format = dec.find_tag_unsigned_vec::<u16>(T::SampleFormat).map_err(s)?.and_then(|v| v.first().copied()).unwrap_or(1);
    let (n_in, n_keep, colour) = match ct {
        C::Gray(_) => (1, 1, "grey"),
        C::GrayA(_) => (2, 1, "grey"),
        C::Multiband { num_samples, .. } => (num_samples as usize, 1, "grey"),
        C::RGB(_) => (3, 3, "RGB"),
        C::RGBA(_) => (4, 3, "RGB"),
        other => return Err(format!("{other:?} pixels are not supported (grey and RGB are)")),
    };
    let bits = ct.bit_depth() as u16;
    if ![8, 16, 32].contains(&bits) {
        return Err(format!("{bits}-bit samples are not supported (8, 16 and 32 are)"));
    }
    let signed = match format {
        1 => false,
        2 => true,
        3 => return Err("floating-point samples are not supported".into()),
        f => return Err(format!("sample format {f} is not supported")),
    };
    if planar == 2 && n_in > 1 {
        return Err("separate colour planes (PlanarConfiguration 2) are not supported".into());
    }
    let coding = tiff_compression(compression)?;
    Ok(TiffPage { width, height, n_in, n_keep, bits, signed, colour, coding: coding.name, expansion: coding.expansion })
}

fn tiff_read<R: Read + Seek>(r: R, file_len: u64, pixels: bool) -> KindResult<(PlainInfo, Option<Pixels>)> {
    use tiff::decoder::{Decoder, DecodingResult as D, Limits};
    let fail = |e: tiff::TiffError| ErrorKind::Codec { codec: "TIFF", reason: e.to_string() };
    let mut limits = Limits::default();
    limits.decoding_buffer_size = MAX_BYTES as usize;
    limits.intermediate_buffer_size = MAX_BYTES as usize;
    let mut dec = Decoder::new(r).map_err(fail)?.with_limits(limits);
    // Walk every directory (headers only): the first page decides, matching pages follow.
    let first = tiff_page(&mut dec).map_err(|reason| ErrorKind::Unsupported(format!("TIFF page 1: {reason}")))?;
    let mut kept = vec![0usize];
    let mut left_out = Vec::new();
    let mut index = 0;
    while dec.more_images() {
        index += 1;
        if index >= MAX_PAGES {
            return Err(too_large(Format::Tiff, format!("with more than {MAX_PAGES} pages")));
        }
        let page = dec.next_image().map_err(|e| e.to_string()).and_then(|()| tiff_page(&mut dec));
        match page {
            Ok(p) if p.same_layout(&first) => kept.push(index),
            Ok(p) => left_out.push(format!("page {} ({} x {} {}-bit {})", index + 1, p.width, p.height, p.bits, p.colour)),
            Err(e) => left_out.push(format!("page {} ({e})", index + 1)),
        }
    }
    let pages = index + 1;
    let mut warnings = Vec::new();
    if !left_out.is_empty() {
        warnings.push(format!(
            "TIFF: {} of {pages} pages left out, unlike page 1 ({} x {} {}-bit {}): {}",
            left_out.len(),
            first.width,
            first.height,
            first.bits,
            first.colour,
            left_out.join(", ")
        ));
    }
    let info = PlainInfo {
        format: Format::Tiff,
        columns: first.width,
        rows: first.height,
        samples: first.n_keep as u16,
        bits: first.bits,
        signed: first.signed,
        frames: kept.len() as u32,
        description: format!(
            "TIFF, {}-bit {}{}, {}{}",
            first.bits,
            if first.signed { "signed " } else { "" },
            first.colour,
            first.coding,
            if pages > 1 { format!(", {pages} pages") } else { String::new() }
        ),
        warnings,
    };
    let coded = first.width as u64 * first.height as u64 * first.n_in as u64 * (first.bits as u64 / 8) * kept.len() as u64;
    check_budget(&info, coded, file_len, Coding { name: first.coding, expansion: first.expansion })?;
    if !pixels {
        return Ok((info, None));
    }
    let mut out = empty_pixels(&info)?;
    let per_page = first.width as usize * first.height as usize * first.n_in;
    for &i in &kept {
        dec.seek_to_image(i).map_err(fail)?;
        // The directory read again must say what it said during the walk.
        let page = tiff_page(&mut dec).map_err(|reason| ErrorKind::Unsupported(format!("TIFF page {}: {reason}", i + 1)))?;
        if !page.same_layout(&first) {
            return Err(ErrorKind::Codec { codec: "TIFF", reason: format!("page {} changed between reads", i + 1) });
        }
        let res = dec.read_image().map_err(fail)?;
        let n = match &res {
            D::U8(v) => v.len(),
            D::I8(v) => v.len(),
            D::U16(v) => v.len(),
            D::I16(v) => v.len(),
            D::U32(v) => v.len(),
            D::I32(v) => v.len(),
            _ => 0,
        };
        if n != per_page {
            return Err(ErrorKind::Codec { codec: "TIFF", reason: format!("page {} decoded to {n} samples where {per_page} were expected", i + 1) });
        }
        let (ni, nk) = (first.n_in, first.n_keep);
        match (&mut out, res) {
            (Pixels::U8(o), D::U8(v)) => keep_samples(&v, ni, nk, o),
            (Pixels::I8(o), D::I8(v)) => keep_samples(&v, ni, nk, o),
            (Pixels::U16(o), D::U16(v)) => keep_samples(&v, ni, nk, o),
            (Pixels::I16(o), D::I16(v)) => keep_samples(&v, ni, nk, o),
            (Pixels::U32(o), D::U32(v)) => keep_samples(&v, ni, nk, o),
            (Pixels::I32(o), D::I32(v)) => keep_samples(&v, ni, nk, o),
            _ => return Err(ErrorKind::Codec { codec: "TIFF", reason: format!("page {} decoded to another sample type than declared", i + 1) }),
        }
    }
    Ok((info, Some(out)))
}

// ---- BMP ----

fn bmp_read<R: BufRead + Seek>(r: R, head: &[u8], file_len: u64, pixels: bool) -> KindResult<(PlainInfo, Option<Pixels>)> {
    use image::codecs::bmp::BmpDecoder;
    use image::ImageDecoder;
    let fail = |e: image::ImageError| ErrorKind::Codec { codec: "BMP", reason: e.to_string() };
    let u16_at = |i: usize| head.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| head.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let short = || ErrorKind::Codec { codec: "BMP", reason: "the file ends inside its header".into() };
    // The header fields that size the pixel data (BITMAPCOREHEADER or BITMAPINFOHEADER and
    // later), read here to bound memory before the decoder sees the file.
    let header_size = u32_at(14).ok_or_else(short)?;
    let (width, height, bpp, compression) = if header_size == 12 {
        (u16_at(18).ok_or_else(short)? as u64, u16_at(20).ok_or_else(short)? as u64, u16_at(24).ok_or_else(short)?, 0)
    } else {
        let w = u32_at(18).ok_or_else(short)? as i32;
        let h = u32_at(22).ok_or_else(short)? as i32;
        (w.unsigned_abs() as u64, h.unsigned_abs() as u64, u16_at(28).ok_or_else(short)?, u32_at(30).ok_or_else(short)?)
    };
    let coding = match compression {
        0 | 3 | 6 => UNCOMPRESSED,
        1 => other("RLE8"),
        2 => other("RLE4"),
        c => return Err(ErrorKind::Unsupported(format!("BMP compression {c} (embedded JPEG or PNG) is not supported"))),
    };
    let coded = (width * bpp as u64).div_ceil(32) * 4 * height;
    let mut info = PlainInfo {
        format: Format::Bmp,
        columns: width.min(u32::MAX as u64) as u32,
        rows: height.min(u32::MAX as u64) as u32,
        samples: 3,
        bits: 8,
        signed: false,
        frames: 1,
        description: String::new(),
        warnings: Vec::new(),
    };
    check_budget(&info, coded, file_len, coding)?;
    let dec = BmpDecoder::new(r).map_err(fail)?;
    if dec.dimensions() != (info.columns, info.rows) {
        return Err(ErrorKind::Codec { codec: "BMP", reason: format!("the decoder reads {:?} where the header says {} x {}", dec.dimensions(), width, height) });
    }
    let palette: Option<Vec<[u8; 3]>> = dec.get_palette().map(|p| p.to_vec());
    let grey = palette.as_ref().is_some_and(|p| !p.is_empty() && p.iter().all(|c| c[0] == c[1] && c[1] == c[2]));
    if grey {
        info.samples = 1;
    }
    info.description = format!(
        "BMP, {bpp}-bit {}{}",
        if grey { "grey" } else if palette.is_some() { "palette" } else { "RGB" },
        if coding.expansion.is_some() { format!(", {}", coding.name) } else { String::new() }
    );
    if !pixels {
        return Ok((info, None));
    }
    let mut out = empty_pixels(&info)?;
    let Pixels::U8(o) = &mut out else { unreachable!("BMP samples are 8 bits") };
    // Decoded as colour (the decoder expands palettes of any depth); a grey palette gives
    // R = G = B, so its first channel is the grey value.
    let n_in = dec.color_type().channel_count() as usize;
    let mut buf = vec![0u8; dec.total_bytes() as usize];
    dec.read_image(&mut buf).map_err(fail)?;
    keep_samples(&buf, n_in, info.samples as usize, o);
    Ok((info, Some(out)))
}

// ---- WebP ----

fn webp_read<R: BufRead + Seek>(r: R, file_len: u64, pixels: bool) -> KindResult<(PlainInfo, Option<Pixels>)> {
    let fail = |e: image_webp::DecodingError| ErrorKind::Codec { codec: "WebP", reason: e.to_string() };
    let mut dec = image_webp::WebPDecoder::new(r).map_err(fail)?;
    dec.set_memory_limit(MAX_BYTES as usize);
    let (w, h) = dec.dimensions();
    let lossy = dec.is_lossy();
    let n_in = if dec.has_alpha() { 4 } else { 3 };
    let mut warnings = Vec::new();
    if dec.is_animated() {
        warnings.push(format!("WebP animation: only the first of {} frames is read", dec.num_frames()));
    }
    let info = PlainInfo {
        format: Format::WebP,
        columns: w,
        rows: h,
        samples: 3,
        bits: 8,
        signed: false,
        frames: 1,
        description: format!("WebP, {}", if lossy { "lossy" } else { "lossless" }),
        warnings,
    };
    // The lossless decoder works in RGBA whatever the output.
    check_budget(&info, w as u64 * h as u64 * 4, file_len, other(if lossy { "lossy WebP" } else { "lossless WebP" }))?;
    if !pixels {
        return Ok((info, None));
    }
    let mut buf = vec![0u8; w as usize * h as usize * n_in];
    dec.read_image(&mut buf).map_err(fail)?;
    let mut out = empty_pixels(&info)?;
    let Pixels::U8(o) = &mut out else { unreachable!("WebP samples are 8 bits") };
    keep_samples(&buf, n_in, 3, o);
    Ok((info, Some(out)))
}

// ---- as DICOM ----

/// What a plain image is in the study browser: synthetic patient, study and series, with
/// UIDs derived from its path (so the index and [`open`] agree, across runs too).
#[derive(Clone, Debug, PartialEq)]
pub struct PlainLabels {
    pub study_uid: String,
    /// The folder's name.
    pub study_description: String,
    pub series_uid: String,
    pub series_description: String,
    pub instance_uid: String,
}

/// The study is the file's folder; the series is the folder's single images, or the file
/// itself when it has several frames (a multi-page TIFF is a stack of its own).
pub fn labels(path: &Path, frames: u32) -> PlainLabels {
    let file = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string());
    let folder_name = name(&folder);
    let (series_uid, series_description) = if frames > 1 {
        (path_uid("series", &file), format!("{} ({frames} frames)", name(&file)))
    } else {
        (path_uid("series", &folder), format!("images in {folder_name}"))
    };
    PlainLabels {
        study_uid: path_uid("study", &folder),
        study_description: folder_name,
        series_uid,
        series_description,
        instance_uid: path_uid("instance", &file),
    }
}

/// A UID under 2.25 (PS3.5 B.2) from a 128-bit FNV-1a hash of what it identifies: stable
/// for a path, whatever the run or the build.
fn path_uid(kind: &str, p: &Path) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for b in kind.as_bytes().iter().chain(&[0]).chain(p.as_os_str().as_encoded_bytes()) {
        h ^= *b as u128;
        h = h.wrapping_mul(PRIME);
    }
    format!("2.25.{h}")
}

/// Opens `path` as [`crate::object::open`] does, and a plain image (not DICOM, starting
/// like PNG, JPEG, TIFF, BMP or WebP) as an in-memory Secondary Capture whose frames are its
/// pages. The crate exports this as `medlens_dicom::open`.
pub fn open(path: impl AsRef<Path>) -> Result<DicomFile> {
    let path = path.as_ref();
    if is_plain_image_file(path) {
        open_plain(path)
    } else {
        crate::object::open(path)
    }
}

/// The SOP Instance UID of a DICOM file ([`crate::object::sop_instance_uid`]), or the one a
/// plain image is given ([`labels`]).
pub fn sop_instance_uid(path: impl AsRef<Path>) -> Option<String> {
    let path = path.as_ref();
    if is_plain_image_file(path) {
        Some(labels(path, 1).instance_uid)
    } else {
        crate::object::sop_instance_uid(path)
    }
}

/// A plain image as a Secondary Capture data set (module docs).
pub fn open_plain(path: &Path) -> Result<DicomFile> {
    let (info, pixels) = decode_file(path)?;
    Ok(as_dicom(path, &info, pixels))
}

fn as_dicom(path: &Path, info: &PlainInfo, pixels: Pixels) -> DicomFile {
    let l = labels(path, info.frames);
    let mut ds = DataSet { explicit_vr: true, ..Default::default() };
    let mut put = |tag: Tag, vr: &[u8; 2], bytes: Vec<u8>| {
        ds.elements.insert(tag, Element { tag, vr: Vr(*vr), value: Value::Bytes(bytes) });
    };
    let text = |s: &str| crate::write::pad_text(s);
    let uid = |s: &str| crate::write::pad_uid(s);
    let us = |v: u16| v.to_le_bytes().to_vec();
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    put(tags::SPECIFIC_CHARACTER_SET, b"CS", text("ISO_IR 192"));
    put(Tag(0x0008, 0x0008), b"CS", text("DERIVED\\SECONDARY"));
    put(tags::SOP_CLASS_UID, b"UI", uid(SECONDARY_CAPTURE));
    put(tags::SOP_INSTANCE_UID, b"UI", uid(&l.instance_uid));
    put(tags::MODALITY, b"CS", text("OT"));
    put(Tag(0x0008, 0x0064), b"CS", text("WSD")); // Conversion Type: workstation
    put(tags::STUDY_DESCRIPTION, b"LO", text(&l.study_description));
    put(tags::SERIES_DESCRIPTION, b"LO", text(&l.series_description));
    put(tags::PATIENT_NAME, b"PN", text(PLAIN_PATIENT));
    put(tags::PATIENT_ID, b"LO", text(PLAIN_PATIENT));
    put(tags::STUDY_INSTANCE_UID, b"UI", uid(&l.study_uid));
    put(tags::SERIES_INSTANCE_UID, b"UI", uid(&l.series_uid));
    put(
        Tag(0x0020, 0x4000),
        b"LT",
        text(&format!(
            "Not DICOM: {file_name} is a plain image ({}), read as a Secondary Capture. No patient data, no pixel spacing (measured in pixels).",
            info.description
        )),
    );
    put(tags::SAMPLES_PER_PIXEL, b"US", us(info.samples));
    put(tags::PHOTOMETRIC_INTERPRETATION, b"CS", text(info.photometric()));
    if info.samples == 3 {
        put(tags::PLANAR_CONFIGURATION, b"US", us(0));
    }
    if info.frames > 1 {
        put(tags::NUMBER_OF_FRAMES, b"IS", text(&info.frames.to_string()));
    }
    put(tags::ROWS, b"US", us(info.rows as u16));
    put(tags::COLUMNS, b"US", us(info.columns as u16));
    put(tags::BITS_ALLOCATED, b"US", us(info.bits));
    put(tags::BITS_STORED, b"US", us(info.bits));
    put(tags::HIGH_BIT, b"US", us(info.bits - 1));
    put(tags::PIXEL_REPRESENTATION, b"US", us(info.signed as u16));
    if info.samples == 1 {
        // 8-bit: the full 0…255 range, which LINEAR maps onto itself (the image as stored).
        // Deeper: the values' min…max over all frames, as the full-range window does.
        let (center, width, why) = if info.bits == 8 && !info.signed {
            (128.0, 256.0, "full 8-bit range")
        } else {
            let (lo, hi) = pixels.min_max();
            let width = (hi - lo + 1).max(1) as f64;
            (lo as f64 + width / 2.0, width, "min/max")
        };
        put(tags::WINDOW_CENTER, b"DS", text(&format!("{center}")));
        put(tags::WINDOW_WIDTH, b"DS", text(&format!("{width}")));
        put(tags::WINDOW_CENTER_WIDTH_EXPLANATION, b"LO", text(why));
    }
    let (vr, bytes): (&[u8; 2], Vec<u8>) = match pixels {
        Pixels::U8(v) => (b"OB", v),
        Pixels::I8(v) => (b"OB", v.into_iter().map(|x| x as u8).collect()),
        Pixels::U16(v) => (b"OW", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::I16(v) => (b"OW", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::U32(v) => (b"OW", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Pixels::I32(v) => (b"OW", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    let mut bytes = bytes;
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    put(tags::PIXEL_DATA, vr, bytes);
    ds.resolve_charsets(&Default::default());
    let mut meta = DataSet { explicit_vr: true, ..Default::default() };
    for (tag, vr, v) in [
        (tags::MEDIA_STORAGE_SOP_CLASS_UID, b"UI", uid(SECONDARY_CAPTURE)),
        (tags::MEDIA_STORAGE_SOP_INSTANCE_UID, b"UI", uid(&l.instance_uid)),
        (tags::TRANSFER_SYNTAX_UID, b"UI", uid(EXPLICIT_VR_LITTLE_ENDIAN)),
    ] {
        meta.elements.insert(tag, Element { tag, vr: Vr(*vr), value: Value::Bytes(v) });
    }
    let parsed = Parsed {
        meta,
        dataset: ds,
        syntax: TransferSyntax::from_uid(EXPLICIT_VR_LITTLE_ENDIAN).expect("a known transfer syntax"),
        syntax_declared: true,
        has_preamble: false,
        warnings: info.warnings.clone(),
        fragments_counted: None,
    };
    DicomFile { path: PathBuf::from(path), parsed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_grey_and_rgba() {
        let img = crate::display::Image8 { width: 2, height: 1, channels: 1, data: vec![7, 200] };
        let f = decode_image(&crate::export::png_bytes(&img).unwrap()).unwrap();
        assert_eq!((f.rows, f.columns, f.samples), (1, 2, 1));
        assert_eq!(f.pixels, Pixels::U8(vec![7, 200]));
        let img = crate::display::Image8 { width: 1, height: 1, channels: 4, data: vec![1, 2, 3, 4] };
        let f = decode_image(&crate::export::png_bytes(&img).unwrap()).unwrap();
        assert_eq!(f.pixels, Pixels::U8(vec![1, 2, 3]));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode_image(b"\x89PNG\r\n\x1a\nnonsense").is_err());
        assert!(decode_image(&[0xFF, 0xD8, 0xFF, 0, 1, 2]).is_err());
        assert!(decode_image(b"hello").is_err());
        assert!(decode_image(b"II*\0\x08\0\0\0\0\0").is_err());
        assert!(decode_image(b"RIFF\x04\0\0\0WEBPVP8 ").is_err());
    }

    #[test]
    fn sniffing_needs_the_whole_signature() {
        assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Some(Format::Tiff));
        assert_eq!(sniff(b"II+\0\x08\0\0\0"), Some(Format::Tiff));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBP"), Some(Format::WebP));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        let mut bmp = b"BM\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        assert_eq!(sniff(&bmp), None, "BM alone");
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff(&bmp), Some(Format::Bmp));
        let mut text = b"BMW models and their engines".to_vec();
        text.truncate(18);
        assert_eq!(sniff(&text), None);
    }

    #[test]
    fn uids_are_stable_and_distinct() {
        let a = path_uid("series", Path::new("/data/a"));
        assert_eq!(a, path_uid("series", Path::new("/data/a")));
        assert_ne!(a, path_uid("study", Path::new("/data/a")));
        assert_ne!(a, path_uid("series", Path::new("/data/b")));
        assert!(a.len() <= 64 && a.starts_with("2.25.") && a[5..].bytes().all(|b| b.is_ascii_digit()));
    }
}
