//! Writing a data set back to a PS3.10 file: little endian, explicit or implicit VR,
//! sequences and items with undefined length, encapsulated pixel data as fragments.
//! Big-endian data sets are byte-swapped to little endian on the way out.

use crate::dataset::{DataSet, Element, Tag, Value, Vr};
use crate::error::{ErrorKind, KindResult};
use crate::syntax;
use crate::tags;

/// Our implementation class UID (a 2.25 UUID-derived root) and version name.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.181236503516431744410256378945419315603";
pub const IMPLEMENTATION_VERSION_NAME: &str = "MEDLENS_0_1";

/// Serialises `ds` as a complete file with a fresh file meta group.
///
/// `transfer_syntax` is the syntax to declare; it must be little endian (native or
/// encapsulated). `explicit` chooses the VR encoding of the data set.
pub fn write_file(ds: &DataSet, sop_class: &str, sop_instance: &str, transfer_syntax: &str, explicit: bool) -> KindResult<Vec<u8>> {
    let mut meta = Vec::new();
    let le = Enc { explicit: true };
    le.element_bytes(&mut meta, Tag(0x0002, 0x0001), Vr::OB, &[0, 1]);
    le.element_bytes(&mut meta, tags::MEDIA_STORAGE_SOP_CLASS_UID, Vr::UI, &pad_uid(sop_class));
    le.element_bytes(&mut meta, tags::MEDIA_STORAGE_SOP_INSTANCE_UID, Vr::UI, &pad_uid(sop_instance));
    le.element_bytes(&mut meta, tags::TRANSFER_SYNTAX_UID, Vr::UI, &pad_uid(transfer_syntax));
    le.element_bytes(&mut meta, tags::IMPLEMENTATION_CLASS_UID, Vr::UI, &pad_uid(IMPLEMENTATION_CLASS_UID));
    le.element_bytes(&mut meta, tags::IMPLEMENTATION_VERSION_NAME, Vr(*b"SH"), &pad_text(IMPLEMENTATION_VERSION_NAME));

    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    le.element_bytes(&mut out, tags::FILE_META_GROUP_LENGTH, Vr::UL, &(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    if transfer_syntax == syntax::EXPLICIT_VR_BIG_ENDIAN || transfer_syntax == syntax::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN {
        return Err(ErrorKind::Output(format!("writing {transfer_syntax} is not supported")));
    }
    Enc { explicit }.dataset(&mut out, ds)?;
    Ok(out)
}

/// A new UID: `2.25.` and 128 random bits (PS3.5 B.2, UUID-derived).
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the operating system's random source");
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// Pads a UID to even length with NUL.
pub fn pad_uid(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// Pads text to even length with a space.
pub fn pad_text(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(b' ');
    }
    v
}

struct Enc {
    explicit: bool,
}

impl Enc {
    fn header(&self, out: &mut Vec<u8>, tag: Tag, vr: Vr, len: u32) {
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        if self.explicit {
            out.extend_from_slice(&vr.0);
            if vr.has_long_length() {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&len.to_le_bytes());
            } else {
                out.extend_from_slice(&(len as u16).to_le_bytes());
            }
        } else {
            out.extend_from_slice(&len.to_le_bytes());
        }
    }

    fn element_bytes(&self, out: &mut Vec<u8>, tag: Tag, vr: Vr, value: &[u8]) {
        // Values too long for a short length field go out as UN (PS3.5 6.2.2).
        // The declared length counts the pad byte: values are even-length on the wire.
        let padded = value.len() + value.len() % 2;
        let vr = if self.explicit && !vr.has_long_length() && padded > 0xFFFF { Vr::UN } else { vr };
        self.header(out, tag, vr, padded as u32);
        out.extend_from_slice(value);
        if value.len() % 2 == 1 {
            out.push(if vr.is_text() && vr != Vr::UI { b' ' } else { 0 });
        }
    }

    fn dataset(&self, out: &mut Vec<u8>, ds: &DataSet) -> KindResult<()> {
        for el in ds.elements.values() {
            if el.tag.group() == 0x0002 {
                continue;
            }
            self.element(out, el, ds.big_endian)?;
        }
        Ok(())
    }

    fn element(&self, out: &mut Vec<u8>, el: &Element, big_endian: bool) -> KindResult<()> {
        match &el.value {
            Value::Bytes(b) => {
                if big_endian && el.vr.swap_width() > 1 {
                    let w = el.vr.swap_width();
                    let mut v = b.clone();
                    for c in v.chunks_exact_mut(w) {
                        c.reverse();
                    }
                    self.element_bytes(out, el.tag, el.vr, &v);
                } else {
                    self.element_bytes(out, el.tag, el.vr, b);
                }
            }
            Value::Seq(items) => {
                self.header(out, el.tag, Vr::SQ, u32::MAX);
                for item in items {
                    self.header_item(out, tags::ITEM, u32::MAX);
                    self.dataset(out, item)?;
                    self.header_item(out, tags::ITEM_DELIMITATION, 0);
                }
                self.header_item(out, tags::SEQUENCE_DELIMITATION, 0);
            }
            Value::Fragments { offset_table, fragments } => {
                self.header(out, el.tag, Vr::OB, u32::MAX);
                self.header_item(out, tags::ITEM, offset_table.len() as u32);
                out.extend_from_slice(offset_table);
                for f in fragments {
                    let odd = f.len() % 2;
                    self.header_item(out, tags::ITEM, (f.len() + odd) as u32);
                    out.extend_from_slice(f);
                    if odd == 1 {
                        out.push(0);
                    }
                }
                self.header_item(out, tags::SEQUENCE_DELIMITATION, 0);
            }
            Value::NotLoaded { .. } => {
                return Err(ErrorKind::Output(format!("element {} was not loaded and cannot be written", el.tag)))
            }
        }
        Ok(())
    }

    fn header_item(&self, out: &mut Vec<u8>, tag: Tag, len: u32) {
        out.extend_from_slice(&tag.0.to_le_bytes());
        out.extend_from_slice(&tag.1.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
}
