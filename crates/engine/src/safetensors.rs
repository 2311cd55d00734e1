//! HF safetensors loader (f32 / f16 / bf16; single file or sharded with
//! `model.safetensors.index.json`). Validates header, dtypes, shapes and offsets before use.
//! Optionally quantizes 2-D weights on import to a ggml block format (Q8_0, Q4_0), so a
//! safetensors checkpoint runs with the same block formats as a GGUF.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use half::{bf16, f16};

use crate::error::{EngineError, Result};
use crate::gemma3::WeightSource;
use crate::quant::GgmlType;

struct Entry {
    file: usize,
    dtype: String,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

pub struct Safetensors {
    root: PathBuf,
    files: Vec<(PathBuf, Vec<u8>, usize)>, // path, bytes, data start
    entries: HashMap<String, Entry>,
    /// Block format to quantize 2-D weights to on import (`None` keeps f32).
    pub quantize: Option<GgmlType>,
}

fn st_err(file: &Path, d: impl Into<String>) -> EngineError {
    EngineError::Safetensors { file: file.into(), detail: d.into() }
}

impl Safetensors {
    /// Opens `path`: a `.safetensors` file, an index json, or a directory holding either.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (root, files): (PathBuf, Vec<PathBuf>) = if path.is_dir() {
            let idx = path.join("model.safetensors.index.json");
            if idx.exists() {
                return Self::open(&idx);
            }
            (path.into(), vec![path.join("model.safetensors")])
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(path)
                .map_err(|source| EngineError::Io { file: path.into(), source })?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| st_err(path, e.to_string()))?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| st_err(path, "index has no weight_map"))?;
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            let mut names: Vec<String> =
                map.values().filter_map(|f| f.as_str().map(String::from)).collect();
            names.sort();
            names.dedup();
            if names.iter().any(|n| n.contains('/') || n.contains("..")) {
                return Err(st_err(path, "shard names must be plain file names"));
            }
            (dir.clone(), names.iter().map(|n| dir.join(n)).collect())
        } else {
            (path.parent().unwrap_or(Path::new(".")).into(), vec![path.into()])
        };
        let mut st = Self { root, files: Vec::new(), entries: HashMap::new(), quantize: None };
        for f in files {
            st.add_file(&f)?;
        }
        Ok(st)
    }

    fn add_file(&mut self, f: &Path) -> Result<()> {
        let bytes = std::fs::read(f).map_err(|source| EngineError::Io { file: f.into(), source })?;
        if bytes.len() < 8 {
            return Err(st_err(f, "shorter than its header length"));
        }
        let n = u64::from_le_bytes(bytes[0..8].try_into().unwrap());
        if n > (bytes.len() - 8) as u64 {
            return Err(st_err(f, format!("header of {n} bytes exceeds the file")));
        }
        let n = n as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| st_err(f, format!("header: {e}")))?;
        let obj = header.as_object().ok_or_else(|| st_err(f, "header is not an object"))?;
        let data_start = 8 + n;
        let data_len = bytes.len() - data_start;
        let fi = self.files.len();
        for (name, v) in obj {
            if name == "__metadata__" {
                continue;
            }
            let dtype = v.get("dtype").and_then(|d| d.as_str()).unwrap_or("").to_string();
            let width = match dtype.as_str() {
                "F32" => 4,
                "F16" | "BF16" => 2,
                o => return Err(st_err(f, format!("tensor `{name}`: unsupported dtype `{o}`"))),
            };
            let shape: Vec<usize> = v
                .get("shape")
                .and_then(|s| s.as_array())
                .ok_or_else(|| st_err(f, format!("tensor `{name}`: no shape")))?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| st_err(f, format!("tensor `{name}`: bad shape")))?;
            let offs = v
                .get("data_offsets")
                .and_then(|s| s.as_array())
                .filter(|a| a.len() == 2)
                .and_then(|a| Some((a[0].as_u64()? as usize, a[1].as_u64()? as usize)))
                .ok_or_else(|| st_err(f, format!("tensor `{name}`: bad data_offsets")))?;
            let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            let ok = numel
                .and_then(|n| n.checked_mul(width))
                .is_some_and(|b| offs.0 <= offs.1 && offs.1 <= data_len && offs.1 - offs.0 == b);
            if !ok {
                return Err(st_err(f, format!("tensor `{name}`: offsets {offs:?} do not fit shape {shape:?} {dtype}")));
            }
            self.entries.insert(
                name.clone(),
                Entry { file: fi, dtype, shape, start: data_start + offs.0, end: data_start + offs.1 },
            );
        }
        self.files.push((f.into(), bytes, data_start));
        Ok(())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|s| s.as_str())
    }

    /// A tensor as f32 (no quantization).
    pub fn tensor_f32(&self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let e = self.entries.get(name)?;
        let b = &self.files[e.file].1[e.start..e.end];
        let v: Vec<f32> = match e.dtype.as_str() {
            "F32" => b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            "F16" => b.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => b.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        };
        Some((e.shape.clone(), v))
    }
}

impl WeightSource for Safetensors {
    fn file(&self) -> &Path {
        &self.root
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Some((shape, v)) = self.tensor_f32(hf_name) else { return Ok(None) };
        let quantizable = shape.len() == 2 && !hf_name.ends_with("norm.weight");
        match self.quantize {
            Some(ty) if quantizable && shape[1] % ty.block_elems() == 0 => {
                if ty == GgmlType::F32 {
                    return Ok(Some((shape, v)));
                }
                let q = crate::quant::quantize(ty, &v)
                    .ok_or_else(|| st_err(&self.root, format!("{hf_name}: cannot quantize to {}", ty.name())))?;
                let d = crate::quant::dequantize(ty, &q)
                    .ok_or_else(|| st_err(&self.root, format!("{hf_name}: not whole blocks")))?;
                Ok(Some((shape, d)))
            }
            _ => Ok(Some((shape, v))),
        }
    }
    fn norms_include_one(&self) -> bool {
        false
    }
    /// With `quantize` set, 2-D weights as that format's blocks (for the GPU kernels); the
    /// same rounding `get` applies on the CPU, so both backends compute with equal weights.
    fn get_quantized(&self, hf_name: &str) -> Result<Option<(Vec<usize>, GgmlType, Vec<u8>)>> {
        let Some(ty) = self.quantize else { return Ok(None) };
        if ty == GgmlType::F32 || !crate::qmatmul::supported(ty) {
            return Ok(None);
        }
        let Some((shape, v)) = self.tensor_f32(hf_name) else { return Ok(None) };
        if shape.len() != 2 || hf_name.ends_with("norm.weight") || shape[1] % ty.block_elems() != 0 {
            return Ok(None);
        }
        let q = crate::quant::quantize(ty, &v).ok_or_else(|| st_err(&self.root, format!("{hf_name}: not whole blocks")))?;
        Ok(Some((shape, ty, q)))
    }
}
