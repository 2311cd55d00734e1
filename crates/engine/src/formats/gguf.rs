//! GGUF reader (versions 2 and 3). Everything is validated before use: string and array
//! lengths against the bytes left, tensor types, dimensions (no zero, no overflow), offsets
//! (aligned, inside the data section, non-overlapping), so a malformed file gives a
//! [`GgufError`] and never a panic or an out-of-bounds read.
//!
//! Memory is bounded before it is allocated: every count (metadata entries, array elements,
//! tensors) and length (strings) is checked against the bytes the file still holds, and what
//! the parsed header will cost on the heap is charged against [`MAX_HEADER_HEAP`] before each
//! allocation, so a few bytes claiming billions of elements (or a large sparse file whose
//! header says so) give an error instead of an allocation of many gigabytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::GgufError;
use crate::quant::GgmlType;

pub(crate) const MAGIC: u32 = 0x4655_4747; // "GGUF" little-endian
/// Upper bound on any single dimension and element count; anything larger is absurd.
const MAX_ELEMS: u64 = 1 << 40;
const MAX_DIMS: u32 = 4;
/// The most heap a parsed header may take (metadata values, strings, the tensor table). A
/// llama.cpp Gemma 3 header (262k-token vocabulary with scores and types) takes about 30 MB,
/// an imported file carrying a 33 MB `tokenizer.json` about 70 MB; a `u8` array costs 32 bytes
/// of [`Value`] per byte of file, so without this bound a 100 MB file could ask for 3 GB.
pub const MAX_HEADER_HEAP: u64 = 256 << 20;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        Some(match *self {
            Value::U8(v) => v as u64,
            Value::U16(v) => v as u64,
            Value::U32(v) => v as u64,
            Value::U64(v) => v,
            Value::I8(v) if v >= 0 => v as u64,
            Value::I16(v) if v >= 0 => v as u64,
            Value::I32(v) if v >= 0 => v as u64,
            Value::I64(v) if v >= 0 => v as u64,
            _ => return None,
        })
    }
    pub fn as_f64(&self) -> Option<f64> {
        Some(match *self {
            Value::F32(v) => v as f64,
            Value::F64(v) => v,
            _ => return self.as_u64().map(|v| v as f64),
        })
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Description of one tensor; `dims` in ggml order (`dims[0]` is the contiguous one).
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Offset from the start of the data section.
    pub offset: u64,
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Shape in row-major (PyTorch) order: reversed ggml dims.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// A GGUF file's header: metadata and tensor table (what model discovery reads), with the
/// tensors' spans already checked against the file's length.
#[derive(Debug)]
pub struct GgufHeader {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    index: HashMap<String, usize>,
    /// Where the data section starts in the file.
    data_start: usize,
}

/// A GGUF file: its [`GgufHeader`] (reached through `Deref`) and its bytes, memory-mapped
/// (a multi-gigabyte model costs no RAM until its tensors are read, and only page cache
/// after) or, for bytes made in memory, owned.
pub struct Gguf {
    pub header: GgufHeader,
    data: Bytes,
}

enum Bytes {
    Mapped(std::sync::Arc<memmap2::Mmap>),
    Owned(Vec<u8>),
}

/// The bytes of one tensor in a mapped GGUF, holding the map open (a clone is a reference
/// count): what the CPU backend keeps as a quantized weight instead of a copy, so a model
/// costs page cache the kernel can drop and re-read, and loading copies nothing.
#[derive(Clone)]
pub struct MappedTensor {
    map: std::sync::Arc<memmap2::Mmap>,
    start: usize,
    len: usize,
}

impl std::fmt::Debug for MappedTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MappedTensor({} bytes at {})", self.len, self.start)
    }
}

impl MappedTensor {
    /// Lets the tensor's pages go from this process's resident set: they are clean file
    /// pages, read again (from the page cache, usually) when next touched.
    pub fn release(&self) {
        release_range(&self.map, self.start, self.len);
    }
}

impl AsRef<[u8]> for MappedTensor {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.start..self.start + self.len]
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl std::ops::Deref for Gguf {
    type Target = GgufHeader;
    fn deref(&self) -> &GgufHeader {
        &self.header
    }
}

impl std::fmt::Debug for Gguf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gguf")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("metadata_keys", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

/// Whether `path` starts with the GGUF magic (whatever its name: Ollama's blobs have no
/// extension).
pub fn is_gguf(path: &Path) -> bool {
    use std::io::Read;
    let mut m = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut m)).is_ok() && u32::from_le_bytes(m) == MAGIC
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    file: &'a Path,
    /// The whole file's length (`b` may be only its start, see [`Gguf::read_header`]).
    file_len: u64,
    /// Heap bytes the header may still take ([`MAX_HEADER_HEAP`] at the start).
    budget: u64,
}

