//! Encapsulated pixel data codecs: JPEG (baseline, extended 12-bit, lossless) through
//! libjpeg-turbo 3, JPEG-LS through CharLS, JPEG 2000 through OpenJPEG, and RLE.
//! The C libraries are built from source by cargo; each call is wrapped so that a
//! failure comes back as an error, never a crash or a partial image.
//!
//! Before any codec allocates, the codestream's own header is read here (JPEG SOF,
//! JPEG-LS SOF55, JPEG 2000 SIZ) and must describe the data set's image: Rows, Columns,
//! Samples per Pixel, a precision that fits Bits Allocated. Output is therefore sized from
//! the data set, never from a codestream that disagrees with it; a JPEG must also be long
//! enough to hold that many blocks, a large JPEG-LS or JPEG 2000 frame long enough for its
//! size ([`MAX_SAMPLES_PER_BYTE`]), and libjpeg-turbo's own limits are set.

use super::{rle, sign_extend, ybr_full_to_rgb, ImageInfo, Pixels};
use crate::error::{ErrorKind, KindResult};
use crate::syntax::Codec;

/// Decodes one compressed frame; returns stored values and their photometric.
pub(super) fn decode(codec: Codec, data: &[u8], info: &ImageInfo) -> KindResult<(Pixels, String)> {
    let n = info.pixels_per_frame();
    let (values, samples, mut photometric): (Vec<i64>, usize, String) = match codec {
        Codec::Rle => {
            let bytes = (info.bits_allocated as usize).div_ceil(8);
            let spp = info.samples_per_pixel as usize;
            let v = rle::decode(data, n, spp, bytes)?;
            (v.into_iter().map(|x| x as i64).collect(), spp, info.photometric.clone())
        }
        Codec::JpegDct | Codec::JpegLossless => {
            // The frame header (SOF) must describe the image the data set describes, and
            // the codestream must be long enough to hold it, before anything is decoded.
            let sof = read_sof(data).map_err(|reason| ErrorKind::Codec { codec: "JPEG", reason })?;
            sof.check_against(info, data.len())?;
            // Decoded without the codec's colour conversion: the data set's Photometric
            // Interpretation says what the components are (as pydicom does).
            let (_, _, v, comps) = jpeg_limited(&as_raw_components(data), &sof)?;
            let pm = if comps == 3 && info.photometric.starts_with("YBR") { "YBR_FULL".to_string() } else { info.photometric.clone() };
            (v, comps, pm)
        }
        Codec::JpegLs => {
            let (v, comps) = jpeg_ls(data, info)?;
            (v, comps, info.photometric.clone())
        }
        Codec::Jpeg2000 => {
            let (v, comps) = jpeg2000(data, info)?;
            let pm = if comps == 3 { "RGB".to_string() } else { info.photometric.clone() };
            (v, comps, pm)
        }
    };
    if values.len() != n * samples {
        return Err(ErrorKind::Codec {
            codec: codec_name(codec),
            reason: format!(
                "the codestream holds {} samples; the header says {} x {} x {}",
                values.len(),
                info.rows,
                info.columns,
                info.samples_per_pixel
            ),
        });
    }
    let mut values = values;
    if samples == 3 && (photometric == "YBR_FULL" || photometric == "YBR_FULL_422") {
        let max = (1i64 << info.bits_allocated.min(16)) - 1;
        ybr_full_to_rgb(&mut values, max);
        photometric = "RGB".into();
    }
    let signed = info.signed() && samples == 1;
    if signed {
        let bs = info.bits_stored;
        for v in &mut values {
            *v = sign_extend(*v, bs);
        }
    }
    Ok((Pixels::from_i64(values.into_iter(), info.bits_allocated, signed), photometric))
}

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::JpegDct => "JPEG",
        Codec::JpegLossless => "JPEG lossless",
        Codec::JpegLs => "JPEG-LS",
        Codec::Jpeg2000 => "JPEG 2000",
        Codec::Rle => "RLE",
    }
}

