//! The in-memory data set: elements keyed by tag, values kept as raw bytes in the
//! byte order of the file, and typed accessors that decode on demand.
//!
//! Values are decoded lazily because most of a header is never looked at; keeping
//! the raw bytes also lets the anonymizer write elements back unchanged.

use std::collections::BTreeMap;
use std::fmt;

use crate::charset::{self, CharacterSet, PersonName};

/// A DICOM attribute tag (group, element).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub u16, pub u16);

impl Tag {
    pub const fn group(self) -> u16 {
        self.0
    }
    pub fn is_private(self) -> bool {
        self.0 % 2 == 1
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:04X},{:04X})", self.0, self.1)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A value representation, as its two ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vr(pub [u8; 2]);

impl Vr {
    pub const UN: Vr = Vr(*b"UN");
    pub const SQ: Vr = Vr(*b"SQ");
    pub const OB: Vr = Vr(*b"OB");
    pub const OW: Vr = Vr(*b"OW");
    pub const US: Vr = Vr(*b"US");
    pub const SS: Vr = Vr(*b"SS");
    pub const UL: Vr = Vr(*b"UL");
    pub const UI: Vr = Vr(*b"UI");

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// VRs that use the long (4-byte) length form in explicit VR encodings.
    pub fn has_long_length(self) -> bool {
        matches!(
            &self.0,
            b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"UC" | b"UN" | b"UR" | b"UT" | b"SV" | b"UV"
        )
    }

    /// Whether the two bytes are a VR defined by the standard.
    pub fn is_known(bytes: [u8; 2]) -> bool {
        matches!(
            &bytes,
            b"AE" | b"AS" | b"AT" | b"CS" | b"DA" | b"DS" | b"DT" | b"FD" | b"FL" | b"IS" | b"LO" | b"LT"
                | b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"PN" | b"SH" | b"SL" | b"SQ" | b"SS"
                | b"ST" | b"SV" | b"TM" | b"UC" | b"UI" | b"UL" | b"UN" | b"UR" | b"US" | b"UT" | b"UV"
        )
    }

    /// Size in bytes of one binary value, for VRs whose values need byte swapping.
    pub fn swap_width(self) -> usize {
        match &self.0 {
            b"US" | b"SS" | b"OW" => 2,
            b"UL" | b"SL" | b"FL" | b"OF" | b"OL" => 4,
            b"FD" | b"OD" | b"SV" | b"UV" | b"OV" => 8,
            b"AT" => 2,
            _ => 1,
        }
    }

    pub fn is_text(self) -> bool {
        matches!(
            &self.0,
            b"AE" | b"AS" | b"CS" | b"DA" | b"DS" | b"DT" | b"IS" | b"LO" | b"LT" | b"PN" | b"SH" | b"ST" | b"TM"
                | b"UC" | b"UI" | b"UR" | b"UT"
        )
    }
}

impl fmt::Debug for Vr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An element's value.
#[derive(Clone, Debug)]
pub enum Value {
    /// Raw value bytes, in the byte order of the data set that holds them.
    Bytes(Vec<u8>),
    /// A sequence of items.
    Seq(Vec<DataSet>),
    /// Encapsulated (compressed) pixel data: the basic offset table, then the fragments.
    Fragments { offset_table: Vec<u8>, fragments: Vec<Vec<u8>> },
    /// A value that was not read (pixel data when reading headers only): where it is.
    NotLoaded { offset: u64, length: u64 },
}

/// One data element.
#[derive(Clone, Debug)]
pub struct Element {
    pub tag: Tag,
    pub vr: Vr,
    pub value: Value,
}

/// A data set: the top-level object or one sequence item.
#[derive(Clone, Debug, Default)]
pub struct DataSet {
    pub elements: BTreeMap<Tag, Element>,
    /// Byte order of the binary values held here.
    pub big_endian: bool,
    /// Whether the data set was encoded with explicit VRs (kept for re-encoding).
    pub explicit_vr: bool,
    /// The character set its text values are in: its own Specific Character Set
    /// (0008,0005), else the enclosing data set's (PS3.5 §7.5.3). The reader sets it; a data
    /// set built in memory gets it from [`resolve_charsets`](Self::resolve_charsets).
    pub charset: CharacterSet,
}

impl DataSet {
    pub fn get(&self, tag: Tag) -> Option<&Element> {
        self.elements.get(&tag)
    }

    pub fn contains(&self, tag: Tag) -> bool {
        self.elements.contains_key(&tag)
    }

