//! Specific Character Set (0008,0005): how text values are turned into Unicode
//! (PS3.5 §6.1, PS3.3 C.12.1.1.2).
//!
//! Only the VRs whose repertoire the data set may replace are decoded with it: PN, LO,
//! SH, ST, LT, UT and UC ([`is_charset_vr`]). The others (CS, AE, DA, UI …) are ASCII by
//! definition and go through [`decode_default`].
//!
//! Decoding follows pydicom's reading path (checked against it by
//! `tests/charset.rs` on pydicom's own charset files), so a header reads the same here as in
//! the tools our users compare with:
//! - Value 1 of (0008,0005) is the initial set: a value without escape sequences is decoded
//!   with it alone. GB18030, GBK and UTF-8 allow no code extensions: further values are
//!   ignored after them, and dropped when they come later.
//! - With ISO 2022 code extensions, each escape sequence switches to the set it designates
//!   until the next escape, or, for single-byte and EUC-style sets, until a CR, LF, TAB or
//!   FF, after which the initial set is back. Sets whose G0 holds two-byte characters
//!   (JIS X 0208, JIS X 0212) cannot be reset by a delimiter byte (`^` or `\` may be half of
//!   a character there), so they run to the next escape.
//! - The whole value is decoded before it is split at `\`, since in GB18030, GBK and the
//!   JIS sets a `\` byte can be the second half of a character.
//! - Nothing fails: an unknown term is read as the default repertoire, a part that does not
//!   decode in its set is read in the initial set with U+FFFD for bytes that have no
//!   character (pydicom's fallback, without its warning).
//!
//! Where we differ from pydicom on purpose (documented in `tests/dicom/charset/README.md`):
//! a data set without (0008,0005) whose bytes are valid UTF-8 is read as UTF-8 (pydicom
//! reads Latin-1; modern writers that forget the attribute write UTF-8); ISO 2022 IR 58
//! text loses its escape sequence (pydicom leaves `ESC $ ) A` in the decoded string); and
//! GB18030 follows the 2022 table (Python's codec has the 2000 one: 21 code points differ).
//!
//! The character tables are encoding_rs's (WHATWG), with the standards put back where WHATWG
//! follows a vendor: ISO 8859's C1 controls at 0x80–0x9F (WHATWG maps some labels to Windows
//! code pages), and the JIS X 0208/0212 and GB 2312 codes that WHATWG maps as CP932/CP936 do
//! (wave dash, minus, cent …; see `decode_jis_g0` and [`Coding::Gb2312`]).

use encoding_rs::Encoding;

const ESC: u8 = 0x1B;

/// Bytes at which a set invoked by an escape sequence gives way to the initial set again
/// (CR, LF, TAB, FF; PS3.5 §6.1.2.5.3). pydicom uses these for every text VR on reading,
/// PN included (the PN delimiters `^` and `=` are ASCII in every set DICOM allows beside
/// the two-byte G0 sets, where they cannot be treated as delimiters at all).
const DELIMITERS: [u8; 4] = [0x0D, 0x0A, 0x09, 0x0C];

/// One coded character set, as a defined term of (0008,0005) or an escape sequence names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// The default repertoire (ISO_IR 6, ISO 2022 IR 6, an empty value). Bytes above 0x7F,
    /// which it does not have, are read as Latin-1 (pydicom does the same).
    Default,
    /// ISO_IR 100, ISO 8859-1.
    Latin1,
    /// The other ISO 8859 parts and TIS 620, through encoding_rs's single-byte tables.
    SingleByte(SingleByte),
    /// ISO_IR 13 / ISO 2022 IR 13 (JIS X 0201 katakana in G1, roman in G0), read with a
    /// Shift_JIS decoder as pydicom does, which also reads the two-byte Shift_JIS that some
    /// Japanese writers put under this term.
    JisX0201,
    /// ISO 2022 IR 87, JIS X 0208 in G0 (`ESC $ B`).
    JisX0208,
    /// ISO 2022 IR 159, JIS X 0212 in G0 (`ESC $ ( D`).
    JisX0212,
    /// ISO 2022 IR 149, KS X 1001 in G1 (`ESC $ ) C`), EUC-KR.
    KsX1001,
    /// ISO 2022 IR 58, GB 2312 in G1 (`ESC $ ) A`), EUC-CN.
    Gb2312,
    /// ISO_IR 192.
    Utf8,
    /// GB18030.
    Gb18030,
    /// GBK (and CP1234's ISO 2022 GBK).
    Gbk,
}