/// Rewrites a JPEG header so that libjpeg leaves the components as they are: JFIF and
/// Adobe markers (which make it convert YCbCr to RGB) are replaced by one Adobe marker
/// with transform 0. Greyscale and malformed streams come back unchanged.
fn as_raw_components(data: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return data.into();
    }
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&[0xFF, 0xD8]);
    // APP14 "Adobe", version 100, flags 0, 0, transform 0 (no colour transform).
    out.extend_from_slice(&[0xFF, 0xEE, 0x00, 0x0E, b'A', b'd', b'o', b'b', b'e', 0x00, 0x64, 0, 0, 0, 0, 0]);
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return data.into();
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if marker == 0xDA || !(0xC0..=0xFE).contains(&marker) {
            break; // start of scan (or something unexpected): copy the rest as is
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        let end = i + 2 + len;
        if len < 2 || end > data.len() {
            return data.into();
        }
        let drop = (marker == 0xE0 && data[i + 4..end].starts_with(b"JFIF")) || (marker == 0xEE && data[i + 4..end].starts_with(b"Adobe"));
        if !drop {
            out.extend_from_slice(&data[i..end]);
        }
        i = end;
    }
    out.extend_from_slice(&data[i..]);
    out.into()
}

/// What a JPEG frame header (SOF marker segment, ITU-T T.81 B.2.2) declares.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sof {
    /// The SOF marker's second byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive,
    /// 0xC3 lossless.
    pub marker: u8,
    pub precision: u8,
    pub height: u16,
    pub width: u16,
    /// Horizontal and vertical sampling factor of each component.
    pub sampling: Vec<(u8, u8)>,
}

/// Most pixels a plain (non-DICOM) JPEG may have; DICOM frames are bounded by their data set.
const PLAIN_MAX_PIXELS: u64 = 1 << 28;
/// Progressive scans libjpeg-turbo will process (its guard against the scan-count exploit).
const JPEG_SCAN_LIMIT: i32 = 500;

impl Sof {
    pub fn lossless(&self) -> bool {
        self.marker == 0xC3
    }

    /// The fewest bytes of entropy-coded data that can hold this image. Every Huffman code is
    /// at least one bit: each 8 x 8 block of each component of a DCT image codes at least its DC
    /// difference (also in a progressive image's first scan), and each sample of a lossless
    /// image codes its difference. (DICOM allows no arithmetic coding, which could do better.)
    pub fn min_entropy_bytes(&self) -> u64 {
        let (w, h) = (self.width as u64, self.height as u64);
        if self.lossless() {
            return (w * h * self.sampling.len() as u64).div_ceil(8);
        }
        let hmax = self.sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1) as u64;
        let vmax = self.sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1) as u64;
        let blocks: u64 = self
            .sampling
            .iter()
            .map(|&(hi, vi)| (w * hi as u64).div_ceil(hmax).div_ceil(8) * (h * vi as u64).div_ceil(vmax).div_ceil(8))
            .sum();
        blocks.div_ceil(8)
    }

    /// Refuses a codestream that does not describe the data set's image: size, component count
    /// and precision, and a codestream too short to hold that many pixels.
    pub fn check_against(&self, info: &ImageInfo, data_len: usize) -> KindResult<()> {
        let fail = |reason: String| ErrorKind::Codec { codec: "JPEG", reason };
        if self.width as u32 != info.columns || self.height as u32 != info.rows {
            return Err(fail(format!(
                "the codestream's frame header (SOF) is {} x {}, the data set's Columns x Rows is {} x {}",
                self.width, self.height, info.columns, info.rows
            )));
        }
        if self.sampling.len() != info.samples_per_pixel as usize {
            return Err(fail(format!(
                "the codestream's frame header (SOF) has {} component(s), the data set's Samples per Pixel is {}",
                self.sampling.len(),
                info.samples_per_pixel
            )));
        }
        if self.precision as u16 > info.bits_allocated {
            return Err(fail(format!(
                "the codestream's precision is {} bits, more than the data set's Bits Allocated ({})",
                self.precision, info.bits_allocated
            )));
        }
        self.check_length(data_len)
    }

    fn check_length(&self, data_len: usize) -> KindResult<()> {
        let need = self.min_entropy_bytes();
        if need > data_len as u64 {
            return Err(ErrorKind::Codec {
                codec: "JPEG",
                reason: format!(
                    "a {} x {} x {} image needs at least {need} bytes of coded data; the codestream has {data_len}",
                    self.width,
                    self.height,
                    self.sampling.len()
                ),
            });
        }
        Ok(())
    }
}

