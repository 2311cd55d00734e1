//! GGUF reader (versions 2 and 3). Everything is validated before use: string and array
//! lengths against the bytes left, tensor types, dimensions (no zero, no overflow), offsets
//! (aligned, inside the data section, non-overlapping), so a malformed file gives a
//! [`GgufError`] and never a panic or an out-of-bounds read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::GgufError;
use crate::quant::GgmlType;

const MAGIC: u32 = 0x4655_4747; // "GGUF" little-endian
/// Upper bound on any single dimension and element count; anything larger is absurd.
const MAX_ELEMS: u64 = 1 << 40;
const MAX_DIMS: u32 = 4;

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
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
    /// Shape in row-major (PyTorch) order: reversed ggml dims.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// A parsed GGUF file held in memory.
pub struct Gguf {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    index: HashMap<String, usize>,
    data: Vec<u8>,
    data_start: usize,
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

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    file: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8], GgufError> {
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err(GgufError::Truncated {
                file: self.file.to_path_buf(),
                offset: self.pos as u64,
                what: what.to_string(),
            });
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
                let n = self.u64(w)?;
                // Every element takes at least one byte: a count beyond the bytes left is a lie.
                if n > (self.b.len() - self.pos) as u64 {
                    return Err(GgufError::Truncated {
                        file: self.file.to_path_buf(),
                        offset: self.pos as u64,
                        what: format!("array `{key}` of {n} elements"),
                    });
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
    /// Reads and validates a GGUF file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path = path.as_ref();
        let data = std::fs::read(path)
            .map_err(|source| GgufError::Io { file: path.to_path_buf(), source })?;
        Self::from_bytes(path, data)
    }

    /// Parses and validates GGUF bytes; `path` is only used in error messages.
    pub fn from_bytes(path: impl AsRef<Path>, data: Vec<u8>) -> Result<Self, GgufError> {
        let file = path.as_ref();
        let (version, metadata, tensors, index, data_start) = parse(file, &data, data.len() as u64)?;
        Ok(Self { path: file.to_path_buf(), version, metadata, tensors, index, data, data_start })
    }

    /// Reads only the header (metadata and tensor table) of a GGUF file, checking the
    /// tensors' spans against the file's length: what model discovery needs, without reading
    /// gigabytes of weights. The returned value holds no tensor data.
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
                Ok((version, metadata, tensors, _, _)) => {
                    return Ok(GgufHeader { path: path.to_path_buf(), version, metadata, tensors })
                }
                // The header runs past what was read: read more, up to the whole file.
                Err(GgufError::Truncated { .. }) if (buf.len() as u64) < file_len => want = want.saturating_mul(4),
                Err(e) => return Err(e),
            }
        }
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }

    /// Raw bytes of a tensor (validated at open).
    pub fn tensor_bytes(&self, t: &TensorInfo) -> &[u8] {
        let s = self.data_start + t.offset as usize;
        &self.data[s..s + t.n_bytes as usize]
    }

    /// A 2-D tensor in a block format the GPU kernels read, as `(shape [out, in], type,
    /// bytes)`; `None` for f32, unsupported types and other ranks (read those with
    /// [`Self::tensor_f32`]).
    pub fn quantized_tensor(&self, name: &str) -> Option<(Vec<usize>, GgmlType, Vec<u8>)> {
        let t = self.tensor_info(name)?;
        if t.ty == GgmlType::F32 || !crate::qmatmul::supported(t.ty) || t.dims.len() != 2 {
            return None;
        }
        Some((t.shape(), t.ty, self.tensor_bytes(t).to_vec()))
    }

    /// A tensor dequantized to f32, row-major in [`TensorInfo::shape`].
    pub fn tensor_f32(&self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let t = self.tensor_info(name)?;
        let v = crate::quant::dequantize(t.ty, self.tensor_bytes(t))?;
        Some((t.shape(), v))
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

/// A GGUF file's header: metadata and tensor table, no tensor data.
#[derive(Debug)]
pub struct GgufHeader {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
}

impl GgufHeader {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

type Parsed = (u32, HashMap<String, Value>, Vec<TensorInfo>, HashMap<String, usize>, usize);

/// Parses the header in `data` (the whole file, or only its start when `file_len` says the
/// file is longer) and checks every tensor's span against `file_len`.
fn parse(file: &Path, data: &[u8], file_len: u64) -> Result<Parsed, GgufError> {
    let mut c = Cursor { b: data, pos: 0, file };
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
    for _ in 0..n_kv {
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
    let mut tensors = Vec::with_capacity(n_tensors as usize);
    let mut index = HashMap::new();
    for _ in 0..n_tensors {
        let name = c.string("tensor name")?;
        let terr = |detail: String| GgufError::Tensor {
            file: file.into(),
            tensor: name.clone(),
            detail,
        };
        let nd = c.u32(&name)?;
        if nd == 0 || nd > MAX_DIMS {
            return Err(terr(format!("{nd} dimensions")));
        }
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
    Ok((version, metadata, tensors, index, data_start as usize))
}

/// Writes a GGUF v3 file image (used by tests and the random-weights path).
pub struct GgufWriter {
    kv: Vec<u8>,
    n_kv: u64,
    tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GgufWriter {
    pub fn new() -> Self {
        Self { kv: Vec::new(), n_kv: 0, tensors: Vec::new() }
    }
    fn key(&mut self, k: &str, ty: u32) {
        self.kv.extend_from_slice(&(k.len() as u64).to_le_bytes());
        self.kv.extend_from_slice(k.as_bytes());
        self.kv.extend_from_slice(&ty.to_le_bytes());
        self.n_kv += 1;
    }
    pub fn u32(&mut self, k: &str, v: u32) -> &mut Self {
        self.key(k, 4);
        self.kv.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn f32(&mut self, k: &str, v: f32) -> &mut Self {
        self.key(k, 6);
        self.kv.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn string(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k, 8);
        self.kv.extend_from_slice(&(v.len() as u64).to_le_bytes());
        self.kv.extend_from_slice(v.as_bytes());
        self
    }
    /// `dims` in ggml order; `data` in the type's block layout.
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: GgmlType, data: Vec<u8>) -> &mut Self {
        self.tensors.push((name.into(), dims.to_vec(), ty, data));
        self
    }
    /// Writes the file image to `w` without building it in memory first.
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut head = self.header_bytes();
        let mut offs = Vec::new();
        let mut off = 0u64;
        for (_, _, _, data) in &self.tensors {
            offs.push(off);
            off = (off + data.len() as u64).div_ceil(32) * 32;
        }
        while head.len() % 32 != 0 {
            head.push(0);
        }
        w.write_all(&head)?;
        let mut pos = 0u64;
        for ((_, _, _, data), o) in self.tensors.iter().zip(offs) {
            w.write_all(&vec![0u8; (o - pos) as usize])?;
            w.write_all(data)?;
            pos = o + data.len() as u64;
        }
        Ok(())
    }

    fn header_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        b.extend_from_slice(&self.n_kv.to_le_bytes());
        b.extend_from_slice(&self.kv);
        let mut off = 0u64;
        for (name, dims, ty, data) in &self.tensors {
            b.extend_from_slice(&(name.len() as u64).to_le_bytes());
            b.extend_from_slice(name.as_bytes());
            b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                b.extend_from_slice(&d.to_le_bytes());
            }
            b.extend_from_slice(&ty.id().to_le_bytes());
            b.extend_from_slice(&off.to_le_bytes());
            off = (off + data.len() as u64).div_ceil(32) * 32;
        }
        b
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        b.extend_from_slice(&self.n_kv.to_le_bytes());
        b.extend_from_slice(&self.kv);
        let mut off = 0u64;
        let mut offs = Vec::new();
        for (name, dims, ty, data) in &self.tensors {
            b.extend_from_slice(&(name.len() as u64).to_le_bytes());
            b.extend_from_slice(name.as_bytes());
            b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                b.extend_from_slice(&d.to_le_bytes());
            }
            b.extend_from_slice(&ty.id().to_le_bytes());
            b.extend_from_slice(&off.to_le_bytes());
            offs.push(off);
            off = (off + data.len() as u64).div_ceil(32) * 32;
        }
        while b.len() % 32 != 0 {
            b.push(0);
        }
        let start = b.len();
        for ((_, _, _, data), o) in self.tensors.iter().zip(offs) {
            b.resize(start + o as usize, 0);
            b.extend_from_slice(data);
        }
        b
    }
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