/// The single-byte sets read through encoding_rs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SingleByte {
    /// ISO_IR 101, Latin alphabet No. 2.
    Latin2,
    /// ISO_IR 109, Latin alphabet No. 3.
    Latin3,
    /// ISO_IR 110, Latin alphabet No. 4.
    Latin4,
    /// ISO_IR 144, Cyrillic (ISO 8859-5).
    Cyrillic,
    /// ISO_IR 127, Arabic (ISO 8859-6).
    Arabic,
    /// ISO_IR 126, Greek (ISO 8859-7).
    Greek,
    /// ISO_IR 138, Hebrew (ISO 8859-8).
    Hebrew,
    /// ISO_IR 148, Latin alphabet No. 5 (ISO 8859-9).
    Latin5,
    /// ISO_IR 166, Thai (TIS 620).
    Thai,
    /// A set named by an encoding label rather than a DICOM term (pydicom accepts Python codec
    /// names there; we accept WHATWG labels of single-byte encodings).
    Other(&'static Encoding),
}

impl SingleByte {
    fn encoding(self) -> &'static Encoding {
        match self {
            SingleByte::Latin2 => encoding_rs::ISO_8859_2,
            SingleByte::Latin3 => encoding_rs::ISO_8859_3,
            SingleByte::Latin4 => encoding_rs::ISO_8859_4,
            SingleByte::Cyrillic => encoding_rs::ISO_8859_5,
            SingleByte::Arabic => encoding_rs::ISO_8859_6,
            SingleByte::Greek => encoding_rs::ISO_8859_7,
            SingleByte::Hebrew => encoding_rs::ISO_8859_8,
            // WHATWG has no ISO 8859-9 table: windows-1254 is the same in 0xA0–0xFF.
            SingleByte::Latin5 => encoding_rs::WINDOWS_1254,
            // TIS 620 is windows-874 without its 0x80–0xA0 additions.
            SingleByte::Thai => encoding_rs::WINDOWS_874,
            SingleByte::Other(e) => e,
        }
    }

    /// One byte of the upper half; `None` where the set has no character.
    fn upper(self, b: u8) -> Option<char> {
        if let SingleByte::Other(e) = self {
            return decode_strict_with(e, &[b]).and_then(|s| s.chars().next());
        }
        if (0x80..0xA0).contains(&b) {
            // ISO 8859 and TIS 620: C1 controls.
            return char::from_u32(b as u32);
        }
        if self == SingleByte::Thai && b == 0xA0 {
            return None;
        }
        decode_strict_with(self.encoding(), &[b]).and_then(|s| s.chars().next())
    }
}

fn decode_strict_with(e: &'static Encoding, b: &[u8]) -> Option<String> {
    e.decode_without_bom_handling_and_without_replacement(b).map(|c| c.into_owned())
}

fn decode_lossy_with(e: &'static Encoding, b: &[u8]) -> String {
    e.decode_without_bom_handling(b).0.into_owned()
}

