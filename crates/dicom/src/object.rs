//! A DICOM file on disk: opened whole (for pixels) or header-only (for indexing).

use std::io::{Read, Seek};
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

/// Opens a file's header, stopping before Pixel Data: see [`read_header`].
pub fn open_header(path: impl AsRef<Path>) -> Result<DicomFile> {
    let path = path.as_ref();
    let f = std::fs::File::open(path).map_err(ErrorKind::Io).at(path)?;
    let file_len = f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    read_header(path, f, file_len)
}

/// Reads a header (everything before Pixel Data) from `reader`, a file of `file_len` bytes
/// (`u64::MAX` when unknown) that `path` names in errors. Reads a prefix first and, while
/// the header runs past it, a prefix twice as long (parsing again): what is read and held
/// stays under twice the header plus [`HEADER_PREFIX`], whatever follows it — Pixel Data is
/// never read beyond that overshoot, however long the header or the file. For multi-frame
/// encapsulated Pixel Data the fragments are counted from their item headers, seeking over
/// their data (`Parsed::fragments_counted`, checked by [`DicomFile::image_info`]).
pub fn read_header(path: &Path, mut reader: impl Read + Seek, file_len: u64) -> Result<DicomFile> {
    let opts = ReadOptions { stop_before_pixels: true };
    let mut buf: Vec<u8> = Vec::new();
    let mut want = HEADER_PREFIX;
    let mut file = loop {
        let more = want - buf.len() as u64;
        buf.reserve_exact(more.min(file_len.saturating_sub(buf.len() as u64)) as usize);
        (&mut reader).take(more).read_to_end(&mut buf).map_err(ErrorKind::Io).at(path)?;
        if (buf.len() as u64) < want || buf.len() as u64 == file_len {
            // The whole file: a header that runs out here is cut short, not unread.
            break open_bytes(path, &buf, opts)?;
        }
        if let Some(parsed) = parse_prefix(&buf, opts).at(path)? {
            break DicomFile { path: path.to_path_buf(), parsed };
        }
        want = want.saturating_mul(2);
    };
    // Pixel Data was not read: check that the file holds all of it.
    if let Some(Value::NotLoaded { offset, length }) = file.dataset().get(tags::PIXEL_DATA).map(|e| &e.value) {
        if *length != u64::MAX && offset + length > file_len && !file.parsed.syntax.deflated {
            let msg = format!("Pixel Data is truncated: {length} bytes declared, {} present", file_len.saturating_sub(*offset));
            file.parsed.warnings.push(msg);
        }
    }
    if let Some(Value::NotLoaded { offset, length: u64::MAX }) = file.dataset().get(tags::PIXEL_DATA).map(|e| &e.value) {
        let frames = file.dataset().int(tags::NUMBER_OF_FRAMES).unwrap_or(1);
        if frames > 1 && !file.parsed.syntax.deflated {
            let (offset, frames) = (*offset, frames.min(MAX_FRAMES_COUNTED) as u64);
            let counted = count_fragments(&mut reader, offset, frames).map_err(ErrorKind::Io).at(path)?;
            file.parsed.fragments_counted = Some(counted);
        }
    }
    Ok(file)
}

/// Fragments counted at most (Number of Frames above this is refused by `ImageInfo`).
const MAX_FRAMES_COUNTED: i64 = 100_000;

