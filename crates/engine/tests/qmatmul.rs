//! The GPU quantized kernels against the plain Rust reference dequantizer (`quant.rs`), on
//! random blocks of every format the engine reads: dequantize, gather, gemv (decode) and the
//! dequantize + matmul path (prefill), across part boundaries; and the fused row kernels
//! (RMSNorm, add + RMSNorm, q/k-norm + RoPE, GeGLU, softmax) against the burn ops they replace.
//!
//! Needs a wgpu adapter (lavapipe in CI); the kernels do not exist on the CPU backend, so
//! this test fails, rather than skips, without one.

use burn::tensor::{Tensor, TensorData};
use medlens_engine::kernels::qmatmul::QTensor;
use medlens_engine::quant::{dequantize, GgmlType};

fn rng(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Random blocks with every f16 field finite and varied (scales from 2^-12 to 2^-4, both
/// signs, subnormals included), and every other byte uniformly random.
fn random_blocks(ty: GgmlType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
    let mut r = rng(seed);
    let n = rows * cols / ty.block_elems() * ty.block_bytes();
    let mut v: Vec<u8> = (0..n).map(|_| r() as u8).collect();
    let f16 = |r: &mut dyn FnMut() -> u64| {
        let x = r();
        let h = if x % 17 == 0 {
            (x >> 8) as u16 & 0x83FF // subnormal
        } else {
            let e = 3 + (x >> 8) % 9; // exponent field 3..11: 2^-12 .. 2^-4
            ((x >> 16) as u16 & 0x8000) | ((e as u16) << 10) | ((x >> 24) as u16 & 0x3FF)
        };
        h.to_le_bytes()
    };
    let bb = ty.block_bytes();
    for blk in v.chunks_mut(bb) {
        let fields: &[usize] = match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
            GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
            GgmlType::Q6K => &[208],
            GgmlType::F16 => &[0],
            _ => &[],
        };
        for &o in fields {
            blk[o..o + 2].copy_from_slice(&f16(&mut r));
        }
        if ty == GgmlType::BF16 {
            // Keep bf16 finite: exponent below all-ones.
            blk[1] &= 0xBF;
        }
    }
    v
}

fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = (0.0f32, 0usize);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / (1.0 + w.abs());
        assert!(g.is_finite(), "{what}: [{i}] = {g}");
        if err > worst.0 {
            worst = (err, i);
        }
    }
    println!("{what}: max rel err {:.2e} at {}", worst.0, worst.1);
    assert!(worst.0 <= tol, "{what}: [{}] got {} want {}", worst.1, got[worst.1], want[worst.1]);
}

fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn quantized_kernels_match_reference_dequantizer() {
    let device = medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
        .expect("the quantized kernels need a wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)")
        .device;
    let formats = [
        (GgmlType::Q8_0, 96),
        (GgmlType::Q4_0, 96),
        (GgmlType::Q5_0, 96),
        (GgmlType::Q4K, 512),
        (GgmlType::Q5K, 512),
        (GgmlType::Q6K, 512),
        (GgmlType::F16, 96),
        (GgmlType::BF16, 40),
    ];
    let rows = 37;
    for (fi, &(ty, cols)) in formats.iter().enumerate() {
        let name = ty.name();
        let bytes = random_blocks(ty, rows, cols, 0x9e37_79b9 + fi as u64);
        let w_ref = dequantize(ty, &bytes).expect("reference dequantizer");
        assert_eq!(w_ref.len(), rows * cols);
        // BF16 at 40 columns takes the path for rows that are not whole 32-value groups.
        // Small parts (5 rows' worth of bytes) so part boundaries are crossed.
        let rb = cols / ty.block_elems() * ty.block_bytes();
        let q = QTensor::upload_parts(ty, rows, cols, &bytes, &device, 5 * rb).unwrap();

        // Dequantize: same f32 arithmetic as the reference, up to FMA contraction.
        close(&to_vec(q.dequantize_rows(0, rows)), &w_ref, 1e-6, &format!("{name} dequantize"));
        close(
            &to_vec(q.dequantize_rows(3, 9)),
            &w_ref[3 * cols..12 * cols],
            1e-6,
            &format!("{name} dequantize rows 3..12"),
        );

        // Gather (embedding lookup), ids out of order and repeated, across parts.
        let ids = [36u32, 0, 7, 7, 12, 35, 1];
        let want: Vec<f32> = ids.iter().flat_map(|&i| w_ref[i as usize * cols..(i as usize + 1) * cols].to_vec()).collect();
        close(&to_vec(q.gather(&ids)), &want, 1e-6, &format!("{name} gather"));

        // x · Wᵀ for 1 and 3 rows (gemv) and 20 rows (dequantize + matmul), against f64 sums
        // of the reference weights. Sum order differs: tolerance 1e-4 relative to 1 + |y|.
        for m in [1usize, 3, 20] {
            let mut r = rng(17 + m as u64);
            let x: Vec<f32> = (0..m * cols).map(|_| (r() % 2001) as f32 / 1000.0 - 1.0).collect();
            // Error bound of an f32 dot product in any summation order: n·eps·Σ|x·w|.
            let mut want = vec![0f32; m * rows];
            let mut scale = vec![0f32; m * rows];
            for i in 0..m {
                for n in 0..rows {
                    let s: f64 = (0..cols).map(|k| x[i * cols + k] as f64 * w_ref[n * cols + k] as f64).sum();
                    let a: f64 = (0..cols).map(|k| (x[i * cols + k] as f64 * w_ref[n * cols + k] as f64).abs()).sum();
                    want[i * rows + n] = s as f32;
                    scale[i * rows + n] = a as f32;
                }
            }
            // Both gemv kernels (one unit per row, for CPU adapters; cooperative, for GPUs).
            for per_row in [true, false] {
                let mut q = q.clone();
                q.per_row = per_row;
                let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [m, cols]), &device);
                let got = to_vec(q.matmul_t(xt));
                let worst = got
                    .iter()
                    .zip(&want)
                    .zip(&scale)
                    .map(|((g, w), s)| (g - w).abs() / s.max(f32::MIN_POSITIVE))
                    .fold(0f32, f32::max);
                let bound = cols as f32 * f32::EPSILON;
                let kind = if per_row { "per-row" } else { "cooperative" };
                println!("{name} matmul m={m} ({kind}): max |err| / Σ|x·w| = {worst:.2e} (bound n·eps = {bound:.2e})");
                assert!(got.iter().all(|v| v.is_finite()) && worst <= bound, "{name} matmul m={m} ({kind}): {worst}");
            }
        }
    }
}

#[test]
fn upload_rejects_inconsistent_sizes() {
    let device = burn::tensor::Device::flex();
    let e = QTensor::upload(GgmlType::Q4K, 2, 300, &[0u8; 10], &device).unwrap_err();
    assert!(e.to_string().contains("Q4_K"), "{e}");
    let e = QTensor::upload(GgmlType::Q8_0, 2, 64, &[0u8; 10], &device).unwrap_err();
    assert!(e.to_string().contains("needs 136 bytes, got 10"), "{e}");
    let e = QTensor::upload(GgmlType::F32, 2, 64, &[0u8; 512], &device).unwrap_err();
    assert!(e.to_string().contains("F32"), "{e}");
}