impl Coding {
    /// The set a defined term names (after pydicom's repairs of common misspellings:
    /// `ISO IR 100`, `ISO-IR 100` → `ISO_IR 100`; `ISO_2022_IR 87` → `ISO 2022 IR 87`);
    /// `None` for an unknown term.
    pub fn from_term(term: &str) -> Option<Coding> {
        let term = term.trim_matches(|c: char| c == ' ' || c == '\0');
        if let Some(c) = Self::from_exact_term(term) {
            return Some(c);
        }
        let b = term.as_bytes();
        // `get`: the term came from the file and may hold any character after the prefix.
        if b.len() > 6 && term.starts_with("ISO") && b[3] != b'_' && &b[4..6] == b"IR" {
            return Self::from_exact_term(&format!("ISO_IR{}", term.get(6..)?));
        }
        if b.len() > 12 && term.starts_with("ISO") && &b[4..8] == b"2022" && &b[9..11] == b"IR" && !term.starts_with("ISO 2022 IR ") {
            return Self::from_exact_term(&format!("ISO 2022 IR {}", term.get(12..)?));
        }
        // pydicom also takes a Python codec name; the common ones are WHATWG labels too.
        let e = Encoding::for_label_no_replacement(term.as_bytes())?;
        Some(if e == encoding_rs::UTF_8 {
            Coding::Utf8
        } else if e == encoding_rs::GB18030 {
            Coding::Gb18030
        } else if e == encoding_rs::GBK {
            Coding::Gbk
        } else if e == encoding_rs::SHIFT_JIS {
            Coding::JisX0201
        } else if e == encoding_rs::EUC_KR {
            Coding::KsX1001
        } else if e == encoding_rs::WINDOWS_1252 && !term.to_ascii_lowercase().contains("1252") {
            // "latin1", "iso-8859-1": WHATWG reads these as windows-1252, Python as Latin-1.
            Coding::Latin1
        } else if e.is_single_byte() {
            Coding::SingleByte(SingleByte::Other(e))
        } else {
            return None;
        })
    }

    fn from_exact_term(term: &str) -> Option<Coding> {
        use SingleByte::*;
        Some(match term {
            "" | "ISO_IR 6" | "ISO 2022 IR 6" => Coding::Default,
            "ISO_IR 100" | "ISO 2022 IR 100" => Coding::Latin1,
            "ISO_IR 101" | "ISO 2022 IR 101" => Coding::SingleByte(Latin2),
            "ISO_IR 109" | "ISO 2022 IR 109" => Coding::SingleByte(Latin3),
            "ISO_IR 110" | "ISO 2022 IR 110" => Coding::SingleByte(Latin4),
            "ISO_IR 144" | "ISO 2022 IR 144" => Coding::SingleByte(Cyrillic),
            "ISO_IR 127" | "ISO 2022 IR 127" => Coding::SingleByte(Arabic),
            "ISO_IR 126" | "ISO 2022 IR 126" => Coding::SingleByte(Greek),
            "ISO_IR 138" | "ISO 2022 IR 138" => Coding::SingleByte(Hebrew),
            "ISO_IR 148" | "ISO 2022 IR 148" => Coding::SingleByte(Latin5),
            "ISO_IR 166" | "ISO 2022 IR 166" => Coding::SingleByte(Thai),
            "ISO_IR 13" | "ISO 2022 IR 13" => Coding::JisX0201,
            "ISO 2022 IR 87" => Coding::JisX0208,
            "ISO 2022 IR 159" => Coding::JisX0212,
            "ISO 2022 IR 149" => Coding::KsX1001,
            // "ISO 2022 58" is CP1234's spelling.
            "ISO 2022 IR 58" | "ISO 2022 58" => Coding::Gb2312,
            "ISO_IR 192" => Coding::Utf8,
            "GB18030" => Coding::Gb18030,
            "GBK" | "ISO 2022 GBK" => Coding::Gbk,
            _ => return None,
        })
    }

    /// Sets that exclude code extensions (PS3.5 §6.1.2.5.4 d, PS3.3 Table C.12-5).
    fn stand_alone(self) -> bool {
        matches!(self, Coding::Utf8 | Coding::Gb18030 | Coding::Gbk)
    }

    /// Sets whose G0 is two bytes per character: a delimiter byte there is half a
    /// character, so only the next escape sequence ends them.
    fn two_byte_g0(self) -> bool {
        matches!(self, Coding::JisX0208 | Coding::JisX0212)
    }

