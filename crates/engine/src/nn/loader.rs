//! Builds layers from a [`WeightSource`] by HF name, checking every shape (candle's
//! `VarBuilder` has the same job). One loader for every model, so the rule for "keep it
//! quantized" is written once.

use burn::tensor::{Device, Tensor, TensorData};

use crate::device::keeps_quantized;
use crate::error::{EngineError, Result};
use crate::kernels::qmatmul::QTensor;
use crate::nn::{Embedding, LayerNorm, Linear, LinearWeight, RmsNorm};
use crate::weights::WeightSource;

/// Tensors of `src` under `prefix`, placed on `device`.
pub struct WeightLoader<'a> {
    pub src: &'a dyn WeightSource,
    pub device: &'a Device,
    pub prefix: String,
}

impl<'a> WeightLoader<'a> {
    pub fn new(src: &'a dyn WeightSource, device: &'a Device, prefix: impl Into<String>) -> Self {
        Self { src, device, prefix: prefix.into() }
    }

    fn shape_err(&self, tensor: String, got: Vec<usize>, expected: &[usize]) -> EngineError {
        EngineError::Shape { file: self.src.file().into(), tensor, got, expected: expected.to_vec() }
    }

    /// f32 values of `name` (under the prefix), which must have shape `expected`.
    pub fn raw(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{}", self.prefix, name);
        let (shape, v) = self
            .src
            .get(&full)?
            .ok_or_else(|| EngineError::MissingTensor { file: self.src.file().into(), tensor: full.clone() })?;
        if shape != expected {
            return Err(self.shape_err(full, shape, expected));
        }
        self.src.release(&full);
        Ok(v)
    }

    /// A 1-D tensor of length `n`.
    pub fn vector(&self, name: &str, n: usize) -> Result<Tensor<1>> {
        Ok(Tensor::from_data(TensorData::new(self.raw(name, &[n])?, [n]), self.device))
    }

    /// A 2-D tensor `[a, b]` as stored.
    pub fn matrix(&self, name: &str, a: usize, b: usize) -> Result<Tensor<2>> {
        Ok(Tensor::from_data(TensorData::new(self.raw(name, &[a, b])?, [a, b]), self.device))
    }

    /// `w [out, in]` transposed to `[in, out]` on the host, once, and uploaded.
    pub fn transposed(&self, w: &[f32], out: usize, inp: usize) -> Tensor<2> {
        let mut t = vec![0f32; w.len()];
        for o in 0..out {
            for (i, &x) in w[o * inp..(o + 1) * inp].iter().enumerate() {
                t[i * out + o] = x;
            }
        }
        Tensor::from_data(TensorData::new(t, [inp, out]), self.device)
    }

    /// The tensor as ggml blocks on the device, when the device keeps weights quantized and
    /// the source has it in a format the kernels read.
    pub fn quantized(&self, name: &str, rows: usize, cols: usize) -> Result<Option<QTensor>> {
        if !keeps_quantized(self.device) {
            return Ok(None);
        }
        let full = format!("{}{}", self.prefix, name);
        let Some((shape, ty, bytes)) = self.src.get_quantized(&full)? else { return Ok(None) };
        if shape != [rows, cols] {
            return Err(self.shape_err(full, shape, &[rows, cols]));
        }
        // On the CPU, a weight that is the file's bytes stays there (zero-copy) when the
        // kernels can read it in place (`from_mapped` says when); anything else is copied
        // where the model keeps it and the file's pages are let go.
        let same = |m: &crate::formats::gguf::MappedTensor| std::ptr::eq(m.as_ref(), &bytes[..]);
        if let Some(m) = self.src.mapped(&full).filter(same) {
            if let Some(q) = QTensor::from_mapped(ty, rows, cols, m, self.device)? {
                return Ok(Some(q));
            }
        }
        let q = QTensor::upload(ty, rows, cols, &bytes, self.device)?;
        drop(bytes);
        self.src.release(&full);
        Ok(Some(q))
    }

    /// The weight `name` (`[out, in]`) of a linear map.
    pub fn linear_weight(&self, name: &str, out: usize, inp: usize) -> Result<LinearWeight> {
        if let Some(q) = self.quantized(name, out, inp)? {
            return Ok(LinearWeight::Quant(q));
        }
        Ok(LinearWeight::Dense { weight_t: self.transposed(&self.raw(name, &[out, inp])?, out, inp) })
    }

