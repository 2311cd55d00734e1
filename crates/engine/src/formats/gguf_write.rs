//! GGUF writer (version 3): what `medlens models import` writes and the tests build from.

use crate::formats::gguf::MAGIC;
use crate::quant::GgmlType;

/// Writes a GGUF v3 file image (`medlens models import`, and tests).
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

    /// The file image in memory (tests build malformed variants from it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        self.write_to(&mut b).expect("writing to a Vec cannot fail");
        b
    }
}