    /// The set an escape sequence designates (PS3.3 Tables C.12-3 and C.12-4).
    fn from_escape(seq: &[u8]) -> Option<Coding> {
        use SingleByte::*;
        Some(match seq {
            b"\x1b(B" => Coding::Default,
            b"\x1b-A" => Coding::Latin1,
            b"\x1b)I" | b"\x1b(J" => Coding::JisX0201,
            b"\x1b$B" => Coding::JisX0208,
            b"\x1b$(D" => Coding::JisX0212,
            b"\x1b-B" => Coding::SingleByte(Latin2),
            b"\x1b-C" => Coding::SingleByte(Latin3),
            b"\x1b-D" => Coding::SingleByte(Latin4),
            b"\x1b-F" => Coding::SingleByte(Greek),
            b"\x1b-G" => Coding::SingleByte(Arabic),
            b"\x1b-H" => Coding::SingleByte(Hebrew),
            b"\x1b-L" => Coding::SingleByte(Cyrillic),
            b"\x1b-M" => Coding::SingleByte(Latin5),
            b"\x1b-T" => Coding::SingleByte(Thai),
            b"\x1b$)C" => Coding::KsX1001,
            b"\x1b$)A" => Coding::Gb2312,
            _ => return None,
        })
    }

    /// Decodes bytes in this set; `None` if a byte sequence has no character in it.
    fn decode_strict(self, b: &[u8]) -> Option<String> {
        if b.is_ascii() && !self.two_byte_g0() {
            return Some(String::from_utf8(b.to_vec()).expect("ASCII"));
        }
        match self {
            Coding::Default | Coding::Latin1 => Some(b.iter().map(|&c| c as char).collect()),
            Coding::SingleByte(s) => b.iter().map(|&c| if c < 0x80 { Some(c as char) } else { s.upper(c) }).collect(),
            Coding::JisX0201 => decode_strict_with(encoding_rs::SHIFT_JIS, b),
            Coding::JisX0208 | Coding::JisX0212 => decode_jis_g0(b, self == Coding::JisX0212),
            // encoding_rs reads EUC-KR as its superset UHC and EUC-CN as GBK: only bytes of the
            // 94×94 sets themselves (0xA1–0xFE) are taken, as Python's codecs do.
            Coding::KsX1001 => euc_94x94(b).then(|| decode_strict_with(encoding_rs::EUC_KR, b)).flatten(),
            // GBK (CP936) maps two GB 2312 codes differently from GB 2312 itself (and Python):
            // A1A4 is U+30FB, A1AA U+2015. Only those codes give these characters in 0xA1–0xFE.
            Coding::Gb2312 => euc_94x94(b)
                .then(|| decode_strict_with(encoding_rs::GBK, b))
                .flatten()
                .map(|s| s.replace('\u{B7}', "\u{30FB}").replace('\u{2014}', "\u{2015}")),
            Coding::Gbk => decode_strict_with(encoding_rs::GBK, b),
            Coding::Gb18030 => decode_strict_with(encoding_rs::GB18030, b),
            Coding::Utf8 => std::str::from_utf8(b).ok().map(str::to_string),
        }
    }

    /// Decodes bytes in this set, U+FFFD where a sequence has no character.
    fn decode_lossy(self, b: &[u8]) -> String {
        if let Some(s) = self.decode_strict(b) {
            return s;
        }
        match self {
            Coding::SingleByte(s) => {
                b.iter().map(|&c| if c < 0x80 { c as char } else { s.upper(c).unwrap_or('\u{FFFD}') }).collect()
            }
            Coding::JisX0201 => decode_lossy_with(encoding_rs::SHIFT_JIS, b),
            Coding::KsX1001 => decode_lossy_with(encoding_rs::EUC_KR, b),
            Coding::Gb2312 | Coding::Gbk => decode_lossy_with(encoding_rs::GBK, b),
            Coding::Gb18030 => decode_lossy_with(encoding_rs::GB18030, b),
            Coding::Utf8 => String::from_utf8_lossy(b).into_owned(),
            // Two-byte G0 sets as an initial set (not allowed): ASCII, U+FFFD above.
            Coding::JisX0208 | Coding::JisX0212 => b.iter().map(|&c| if c < 0x80 { c as char } else { '\u{FFFD}' }).collect(),
            Coding::Default | Coding::Latin1 => unreachable!("Latin-1 decodes every byte"),
        }
    }
}

