//! A DICOM file on disk: opened whole (for pixels) or header-only (for indexing).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::dataset::{DataSet, Tag, Value};
use crate::error::{ErrorKind, Result, WithPath};
use crate::pixels::{decode_frame, Frame, ImageInfo};
use crate::read::{parse, parse_prefix, Parsed, ReadOptions};
use crate::{dict, tags};

/// How much of a file the header-only reader tries first.
const HEADER_PREFIX: u64 = 64 * 1024;

/// An opened DICOM file.
#[derive(Clone, Debug)]
pub struct DicomFile {
    pub path: PathBuf,
    pub parsed: Parsed,
}

/// Opens a whole file, pixel data included.
pub fn open(path: impl AsRef<Path>) -> Result<DicomFile> {
    let path = path.as_ref();
    let buf = std::fs::read(path).map_err(ErrorKind::Io).at(path)?;
    open_bytes(path, &buf, ReadOptions::default())
}

/// Parses a file already in memory (`path` names it in errors).
pub fn open_bytes(path: &Path, buf: &[u8], opts: ReadOptions) -> Result<DicomFile> {
    let parsed = parse(buf, opts).at(path)?;
    Ok(DicomFile { path: path.to_path_buf(), parsed })
}

/// Opens a file's header, stopping before Pixel Data. Reads a prefix first and the
/// whole file only when the header is longer than the prefix.
pub fn open_header(path: impl AsRef<Path>) -> Result<DicomFile> {
    let path = path.as_ref();
    let opts = ReadOptions { stop_before_pixels: true };
    let mut f = std::fs::File::open(path).map_err(ErrorKind::Io).at(path)?;
    let mut buf = Vec::new();
    (&mut f).take(HEADER_PREFIX).read_to_end(&mut buf).map_err(ErrorKind::Io).at(path)?;
    let file_len = f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    let mut file = None;
    if (buf.len() as u64) == HEADER_PREFIX {
        if let Some(parsed) = parse_prefix(&buf, opts).at(path)? {
            file = Some(DicomFile { path: path.to_path_buf(), parsed });
        } else {
            f.read_to_end(&mut buf).map_err(ErrorKind::Io).at(path)?;
        }
    }
    let mut file = match file {
        Some(f) => f,
        None => open_bytes(path, &buf, opts)?,
    };
    // Pixel Data was not read: check that the file holds all of it.
    if let Some(Value::NotLoaded { offset, length }) = file.dataset().get(tags::PIXEL_DATA).map(|e| &e.value) {
        if *length != u64::MAX && offset + length > file_len && !file.parsed.syntax.deflated {
            let msg = format!("Pixel Data is truncated: {length} bytes declared, {} present", file_len.saturating_sub(*offset));
            file.parsed.warnings.push(msg);
        }
    }
    Ok(file)
}

impl DicomFile {
    /// Whether the file ends inside its Pixel Data.
    pub fn pixel_data_truncated(&self) -> bool {
        self.parsed.warnings.iter().any(|w| w.starts_with("Pixel Data is truncated"))
    }
}

/// One row of the tag browser.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TagEntry {
    /// `(0010,0010)`
    pub tag: String,
    pub vr: String,
    /// Standard keyword; empty for private and unknown tags.
    pub keyword: String,
    /// Printable value (truncated for long binary values).
    pub value: String,
    /// Nesting depth (0 for top level; items' elements are deeper).
    pub depth: u32,
}

impl DicomFile {
    pub fn dataset(&self) -> &DataSet {
        &self.parsed.dataset
    }

    pub fn meta(&self) -> &DataSet {
        &self.parsed.meta
    }

    /// The validated image pixel attributes.
    pub fn image_info(&self) -> Result<ImageInfo> {
        if !self.dataset().contains(tags::PIXEL_DATA) {
            return Err(crate::Error::new(&self.path, ErrorKind::NoPixelData));
        }
        ImageInfo::from_dataset(self.dataset()).at(&self.path)
    }