/// Counts the fragments of encapsulated Pixel Data whose first item starts at `offset`, up to
/// `want`, reading only the 8-byte item headers. Stops early at the sequence delimiter, at
/// anything that is not an item (decoding reports it) and at the end of the file.
fn count_fragments(r: &mut (impl Read + Seek), offset: u64, want: u64) -> std::io::Result<u64> {
    let mut pos = offset;
    let mut items = 0u64; // the Basic Offset Table is the first item
    while items <= want {
        r.seek(std::io::SeekFrom::Start(pos))?;
        let mut h = [0u8; 8];
        match r.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if h[..4] != [0xFE, 0xFF, 0x00, 0xE0] || len == u32::MAX {
            break;
        }
        items += 1;
        pos += 8 + len as u64;
    }
    Ok(items.saturating_sub(1))
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
        let info = ImageInfo::from_dataset(self.dataset()).at(&self.path)?;
        if let Some(n) = self.parsed.fragments_counted {
            info.check_fragments(n).at(&self.path)?;
        }
        Ok(info)
    }

    /// Number of Frames as the data set declares it (1 when absent), unchecked: anything
    /// sized by the frame count uses [`image_info`](Self::image_info), which checks it
    /// against the pixel data.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Element, Vr};

    /// A reader that counts the bytes it hands out.
    struct Counting<'a> {
        inner: std::io::Cursor<&'a [u8]>,
        read: u64,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(out)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Counting<'_> {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(to)
        }
    }

    /// A 256 x 256 x `frames` 16-bit image with a private element of `private` bytes before
    /// its Pixel Data.
    fn file(private: usize, frames: u32) -> Vec<u8> {
        let mut ds = DataSet::default();
        let mut put = |tag: Tag, vr: &[u8; 2], value: Vec<u8>| {
            ds.elements.insert(tag, Element { tag, vr: Vr(*vr), value: Value::Bytes(value) });
        };
        put(tags::MODALITY, b"CS", b"OT".to_vec());
        put(tags::ROWS, b"US", 256u16.to_le_bytes().to_vec());
        put(tags::COLUMNS, b"US", 256u16.to_le_bytes().to_vec());
        put(tags::BITS_ALLOCATED, b"US", 16u16.to_le_bytes().to_vec());
        put(tags::NUMBER_OF_FRAMES, b"IS", format!("{frames:<2}").into_bytes());
        put(Tag(0x0009, 0x0010), b"LO", b"MEDLENS TEST".to_vec());
        put(Tag(0x0009, 0x1010), b"OB", vec![0x5A; private]);
        put(tags::PIXEL_DATA, b"OW", vec![0x11; 256 * 256 * 2 * frames as usize]);
        crate::write::write_file(&ds, "1.2.840.10008.5.1.4.1.1.7", "2.25.1", "1.2.840.10008.1.2.1", true).unwrap()
    }

    fn header(bytes: &[u8]) -> (DicomFile, u64) {
        let mut r = Counting { inner: std::io::Cursor::new(bytes), read: 0 };
        let f = read_header(Path::new("big.dcm"), &mut r, bytes.len() as u64).unwrap();
        (f, r.read)
    }

    #[test]
    fn a_short_header_reads_one_prefix() {
        let bytes = file(100, 8); // 1 MiB of pixel data
        let (f, read) = header(&bytes);
        assert_eq!(read, HEADER_PREFIX);
        assert_eq!(f.image_info().unwrap().frames, 8);
    }

    /// A 3 MiB private element and 64 MiB of pixel data: the header-only read stops at Pixel
    /// Data (under twice the header is read), where it used to read the whole file.
    #[test]
    fn a_long_header_is_read_up_to_pixel_data_only() {
        let private = 3 << 20;
        let frames = 512; // 128 KiB each: 64 MiB
        let bytes = file(private, frames);
        let (f, read) = header(&bytes);
        let Some(Value::NotLoaded { offset, length }) = f.dataset().get(tags::PIXEL_DATA).map(|e| e.value.clone()) else {
            panic!("Pixel Data is not recorded as not loaded");
        };
        assert_eq!(length, 64 << 20);
        assert_eq!(offset + length, bytes.len() as u64);
        assert!(read < 2 * offset && read < (8 << 20), "read {read} bytes of {} for a header of {offset}", bytes.len());
        match f.dataset().get(Tag(0x0009, 0x1010)).map(|e| &e.value) {
            Some(Value::Bytes(b)) => assert!(b.len() == private && b.iter().all(|&x| x == 0x5A)),
            other => panic!("the private element is not read: {other:?}"),
        }
        assert_eq!(f.image_info().unwrap().frames, frames);
        assert!(f.parsed.warnings.is_empty(), "{:?}", f.parsed.warnings);
        // Cut inside the private element: the header is cut short, not read past the end.
        let (cut, read) = header(&bytes[..(2 << 20)]);
        assert_eq!(read, 2 << 20);
        assert!(cut.dataset().get(tags::PIXEL_DATA).is_none());
        assert!(!cut.parsed.warnings.is_empty());
    }

    /// Multi-frame encapsulated Pixel Data read header-only: its fragments are counted from
    /// their item headers (8 bytes each read, the data skipped), so a Number of Frames beyond
    /// them is refused by `image_info` as decoding would refuse it.
    #[test]
    fn encapsulated_fragments_are_counted_without_reading_them() {
        let encapsulated = |frames: u32, fragments: usize| {
            let mut ds = DataSet::default();
            let mut put = |tag: Tag, vr: &[u8; 2], value: Value| {
                ds.elements.insert(tag, Element { tag, vr: Vr(*vr), value });
            };
            put(tags::ROWS, b"US", Value::Bytes(256u16.to_le_bytes().to_vec()));
            put(tags::COLUMNS, b"US", Value::Bytes(256u16.to_le_bytes().to_vec()));
            put(tags::BITS_ALLOCATED, b"US", Value::Bytes(8u16.to_le_bytes().to_vec()));
            put(tags::NUMBER_OF_FRAMES, b"IS", Value::Bytes(format!("{frames:<2}").into_bytes()));
            let fragments = vec![vec![0x33; 1 << 20]; fragments];
            put(tags::PIXEL_DATA, b"OB", Value::Fragments { offset_table: Vec::new(), fragments });
            crate::write::write_file(&ds, "1.2.840.10008.5.1.4.1.1.7", "2.25.2", "1.2.840.10008.1.2.5", true).unwrap()
        };
        let (f, read) = header(&encapsulated(8, 8));
        assert_eq!(f.parsed.fragments_counted, Some(8));
        assert_eq!(f.image_info().unwrap().frames, 8);
        assert!(read <= HEADER_PREFIX + 9 * 8, "read {read} bytes");
        let (f, _) = header(&encapsulated(10, 3));
        assert_eq!(f.parsed.fragments_counted, Some(3));
        let e = f.image_info().unwrap_err().to_string();
        assert!(e.contains("big.dcm") && e.contains("NumberOfFrames") && e.contains("has 3 fragment(s)"), "{e}");
        // Cut inside the third fragment: two whole ones and the cut one's header are there.
        let bytes = encapsulated(4, 4);
        let (f, _) = header(&bytes[..bytes.len() - 8 - (8 + (1 << 20)) - 100]);
        assert_eq!(f.parsed.fragments_counted, Some(3));
        assert!(f.image_info().is_err());
        // A single frame is not counted (decoding reports a missing fragment).
        let (f, _) = header(&encapsulated(1, 1));
        assert_eq!(f.parsed.fragments_counted, None);
    }
}