    /// A linear map without bias whose weight is the tensor `name`.
    pub fn linear(&self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear { weight: self.linear_weight(name, out, inp)?, bias: None })
    }

    /// A linear map with `{name}.weight` and `{name}.bias`.
    pub fn linear_with_bias(&self, name: &str, out: usize, inp: usize) -> Result<Linear> {
        Ok(Linear {
            weight: self.linear_weight(&format!("{name}.weight"), out, inp)?,
            bias: Some(self.vector(&format!("{name}.bias"), out)?),
        })
    }

    /// A Gemma RMSNorm `name` of width `n`: the multiplier is `1 + w`, whether the source
    /// stores `w` (HF) or `1 + w` (llama.cpp).
    pub fn rms_norm(&self, name: &str, n: usize, eps: f64) -> Result<RmsNorm> {
        let mut w = self.raw(name, &[n])?;
        if !self.src.norms_include_one() {
            w.iter_mut().for_each(|x| *x += 1.0);
        }
        Ok(RmsNorm { scale: Tensor::from_data(TensorData::new(w, [n]), self.device), eps })
    }

    /// A LayerNorm with `{name}.weight` and `{name}.bias`.
    pub fn layer_norm(&self, name: &str, n: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm { weight: self.vector(&format!("{name}.weight"), n)?, bias: self.vector(&format!("{name}.bias"), n)?, eps })
    }

    /// An embedding table `[rows, h]`: ggml blocks on the GPU when the source has them, else
    /// f32 in chunks small enough for one wgpu buffer each.
    pub fn embedding(&self, name: &str, rows: usize, h: usize) -> Result<Embedding> {
        if let Some(q) = self.quantized(name, rows, h)? {
            return Ok(Embedding::Quant(q));
        }
        Ok(Embedding::dense(&self.raw(name, &[rows, h])?, h, self.device))
    }
}

#[cfg(test)]
mod mapped_tests {
    use super::*;
    use crate::formats::gguf::Gguf;
    use crate::formats::gguf_write::GgufWriter;
    use crate::quant::GgmlType;
    use burn::tensor::{Tensor, TensorData};

    /// On the CPU, a quantized weight of a GGUF opened from disk is read in place (no copy),
    /// and multiplies as the same bytes copied do; one from a GGUF in memory is copied.
    /// Letting its pages go changes nothing but where they are.
    #[test]
    fn cpu_weights_of_a_mapped_gguf_stay_in_the_file() {
        let (rows, cols) = (8, 64);
        let blocks: Vec<u8> = (0..rows * cols / 32)
            .flat_map(|b| {
                // Q8_0: an f16 scale (0.5 + b/64), then 32 signed bytes.
                let d = half::f16::from_f32(0.5 + b as f32 / 64.0).to_le_bytes();
                d.into_iter().chain((0..32).map(move |i| ((i * 7 + b * 13) % 255) as u8))
            })
            .collect();
        let mut w = GgufWriter::new();
        w.string("general.architecture", "gemma3").tensor("blk.0.attn_q.weight", &[cols as u64, rows as u64], GgmlType::Q8_0, blocks.clone());
        let dir = std::env::temp_dir().join(format!("medlens-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.gguf");
        std::fs::write(&path, w.to_bytes()).unwrap();
        let device = Device::flex();
        let name = "model.layers.0.self_attn.q_proj.weight";

        let file = Gguf::open(&path).unwrap();
        let mapped = WeightLoader::new(&file, &device, "").quantized(name, rows, cols).unwrap().unwrap();
        assert!(mapped.file_backed(), "read in place from the mapped file");
        let memory = Gguf::from_bytes(&path, w.to_bytes()).unwrap();
        let copied = WeightLoader::new(&memory, &device, "").quantized(name, rows, cols).unwrap().unwrap();
        assert!(!copied.file_backed(), "a GGUF in memory is copied");

        let x: Vec<f32> = (0..3 * cols).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [3, cols]), &device);
        let out = |q: &QTensor| q.matmul_t(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let want = out(&copied);
        assert_eq!(out(&mapped), want);
        mapped.release_pages();
        assert_eq!(out(&mapped), want, "pages let go are read again");
        drop((mapped, file));
        std::fs::remove_dir_all(&dir).ok();
    }
}
