//! Reference quantizers (f32 → ggml blocks): what `medlens models import` and
//! quantize-on-load write. Round to nearest as ggml's reference quantizers do; the k-quants
//! use a plain min/max fit (see `quantize_q4_k`).

use half::f16;

use crate::quant::{GgmlType, QK, QK_K};

/// Quantizes f32 values to Q8_0 blocks (round to nearest, as ggml's reference quantizer).
pub fn quantize_q8_0(x: &[f32]) -> Option<Vec<u8>> {
    if x.len() % QK != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(x.len() / QK * GgmlType::Q8_0.block_bytes());
    for b in x.chunks(QK) {
        let amax = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for v in b {
            out.push((v * id).round() as i8 as u8);
        }
    }
    Some(out)
}

/// Quantizes f32 values to Q4_0 blocks (ggml's reference: scale from the signed max).
pub fn quantize_q4_0(x: &[f32]) -> Option<Vec<u8>> {
    if x.len() % QK != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(x.len() / QK * GgmlType::Q4_0.block_bytes());
    for b in x.chunks(QK) {
        let mut amax = 0f32;
        let mut max = 0f32;
        for &v in b {
            if v.abs() > amax {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for j in 0..QK / 2 {
            let x0 = ((b[j] * id + 8.5) as i32).min(15) as u8;
            let x1 = ((b[j + QK / 2] * id + 8.5) as i32).min(15) as u8;
            out.push(x0 | (x1 << 4));
        }
    }
    Some(out)
}

/// Quantizes f32 values to Q4_K super-blocks: per 32-value sub-block an affine `scale · q −
/// min` with `q` in 0..15, the eight scales and mins stored as 6-bit multiples of the
/// super-block's `d` and `dmin`. A plain min/max fit (ggml adds an iterative search that
/// lowers the error a little further); the layout is ggml's, so every reader of Q4_K reads it.
pub fn quantize_q4_k(x: &[f32]) -> Option<Vec<u8>> {
    if x.len() % QK_K != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(x.len() / QK_K * GgmlType::Q4K.block_bytes());
    for b in x.chunks(QK_K) {
        let mut scales = [0f32; 8];
        let mut mins = [0f32; 8];
        for (j, sb) in b.chunks(32).enumerate() {
            let lo = sb.iter().fold(0f32, |m, &v| m.min(v)); // min is stored as −min ≥ 0
            let hi = sb.iter().fold(f32::MIN, |m, &v| m.max(v));
            scales[j] = ((hi - lo) / 15.0).max(0.0);
            mins[j] = -lo;
        }
        let max_scale = scales.iter().fold(0f32, |m, &v| m.max(v));
        let max_min = mins.iter().fold(0f32, |m, &v| m.max(v));
        let d = f16::from_f32(max_scale / 63.0);
        let dmin = f16::from_f32(max_min / 63.0);
        let (df, dminf) = (d.to_f32(), dmin.to_f32());
        let mut ls = [0u8; 8];
        let mut lm = [0u8; 8];
        for j in 0..8 {
            // Round the scale up so the quantized range still covers the sub-block's max.
            ls[j] = if df > 0.0 { ((scales[j] / df).ceil() as i32).clamp(0, 63) as u8 } else { 0 };
            lm[j] = if dminf > 0.0 { ((mins[j] / dminf).round() as i32).clamp(0, 63) as u8 } else { 0 };
        }
        let mut packed = [0u8; 12];
        for j in 0..4 {
            packed[j] = ls[j] | ((ls[j + 4] >> 4) << 6);
            packed[j + 4] = lm[j] | ((lm[j + 4] >> 4) << 6);
            packed[j + 8] = (ls[j + 4] & 0x0F) | ((lm[j + 4] & 0x0F) << 4);
        }
        let mut q = [0u8; QK_K];
        for j in 0..8 {
            let sc = df * ls[j] as f32;
            let m = dminf * lm[j] as f32;
            for l in 0..32 {
                let v = b[32 * j + l];
                q[32 * j + l] = if sc > 0.0 { (((v + m) / sc).round() as i32).clamp(0, 15) as u8 } else { 0 };
            }
        }
        out.extend_from_slice(&d.to_le_bytes());
        out.extend_from_slice(&dmin.to_le_bytes());
        out.extend_from_slice(&packed);
        for g in 0..4 {
            for l in 0..32 {
                out.push(q[64 * g + l] | (q[64 * g + 32 + l] << 4));
            }
        }
    }
    Some(out)
}

/// Quantizes f32 values to Q6_K super-blocks: per 16-value sub-block a signed scale (i8
/// multiple of `d`) and 6-bit quants in −32..31, packed as ggml's `ql` / `qh` / `scales` / `d`.
pub fn quantize_q6_k(x: &[f32]) -> Option<Vec<u8>> {
    if x.len() % QK_K != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(x.len() / QK_K * GgmlType::Q6K.block_bytes());
    for b in x.chunks(QK_K) {
        let mut scales = [0f32; 16];
        for (j, sb) in b.chunks(16).enumerate() {
            let mut amax = 0f32;
            let mut max = 0f32;
            for &v in sb {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            scales[j] = max / -32.0; // the signed extreme maps to −32 exactly
        }
        let amax_scale = scales.iter().fold(0f32, |m, &v| m.max(v.abs()));
        let d = f16::from_f32(amax_scale / 127.0);
        let df = d.to_f32();
        let mut isc = [0i8; 16];
        for j in 0..16 {
            isc[j] = if df > 0.0 { ((scales[j] / df).round() as i32).clamp(-128, 127) as i8 } else { 0 };
        }
        let mut q = [0u8; QK_K]; // 0..63 (stored value, q + 32)
        for j in 0..16 {
            let sc = df * isc[j] as f32;
            for l in 0..16 {
                let v = b[16 * j + l];
                let qi = if sc != 0.0 { ((v / sc).round() as i32).clamp(-32, 31) } else { 0 };
                q[16 * j + l] = (qi + 32) as u8;
            }
        }
        let mut ql = [0u8; 128];
        let mut qh = [0u8; 64];
        for n in 0..2 {
            for l in 0..32 {
                let base = 128 * n;
                let (q1, q2, q3, q4) = (q[base + l], q[base + l + 32], q[base + l + 64], q[base + l + 96]);
                ql[64 * n + l] = (q1 & 0x0F) | ((q3 & 0x0F) << 4);
                ql[64 * n + l + 32] = (q2 & 0x0F) | ((q4 & 0x0F) << 4);
                qh[32 * n + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
            }
        }
        out.extend_from_slice(&ql);
        out.extend_from_slice(&qh);
        out.extend(isc.iter().map(|&v| v as u8));
        out.extend_from_slice(&d.to_le_bytes());
    }
    Some(out)
}

/// Quantizes to any of the formats the importer writes.
pub fn quantize(ty: GgmlType, x: &[f32]) -> Option<Vec<u8>> {
    match ty {
        GgmlType::F32 => Some(x.iter().flat_map(|v| v.to_le_bytes()).collect()),
        GgmlType::F16 => Some(x.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect()),
        GgmlType::Q8_0 => quantize_q8_0(x),
        GgmlType::Q4_0 => quantize_q4_0(x),
        GgmlType::Q4K => quantize_q4_k(x),
        GgmlType::Q6K => quantize_q6_k(x),
        _ => None,
    }
}