/// Whether every byte above 0x7F is in 0xA1–0xFE (the G1 form of a 94×94 set).
fn euc_94x94(b: &[u8]) -> bool {
    b.iter().all(|&c| c < 0x80 || (0xA1..=0xFE).contains(&c))
}

/// JIS X 0208 / 0212 in G0 after their escape sequence: pairs of bytes 0x21–0x7E, through
/// encoding_rs's EUC-JP tables (the pair with the high bits set; JIS X 0212 behind the 0x8F
/// single shift). Control characters pass through without ending the set, as in Python's
/// ISO-2022-JP codec; anything else (a space, an odd byte, a byte above 0x7E) fails.
/// (Codes outside JIS X 0208 that WHATWG's table adds, NEC rows 13 and 89–92, are accepted.)
fn decode_jis_g0(b: &[u8], x0212: bool) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x20 {
            out.push(c as char);
            i += 1;
            continue;
        }
        let (&c1, &c2) = (b.get(i)?, b.get(i + 1)?);
        if !(0x21..=0x7E).contains(&c1) || !(0x21..=0x7E).contains(&c2) {
            return None;
        }
        // WHATWG's tables follow Microsoft's CP932 for a few JIS codes; JIS itself (and
        // Python, glibc) maps them to these.
        let jis = match (x0212, c1, c2) {
            (false, 0x21, 0x41) => Some('\u{301C}'), // WAVE DASH, not FULLWIDTH TILDE
            (false, 0x21, 0x42) => Some('\u{2016}'), // DOUBLE VERTICAL LINE
            (false, 0x21, 0x5D) => Some('\u{2212}'), // MINUS SIGN
            (false, 0x21, 0x71) => Some('\u{A2}'),   // CENT SIGN
            (false, 0x21, 0x72) => Some('\u{A3}'),   // POUND SIGN
            (false, 0x22, 0x4C) => Some('\u{AC}'),   // NOT SIGN
            (true, 0x22, 0x37) => Some('~'),          // JIS X 0212 TILDE
            _ => None,
        };
        if let Some(c) = jis {
            out.push(c);
            i += 2;
            continue;
        }
        let euc: &[u8] = if x0212 { &[0x8F, c1 | 0x80, c2 | 0x80] } else { &[c1 | 0x80, c2 | 0x80] };
        out.push_str(&decode_strict_with(encoding_rs::EUC_JP, euc)?);
        i += 2;
    }
    Some(out)
}

/// The character sets of a data set: the initial set and the code extensions it may invoke,
/// or nothing declared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CharacterSet {
    /// Empty when the data set declares none; otherwise the initial set first.
    codings: Vec<Coding>,
}

impl CharacterSet {
    /// From the values of (0008,0005). Unknown terms are read as the default repertoire (as
    /// pydicom does); an attribute with no value declares nothing.
    pub fn from_terms<S: AsRef<str>>(terms: &[S]) -> CharacterSet {
        if terms.iter().all(|t| t.as_ref().trim_matches([' ', '\0']).is_empty()) {
            return CharacterSet::default();
        }
        let mut codings: Vec<Coding> = terms.iter().map(|t| Coding::from_term(t.as_ref()).unwrap_or(Coding::Default)).collect();
        if codings[0].stand_alone() {
            codings.truncate(1);
        } else {
            let first = codings[0];
            codings = std::iter::once(first).chain(codings[1..].iter().copied().filter(|c| !c.stand_alone())).collect();
        }
        CharacterSet { codings }
    }

    /// ISO_IR 192, the set everything we write declares.
    pub fn utf8() -> CharacterSet {
        CharacterSet { codings: vec![Coding::Utf8] }
    }