/// Reads the frame header (SOF) of a JPEG codestream, walking its marker segments with every
/// length checked. Only the processes DICOM uses (Huffman-coded baseline, extended,
/// progressive and lossless) are accepted.
pub(crate) fn read_sof(data: &[u8]) -> Result<Sof, String> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err("the codestream does not start with a JPEG start-of-image marker".into());
    }
    let mut i = 2;
    loop {
        // Markers are 0xFF then a code; 0xFF fill bytes may precede the code.
        while i < data.len() && data[i] != 0xFF {
            i += 1;
        }
        while i < data.len() && data[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return Err("the codestream ends before its frame header (SOF)".into());
        };
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue, // no length field
            0xD9 | 0xDA => return Err("no frame header (SOF) before the image data".into()),
            _ => {}
        }
        let len = match data.get(i..i + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => return Err("the codestream ends inside a marker segment".into()),
        };
        let seg = data.get(i + 2..i + len).filter(|_| len >= 2).ok_or_else(|| {
            format!("marker segment 0xFF{marker:02X} declares {len} bytes, more than the codestream holds")
        })?;
        i += len;
        let is_sof = (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker);
        if !is_sof {
            continue;
        }
        if marker > 0xC3 {
            return Err(format!(
                "JPEG process of marker 0xFF{marker:02X} (hierarchical or arithmetic coding) is not supported; DICOM uses none"
            ));
        }
        if seg.len() < 6 {
            return Err("the frame header (SOF) is too short".into());
        }
        let n = seg[5] as usize;
        if n == 0 || seg.len() < 6 + 3 * n {
            return Err(format!("the frame header (SOF) declares {n} components in {} bytes", seg.len()));
        }
        let sampling: Vec<(u8, u8)> = (0..n).map(|c| (seg[6 + 3 * c + 1] >> 4, seg[6 + 3 * c + 1] & 0x0F)).collect();
        if sampling.iter().any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v)) {
            return Err("the frame header (SOF) has a sampling factor outside 1..4".into());
        }
        return Ok(Sof {
            marker,
            precision: seg[0],
            height: u16::from_be_bytes([seg[1], seg[2]]),
            width: u16::from_be_bytes([seg[3], seg[4]]),
            sampling,
        });
    }
}

/// A plain JPEG file (not DICOM) through TurboJPEG 3: the frame header is read and bounded
/// (at most 2^28 pixels, and no more than its coded data can hold) before decoding.
/// Returns width, height, interleaved samples and the component count (1 or 3).
pub(crate) fn jpeg(data: &[u8]) -> KindResult<(u32, u32, Vec<i64>, usize)> {
    let sof = read_sof(data).map_err(|reason| ErrorKind::Codec { codec: "JPEG", reason })?;
    let pixels = sof.width as u64 * sof.height as u64;
    if pixels == 0 || pixels > PLAIN_MAX_PIXELS {
        return Err(ErrorKind::Codec { codec: "JPEG", reason: format!("implausible image size {} x {}", sof.width, sof.height) });
    }
    sof.check_length(data.len())?;
    jpeg_limited(data, &sof)
}

