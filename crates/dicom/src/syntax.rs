//! Transfer syntaxes: how the data set is encoded and, for encapsulated pixel data,
//! which codec compressed it.

use serde::Serialize;

/// Codec of encapsulated pixel data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Codec {
    /// JPEG baseline (8-bit) and extended (12-bit) DCT, processes 1, 2 and 4.
    JpegDct,
    /// JPEG lossless, process 14 (any predictor, including selection value 1).
    JpegLossless,
    /// JPEG-LS lossless and near-lossless.
    JpegLs,
    /// JPEG 2000 (Part 1) and High-Throughput JPEG 2000.
    Jpeg2000,
    /// RLE Lossless.
    Rle,
}

/// A transfer syntax: the encoding of the data set after the file meta information.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransferSyntax {
    pub uid: String,
    pub explicit_vr: bool,
    pub big_endian: bool,
    pub deflated: bool,
    pub codec: Option<Codec>,
    /// Whether the codec loses information.
    pub lossy: bool,
}

pub const IMPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
pub const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1.99";
pub const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

impl TransferSyntax {
    /// The syntax for a UID, or `None` when the UID names no syntax this crate knows.
    pub fn from_uid(uid: &str) -> Option<Self> {
        let uid = uid.trim_end_matches(['\0', ' ']);
        let ts = |explicit_vr, big_endian, deflated, codec, lossy| TransferSyntax {
            uid: uid.to_string(),
            explicit_vr,
            big_endian,
            deflated,
            codec,
            lossy,
        };
        Some(match uid {
            IMPLICIT_VR_LITTLE_ENDIAN => ts(false, false, false, None, false),
            EXPLICIT_VR_LITTLE_ENDIAN => ts(true, false, false, None, false),
            DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => ts(true, false, true, None, false),
            EXPLICIT_VR_BIG_ENDIAN => ts(true, true, false, None, false),
            "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51" => ts(true, false, false, Some(Codec::JpegDct), true),
            "1.2.840.10008.1.2.4.57" | "1.2.840.10008.1.2.4.70" => {
                ts(true, false, false, Some(Codec::JpegLossless), false)
            }
            "1.2.840.10008.1.2.4.80" => ts(true, false, false, Some(Codec::JpegLs), false),
            "1.2.840.10008.1.2.4.81" => ts(true, false, false, Some(Codec::JpegLs), true),
            "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" => {
                ts(true, false, false, Some(Codec::Jpeg2000), false)
            }
            "1.2.840.10008.1.2.4.91" | "1.2.840.10008.1.2.4.203" => {
                ts(true, false, false, Some(Codec::Jpeg2000), true)
            }
            "1.2.840.10008.1.2.5" => ts(true, false, false, Some(Codec::Rle), false),
            _ => return None,
        })
    }

    /// A syntax known only by its encoding (files without file meta information).
    pub fn guessed(explicit_vr: bool, big_endian: bool) -> Self {
        let uid = match (explicit_vr, big_endian) {
            (false, _) => IMPLICIT_VR_LITTLE_ENDIAN,
            (true, false) => EXPLICIT_VR_LITTLE_ENDIAN,
            (true, true) => EXPLICIT_VR_BIG_ENDIAN,
        };
        Self::from_uid(uid).expect("native syntaxes are known")
    }

}