    /// Whether (0008,0005) declared anything.
    pub fn is_declared(&self) -> bool {
        !self.codings.is_empty()
    }

    /// The initial set and the extensions, in the order declared.
    pub fn codings(&self) -> &[Coding] {
        &self.codings
    }

    /// Decodes a whole text value (all its values, backslashes included).
    pub fn decode(&self, b: &[u8]) -> String {
        let Some(&first) = self.codings.first() else {
            return decode_default(b);
        };
        if !b.contains(&ESC) {
            return first.decode_lossy(b);
        }
        let mut out = String::with_capacity(b.len());
        let mut rest = b;
        while !rest.is_empty() {
            // The next fragment runs to the next escape (or the end).
            let end = rest[1..].iter().position(|&c| c == ESC).map_or(rest.len(), |p| p + 1);
            let (fragment, tail) = rest.split_at(end);
            rest = tail;
            if fragment[0] != ESC {
                out.push_str(&first.decode_lossy(fragment));
                continue;
            }
            let seq_len = if fragment.starts_with(b"\x1b$(") || fragment.starts_with(b"\x1b$)") { 4 } else { 3 };
            let seq = &fragment[..seq_len.min(fragment.len())];
            let decoded = Coding::from_escape(seq)
                // A set that is not declared is not used (pydicom), except the default G0.
                .filter(|c| *c == Coding::Default || self.codings.contains(c))
                .and_then(|c| {
                    let text = &fragment[seq.len()..];
                    let cut = if c.two_byte_g0() || c == Coding::Gb2312 {
                        // GB 2312: pydicom hands the fragment to Python's codec, which ignores
                        // delimiters; we do too (only the escape sequence is not kept).
                        None
                    } else {
                        text.iter().position(|x| DELIMITERS.contains(x))
                    };
                    match cut {
                        Some(i) => Some(c.decode_strict(&text[..i])? + &first.decode_strict(&text[i..])?),
                        None => c.decode_strict(text),
                    }
                });
            // An unknown or undeclared escape, or bytes the set has no character for: the
            // whole fragment in the initial set (escape bytes included), as pydicom does.
            out.push_str(&decoded.unwrap_or_else(|| first.decode_lossy(fragment)));
        }
        out
    }
}

/// Whether values of this VR are in the data set's character set (the others are ASCII).
pub fn is_charset_vr(vr: &[u8; 2]) -> bool {
    matches!(vr, b"PN" | b"LO" | b"SH" | b"ST" | b"LT" | b"UT" | b"UC")
}

/// Text without a declared character set: UTF-8 when the bytes are valid UTF-8 (which covers
/// ASCII, and the UTF-8 that writers forgetting (0008,0005) produce), else Latin-1 (what
/// pydicom reads). Never fails.
pub fn decode_default(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(),
    }
}

/// A person name's three component groups (PS3.5 §6.2.1): alphabetic, ideographic,
/// phonetic, each with its `^`-separated components.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonName {
    pub alphabetic: String,
    pub ideographic: String,
    pub phonetic: String,
}

