//! File formats, read and validated without knowing what a model is: GGUF (reader and
//! writer), safetensors, SentencePiece's `spiece.model`.

pub mod gguf;
pub mod gguf_write;
pub mod safetensors;
pub mod sentencepiece;

/// The most a side file read whole may hold (`config.json`, `tokenizer.json`,
/// `tokenizer_config.json`, `spiece.model`, a safetensors index). The largest real ones are
/// Gemma 3's `tokenizer.json` (33 MB) and its `spiece.model` (4.5 MB); anything beyond this is
/// not a model file, and reading it whole would cost its size in memory (or never end, for a
/// device such as `/dev/zero`).
pub const MAX_SIDE_FILE_BYTES: u64 = 64 << 20;

/// Reads a whole file of at most `max` bytes. The length is checked before anything is read,
/// and the read itself stops at `max + 1` bytes, so a file that grows meanwhile or a device
/// without a length cannot make it hold more. A longer file is an `InvalidData` error that
/// says both sizes (callers wrap it with the file's name).
pub fn read_bounded(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let too_long = |n: u64| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{n} bytes or more; such a file may hold at most {max} bytes"))
    };
    let len = f.metadata()?.len();
    if len > max {
        return Err(too_long(len));
    }
    let mut buf = Vec::with_capacity(len as usize);
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(too_long(buf.len() as u64));
    }
    Ok(buf)
}

/// [`read_bounded`] with [`MAX_SIDE_FILE_BYTES`], as UTF-8 text.
pub fn read_side_text(path: &std::path::Path) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, MAX_SIDE_FILE_BYTES)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not UTF-8: {e}")))
}