    pub fn number_of_frames(&self) -> u32 {
        self.dataset().int(tags::NUMBER_OF_FRAMES).filter(|&n| n > 0).map(|n| n as u32).unwrap_or(1)
    }

    /// Decodes one frame's stored values.
    pub fn frame(&self, index: usize) -> Result<Frame> {
        if !self.parsed.syntax_declared && !self.parsed.meta.elements.is_empty() {
            return Err(crate::Error::new(
                &self.path,
                ErrorKind::Attribute {
                    keyword: "TransferSyntaxUID",
                    tag: "(0002,0010)",
                    reason: "missing from the file meta information, so the pixel encoding is unknown".into(),
                },
            ));
        }
        decode_frame(self.dataset(), &self.parsed.syntax, index).at(&self.path)
    }

    /// Every element, meta first, sequences flattened with their depth.
    pub fn tags(&self) -> Vec<TagEntry> {
        let mut out = Vec::new();
        list(self.meta(), 0, &mut out);
        list(self.dataset(), 0, &mut out);
        out
    }
}

fn list(ds: &DataSet, depth: u32, out: &mut Vec<TagEntry>) {
    for el in ds.elements.values() {
        let keyword = dict::keyword(el.tag).unwrap_or("").to_string();
        let value = match &el.value {
            Value::Seq(items) => format!("{} item(s)", items.len()),
            Value::Fragments { fragments, .. } => format!("encapsulated, {} fragment(s)", fragments.len()),
            Value::NotLoaded { length, .. } => {
                if *length == u64::MAX { "not loaded (undefined length)".into() } else { format!("not loaded ({length} bytes)") }
            }
            Value::Bytes(b) => printable(ds, el.tag, &el.vr, b),
        };
        out.push(TagEntry { tag: el.tag.to_string(), vr: el.vr.as_str().to_string(), keyword, value, depth });
        if let Value::Seq(items) = &el.value {
            for item in items {
                list(item, depth + 1, out);
            }
        }
    }
}

fn printable(ds: &DataSet, tag: Tag, vr: &crate::dataset::Vr, b: &[u8]) -> String {
    const MAX: usize = 256;
    if vr.is_text() {
        let s = ds.decode_value(*vr, b);
        let s = s.trim_end_matches(['\0', ' ']);
        return if s.chars().count() > MAX { format!("{}…", s.chars().take(MAX).collect::<String>()) } else { s.to_string() };
    }
    match &vr.0 {
        b"US" | b"SS" | b"UL" | b"SL" | b"FL" | b"FD" if b.len() <= 64 => ds
            .numbers(tag)
            .iter()
            .map(|v| v.map(|x| x.to_string()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\\"),
        b"AT" if b.len() % 4 == 0 => b
            .chunks_exact(4)
            .map(|c| {
                let g = crate::dataset::u16_from(&[c[0], c[1]], ds.big_endian);
                let e = crate::dataset::u16_from(&[c[2], c[3]], ds.big_endian);
                Tag(g, e).to_string()
            })
            .collect::<Vec<_>>()
            .join("\\"),
        _ => {
            let hex: Vec<String> = b.iter().take(16).map(|x| format!("{x:02x}")).collect();
            format!("{} bytes: {}{}", b.len(), hex.join(" "), if b.len() > 16 { " …" } else { "" })
        }
    }
}

/// The SOP Instance UID of a DICOM file (the data set's, else the file meta's), reading only
/// its header; `None` for anything that is not DICOM or has none.
pub fn sop_instance_uid(path: impl AsRef<Path>) -> Option<String> {
    let f = open_header(path).ok()?;
    f.dataset()
        .string(crate::tags::SOP_INSTANCE_UID)
        .or_else(|| f.meta().string(crate::tags::MEDIA_STORAGE_SOP_INSTANCE_UID))
}