/// JPEG through TurboJPEG 3 (8- and 12-bit DCT, 2-16 bit lossless), for a codestream whose
/// frame header `sof` has been checked: TurboJPEG must read the same header, and its own
/// limits (pixels, intermediate memory, progressive scans) are set from it.
fn jpeg_limited(data: &[u8], sof: &Sof) -> KindResult<(u32, u32, Vec<i64>, usize)> {
    use std::ffi::CStr;
    use turbojpeg_sys as tj;
    let fail = |reason: String| ErrorKind::Codec { codec: "JPEG", reason };
    struct Handle(tj::tjhandle);
    impl Drop for Handle {
        fn drop(&mut self) {
            // SAFETY: the handle came from tj3Init and is destroyed once.
            unsafe { tj::tj3Destroy(self.0) }
        }
    }
    // SAFETY: every pointer handed to TurboJPEG points into a live slice or Vec whose
    // length is passed with it; the output buffer is sized from the header just read,
    // which equals the checked `sof`.
    unsafe {
        let h = tj::tj3Init(tj::TJINIT_TJINIT_DECOMPRESS as _);
        if h.is_null() {
            return Err(fail("cannot create a decoder".into()));
        }
        let h = Handle(h);
        let msg = |h: &Handle| CStr::from_ptr(tj::tj3GetErrorStr(h.0)).to_string_lossy().into_owned();
        if tj::tj3DecompressHeader(h.0, data.as_ptr(), data.len() as _) != 0 {
            return Err(fail(msg(&h)));
        }
        let w = tj::tj3Get(h.0, tj::TJPARAM_TJPARAM_JPEGWIDTH as _);
        let ht = tj::tj3Get(h.0, tj::TJPARAM_TJPARAM_JPEGHEIGHT as _);
        let precision = tj::tj3Get(h.0, tj::TJPARAM_TJPARAM_PRECISION as _);
        let colorspace = tj::tj3Get(h.0, tj::TJPARAM_TJPARAM_COLORSPACE as _);
        if w != sof.width as i32 || ht != sof.height as i32 {
            return Err(fail(format!("the decoder reads a {w} x {ht} image where the frame header says {} x {}", sof.width, sof.height)));
        }
        if colorspace == tj::TJCS_TJCS_CMYK as i32 || colorspace == tj::TJCS_TJCS_YCCK as i32 {
            return Err(fail("CMYK JPEG is not a DICOM photometric interpretation".into()));
        }
        let comps = if colorspace == tj::TJCS_TJCS_GRAY as i32 { 1 } else { 3 };
        if comps != sof.sampling.len() {
            return Err(fail(format!("{} components where the decoder expects {comps}", sof.sampling.len())));
        }
        let pixels = w as u64 * ht as u64;
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_STOPONWARNING as _, 0);
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_FASTDCT as _, 0);
        // libjpeg-turbo's own guards: no more pixels than checked, intermediate buffers
        // (progressive coefficients: 128 bytes a block; lossless rows) bounded by the image,
        // and a cap on progressive scans.
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_MAXPIXELS as _, pixels.min(i32::MAX as u64) as i32);
        let intermediate_mb = (pixels * comps as u64 * 4 + (1 << 20)).div_ceil(1 << 20) + 16;
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_MAXMEMORY as _, intermediate_mb.min(i32::MAX as u64) as i32);
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_SCANLIMIT as _, JPEG_SCAN_LIMIT);
        let pf = if comps == 1 { tj::TJPF_TJPF_GRAY } else { tj::TJPF_TJPF_RGB } as i32;
        let len = w as usize * ht as usize * comps;
        let check = |rc: i32, h: &Handle| -> KindResult<()> {
            if rc != 0 && tj::tj3GetErrorCode(h.0) == tj::TJERR_TJERR_FATAL as i32 {
                return Err(fail(msg(h)));
            }
            Ok(())
        };
        let values: Vec<i64> = if precision <= 8 {
            let mut out = vec![0u8; len];
            check(tj::tj3Decompress8(h.0, data.as_ptr(), data.len() as _, out.as_mut_ptr(), 0, pf), &h)?;
            out.into_iter().map(|v| v as i64).collect()
        } else if precision <= 12 {
            let mut out = vec![0i16; len];
            check(tj::tj3Decompress12(h.0, data.as_ptr(), data.len() as _, out.as_mut_ptr(), 0, pf), &h)?;
            out.into_iter().map(|v| v as i64).collect()
        } else {
            let mut out = vec![0u16; len];
            check(tj::tj3Decompress16(h.0, data.as_ptr(), data.len() as _, out.as_mut_ptr(), 0, pf), &h)?;
            out.into_iter().map(|v| v as i64).collect()
        };
        Ok((w as u32, ht as u32, values, comps))
    }
}

/// Samples a JPEG-LS or JPEG 2000 frame may decode to whatever its length: 4096 x 4096 of
/// them. Decoding takes about 14 bytes a sample at its peak (the codec's own buffer, the
/// values as i64, the stored values), so this is a few hundred MB.
pub const FREE_SAMPLES: u64 = 1 << 24;
/// Above [`FREE_SAMPLES`], samples per byte of codestream: a frame must hold at least one
/// byte per 256 samples (0.03 bits a sample). Both codecs can code a blank image in less,
/// but a medical image is not blank, and without this a few-kilobyte file that is
/// consistent with itself (data set and codestream both saying 40000 x 40000) would make the
/// codec allocate tens of gigabytes.
pub const MAX_SAMPLES_PER_BYTE: u64 = 256;