/// Each fused row kernel against the composed burn ops it replaces, on the same adapter:
/// the arithmetic per element is the same, only a row sum's order differs, so the bound is
/// n·eps relative to the row's scale.
#[test]
fn fused_row_kernels_match_composed_ops() {
    use medlens_engine::kernels::fused;
    use medlens_engine::nn::{rope, RmsNorm};
    let device = medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
        .expect("the fused kernels need a wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)")
        .device;
    let mut r = rng(0x5eed);
    let mut rand = |n: usize, amp: f32| -> Vec<f32> { (0..n).map(|_| ((r() % 20001) as f32 / 10000.0 - 1.0) * amp).collect() };
    let t2 = |v: Vec<f32>, a: usize, b: usize| Tensor::<2>::from_data(TensorData::new(v, [a, b]), &device);
    let t1 = |v: Vec<f32>| {
        let n = v.len();
        Tensor::<1>::from_data(TensorData::new(v, [n]), &device)
    };
    let check = |what: &str, got: Tensor<2>, want: Tensor<2>, n: usize| {
        let (g, w) = (to_vec(got), to_vec(want));
        assert_eq!(g.len(), w.len(), "{what}");
        let worst = g.iter().zip(&w).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0f32, f32::max);
        let bound = 4.0 * n as f32 * f32::EPSILON;
        println!("{what}: max rel err {worst:.2e} (bound {bound:.2e})");
        assert!(g.iter().all(|v| v.is_finite()) && worst <= bound, "{what}: {worst} > {bound}");
    };
    // Widths of the 270M (640) and 4B (2560) hidden states and of a head (256); a width
    // that is not a multiple of the cube (1000), and more rows than one grid row holds.
    for (rows, n) in [(1usize, 640usize), (3, 2560), (5, 1000), (70_000, 8)] {
        let norm = RmsNorm { scale: t1(rand(n, 2.0)), eps: 1e-6 };
        let x = t2(rand(rows * n, 3.0), rows, n);
        check(&format!("rms_norm [{rows}, {n}]"), fused::rms_norm(x.clone(), &norm.scale, norm.eps), norm.forward_composed(x.clone()), n);
        let norm2 = RmsNorm { scale: t1(rand(n, 2.0)), eps: 1e-5 };
        let h = t2(rand(rows * n, 5.0), rows, n);
        let (sum, normed) = fused::add_rms_norm(x.clone(), h.clone(), &norm.scale, norm.eps, &norm2.scale, norm2.eps);
        let want_sum = x.clone() + norm.forward_composed(h);
        check(&format!("add_rms_norm sum [{rows}, {n}]"), sum, want_sum.clone(), n);
        check(&format!("add_rms_norm normed [{rows}, {n}]"), normed, norm2.forward_composed(want_sum), n);
        let u = t2(rand(rows * n, 4.0), rows, n);
        check(&format!("geglu [{rows}, {n}]"), fused::geglu(x.clone(), u.clone()), medlens_engine::nn::gelu_tanh(x.clone()) * u, n);
        check(
            &format!("softmax [{rows}, {n}]"),
            fused::softmax(x.clone() * 4.0),
            burn::tensor::activation::softmax(x * 4.0, 1),
            n,
        );
    }
    // q/k-norm + RoPE (+ the attention scale) at positions 5.. and 300.. (past a table's
    // first capacity), 4 heads of 256 and 3 of 64.
    for (t, heads, hd, pos0) in [(1usize, 4usize, 256usize, 5usize), (7, 3, 64, 300)] {
        let inv = rope::inv_freq(10_000.0, hd, 1.0);
        let mut table = rope::Table::new(inv);
        let (cos, sin) = table.full(pos0 + t, &device);
        let norm = RmsNorm { scale: t1(rand(hd, 2.0)), eps: 1e-6 };
        let x = Tensor::<3>::from_data(TensorData::new(rand(t * heads * hd, 3.0), [t, heads, hd]), &device);
        let got = fused::norm_rope(x.clone(), &norm.scale, norm.eps, &cos, &sin, pos0, 0.0625);
        let (c, s) = (cos.slice([pos0..pos0 + t]), sin.slice([pos0..pos0 + t]));
        let want = rope::apply(norm.forward_composed(x), &c, &s) * 0.0625;
        check(&format!("norm_rope t={t} heads={heads} hd={hd} pos0={pos0}"), got.reshape([t * heads, hd]), want.reshape([t * heads, hd]), hd);
    }
    // One token's attention over the first n cache slots (GQA: 8 query heads on 2 KV heads,
    // as MedGemma-4B; 4 on 1, as the 270M), n inside one 1024-key chunk and across chunks.
    for (heads, kv_heads, hd, n, cap) in [(8usize, 2usize, 256usize, 1usize, 64usize), (4, 1, 256, 700, 1024), (8, 2, 64, 2500, 4096)] {
        let g = heads / kv_heads;
        let q = t2(rand(heads * hd, 0.2), heads, hd);
        let k = Tensor::<3>::from_data(TensorData::new(rand(kv_heads * cap * hd, 1.0), [kv_heads, cap, hd]), &device);
        let v = Tensor::<3>::from_data(TensorData::new(rand(kv_heads * cap * hd, 1.0), [kv_heads, cap, hd]), &device);
        let got = fused::decode_attention(q.clone(), &k, &v, n);
        let kn = k.slice([0..kv_heads, 0..n, 0..hd]);
        let vn = v.slice([0..kv_heads, 0..n, 0..hd]);
        let qg = q.reshape([kv_heads, g, hd]);
        let want = burn::tensor::activation::softmax(qg.matmul(kn.swap_dims(1, 2)), 2).matmul(vn).reshape([heads, hd]);
        check(&format!("decode_attention heads={heads}/{kv_heads} hd={hd} n={n}"), got, want, n.max(hd));
    }
}
