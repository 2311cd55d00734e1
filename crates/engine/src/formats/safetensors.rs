//! HF safetensors (single file, or sharded with `model.safetensors.index.json`), memory-mapped
//! and validated by the `safetensors` crate (header size, offsets contiguous and inside the
//! file, byte counts matching dtype × shape) before anything is read. f32, f16 and bf16 are
//! read as f32; the format knows nothing of models or kernels.
//!
//! Memory is bounded before it is allocated: the header's length is checked against the
//! file's and against [`MAX_HEADER_BYTES`] before the header is read or parsed (its JSON
//! costs several times its size once parsed), and an index is read only up to
//! [`crate::formats::MAX_SIDE_FILE_BYTES`].

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use half::{bf16, f16};
use safetensors::tensor::{Dtype, Metadata};
use safetensors::SafeTensors;

use crate::error::{EngineError, Result};

/// The longest header accepted. A 27B checkpoint's shard headers are a few hundred KB (about
/// 120 bytes per tensor); the `safetensors` crate's own bound (100 MB) would let a header
/// cost about half a gigabyte once parsed into names, shapes and maps.
pub const MAX_HEADER_BYTES: u64 = 16 << 20;

struct Entry {
    shard: usize,
    dtype: Dtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// A checkpoint's tensors by name, over memory-mapped shards.
pub struct Safetensors {
    root: PathBuf,
    shards: Vec<memmap2::Mmap>,
    entries: HashMap<String, Entry>,
}

fn st_err(file: &Path, d: impl Into<String>) -> EngineError {
    EngineError::Safetensors { file: file.into(), detail: d.into() }
}

/// Whether a shard name from an index is a plain file name in the index's folder: no
/// folders, no `..`, no absolute path or drive letter (`C:x`), on any platform.
fn is_plain_file_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None))
        && !name.contains(['/', '\\', ':'])
}

/// The weight files of `path` (a `.safetensors` file, an index json, or a folder holding
/// either) and the folder they are in. An index must name plain files beside it.
pub fn weight_files(path: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    if path.is_dir() {
        let idx = path.join("model.safetensors.index.json");
        if idx.is_file() {
            return weight_files(&idx);
        }
        return Ok((path.into(), vec![path.join("model.safetensors")]));
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    if !path.extension().is_some_and(|e| e == "json") {
        return Ok((dir, vec![path.into()]));
    }
    let text = crate::formats::read_side_text(path).map_err(|source| EngineError::Io { file: path.into(), source })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| st_err(path, format!("index: {e}")))?;
    let map = v.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| st_err(path, "index has no weight_map"))?;
    let mut names: Vec<&str> = map.values().filter_map(|f| f.as_str()).collect();
    names.sort();
    names.dedup();
    if let Some(bad) = names.iter().find(|n| !is_plain_file_name(n)) {
        return Err(st_err(path, format!("shard `{bad}` is not a plain file name beside the index")));
    }
    Ok((dir.clone(), names.iter().map(|n| dir.join(n)).collect()))
}