/// The fewest bytes one element of GGUF value type `ty` takes in the file; `None` for types
/// an array may not hold (unknown, or nested arrays).
fn min_value_bytes(ty: u32) -> Option<u64> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8, // a string is at least its 8-byte length
        _ => return None,
    })
}

impl<'a> Cursor<'a> {
    /// Bytes the file holds after the cursor (not only those read into `b`).
    fn file_left(&self) -> u64 {
        self.file_len.saturating_sub(self.pos as u64)
    }

    /// A span the file cannot hold is an error at the file's end (`offset` = its length);
    /// one that only runs past the bytes read so far is an error at the cursor, which
    /// [`Gguf::read_header`] answers by reading more.
    fn truncated(&self, n: u64, what: &str) -> GgufError {
        let offset = if n > self.file_left() { self.file_len } else { self.pos as u64 };
        GgufError::Truncated { file: self.file.to_path_buf(), offset, what: what.to_string() }
    }

    /// Charges `n` heap bytes against the header's budget, before they are allocated.
    fn charge(&mut self, n: u64, what: &str) -> Result<(), GgufError> {
        if n > self.budget {
            return Err(GgufError::Invalid {
                file: self.file.to_path_buf(),
                what: "header".into(),
                detail: format!(
                    "{what} needs {n} bytes of memory; the whole header may take at most {MAX_HEADER_HEAP}"
                ),
            });
        }
        self.budget -= n;
        Ok(())
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err(self.truncated(n, what));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }
    fn u8(&mut self, w: &str) -> Result<u8, GgufError> {
        Ok(self.take(1, w)?[0])
    }
    fn u16(&mut self, w: &str) -> Result<u16, GgufError> {
        let s = self.take(2, w)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, w: &str) -> Result<u32, GgufError> {
        let s = self.take(4, w)?;
        Ok(u32::from_le_bytes(s.try_into().unwrap()))
    }
    fn u64(&mut self, w: &str) -> Result<u64, GgufError> {
        let s = self.take(8, w)?;
        Ok(u64::from_le_bytes(s.try_into().unwrap()))
    }
    fn string(&mut self, w: &str) -> Result<String, GgufError> {
        let n = self.u64(w)?;
        if n > self.file_left() {
            return Err(self.truncated(n, w));
        }
        self.charge(n, &format!("string `{w}` of {n} bytes"))?;
        let s = self.take(n, w)?;
        String::from_utf8(s.to_vec()).map_err(|_| GgufError::Invalid {
            file: self.file.to_path_buf(),
            what: w.to_string(),
            detail: "string is not UTF-8".into(),
        })
    }
    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<Value, GgufError> {
        let w = key;
        Ok(match ty {
            0 => Value::U8(self.u8(w)?),
            1 => Value::I8(self.u8(w)? as i8),
            2 => Value::U16(self.u16(w)?),
            3 => Value::I16(self.u16(w)? as i16),
            4 => Value::U32(self.u32(w)?),
            5 => Value::I32(self.u32(w)? as i32),
            6 => Value::F32(f32::from_bits(self.u32(w)?)),
            7 => match self.u8(w)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.meta_err(key, format!("bool byte {b}"))),
            },
            8 => Value::String(self.string(w)?),
            9 => {
                if depth > 0 {
                    return Err(self.meta_err(key, "nested arrays are not supported".into()));
                }
                let ety = self.u32(w)?;
                let min = min_value_bytes(ety)
                    .ok_or_else(|| self.meta_err(key, format!("array of unsupported value type {ety}")))?;
                let n = self.u64(w)?;
                // Every element takes at least `min` bytes: a count beyond the bytes the file
                // holds is a lie, found before anything is allocated.
                let what = format!("array `{key}` of {n} elements");
                let need = n.saturating_mul(min);
                if need > self.file_left() {
                    return Err(self.truncated(need, &what));
                }
                // Charged before the bytes read so far are compared: a header-only read must
                // not go on reading a file whose header could never be held.
                self.charge(n.saturating_mul(std::mem::size_of::<Value>() as u64), &what)?;
                if need > (self.b.len() - self.pos) as u64 {
                    return Err(self.truncated(need, &what));
                }
                let mut v = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    v.push(self.value(ety, key, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64(w)?),
            11 => Value::I64(self.u64(w)? as i64),
            12 => Value::F64(f64::from_bits(self.u64(w)?)),
            t => return Err(self.meta_err(key, format!("unknown value type {t}"))),
        })
    }
    fn meta_err(&self, key: &str, detail: String) -> GgufError {
        GgufError::Metadata { file: self.file.to_path_buf(), key: key.to_string(), detail }
    }
}

