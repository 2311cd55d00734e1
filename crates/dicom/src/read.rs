//! The DICOM file parser (PS3.10 file format, PS3.5 data set encoding).
//!
//! Written for hostile input: every length is checked against the bytes actually
//! left before anything is allocated, nesting depth is bounded, and a damaged tail
//! after a readable header ends the parse with a warning rather than losing the file.
//! Files without a preamble or without file meta information are read too, with the
//! encoding guessed from the first element, as pydicom does when forced.

use crate::dataset::{u16_from, u32_from, DataSet, Element, Tag, Value, Vr};
use crate::dict;
use crate::error::{ErrorKind, KindResult};
use crate::syntax::TransferSyntax;
use crate::tags;

/// How much of the file to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Stop at Pixel Data, recording only where it is (for indexing).
    pub stop_before_pixels: bool,
}

/// A parsed file.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// File meta information (group 0002); empty when the file has none.
    pub meta: DataSet,
    pub dataset: DataSet,
    /// The syntax the data set was read with.
    pub syntax: TransferSyntax,
    /// Whether the file meta declared the transfer syntax (otherwise it was guessed).
    pub syntax_declared: bool,
    pub has_preamble: bool,
    /// Problems that did not stop the parse (a damaged tail, a truncated value).
    pub warnings: Vec<String>,
    /// Header-only reads of a multi-frame encapsulated Pixel Data: the fragments the file
    /// holds (the Basic Offset Table not counted), counted from their item headers without
    /// reading them, up to the Number of Frames (`object::read_header`). `None` otherwise.
    pub fragments_counted: Option<u64>,
}

/// Nesting deeper than this is refused (real files nest a handful of levels).
const MAX_DEPTH: usize = 64;
/// Undefined-length value: the data continues until a delimiter.
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Parse failure inside the reader; `NeedMore` means a prefix of the file ran out.
#[derive(Debug)]
pub(crate) enum PErr {
    Kind(ErrorKind),
    NeedMore,
}

impl From<ErrorKind> for PErr {
    fn from(k: ErrorKind) -> Self {
        PErr::Kind(k)
    }
}

type PResult<T> = Result<T, PErr>;

#[derive(Clone, Copy, Debug)]
struct Syn {
    explicit: bool,
    be: bool,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Whether `buf` is the whole file (else a prefix: running out means read more).
    complete: bool,
    warnings: Vec<String>,
}

enum End {
    At(usize),
    Delimited,
    Eof,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn short(&self, what: &str) -> PErr {
        if self.complete {
            PErr::Kind(ErrorKind::Truncated { offset: self.pos as u64, what: what.to_string() })
        } else {
            PErr::NeedMore
        }
    }

