//! [`GgmlOps`] for burn's CPU backend (Flex): the quantized parts are Flex `u32` tensors
//! holding the ggml bytes (read in place, no copy), the activations are read as f32 and the
//! results come back as new Flex tensors.

use burn::tensor::DType;
use burn_flex::{Flex, FlexTensor};

use super::matmul::{dequantize_rows_into, matmul_t_into, row_bytes};
use super::{flex_f32 as tensor, host_f32, read_f32};
use crate::kernels::qmatmul::GgmlOps;
use crate::quant::GgmlType;

// The parts hold little-endian bytes packed into u32 words; on a little-endian CPU their
// memory *is* the ggml byte stream.
#[cfg(target_endian = "big")]
compile_error!("the CPU kernels read ggml blocks from little-endian u32 words");

fn format(ty: u32) -> GgmlType {
    GgmlType::from_id(ty).expect("format code checked by QTensor")
}

/// The ggml bytes of a part.
fn blocks(w: &FlexTensor) -> &[u8] {
    let words: &[u32] = w.as_slice().expect("quantized parts are contiguous u32 tensors");
    // SAFETY: a `[u32]` is readable as 4× as many bytes, with no alignment requirement.
    unsafe { std::slice::from_raw_parts(words.as_ptr() as *const u8, words.len() * 4) }
}

/// `x` as row-major f32 values and its row count.
fn rows_f32(x: FlexTensor) -> (Vec<f32>, usize) {
    let (v, shape) = host_f32(x);
    let [m, _] = shape[..] else { panic!("activations are a matrix, not shape {shape:?}") };
    (v, m)
}

/// The activations `x` (a matrix) read in place when they can be (see [`read_f32`]), and
/// their row count: the caller usually still holds them (`x.clone()` for q, k and v), and
/// taking them copied the vision tower's `[4096, 1152]` inputs twice per product.
fn rows_read(x: &FlexTensor) -> (std::borrow::Cow<'_, [f32]>, usize) {
    let shape = x.layout().shape().to_vec();
    let [m, _] = shape[..] else { panic!("activations are a matrix, not shape {shape:?}") };
    (read_f32(x), m)
}

/// The ids as indices (whatever integer type the caller used).
fn ids_of(ids: FlexTensor) -> Vec<i64> {
    ids.into_data().iter::<i64>().collect()
}

impl GgmlOps for Flex {
    fn ggml_gemv(x: FlexTensor, w: FlexTensor, ty: u32, n: usize, k: usize, _per_row: bool) -> FlexTensor {
        let (xv, m) = rows_read(&x);
        let mut out = vec![0f32; m * n];
        matmul_t_into(format(ty), blocks(&w), n, k, &xv, m, &mut out, n, 0);
        tensor(out, [m, n])
    }

    fn ggml_gemv_into(x: FlexTensor, w: FlexTensor, mut out: FlexTensor, ty: u32, n: usize, k: usize, _per_row: bool, col0: usize) -> FlexTensor {
        let (xv, m) = rows_read(&x);
        let ld = out.layout().shape().dims::<2>()[1];
        if out.dtype() == DType::F32 && out.layout().contiguous_offsets() == Some((0, m * ld)) {
            // Written in place (a copy only if another handle shares the buffer).
            let ov = out.storage_mut::<f32>();
            matmul_t_into(format(ty), blocks(&w), n, k, &xv, m, &mut ov[..m * ld], ld, col0);
            return out;
        }
        let (mut ov, _) = rows_f32(out);
        matmul_t_into(format(ty), blocks(&w), n, k, &xv, m, &mut ov, ld, col0);
        tensor(ov, [m, ld])
    }

    fn ggml_dequant(w: FlexTensor, ty: u32, row0: usize, rows: usize, k: usize) -> FlexTensor {
        let t = format(ty);
        let rb = row_bytes(t, k);
        let mut out = vec![0f32; rows * k];
        dequantize_rows_into(t, &blocks(&w)[row0 * rb..(row0 + rows) * rb], k, &mut out);
        tensor(out, [rows, k])
    }

    fn ggml_gather(w: FlexTensor, ids: FlexTensor, ty: u32, k: usize) -> FlexTensor {
        let ids = ids_of(ids);
        let out = tensor(vec![0f32; ids.len() * k], [ids.len(), k]);
        let rows = blocks(&w).len() / row_bytes(format(ty), k);
        gather_rows(&w, &ids, out, ty, k, 0, rows, 1.0)
    }

    fn ggml_gemv_multi(
        x: FlexTensor,
        w0: FlexTensor,
        w1: FlexTensor,
        w2: FlexTensor,
        tys: [u32; 3],
        ns: [usize; 3],
        k: usize,
        _per_row: bool,
    ) -> FlexTensor {
        let (xv, m) = rows_read(&x);
        let ld = ns.iter().sum();
        let mut out = vec![0f32; m * ld];
        let mut col0 = 0;
        for (w, (ty, n)) in [w0, w1, w2].iter().zip(tys.into_iter().zip(ns)) {
            if n > 0 {
                matmul_t_into(format(ty), blocks(w), n, k, &xv, m, &mut out, ld, col0);
                col0 += n;
            }
        }
        tensor(out, [m, ld])
    }

    fn ggml_gather_part_into(w: FlexTensor, ids: FlexTensor, out: FlexTensor, ty: u32, k: usize, row0: usize, rows: usize, scale: f32) -> FlexTensor {
        gather_rows(&w, &ids_of(ids), out, ty, k, row0, rows, scale)
    }
}

/// Fills row `i` of `out` (`[ids, k]`) with row `ids[i] − row0` of the part `w` times
/// `scale`, for the ids inside the part; other rows are left as they are.
#[allow(clippy::too_many_arguments)]
fn gather_rows(w: &FlexTensor, ids: &[i64], out: FlexTensor, ty: u32, k: usize, row0: usize, rows: usize, scale: f32) -> FlexTensor {
    let t = format(ty);
    let rb = row_bytes(t, k);
    let b = blocks(w);
    let (mut ov, _) = rows_f32(out);
    for (i, &id) in ids.iter().enumerate() {
        let Ok(id) = usize::try_from(id) else { continue };
        if id < row0 || id >= row0 + rows {
            continue;
        }
        let r = id - row0;
        let o = &mut ov[i * k..(i + 1) * k];
        dequantize_rows_into(t, &b[r * rb..(r + 1) * rb], k, o);
        if scale != 1.0 {
            o.iter_mut().for_each(|v| *v *= scale);
        }
    }
    tensor(ov, [ids.len(), k])
}