impl PersonName {
    /// Splits one decoded PN value at `=`.
    pub fn parse(value: &str) -> PersonName {
        let mut groups = value.splitn(3, '=').map(str::to_string);
        PersonName {
            alphabetic: groups.next().unwrap_or_default(),
            ideographic: groups.next().unwrap_or_default(),
            phonetic: groups.next().unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for PersonName {
    /// The groups joined by `=`, without trailing empty groups (`Wang^XiaoDong=王^小東=`
    /// shows as `Wang^XiaoDong=王^小東`, as in pydicom).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups = [&self.alphabetic, &self.ideographic, &self.phonetic];
        let n = groups.iter().rposition(|g| !g.is_empty()).map_or(0, |i| i + 1);
        for (i, g) in groups[..n].iter().enumerate() {
            if i > 0 {
                f.write_str("=")?;
            }
            f.write_str(g)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_and_repairs() {
        assert_eq!(Coding::from_term("ISO IR 100"), Some(Coding::Latin1));
        assert_eq!(Coding::from_term("ISO-IR 144"), Some(Coding::SingleByte(SingleByte::Cyrillic)));
        assert_eq!(Coding::from_term("ISO_2022_IR 87"), Some(Coding::JisX0208));
        assert_eq!(Coding::from_term("utf-8"), Some(Coding::Utf8));
        assert_eq!(Coding::from_term("ISO_IR 999"), None);
        let cs = CharacterSet::from_terms(&["ISO_IR 192", "ISO 2022 IR 87"]);
        assert_eq!(cs.codings(), &[Coding::Utf8]);
        let cs = CharacterSet::from_terms(&["ISO 2022 IR 100", "GB18030", "ISO 2022 IR 126"]);
        assert_eq!(cs.codings(), &[Coding::Latin1, Coding::SingleByte(SingleByte::Greek)]);
        assert!(!CharacterSet::from_terms(&["", " "]).is_declared());
        // Odd characters where a repaired term is cut must not panic.
        assert_eq!(Coding::from_term("ISO 2022 IRé87"), None);
        assert_eq!(Coding::from_term("ISO IRé"), None);
    }

    /// Random bytes, escapes sprinkled in, in every set and combination: decoding never
    /// panics, and gives at most one character per byte.
    #[test]
    fn random_bytes_never_panic() {
        let terms = [
            "", "ISO_IR 100", "ISO_IR 101", "ISO_IR 109", "ISO_IR 110", "ISO_IR 126", "ISO_IR 127", "ISO_IR 138",
            "ISO_IR 144", "ISO_IR 148", "ISO_IR 166", "ISO_IR 13", "ISO 2022 IR 87", "ISO 2022 IR 159",
            "ISO 2022 IR 149", "ISO 2022 IR 58", "ISO_IR 192", "GB18030", "GBK", "latin1", "junk",
        ];
        let escapes: [&[u8]; 8] = [b"\x1b$B", b"\x1b(B", b"\x1b$)C", b"\x1b$(D", b"\x1b-F", b"\x1b)I", b"\x1b$)A", b"\x1b(J"];
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let (a, b) = (terms[next() as usize % terms.len()], terms[next() as usize % terms.len()]);
            let cs = CharacterSet::from_terms(&[a, b]);
            let mut v = Vec::new();
            for _ in 0..next() % 40 {
                match next() % 6 {
                    0 => v.extend_from_slice(escapes[next() as usize % escapes.len()]),
                    1 => v.extend_from_slice(b"^=\\\r\n"),
                    _ => v.push(next() as u8),
                }
            }
            let s = cs.decode(&v);
            assert!(s.chars().count() <= v.len());
        }
    }

    #[test]
    fn never_panics_on_odd_bytes() {
        let sets = [
            vec!["", "ISO 2022 IR 87"],
            vec!["ISO 2022 IR 13", "ISO 2022 IR 87", "ISO 2022 IR 159"],
            vec!["", "ISO 2022 IR 149"],
            vec!["", "ISO 2022 IR 58"],
            vec!["ISO_IR 166"],
            vec!["GB18030"],
            vec!["nonsense"],
        ];
        let samples: [&[u8]; 8] = [b"\x1b", b"\x1b$", b"\x1b$)", b"a\x1b$B;", b"\x1b$B\xff\xfe", b"\x1b$(D\x21", b"\x1b$)C\xff", b"\x1b\x1b\x1b"];
        for s in &sets {
            let cs = CharacterSet::from_terms(s);
            for b in samples {
                let _ = cs.decode(b);
            }
            let all: Vec<u8> = (0..=255).collect();
            let _ = cs.decode(&all);
        }
    }

    #[test]
    fn person_name_groups() {
        let p = PersonName::parse("Wang^XiaoDong=王^小東=");
        assert_eq!(p.ideographic, "王^小東");
        assert_eq!(p.to_string(), "Wang^XiaoDong=王^小東");
        assert_eq!(PersonName::parse("^^^^").to_string(), "^^^^");
    }
}