impl Gguf {
    /// Maps and validates a GGUF file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path = path.as_ref();
        let io = |source| GgufError::Io { file: path.to_path_buf(), source };
        let f = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this process; the file must not be
        // truncated while it is open (as with llama.cpp and candle, which map models too).
        // Every span read through it was checked against the file's length at open.
        let map = unsafe { memmap2::Mmap::map(&f) }.map_err(io)?;
        Self::parse_bytes(path, Bytes::Mapped(std::sync::Arc::new(map)))
    }

    /// Parses and validates GGUF bytes held in memory; `path` is only used in messages.
    pub fn from_bytes(path: impl AsRef<Path>, data: Vec<u8>) -> Result<Self, GgufError> {
        Self::parse_bytes(path.as_ref(), Bytes::Owned(data))
    }

    fn parse_bytes(file: &Path, data: Bytes) -> Result<Self, GgufError> {
        let header = parse(file, &data, data.len() as u64)?;
        Ok(Self { header, data })
    }

    /// Reads only the header (metadata and tensor table) of a GGUF file, checking the
    /// tensors' spans against the file's length: what model discovery needs, without reading
    /// gigabytes of weights.
    pub fn read_header(path: impl AsRef<Path>) -> Result<GgufHeader, GgufError> {
        use std::io::Read;
        let path = path.as_ref();
        let io = |source| GgufError::Io { file: path.to_path_buf(), source };
        let mut f = std::fs::File::open(path).map_err(io)?;
        let file_len = f.metadata().map_err(io)?.len();
        let mut buf = Vec::new();
        let mut want: u64 = 1 << 20;
        loop {
            let have = buf.len() as u64;
            let target = want.min(file_len);
            (&mut f).take(target - have).read_to_end(&mut buf).map_err(io)?;
            match parse(path, &buf, file_len) {
                Ok(h) => return Ok(h),
                // The header runs past what was read (not past the file's end): read more, up
                // to the whole file; a header that parses within its heap budget never spans
                // much more than that budget of bytes.
                Err(GgufError::Truncated { offset, .. })
                    if offset < file_len && (buf.len() as u64) < file_len && want < 2 * MAX_HEADER_HEAP =>
                {
                    want = want.saturating_mul(4)
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Raw bytes of a tensor (validated at open).
    pub fn tensor_bytes(&self, t: &TensorInfo) -> &[u8] {
        let s = self.data_start + t.offset as usize;
        &self.data[s..s + t.n_bytes as usize]
    }

    /// A 2-D tensor in a block format the GPU kernels read, as `(shape [out, in], type,
    /// bytes)`, the bytes borrowed from the file; `None` for f32, types without a kernel and
    /// other ranks (read those with [`Self::tensor_f32`]).
    pub fn quantized_tensor(&self, name: &str) -> Option<(Vec<usize>, GgmlType, &[u8])> {
        let t = self.tensor_info(name)?;
        if t.ty == GgmlType::F32 || !t.ty.has_kernel() || t.dims.len() != 2 {
            return None;
        }
        Some((t.shape(), t.ty, self.tensor_bytes(t)))
    }

    /// A tensor dequantized to f32, row-major in [`TensorInfo::shape`].
    pub fn tensor_f32(&self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let t = self.tensor_info(name)?;
        let v = crate::quant::dequantize(t.ty, self.tensor_bytes(t))?;
        Some((t.shape(), v))
    }

    /// Tensor `name`'s bytes as a handle on the mapped file (`None` for a GGUF read into
    /// memory, or no such tensor).
    pub fn mapped_tensor(&self, name: &str) -> Option<MappedTensor> {
        let (Bytes::Mapped(m), Some(t)) = (&self.data, self.tensor_info(name)) else { return None };
        Some(MappedTensor { map: m.clone(), start: self.data_start + t.offset as usize, len: t.n_bytes as usize })
    }

    /// Drops the pages of tensor `name` from this process's resident set once its bytes were
    /// copied elsewhere (to the GPU, or dequantized): the file stays mapped and a later read
    /// faults them in again. Without this every page of a mapped model stays resident until
    /// the file is closed, on top of the copy the model holds.
    pub fn release(&self, name: &str) {
        if let (Bytes::Mapped(m), Some(t)) = (&self.data, self.tensor_info(name)) {
            release_range(m, self.data_start + t.offset as usize, t.n_bytes as usize);
        }
    }
}

/// `madvise(DONTNEED)` over a range of a read-only file mapping (no-op elsewhere). Safe here:
/// the map is private and never written, so dropping pages loses nothing; they are read again
/// from the file if touched.
pub(crate) fn release_range(m: &memmap2::Mmap, offset: usize, len: usize) {
    #[cfg(unix)]
    // SAFETY: see above; memmap2 checks the range against the map.
    unsafe {
        let _ = m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len);
    }
    #[cfg(not(unix))]
    let _ = (m, offset, len);
}

impl GgufHeader {
    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    fn meta_err(&self, key: &str, detail: &str) -> GgufError {
        GgufError::Metadata { file: self.path.clone(), key: key.into(), detail: detail.into() }
    }

    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.get(key)
            .ok_or_else(|| self.meta_err(key, "missing"))?
            .as_u64()
            .ok_or_else(|| self.meta_err(key, "not an unsigned integer"))
    }
    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        self.get(key)
            .ok_or_else(|| self.meta_err(key, "missing"))?
            .as_f64()
            .ok_or_else(|| self.meta_err(key, "not a number"))
    }
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        self.get(key)
            .ok_or_else(|| self.meta_err(key, "missing"))?
            .as_str()
            .ok_or_else(|| self.meta_err(key, "not a string"))
    }
    pub fn get_array(&self, key: &str) -> Result<&[Value], GgufError> {
        self.get(key)
            .ok_or_else(|| self.meta_err(key, "missing"))?
            .as_array()
            .ok_or_else(|| self.meta_err(key, "not an array"))
    }
}