/// Refuses a frame whose size, though the data set and the codestream agree on it, its
/// bytes cannot have coded (see [`MAX_SAMPLES_PER_BYTE`]); before the codec allocates.
fn check_expansion(codec: &'static str, info: &ImageInfo, data_len: usize) -> KindResult<()> {
    let samples = info.columns as u64 * info.rows as u64 * info.samples_per_pixel as u64;
    if samples <= FREE_SAMPLES || samples <= MAX_SAMPLES_PER_BYTE * data_len as u64 {
        return Ok(());
    }
    Err(ErrorKind::Codec {
        codec,
        reason: format!(
            "a {} x {} x {} frame from {data_len} bytes of codestream is more than {MAX_SAMPLES_PER_BYTE} samples a byte (refused as a decompression bomb)",
            info.columns, info.rows, info.samples_per_pixel
        ),
    })
}

/// JPEG-LS through CharLS.
fn jpeg_ls(data: &[u8], info: &ImageInfo) -> KindResult<(Vec<i64>, usize)> {
    let fail = |reason: String| ErrorKind::Codec { codec: "JPEG-LS", reason };
    let mut codec = charls::CharLS::default();
    let fi = codec.get_frame_info(data).map_err(|e| fail(format!("{e:?}")))?;
    // The frame header (SOF55) must describe the data set's image before CharLS sizes its
    // output from it: size, component count and precision.
    if fi.width != info.columns || fi.height != info.rows {
        return Err(fail(format!(
            "the codestream's frame header (SOF55) is {} x {}, the data set's Columns x Rows is {} x {}",
            fi.width, fi.height, info.columns, info.rows
        )));
    }
    if fi.component_count != info.samples_per_pixel as i32 {
        return Err(fail(format!(
            "the codestream's frame header (SOF55) has {} component(s), the data set's Samples per Pixel is {}",
            fi.component_count, info.samples_per_pixel
        )));
    }
    if !(2..=16).contains(&fi.bits_per_sample) || fi.bits_per_sample > info.bits_allocated as i32 {
        return Err(fail(format!(
            "the codestream's precision is {} bits; the data set's Bits Allocated is {}",
            fi.bits_per_sample, info.bits_allocated
        )));
    }
    check_expansion("JPEG-LS", info, data.len())?;
    let comps = fi.component_count as usize;
    let raw = charls::CharLS::default().decode(data).map_err(|e| fail(format!("{e:?}")))?;
    let values: Vec<i64> = if fi.bits_per_sample <= 8 {
        raw.into_iter().map(|v| v as i64).collect()
    } else {
        raw.chunks_exact(2).map(|c| u16::from_ne_bytes([c[0], c[1]]) as i64).collect()
    };
    let n = info.pixels_per_frame();
    // Multi-component scans without interleave come out plane by plane.
    let values = if comps == 3 && info.planar_configuration == 1 {
        let mut out = vec![0; n * 3];
        for s in 0..3 {
            for i in 0..n.min(values.len() / 3) {
                out[i * 3 + s] = values[s * n + i];
            }
        }
        out
    } else {
        values
    };
    Ok((values, comps))
}