    fn take(&mut self, n: usize, what: &str) -> PResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(self.short(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u16(&mut self, be: bool, what: &str) -> PResult<u16> {
        let b = self.take(2, what)?;
        Ok(u16_from(b.try_into().unwrap(), be))
    }

    fn u32(&mut self, be: bool, what: &str) -> PResult<u32> {
        let b = self.take(4, what)?;
        Ok(u32_from(b.try_into().unwrap(), be))
    }

    fn peek_tag(&self, be: bool) -> Option<Tag> {
        if self.remaining() < 4 {
            return None;
        }
        let b = &self.buf[self.pos..self.pos + 4];
        Some(Tag(u16_from(b[0..2].try_into().unwrap(), be), u16_from(b[2..4].try_into().unwrap(), be)))
    }

    /// Reads an element header: tag, VR (`None` for item and delimiter tags) and length.
    fn header(&mut self, syn: Syn) -> PResult<(Tag, Option<Vr>, u32)> {
        let g = self.u16(syn.be, "an element tag")?;
        let e = self.u16(syn.be, "an element tag")?;
        let tag = Tag(g, e);
        if g == 0xFFFE {
            let len = self.u32(syn.be, "an item length")?;
            return Ok((tag, None, len));
        }
        if syn.explicit {
            if self.remaining() < 2 {
                return Err(self.short("a VR"));
            }
            let vr_bytes = [self.buf[self.pos], self.buf[self.pos + 1]];
            if Vr::is_known(vr_bytes) {
                self.pos += 2;
                let vr = Vr(vr_bytes);
                let len = if vr.has_long_length() {
                    self.take(2, "reserved bytes")?;
                    self.u32(syn.be, "a value length")?
                } else {
                    self.u16(syn.be, "a value length")? as u32
                };
                return Ok((tag, Some(vr), len));
            }
            // Not a VR: this writer mixed in an implicit-VR element (pydicom reads these too).
        }
        let len = self.u32(syn.be, "a value length")?;
        Ok((tag, Some(dict::implicit_vr(tag)), len))
    }

    fn value(&mut self, len: u32, tag: Tag, top: bool) -> PResult<Vec<u8>> {
        let len = len as usize;
        if len > self.remaining() {
            if !self.complete {
                return Err(PErr::NeedMore);
            }
            if top && tag == tags::PIXEL_DATA {
                // Keep what is there; decoding reports the shortfall.
                self.warnings.push(format!(
                    "Pixel Data is truncated: {} bytes declared, {} present",
                    len,
                    self.remaining()
                ));
                let v = self.buf[self.pos..].to_vec();
                self.pos = self.buf.len();
                return Ok(v);
            }
            return Err(PErr::Kind(ErrorKind::Truncated {
                offset: self.pos as u64,
                what: format!("element {tag}, which declares {len} bytes where {} remain", self.remaining()),
            }));
        }
        Ok(self.take(len, "a value")?.to_vec())
    }

    fn dataset(&mut self, syn: Syn, end: End, depth: usize, opts: ReadOptions) -> PResult<DataSet> {
        if depth > MAX_DEPTH {
            return Err(ErrorKind::Malformed {
                offset: self.pos as u64,
                reason: format!("sequences nested deeper than {MAX_DEPTH} levels"),
            }
            .into());
        }
        let mut ds = DataSet { big_endian: syn.be, explicit_vr: syn.explicit, ..Default::default() };
        loop {
            match end {
                End::At(e) if self.pos >= e => break,
                End::Eof if self.remaining() == 0 => {
                    if self.complete {
                        break;
                    }
                    return Err(PErr::NeedMore);
                }
                _ => {}
            }
            let start = self.pos;
            let r = self.element(syn, depth, opts, &mut ds);
            match r {
                Ok(Step::Continue) => {}
                Ok(Step::ItemEnd) => {
                    if matches!(end, End::Delimited) {
                        return Ok(ds);
                    }
                    // A stray delimiter in a defined-length context: skip it.
                }
                Ok(Step::Stop) => return Ok(ds),
                Err(PErr::NeedMore) => return Err(PErr::NeedMore),
                Err(PErr::Kind(k @ ErrorKind::Truncated { .. })) if depth > 0 => {
                    // The file ends inside this item: keep what was read.
                    self.warnings.push(format!("stopped reading at byte {start}: {k}"));
                    self.pos = self.buf.len();
                    return Ok(ds);
                }
                Err(PErr::Kind(k)) => {
                    if depth == 0 && !ds.elements.is_empty() {
                        // A damaged tail after a readable header: keep what we have.
                        self.warnings.push(format!("stopped reading at byte {start}: {k}"));
                        self.pos = self.buf.len();
                        return Ok(ds);
                    }
                    return Err(PErr::Kind(k));
                }
            }
            if let End::At(e) = end {
                if self.pos > e {
                    return Err(ErrorKind::Malformed {
                        offset: self.pos as u64,
                        reason: "an element runs past the end of its item".into(),
                    }
                    .into());
                }
            }
        }
        if matches!(end, End::Delimited) && depth > 0 && self.remaining() == 0 && self.complete {
            self.warnings.push("an item is cut off by the end of the file".into());
        }
        Ok(ds)
    }

    fn element(&mut self, syn: Syn, depth: usize, opts: ReadOptions, ds: &mut DataSet) -> PResult<Step> {
        let offset = self.pos;
        let (tag, vr, len) = self.header(syn)?;
        if tag == tags::ITEM_DELIMITATION {
            return Ok(Step::ItemEnd);
        }
        if tag == tags::SEQUENCE_DELIMITATION {
            return Ok(if depth == 0 { Step::Continue } else { Step::ItemEnd });
        }
        let Some(mut vr) = vr else {
            return Err(ErrorKind::Malformed {
                offset: offset as u64,
                reason: format!("unexpected item tag {tag} in a data set"),
            }
            .into());
        };
        let top = depth == 0;
        if tag == tags::PIXEL_DATA {
            if opts.stop_before_pixels && top {
                let length = if len == UNDEFINED { u64::MAX } else { len as u64 };
                ds.elements.insert(
                    tag,
                    Element { tag, vr, value: Value::NotLoaded { offset: self.pos as u64, length } },
                );
                return Ok(Step::Stop);
            }
            if len == UNDEFINED {
                let value = self.fragments(syn)?;
                ds.elements.insert(tag, Element { tag, vr: Vr::OB, value });
                return Ok(Step::Continue);
            }
        }
        let value = if len == UNDEFINED {
            if vr == Vr::SQ || vr == Vr::UN || !syn.explicit {
                // UN with undefined length is a sequence encoded implicit VR little endian.
                let item_syn = if vr == Vr::UN { Syn { explicit: false, be: false } } else { syn };
                vr = Vr::SQ;
                Value::Seq(self.sequence(item_syn, None, depth, opts)?)
            } else {
                return Err(ErrorKind::Malformed {
                    offset: offset as u64,
                    reason: format!("element {tag} ({}) has an undefined length", vr.as_str()),
                }
                .into());
            }
        } else if vr == Vr::SQ {
            let end = self.pos.checked_add(len as usize).filter(|&e| e <= self.buf.len());
            let end = if let Some(end) = end { end } else {
                if !self.complete {
                    return Err(PErr::NeedMore);
                }
                // A stale length (edited file): read the items that are there.
                self.warnings.push(format!("sequence {tag} declares {len} bytes where {} remain", self.remaining()));
                self.buf.len()
            };
            Value::Seq(self.sequence(syn, Some(end), depth, opts)?)
        } else {
            Value::Bytes(self.value(len, tag, top)?)
        };
        ds.elements.insert(tag, Element { tag, vr, value });
        Ok(Step::Continue)
    }

    fn sequence(&mut self, syn: Syn, end: Option<usize>, depth: usize, opts: ReadOptions) -> PResult<Vec<DataSet>> {
        let mut items = Vec::new();
        loop {
            if let Some(e) = end {
                if self.pos >= e {
                    break;
                }
            }
            let offset = self.pos;
            if self.complete && self.remaining() < 8 {
                self.warnings.push(format!("a sequence is cut off by the end of the file at byte {offset}"));
                self.pos = self.buf.len();
                break;
            }
            let g = self.u16(syn.be, "an item tag")?;
            let el = self.u16(syn.be, "an item tag")?;
            let len = self.u32(syn.be, "an item length")?;
            match Tag(g, el) {
                tags::SEQUENCE_DELIMITATION => break,
                tags::ITEM => {
                    let item = if len == UNDEFINED {
                        self.dataset(syn, End::Delimited, depth + 1, opts)?
                    } else {
                        let item_end = self.pos.checked_add(len as usize).filter(|&e| e <= self.buf.len());
                        let Some(item_end) = item_end else {
                            if !self.complete {
                                return Err(PErr::NeedMore);
                            }
                            self.warnings.push(format!("item at byte {offset} declares {len} bytes where {} remain", self.remaining()));
                            let partial = self.dataset(syn, End::At(self.buf.len()), depth + 1, opts)?;
                            items.push(partial);
                            break;
                        };
                        let item = self.dataset(syn, End::At(item_end), depth + 1, opts)?;
                        self.pos = item_end;
                        item
                    };
                    items.push(item);
                }
                other => {
                    return Err(ErrorKind::Malformed {
                        offset: offset as u64,
                        reason: format!("expected a sequence item, found tag {other}"),
                    }
                    .into())
                }
            }
        }
        Ok(items)
    }

    /// Encapsulated pixel data: items until the sequence delimiter.
    fn fragments(&mut self, syn: Syn) -> PResult<Value> {
        let mut offset_table = None;
        let mut fragments = Vec::new();
        loop {
            let offset = self.pos;
            let g = self.u16(syn.be, "a fragment tag")?;
            let e = self.u16(syn.be, "a fragment tag")?;
            let len = self.u32(syn.be, "a fragment length")?;
            match Tag(g, e) {
                tags::SEQUENCE_DELIMITATION => break,
                tags::ITEM => {
                    if len == UNDEFINED {
                        return Err(ErrorKind::Malformed {
                            offset: offset as u64,
                            reason: "pixel data fragment with undefined length".into(),
                        }
                        .into());
                    }
                    let data = self.value(len, tags::ITEM, false)?;
                    if offset_table.is_none() {
                        offset_table = Some(data);
                    } else {
                        fragments.push(data);
                    }
                }
                other => {
                    return Err(ErrorKind::Malformed {
                        offset: offset as u64,
                        reason: format!("expected a pixel data fragment, found tag {other}"),
                    }
                    .into())
                }
            }
        }
        Ok(Value::Fragments { offset_table: offset_table.unwrap_or_default(), fragments })
    }
}

enum Step {
    Continue,
    ItemEnd,
    Stop,
}

/// Parses a whole file held in memory.
pub fn parse(buf: &[u8], opts: ReadOptions) -> KindResult<Parsed> {
    match parse_inner(buf, true, opts) {
        Ok(p) => Ok(p),
        Err(PErr::Kind(k)) => Err(k),
        // A complete buffer never asks for more; should it, that is a malformed file, not a panic.
        Err(PErr::NeedMore) => Err(ErrorKind::Malformed { offset: buf.len() as u64, reason: "the data set ends early".into() }),
    }
}

/// Parses a prefix of a file; `Ok(None)` means the prefix was too short.
pub(crate) fn parse_prefix(buf: &[u8], opts: ReadOptions) -> KindResult<Option<Parsed>> {
    match parse_inner(buf, false, opts) {
        Ok(p) => Ok(Some(p)),
        Err(PErr::NeedMore) => Ok(None),
        Err(PErr::Kind(k)) => Err(k),
    }
}

fn plausible_first_group(g: u16) -> bool {
    matches!(g, 0x0000 | 0x0002 | 0x0004 | 0x0008 | 0x0010)
}

fn parse_inner(buf: &[u8], complete: bool, opts: ReadOptions) -> PResult<Parsed> {
    let mut cur = Cursor { buf, pos: 0, complete, warnings: Vec::new() };
    let has_preamble = buf.len() >= 132 && &buf[128..132] == b"DICM";
    if has_preamble {
        cur.pos = 132;
    } else if buf.len() >= 4 && &buf[0..4] == b"DICM" {
        cur.pos = 4;
    } else {
        if buf.len() < 132 && !complete {
            return Err(PErr::NeedMore);
        }
        let le = cur.peek_tag(false).map(|t| t.0);
        let be = cur.peek_tag(true).map(|t| t.0);
        let ok = le.is_some_and(plausible_first_group) || be.is_some_and(plausible_first_group);
        if !ok || !plausible_first_element(buf) {
            return Err(ErrorKind::NotDicom.into());
        }
    }

    // File meta information: group 0002, always explicit VR little endian.
    let meta_syn = Syn { explicit: true, be: false };
    let mut meta = DataSet { explicit_vr: true, ..Default::default() };
    while cur.peek_tag(false).is_some_and(|t| t.0 == 0x0002) {
        match cur.element(meta_syn, 1, opts, &mut meta) {
            Ok(_) => {}
            Err(PErr::NeedMore) => return Err(PErr::NeedMore),
            Err(PErr::Kind(k)) => return Err(k.into()),
        }
    }
    if has_preamble && meta.elements.is_empty() {
        return Err(ErrorKind::Malformed { offset: 132, reason: "DICM preamble without file meta information".into() }.into());
    }

    let declared = meta.string(tags::TRANSFER_SYNTAX_UID);
    let (mut syntax, syntax_declared) = match declared.as_deref().map(|u| (u, TransferSyntax::from_uid(u))) {
        Some((_, Some(ts))) => (ts, true),
        Some((uid, None)) => {
            // An unknown (e.g. video) syntax: all such syntaxes encode the data set explicit VR LE.
            let mut ts = TransferSyntax::guessed(true, false);
            ts.uid = uid.to_string();
            (ts, true)
        }
        None => (guess_syntax(&cur), false),
    };
    if !syntax_declared && cur.remaining() < 8 && !complete {
        return Err(PErr::NeedMore);
    }

    let syn = Syn { explicit: syntax.explicit_vr, be: syntax.big_endian };
    let (mut dataset, warnings) = if syntax.deflated {
        let (ds, mut w) = parse_deflated(&buf[cur.pos..], complete, syn, opts)?;
        let mut warnings = cur.warnings;
        warnings.append(&mut w);
        (ds, warnings)
    } else {
        let mut body = cur;
        let ds = body.dataset(syn, End::Eof, 0, opts)?;
        (ds, body.warnings)
    };
    dataset.resolve_charsets(&Default::default());
    if !syntax_declared {
        syntax = TransferSyntax::guessed(syn.explicit, syn.be);
    }
    Ok(Parsed { meta, dataset, syntax, syntax_declared, has_preamble, warnings, fragments_counted: None })
}

/// Without a preamble, the first element must look like DICOM: a known VR (explicit)
/// or an implicit length that fits the file.
fn plausible_first_element(buf: &[u8]) -> bool {
    if buf.len() < 8 {
        return false;
    }
    if Vr::is_known([buf[4], buf[5]]) {
        return true;
    }
    let le = u32::from_le_bytes(buf[4..8].try_into().unwrap()) as usize;
    let be = u32::from_be_bytes(buf[4..8].try_into().unwrap()) as usize;
    le <= buf.len() - 8 || be <= buf.len() - 8
}

/// Guesses the encoding from the first data set element (files without file meta).
fn guess_syntax(cur: &Cursor<'_>) -> TransferSyntax {
    let be = cur.peek_tag(false).is_some_and(|t| !plausible_first_group(t.0))
        && cur.peek_tag(true).is_some_and(|t| plausible_first_group(t.0));
    let explicit = cur.remaining() >= 6 && Vr::is_known([cur.buf[cur.pos + 4], cur.buf[cur.pos + 5]]);
    TransferSyntax::guessed(explicit, be)
}

/// A deflated data set may inflate to this many bytes whatever its compressed size …
const INFLATE_FLOOR: u64 = 16 << 20;
/// … and beyond that to this many times its compressed size. Real data sets (text, noisy
/// images) compress far less; only long runs of one value (a decompression bomb, or a blank
/// image) reach deflate's limit of about 1032 : 1.
const INFLATE_RATIO: u64 = 64;
/// A header-only read inflates in steps of at least this many bytes, and only until the
/// data set's header (everything before Pixel Data) has been read.
const INFLATE_STEP: usize = 64 * 1024;

/// The most a deflated data set of `compressed` bytes may inflate to.
pub fn inflate_limit(compressed: usize) -> u64 {
    (compressed as u64).saturating_mul(INFLATE_RATIO).max(INFLATE_FLOOR)
}

/// Reads a deflated data set (PS3.5 A.5) as a bounded stream: the inflated bytes may not pass
/// [`inflate_limit`] (a decompression bomb is an error before it is held), and a header-only
/// read inflates only as far as Pixel Data. `complete` says whether `data` is the whole rest
/// of the file (else a prefix; running out means read more).
fn parse_deflated(data: &[u8], complete: bool, syn: Syn, opts: ReadOptions) -> PResult<(DataSet, Vec<String>)> {
    let limit = inflate_limit(data.len());
    let mut inflater = flate2::Decompress::new(false);
    let mut out: Vec<u8> = Vec::new();
    let mut done = false;
    let fail = |reason: String| PErr::Kind(ErrorKind::Codec { codec: "deflate", reason });
    loop {
        // Grow geometrically (parsing restarts after each step), never past the limit + 1.
        let want = (out.len().max(INFLATE_STEP) as u64).min(limit + 1 - out.len() as u64) as usize;
        if !done && want > 0 {
            out.reserve_exact(want);
            let target = out.len() + want;
            while !done && out.len() < target {
                let before_in = inflater.total_in();
                let before_out = out.len();
                let consumed = before_in as usize;
                let input = data.get(consumed..).unwrap_or_default();
                let status = inflater
                    .decompress_vec(input, &mut out, flate2::FlushDecompress::None)
                    .map_err(|e| fail(format!("the deflated data set is corrupt: {e}")))?;
                let progressed = inflater.total_in() != before_in || out.len() != before_out;
                match status {
                    flate2::Status::StreamEnd => done = true,
                    _ if !progressed => {
                        if complete {
                            // Input exhausted without an end-of-stream: a cut file; parse what is there.
                            done = true;
                        } else {
                            return Err(PErr::NeedMore);
                        }
                    }
                    _ => {}
                }
            }
            if out.len() as u64 > limit {
                return Err(fail(format!(
                    "the deflated data set inflates to more than {limit} bytes from {} (refused as a decompression bomb)",
                    data.len()
                )));
            }
        }
        // A full read needs the whole stream; a header-only read tries what it has.
        if done || opts.stop_before_pixels {
            let mut body = Cursor { buf: &out, pos: 0, complete: done, warnings: Vec::new() };
            match body.dataset(syn, End::Eof, 0, opts) {
                Ok(ds) => return Ok((ds, body.warnings)),
                Err(PErr::NeedMore) if !done => {}
                Err(PErr::NeedMore) => return Err(fail("internal: a complete stream asked for more".into())),
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_le(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.0.to_le_bytes());
        v.extend_from_slice(&tag.1.to_le_bytes());
        v.extend_from_slice(vr);
        if Vr(*vr).has_long_length() {
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        v.extend_from_slice(value);
        v
    }

    fn file(body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend_from_slice(b"DICM");
        f.extend(explicit_le(tags::TRANSFER_SYNTAX_UID, b"UI", b"1.2.840.10008.1.2.1\0"));
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn reads_a_minimal_file() {
        let mut body = explicit_le(tags::MODALITY, b"CS", b"CT");
        body.extend(explicit_le(tags::ROWS, b"US", &2u16.to_le_bytes()));
        let p = parse(&file(&body), ReadOptions::default()).unwrap();
        assert_eq!(p.dataset.string(tags::MODALITY).as_deref(), Some("CT"));
        assert_eq!(p.dataset.int(tags::ROWS), Some(2));
        assert!(p.syntax_declared);
    }

    #[test]
    fn an_absurd_length_is_an_error_not_an_allocation() {
        let mut body = explicit_le(tags::MODALITY, b"CS", b"CT");
        let mut bad = explicit_le(tags::PATIENT_NAME, b"UT", b"");
        let n = bad.len();
        bad[n - 4..].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        body.extend(bad);
        let p = parse(&file(&body), ReadOptions::default()).unwrap();
        assert_eq!(p.dataset.string(tags::MODALITY).as_deref(), Some("CT"));
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    }

    #[test]
    fn text_is_not_dicom() {
        assert!(matches!(parse(b"hello, this is a text file with no DICOM in it at all", ReadOptions::default()), Err(ErrorKind::NotDicom)));
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Each level: (0008,1115) SQ undefined, item undefined.
        let mut body = Vec::new();
        for _ in 0..200 {
            body.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
            body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let err = parse(&file(&body), ReadOptions::default());
        assert!(matches!(err, Err(ErrorKind::Malformed { .. })), "{err:?}");
    }
}