    pub fn bytes(&self, tag: Tag) -> Option<&[u8]> {
        match &self.get(tag)?.value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Items of a sequence (empty when absent or not a sequence).
    pub fn items(&self, tag: Tag) -> &[DataSet] {
        match self.get(tag).map(|e| &e.value) {
            Some(Value::Seq(items)) => items,
            _ => &[],
        }
    }

    /// The whole text value, decoded in the data set's character set (PN, LO, SH, ST, LT,
    /// UT, UC; the other VRs are ASCII), leading spaces and trailing padding removed; `None`
    /// when absent or empty.
    pub fn string(&self, tag: Tag) -> Option<String> {
        let s = self.decoded(tag)?;
        let s = s.trim_end_matches(['\0', ' ']).trim_start_matches(' ');
        (!s.is_empty()).then(|| s.to_string())
    }

    /// The values of a multi-valued text element, split at backslashes, trimmed.
    pub fn strings(&self, tag: Tag) -> Vec<String> {
        match self.decoded(tag) {
            Some(s) => s.split('\\').map(|s| s.trim_matches(['\0', ' ']).to_string()).collect(),
            None => Vec::new(),
        }
    }

    /// The values of a text element as pydicom gives them: decoded whole, then split at
    /// backslashes (except ST, LT, UT and UR, which have one value), trailing spaces and NULs
    /// removed from each, leading spaces kept; empty when absent or empty.
    pub fn text_values(&self, tag: Tag) -> Vec<String> {
        let Some(el) = self.get(tag) else { return Vec::new() };
        let Some(s) = self.decoded(tag) else { return Vec::new() };
        if s.trim_end_matches(['\0', ' ']).is_empty() {
            return Vec::new();
        }
        if matches!(&el.vr.0, b"ST" | b"LT" | b"UT" | b"UR") {
            return vec![s.trim_end_matches(['\0', ' ']).to_string()];
        }
        s.split('\\').map(|v| v.trim_end_matches(['\0', ' ']).to_string()).collect()
    }

    /// The values of a PN element, split into their component groups.
    pub fn person_names(&self, tag: Tag) -> Vec<PersonName> {
        self.text_values(tag).iter().map(|v| PersonName::parse(v)).collect()
    }

    /// An element's raw value decoded to text: in the data set's character set for the VRs
    /// that use it, as ASCII/UTF-8 (Latin-1 fallback) otherwise.
    pub fn decoded(&self, tag: Tag) -> Option<String> {
        let el = self.get(tag)?;
        let Value::Bytes(b) = &el.value else { return None };
        Some(self.decode_value(el.vr, b))
    }

    /// Decodes value bytes of VR `vr` held in this data set.
    pub fn decode_value(&self, vr: Vr, b: &[u8]) -> String {
        if charset::is_charset_vr(&vr.0) {
            self.charset.decode(b)
        } else {
            decode_text(b)
        }
    }

    /// Sets [`charset`](Self::charset) here and in every item below: each data set's own
    /// (0008,0005) if it has one, else `inherited`.
    pub fn resolve_charsets(&mut self, inherited: &CharacterSet) {
        self.charset = match self.bytes(crate::tags::SPECIFIC_CHARACTER_SET) {
            Some(b) => {
                let terms: Vec<String> = decode_text(b).split('\\').map(str::to_string).collect();
                let own = CharacterSet::from_terms(&terms);
                // An empty (0008,0005) in an item declares nothing: keep the parent's.
                if own.is_declared() { own } else { inherited.clone() }
            }
            None => inherited.clone(),
        };
        let cs = self.charset.clone();
        for el in self.elements.values_mut() {
            if let Value::Seq(items) = &mut el.value {
                for item in items {
                    item.resolve_charsets(&cs);
                }
            }
        }
    }

    /// Re-encodes every text value (here and in all items) as UTF-8 and declares ISO_IR 192
    /// here, dropping the items' own (0008,0005): for writing a data set that gets text in
    /// another repertoire than the one it was read in, so that bytes and declaration agree.
    pub fn to_utf8(&mut self) {
        self.transcode_items_to_utf8();
        let tag = crate::tags::SPECIFIC_CHARACTER_SET;
        self.elements.insert(tag, Element { tag, vr: Vr(*b"CS"), value: Value::Bytes(b"ISO_IR 192".to_vec()) });
    }

    fn transcode_items_to_utf8(&mut self) {
        let cs = std::mem::replace(&mut self.charset, CharacterSet::utf8());
        self.elements.remove(&crate::tags::SPECIFIC_CHARACTER_SET);
        for el in self.elements.values_mut() {
            match &mut el.value {
                Value::Bytes(b) if charset::is_charset_vr(&el.vr.0) => *b = cs.decode(b).into_bytes(),
                Value::Seq(items) => items.iter_mut().for_each(DataSet::transcode_items_to_utf8),
                _ => {}
            }
        }
    }

    /// Numeric values of an element, whatever its VR: IS/DS text or binary integers/floats.
    /// Values that do not parse are returned as `None` in their slot.
    pub fn numbers(&self, tag: Tag) -> Vec<Option<f64>> {
        let Some(el) = self.get(tag) else { return Vec::new() };
        let Value::Bytes(b) = &el.value else { return Vec::new() };
        let be = self.big_endian;
        match &el.vr.0 {
            b"IS" | b"DS" => decode_text(b)
                .split('\\')
                .map(|s| s.trim_matches(['\0', ' ']))
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<f64>().ok())
                .collect(),
            b"US" | b"OW" => chunks::<2>(b).map(|c| Some(u16_from(c, be) as f64)).collect(),
            b"SS" => chunks::<2>(b).map(|c| Some(u16_from(c, be) as i16 as f64)).collect(),
            b"UL" | b"OL" => chunks::<4>(b).map(|c| Some(u32_from(c, be) as f64)).collect(),
            b"SL" => chunks::<4>(b).map(|c| Some(u32_from(c, be) as i32 as f64)).collect(),
            b"FL" | b"OF" => chunks::<4>(b).map(|c| Some(f32::from_bits(u32_from(c, be)) as f64)).collect(),
            b"FD" | b"OD" => chunks::<8>(b).map(|c| Some(f64::from_bits(u64_from(c, be)))).collect(),
            // Unknown VR (implicit file, private or UN): try text, then a 16-bit integer.
            _ => {
                let t = decode_text(b);
                let t = t.trim_matches(['\0', ' ']);
                if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || b"+-.eE\\ ".contains(&c)) {
                    t.split('\\').map(|s| s.trim().parse::<f64>().ok()).collect()
                } else if b.len() == 2 {
                    vec![Some(u16_from(b.as_slice().try_into().unwrap(), be) as f64)]
                } else if b.len() == 4 {
                    vec![Some(u32_from(b.as_slice().try_into().unwrap(), be) as f64)]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// First numeric value, if present and parseable.
    pub fn number(&self, tag: Tag) -> Option<f64> {
        self.numbers(tag).into_iter().next().flatten()
    }

    /// First value as an integer, if present, parseable and integral.
    pub fn int(&self, tag: Tag) -> Option<i64> {
        let v = self.number(tag)?;
        (v.fract() == 0.0 && v.is_finite()).then_some(v as i64)
    }

    /// Like [`int`](Self::int) but distinguishes "absent" from "present but invalid".
    pub fn int_checked(&self, tag: Tag) -> Result<Option<i64>, String> {
        if !self.contains(tag) {
            return Ok(None);
        }
        match self.numbers(tag).into_iter().next() {
            None => Ok(None),
            Some(Some(v)) if v.fract() == 0.0 && v.is_finite() => Ok(Some(v as i64)),
            Some(_) => {
                let raw = self.bytes(tag).map(decode_text).unwrap_or_default();
                Err(format!("'{}' is not an integer", raw.trim_matches(['\0', ' '])))
            }
        }
    }

    /// Binary 16-bit words of an element (for LUT data), in native order.
    pub fn u16_words(&self, tag: Tag) -> Option<Vec<u16>> {
        let b = self.bytes(tag)?;
        Some(chunks::<2>(b).map(|c| u16_from(c, self.big_endian)).collect())
    }
}

pub(crate) fn chunks<const N: usize>(b: &[u8]) -> impl Iterator<Item = &[u8; N]> {
    b.chunks_exact(N).map(|c| c.try_into().expect("chunks_exact gives N bytes"))
}

pub(crate) fn u16_from(c: &[u8; 2], be: bool) -> u16 {
    if be { u16::from_be_bytes(*c) } else { u16::from_le_bytes(*c) }
}

pub(crate) fn u32_from(c: &[u8; 4], be: bool) -> u32 {
    if be { u32::from_be_bytes(*c) } else { u32::from_le_bytes(*c) }
}

pub(crate) fn u64_from(c: &[u8; 8], be: bool) -> u64 {
    if be { u64::from_be_bytes(*c) } else { u64::from_le_bytes(*c) }
}

/// Decodes bytes of a VR that is ASCII by definition (CS, DA, UI, IS …), or of text with no
/// character set declared: UTF-8 when valid (covers ASCII), else Latin-1. Text in a data set's
/// character set goes through [`DataSet::decoded`] instead.
pub fn decode_text(b: &[u8]) -> String {
    charset::decode_default(b)
}