/// JPEG 2000 through OpenJPEG (inverse RCT/ICT applied by the decoder).
fn jpeg2000(data: &[u8], info: &ImageInfo) -> KindResult<(Vec<i64>, usize)> {
    use openjpeg_sys as opj;
    use std::os::raw::c_void;
    let fail = |reason: String| ErrorKind::Codec { codec: "JPEG 2000", reason };

    struct Src<'a> {
        data: &'a [u8],
        pos: usize,
    }
    unsafe extern "C" fn read(buf: *mut c_void, n: usize, user: *mut c_void) -> usize {
        let src = &mut *(user as *mut Src);
        let left = src.data.len() - src.pos;
        if left == 0 {
            return usize::MAX; // (OPJ_SIZE_T)-1: end of stream
        }
        let k = n.min(left);
        std::ptr::copy_nonoverlapping(src.data.as_ptr().add(src.pos), buf as *mut u8, k);
        src.pos += k;
        k
    }
    unsafe extern "C" fn skip(n: i64, user: *mut c_void) -> i64 {
        let src = &mut *(user as *mut Src);
        let target = (src.pos as i64).saturating_add(n).clamp(0, src.data.len() as i64);
        let moved = target - src.pos as i64;
        src.pos = target as usize;
        moved
    }
    unsafe extern "C" fn seek(n: i64, user: *mut c_void) -> i32 {
        let src = &mut *(user as *mut Src);
        if n < 0 || n as usize > src.data.len() {
            return 0;
        }
        src.pos = n as usize;
        1
    }
    unsafe extern "C" fn on_error(msg: *const std::os::raw::c_char, user: *mut c_void) {
        let out = &mut *(user as *mut String);
        out.push_str(std::ffi::CStr::from_ptr(msg).to_string_lossy().trim());
        out.push_str("; ");
    }

    // The image and tile size (SIZ) must describe the data set's image before OpenJPEG
    // allocates anything for it.
    let siz = read_siz(data).map_err(fail)?;
    siz.check_against(info)?;
    check_expansion("JPEG 2000", info, data.len())?;

    let format = if data.get(4..8) == Some(b"jP  ") {
        opj::CODEC_FORMAT::OPJ_CODEC_JP2
    } else {
        opj::CODEC_FORMAT::OPJ_CODEC_J2K
    };
    let mut src = Src { data, pos: 0 };
    let mut errors = String::new();
    // SAFETY: the stream reads from `src`, which outlives the codec and stream; all
    // OpenJPEG objects are destroyed before returning; component buffers are read
    // within the sizes OpenJPEG reports.
    unsafe {
        let codec = opj::opj_create_decompress(format);
        if codec.is_null() {
            return Err(fail("cannot create a decoder".into()));
        }
        opj::opj_set_error_handler(codec, Some(on_error), &mut errors as *mut String as *mut c_void);
        let mut params: opj::opj_dparameters_t = std::mem::zeroed();
        opj::opj_set_default_decoder_parameters(&mut params);
        let stream = opj::opj_stream_create(1 << 16, 1);
        let mut image: *mut opj::opj_image_t = std::ptr::null_mut();
        let cleanup = |image: *mut opj::opj_image_t| {
            if !image.is_null() {
                opj::opj_image_destroy(image);
            }
            opj::opj_stream_destroy(stream);
            opj::opj_destroy_codec(codec);
        };
        if stream.is_null() || opj::opj_setup_decoder(codec, &mut params) == 0 {
            cleanup(image);
            return Err(fail("cannot set up the decoder".into()));
        }
        opj::opj_stream_set_read_function(stream, Some(read));
        opj::opj_stream_set_skip_function(stream, Some(skip));
        opj::opj_stream_set_seek_function(stream, Some(seek));
        opj::opj_stream_set_user_data(stream, &mut src as *mut Src as *mut c_void, None);
        opj::opj_stream_set_user_data_length(stream, data.len() as u64);
        if opj::opj_read_header(stream, codec, &mut image) == 0 || image.is_null() {
            cleanup(image);
            return Err(fail(if errors.is_empty() { "cannot read the codestream header".into() } else { errors }));
        }
        // OpenJPEG must have read the header that was checked.
        let (gw, gh) = ((*image).x1.saturating_sub((*image).x0), (*image).y1.saturating_sub((*image).y0));
        if gw != info.columns || gh != info.rows || (*image).numcomps as usize != siz.components.len() {
            cleanup(image);
            return Err(fail(format!("codestream is {gw} x {gh}, the header says {} x {}", info.columns, info.rows)));
        }
        let ok = opj::opj_decode(codec, stream, image) != 0 && opj::opj_end_decompress(codec, stream) != 0;
        if !ok || image.is_null() {
            cleanup(image);
            return Err(fail(if errors.is_empty() { "decoding failed".into() } else { errors }));
        }
        let img = &*image;
        let ncomp = img.numcomps as usize;
        if ncomp != siz.components.len() || img.comps.is_null() {
            cleanup(image);
            return Err(fail(format!("the decoder found {ncomp} component(s) where SIZ declares {}", siz.components.len())));
        }
        let comps = std::slice::from_raw_parts(img.comps, ncomp);
        let use_comps = if ncomp >= 3 && info.samples_per_pixel == 3 { 3 } else { 1 };
        let n = info.pixels_per_frame();
        for c in &comps[..use_comps] {
            if c.w != info.columns || c.h != info.rows || c.data.is_null() {
                let (w, h) = (c.w, c.h);
                cleanup(image);
                return Err(fail(format!("component is {w} x {h}, the header says {} x {}", info.columns, info.rows)));
            }
        }
        let planes: Vec<&[i32]> = comps[..use_comps].iter().map(|c| std::slice::from_raw_parts(c.data, n)).collect();
        let mut values = Vec::with_capacity(n * use_comps);
        for i in 0..n {
            for p in &planes {
                values.push(p[i] as i64);
            }
        }
        // Signed codestreams come out as negative integers already; unsigned ones with
        // Pixel Representation 1 are sign-extended from Bits Stored by the caller.
        let sgnd = comps[0].sgnd != 0;
        cleanup(image);
        if sgnd && !info.signed() {
            // Reinterpret as the unsigned stored bit pattern.
            let mask = (1i64 << info.bits_stored) - 1;
            for v in &mut values {
                *v &= mask;
            }
        }
        Ok((values, use_comps))
    }
}

