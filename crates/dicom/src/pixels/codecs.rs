//! Encapsulated pixel data codecs: JPEG (baseline, extended 12-bit, lossless) through
//! libjpeg-turbo 3, JPEG-LS through CharLS, JPEG 2000 through OpenJPEG, and RLE.
//! The C libraries are built from source by cargo; each call is wrapped so that a
//! failure comes back as an error, never a crash or a partial image.

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
            // Decoded without the codec's colour conversion: the data set's Photometric
            // Interpretation says what the components are (as pydicom does).
            let (w, h, v, comps) = jpeg(&as_raw_components(data))?;
            if w != info.columns || h != info.rows {
                return Err(ErrorKind::Codec {
                    codec: "JPEG",
                    reason: format!("codestream is {w} x {h}, the header says {} x {}", info.columns, info.rows),
                });
            }
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

/// JPEG through TurboJPEG 3 (8- and 12-bit DCT, 2-16 bit lossless).
/// Returns width, height, interleaved samples and the component count (1 or 3).
pub(crate) fn jpeg(data: &[u8]) -> KindResult<(u32, u32, Vec<i64>, usize)> {
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
    // length is passed with it; the output buffer is sized from the header just read.
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
        if w <= 0 || ht <= 0 || (w as u64) * (ht as u64) > 1 << 28 {
            return Err(fail(format!("implausible image size {w} x {ht}")));
        }
        let comps = if colorspace == tj::TJCS_TJCS_GRAY as i32 { 1 } else { 3 };
        if colorspace == tj::TJCS_TJCS_CMYK as i32 {
            return Err(fail("CMYK JPEG is not a DICOM photometric interpretation".into()));
        }
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_STOPONWARNING as _, 0);
        tj::tj3Set(h.0, tj::TJPARAM_TJPARAM_FASTDCT as _, 0);
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

/// JPEG-LS through CharLS.
fn jpeg_ls(data: &[u8], info: &ImageInfo) -> KindResult<(Vec<i64>, usize)> {
    let fail = |reason: String| ErrorKind::Codec { codec: "JPEG-LS", reason };
    let mut codec = charls::CharLS::default();
    let fi = codec.get_frame_info(data).map_err(|e| fail(format!("{e:?}")))?;
    if fi.width != info.columns || fi.height != info.rows {
        return Err(fail(format!("codestream is {} x {}, the header says {} x {}", fi.width, fi.height, info.columns, info.rows)));
    }
    let comps = fi.component_count.max(1) as usize;
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
        let target = (src.pos as i64 + n).clamp(0, src.data.len() as i64);
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
        let ok = opj::opj_read_header(stream, codec, &mut image) != 0
            && opj::opj_decode(codec, stream, image) != 0
            && opj::opj_end_decompress(codec, stream) != 0;
        if !ok || image.is_null() {
            cleanup(image);
            return Err(fail(if errors.is_empty() { "decoding failed".into() } else { errors }));
        }
        let img = &*image;
        let ncomp = img.numcomps as usize;
        if ncomp == 0 || img.comps.is_null() {
            cleanup(image);
            return Err(fail("no image components".into()));
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
