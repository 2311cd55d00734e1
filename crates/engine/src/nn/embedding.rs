//! The token embedding table, also the tied LM head.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::kernels::qmatmul::QTensor;
use crate::profile::upload;

/// A `[rows, hidden]` table: token embeddings (also the tied LM head), position embeddings.
#[derive(Debug, Clone)]
pub enum Embedding {
    /// f32, split along the vocabulary into chunks of at most `EMBED_CHUNK_BYTES` (wgpu caps
    /// the size of one storage buffer).
    Dense { chunks: Vec<Tensor<2>>, chunk_rows: usize },
    /// ggml blocks on the GPU (the largest tensor of the model: 262144 × 2560 for MedGemma-4B).
    Quant(QTensor),
}

impl Embedding {
    /// An f32 table of row width `h`, uploaded in chunks of at most `EMBED_CHUNK_BYTES`.
    pub fn dense(values: &[f32], h: usize, device: &Device) -> Self {
        let chunk_rows = (EMBED_CHUNK_BYTES / (4 * h)).max(1);
        let chunks = values
            .chunks(chunk_rows * h)
            .map(|ch| Tensor::from_data(TensorData::new(ch.to_vec(), [ch.len() / h, h]), device))
            .collect();
        Self::Dense { chunks, chunk_rows }
    }

    /// Rows of `ids`, `[ids.len(), hidden]`.
    pub fn lookup(&self, ids: &[u32], device: &Device) -> Tensor<2> {
        match self {
            Self::Quant(q) => q.gather(ids),
            Self::Dense { chunks, .. } if chunks.len() == 1 => {
                let idx: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
                let idx = upload::<1, Int>(TensorData::new(idx, [ids.len()]), device);
                chunks[0].clone().select(0, idx)
            }
            Self::Dense { chunks, chunk_rows } => {
                let rows: Vec<Tensor<2>> = ids
                    .iter()
                    .map(|&id| {
                        let (ch, r) = (id as usize / chunk_rows, id as usize % chunk_rows);
                        let idx = upload::<1, Int>(TensorData::new(vec![r as i64], [1]), device);
                        chunks[ch.min(chunks.len() - 1)].clone().select(0, idx)
                    })
                    .collect();
                Tensor::cat(rows, 0)
            }
        }
    }

    /// Bytes of the stored table.
    pub fn bytes(&self) -> u64 {
        match self {
            Self::Quant(q) => q.bytes(),
            Self::Dense { chunks, .. } => chunks.iter().map(|c| 4 * c.shape().num_elements() as u64).sum(),
        }
    }

    /// `h [rows, hidden]` times the table transposed: logits `[rows, vocab]`.
    pub fn logits(&self, h: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Quant(q) => q.matmul_t(h),
            Self::Dense { chunks, .. } => {
                let parts: Vec<Tensor<2>> =
                    chunks.iter().map(|e| h.clone().matmul(e.clone().transpose())).collect();
                Tensor::cat(parts, 1)
            }
        }
    }
}

/// A tensor's values on the host, row-major; a failed read-back (lost device, out of memory)

/// Largest embedding chunk (bytes); below wgpu's default 128 MiB storage binding limit.
const EMBED_CHUNK_BYTES: usize = 64 << 20;