/// Most tiles a JPEG 2000 frame may have (OpenJPEG keeps per-tile, per-component coding
/// parameters of a few kilobytes each; real frames have one tile or a few dozen).
const J2K_MAX_TILES: u64 = 4096;

/// What a JPEG 2000 image and tile size marker segment (SIZ, ITU-T T.800 A.5.1) declares.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Siz {
    pub width: u32,
    pub height: u32,
    pub tiles: u64,
    /// Precision in bits, signedness and subsampling (XRsiz, YRsiz) of each component.
    pub components: Vec<(u8, bool, u8, u8)>,
}

impl Siz {
    fn check_against(&self, info: &ImageInfo) -> KindResult<()> {
        let fail = |reason: String| ErrorKind::Codec { codec: "JPEG 2000", reason };
        if self.width != info.columns || self.height != info.rows {
            return Err(fail(format!(
                "the codestream's image size (SIZ) is {} x {}, the data set's Columns x Rows is {} x {}",
                self.width, self.height, info.columns, info.rows
            )));
        }
        if self.components.len() != info.samples_per_pixel as usize {
            return Err(fail(format!(
                "the codestream's image size (SIZ) declares {} component(s), the data set's Samples per Pixel is {}",
                self.components.len(),
                info.samples_per_pixel
            )));
        }
        for (i, &(bits, _, dx, dy)) in self.components.iter().enumerate() {
            if bits as u16 > info.bits_allocated {
                return Err(fail(format!(
                    "component {i} has {bits} bits of precision, more than the data set's Bits Allocated ({})",
                    info.bits_allocated
                )));
            }
            if dx != 1 || dy != 1 {
                return Err(fail(format!("component {i} is subsampled ({dx} x {dy}); DICOM stores full-size components")));
            }
        }
        if self.tiles > J2K_MAX_TILES {
            return Err(fail(format!("{} tiles (at most {J2K_MAX_TILES} are accepted)", self.tiles)));
        }
        Ok(())
    }
}