impl Safetensors {
    /// How many tensors the files hold.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Opens `path`: a `.safetensors` file, an index json, or a folder holding either.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let (root, files) = weight_files(path.as_ref())?;
        let mut st = Self { root, shards: Vec::new(), entries: HashMap::new() };
        for f in files {
            st.add_shard(&f)?;
        }
        Ok(st)
    }

    fn add_shard(&mut self, f: &Path) -> Result<()> {
        let io = |source| EngineError::Io { file: f.into(), source };
        let file = std::fs::File::open(f).map_err(io)?;
        // SAFETY: read-only private map; every span is validated below before it is read.
        // The file must not be truncated while the model loads (as with any mapped model).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        header_len(f, map.get(..8), map.len() as u64)?;
        let (n, meta) = SafeTensors::read_metadata(&map).map_err(|e| st_err(f, e.to_string()))?;
        let data_start = 8 + n;
        let shard = self.shards.len();
        for (name, info) in meta.tensors() {
            if !matches!(info.dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16) {
                return Err(st_err(f, format!("tensor `{name}`: unsupported dtype {:?}", info.dtype)));
            }
            let (s, e) = info.data_offsets;
            let entry = Entry { shard, dtype: info.dtype, shape: info.shape.clone(), start: data_start + s, end: data_start + e };
            // Two shards naming one tensor: which one the model would get is arbitrary.
            if self.entries.insert(name.clone(), entry).is_some() {
                return Err(st_err(f, format!("tensor `{name}` is also in another shard")));
            }
        }
        self.shards.push(map);
        Ok(())
    }

    /// The folder (or file's folder) the checkpoint was opened from, for messages.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|s| s.as_str())
    }

    /// A tensor as f32, row-major, with its shape.
    pub fn tensor_f32(&self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let e = self.entries.get(name)?;
        let b = &self.shards[e.shard][e.start..e.end];
        let v: Vec<f32> = match e.dtype {
            Dtype::F32 => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => b.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => b.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        };
        Some((e.shape.clone(), v))
    }

    /// Drops tensor `name`'s pages from the resident set after it was read (see
    /// [`crate::formats::gguf::Gguf::release`]).
    pub fn release(&self, name: &str) {
        if let Some(e) = self.entries.get(name) {
            crate::formats::gguf::release_range(&self.shards[e.shard], e.start, e.end - e.start);
        }
    }
}

/// Names and shapes from every safetensors header of a folder (index + shards, or one file),
/// reading only the headers; and the total size of the weight files. The header is
/// validated as [`Safetensors::open`] would (offsets, sizes, the file's length).
pub fn read_headers(dir: &Path) -> Result<(HashMap<String, Vec<usize>>, u64)> {
    let (_, files) = weight_files(dir)?;
    let mut out = HashMap::new();
    let mut total = 0u64;
    for f in files {
        let io = |source| EngineError::Io { file: f.clone(), source };
        let mut file = std::fs::File::open(&f).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        total += len;
        let mut n8 = [0u8; 8];
        let n8 = file.read_exact(&mut n8).ok().map(|_| &n8[..]);
        let n = header_len(&f, n8, len)?;
        let mut h = vec![0u8; n as usize];
        file.read_exact(&mut h).map_err(io)?;
        let meta: Metadata = serde_json::from_slice(&h).map_err(|e| st_err(&f, format!("header: {e}")))?;
        let tensors = meta.tensors();
        let end = tensors.values().map(|t| t.data_offsets.1 as u64).max().unwrap_or(0);
        if 8 + n + end != len {
            return Err(st_err(&f, format!("the header describes {} bytes of data, the file holds {}", end, len - 8 - n)));
        }
        out.extend(tensors.into_iter().map(|(k, t)| (k, t.shape.clone())));
    }
    Ok((out, total))
}

/// The header length a file's first 8 bytes declare, checked against the file's length and
/// [`MAX_HEADER_BYTES`] before anything of that length is read or allocated.
fn header_len(f: &Path, first8: Option<&[u8]>, len: u64) -> Result<u64> {
    let Some(b) = first8.and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
        return Err(st_err(f, format!("not a safetensors file ({len} bytes, shorter than a header length)")));
    };
    let n = u64::from_le_bytes(b);
    if n < 2 || n > len - 8 {
        return Err(st_err(f, format!("not a safetensors file (header length {n}, file {len} bytes)")));
    }
    if n > MAX_HEADER_BYTES {
        return Err(st_err(f, format!("header of {n} bytes; a model's header is at most {MAX_HEADER_BYTES}")));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::is_plain_file_name;

    #[test]
    fn shard_names_stay_in_their_folder() {
        assert!(is_plain_file_name("model-00001-of-00002.safetensors"));
        for bad in ["../x.safetensors", "/etc/passwd", "a/b.safetensors", "C:x.safetensors", "C:\\x", "..", ".", ""] {
            assert!(!is_plain_file_name(bad), "{bad}");
        }
    }
}