/// The ggml types of the layer matrices under `prefix`, most common first (`Q4_K/Q6_K` for
/// llama.cpp's Q4_K_M mix, which keeps some layers in Q6_K).
pub fn weight_types(tensors: &[TensorInfo], prefix: &str) -> String {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for t in tensors.iter().filter(|t| t.name.starts_with(prefix) && t.dims.len() == 2) {
        match counts.iter_mut().find(|c| c.0 == t.ty.name()) {
            Some(c) => c.1 += 1,
            None => counts.push((t.ty.name(), 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if counts.is_empty() {
        return "?".into();
    }
    counts.iter().map(|c| c.0).collect::<Vec<_>>().join("/")
}

/// Parses the header in `data` (the whole file, or only its start when `file_len` says the
/// file is longer) and checks every tensor's span against `file_len`.
fn parse(file: &Path, data: &[u8], file_len: u64) -> Result<GgufHeader, GgufError> {
    let mut c = Cursor { b: data, pos: 0, file, file_len, budget: MAX_HEADER_HEAP };
    let magic = c.u32("magic")?;
    if magic != MAGIC {
        return Err(GgufError::BadMagic { file: file.into(), magic });
    }
    let version = c.u32("version")?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::BadVersion { file: file.into(), version });
    }
    let n_tensors = c.u64("tensor count")?;
    let n_kv = c.u64("metadata count")?;
    // Each KV needs >= 12 bytes, each tensor info >= 24: reject lies before allocating.
    let left = file_len.saturating_sub(c.pos as u64);
    if n_kv > left / 12 || n_tensors > left / 24 {
        return Err(GgufError::Invalid {
            file: file.into(),
            what: "header".into(),
            detail: format!("{n_tensors} tensors and {n_kv} metadata entries cannot fit in {left} bytes"),
        });
    }
    let mut metadata = HashMap::new();
    // A map entry: its key and value in place, and the table's own word.
    let entry_cost = (std::mem::size_of::<String>() + std::mem::size_of::<Value>() + 8) as u64;
    for _ in 0..n_kv {
        c.charge(entry_cost, "a metadata entry")?;
        let key = c.string("metadata key")?;
        let ty = c.u32(&key)?;
        let v = c.value(ty, &key, 0)?;
        metadata.insert(key, v);
    }
    let alignment = match metadata.get("general.alignment") {
        None => 32u64,
        Some(v) => match v.as_u64() {
            Some(a) if a.is_power_of_two() && a <= 1 << 20 => a,
            _ => {
                return Err(GgufError::Metadata {
                    file: file.into(),
                    key: "general.alignment".into(),
                    detail: format!("{v:?} is not a power of two"),
                })
            }
        },
    };
    // Per tensor: its info, its index entry and its span in the overlap check.
    let tensor_cost = (std::mem::size_of::<TensorInfo>() + std::mem::size_of::<(String, usize)>() + 8 + 24) as u64;
    c.charge(n_tensors.saturating_mul(tensor_cost), &format!("a table of {n_tensors} tensors"))?;
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    let mut index = HashMap::new();
    for _ in 0..n_tensors {
        let name = c.string("tensor name")?;
        // The index keeps a second copy of the name.
        c.charge(name.len() as u64, "tensor names")?;
        let terr = |detail: String| GgufError::Tensor {
            file: file.into(),
            tensor: name.clone(),
            detail,
        };
        let nd = c.u32(&name)?;
        if nd == 0 || nd > MAX_DIMS {
            return Err(terr(format!("{nd} dimensions")));
        }
        c.charge(8 * nd as u64, "tensor dimensions")?;
        let mut dims = Vec::with_capacity(nd as usize);
        let mut n: u64 = 1;
        for _ in 0..nd {
            let d = c.u64(&name)?;
            if d == 0 || d > MAX_ELEMS {
                return Err(terr(format!("absurd dimension {d}")));
            }
            n = n.checked_mul(d).filter(|&n| n <= MAX_ELEMS).ok_or_else(|| {
                terr(format!("element count overflows ({dims:?} x {d})"))
            })?;
            dims.push(d);
        }
        let tid = c.u32(&name)?;
        let ty = GgmlType::from_id(tid)
            .ok_or_else(|| terr(format!("unsupported ggml type {tid}")))?;
        if dims[0] % ty.block_elems() as u64 != 0 {
            return Err(terr(format!(
                "row of {} elements is not a whole number of {} blocks",
                dims[0],
                ty.name()
            )));
        }
        let n_bytes = ty.bytes_for(n).ok_or_else(|| terr("size overflows".into()))?;
        let offset = c.u64(&name)?;
        if offset % alignment != 0 {
            return Err(terr(format!("offset {offset} is not aligned to {alignment}")));
        }
        if index.insert(name.clone(), tensors.len()).is_some() {
            return Err(terr("duplicate tensor name".into()));
        }
        tensors.push(TensorInfo { name, dims, ty, offset, n_bytes });
    }
    let pos = c.pos as u64;
    let data_start = pos.div_ceil(alignment) * alignment;
    let data_len = file_len.saturating_sub(data_start);
    if data_start > file_len && !tensors.is_empty() {
        return Err(GgufError::Truncated {
            file: file.into(),
            offset: file_len,
            what: "tensor data section".into(),
        });
    }
    // Bounds and overlap.
    let mut spans: Vec<(u64, u64, usize)> = Vec::with_capacity(tensors.len());
    for (i, t) in tensors.iter().enumerate() {
        let end = t.offset.checked_add(t.n_bytes);
        match end {
            Some(end) if end <= data_len => spans.push((t.offset, end, i)),
            _ => {
                return Err(GgufError::Tensor {
                    file: file.into(),
                    tensor: t.name.clone(),
                    detail: format!(
                        "data [{}, +{}) lies outside the data section of {} bytes",
                        t.offset, t.n_bytes, data_len
                    ),
                })
            }
        }
    }
    spans.sort();
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(GgufError::Tensor {
                file: file.into(),
                tensor: tensors[w[1].2].name.clone(),
                detail: format!("data overlaps tensor `{}`", tensors[w[0].2].name),
            });
        }
    }
    Ok(GgufHeader { path: file.to_path_buf(), version, metadata, tensors, index, data_start: data_start as usize })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, dims: &[u64], ty: GgmlType) -> TensorInfo {
        TensorInfo { name: name.into(), dims: dims.to_vec(), ty, offset: 0, n_bytes: 0 }
    }

    #[test]
    fn weight_types_name_llama_cpp_mixes() {
        // Q4_K_M keeps some layers in Q6_K; norms (1-D) and other prefixes do not count.
        let ts = [
            t("blk.0.ffn_down.weight", &[256, 8], GgmlType::Q6K),
            t("blk.0.ffn_up.weight", &[256, 8], GgmlType::Q4K),
            t("blk.0.ffn_gate.weight", &[256, 8], GgmlType::Q4K),
            t("blk.0.attn_norm.weight", &[256], GgmlType::F32),
            t("v.blk.0.ffn_up.weight", &[256, 8], GgmlType::F16),
        ];
        assert_eq!(weight_types(&ts, "blk."), "Q4_K/Q6_K");
        assert_eq!(weight_types(&ts, "v.blk."), "F16");
        assert_eq!(weight_types(&ts, "mm."), "?");
    }
}