/// Finds the codestream (raw, or the `jp2c` box of a JP2 file) and reads its SIZ marker
/// segment, which must follow the start of codestream marker.
pub(crate) fn read_siz(data: &[u8]) -> Result<Siz, String> {
    let be32 = |b: &[u8], i: usize| -> Option<u32> { b.get(i..i + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]])) };
    let mut cs = data;
    if data.get(4..8) == Some(b"jP  ") {
        // JP2 boxes: length (0: to the end, 1: a 64-bit length follows), type, contents.
        let mut i = 0usize;
        cs = loop {
            let len = be32(data, i).ok_or("the JP2 file ends before its codestream box")? as u64;
            let kind = data.get(i + 4..i + 8).ok_or("the JP2 file ends inside a box header")?;
            let (header, len) = match len {
                0 => (8u64, (data.len() - i) as u64),
                1 => {
                    let hi = be32(data, i + 8).ok_or("the JP2 file ends inside a box header")? as u64;
                    let lo = be32(data, i + 12).ok_or("the JP2 file ends inside a box header")? as u64;
                    (16, hi << 32 | lo)
                }
                n => (8, n),
            };
            if len < header || i as u64 + len > data.len() as u64 {
                return Err(format!("JP2 box at byte {i} declares {len} bytes, more than the file holds"));
            }
            if kind == b"jp2c" {
                break &data[i + header as usize..i + len as usize];
            }
            i += len as usize;
        };
    }
    if !cs.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        return Err("the codestream does not start with SOC and SIZ markers".into());
    }
    let field = |off: usize| be32(cs, 4 + off).ok_or_else(|| "the codestream ends inside its SIZ marker segment".to_string());
    let lsiz = cs.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize).ok_or("the codestream ends inside SIZ")?;
    let (xsiz, ysiz, xo, yo) = (field(4)?, field(8)?, field(12)?, field(16)?);
    let (xt, yt, xto, yto) = (field(20)?, field(24)?, field(28)?, field(32)?);
    let csiz = cs.get(40..42).map(|b| u16::from_be_bytes([b[0], b[1]]) as usize).ok_or("the codestream ends inside SIZ")?;
    if lsiz != 38 + 3 * csiz || cs.len() < 4 + lsiz {
        return Err(format!("the SIZ marker segment declares {lsiz} bytes for {csiz} components"));
    }
    if xsiz <= xo || ysiz <= yo || xt == 0 || yt == 0 || xto > xo || yto > yo {
        return Err(format!("the SIZ marker segment has an impossible geometry ({xsiz} x {ysiz}, offset {xo},{yo}, tiles {xt} x {yt})"));
    }
    let tiles = ((xsiz - xto) as u64).div_ceil(xt as u64).saturating_mul(((ysiz - yto) as u64).div_ceil(yt as u64));
    let components = (0..csiz)
        .map(|c| {
            let b = &cs[42 + 3 * c..45 + 3 * c];
            ((b[0] & 0x7F) + 1, b[0] & 0x80 != 0, b[1], b[2])
        })
        .collect();
    Ok(Siz { width: xsiz - xo, height: ysiz - yo, tiles, components })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn siz(xsiz: u32, ysiz: u32, tile: u32, comps: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0x4F, 0xFF, 0x51];
        v.extend_from_slice(&((38 + 3 * comps.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        for x in [xsiz, ysiz, 0, 0, tile, tile, 0, 0] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(&(comps.len() as u16).to_be_bytes());
        for &c in comps {
            v.extend_from_slice(&[c, 1, 1]);
        }
        v
    }

    #[test]
    fn siz_reads_and_extreme_values_do_not_overflow() {
        let s = read_siz(&siz(100, 50, 100, &[7, 7, 7])).unwrap();
        assert_eq!((s.width, s.height, s.tiles, s.components.len()), (100, 50, 1, 3));
        assert_eq!(s.components[0].0, 8);
        let s = read_siz(&siz(u32::MAX, u32::MAX, 1, &[15])).unwrap();
        assert_eq!(s.tiles, (u32::MAX as u64).pow(2));
        assert!(read_siz(&siz(100, 50, 0, &[7])).is_err());
        let mut short = siz(100, 50, 100, &[7, 7, 7]);
        short.truncate(45);
        assert!(read_siz(&short).is_err());
        // A JP2 box that claims more than the file.
        let mut jp2 = vec![0, 0, 0, 12, b'j', b'P', b' ', b' ', 13, 10, 0x87, 10];
        jp2.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xF0, b'j', b'p', b'2', b'c']);
        assert!(read_siz(&jp2).unwrap_err().contains("more than the file holds"));
    }

    #[test]
    fn sof_reads_and_bad_segments_are_errors() {
        // SOI, APP0 of 16 bytes, SOF0 100 x 40, 3 components 2x2/1x1/1x1.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        j.extend_from_slice(&[0; 14]);
        j.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8, 0, 40, 0, 100, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let s = read_sof(&j).unwrap();
        assert_eq!((s.width, s.height, s.precision, s.sampling.clone()), (100, 40, 8, vec![(2, 2), (1, 1), (1, 1)]));
        // 13 x 5 luma blocks, 7 x 3 for each chroma component: 107 blocks, at least 14 bytes.
        assert_eq!(s.min_entropy_bytes(), 14);
        assert!(read_sof(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]).is_err());
        assert!(read_sof(&[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0]).is_err());
        assert!(read_sof(&[0xFF, 0xD8, 0xFF, 0xC9, 0, 8, 8, 0, 1, 0, 1, 0]).unwrap_err().contains("arithmetic"));
        assert!(read_sof(b"not a jpeg").is_err());
    }
}
