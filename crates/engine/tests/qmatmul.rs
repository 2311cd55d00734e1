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
    let gpu = medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
        .expect("the fused kernels need a wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)")
        .device;
    // The CubeCL kernels, and their host loops on burn's CPU backend.
    for device in [gpu, burn::tensor::Device::flex()] {
        println!("--- {device:?}");
        fused_rows_on(device);
    }
}

fn fused_rows_on(device: burn::tensor::Device) {
    use medlens_engine::kernels::fused;
    use medlens_engine::nn::{rope, RmsNorm};
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
        check(&format!("geglu [{rows}, {n}]"), fused::geglu(x.clone(), u.clone()), medlens_engine::nn::gelu_tanh_composed(x.clone()) * u, n);
        check(&format!("gelu_tanh [{rows}, {n}]"), fused::gelu_tanh(x.clone()), medlens_engine::nn::gelu_tanh_composed(x.clone()), n);
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

/// The decode step's fused launches against the separate ones they replace: two or three
/// matrices of different formats in one gemv (both kernels), the embedding gathered from a
/// device-held id across parts (times the scale), GeGLU over the packed gate/up output, the
/// device argmax (ties to the first index, as the host's), and q/k-norm + RoPE with the key
/// and value stored in their cache slot.
#[test]
fn fused_decode_launches_match_separate_ones() {
    use burn::tensor::Int;
    use medlens_engine::kernels::fused;
    use medlens_engine::nn::{rope, RmsNorm};
    let device = medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
        .expect("the fused kernels need a wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)")
        .device;
    let mut r = rng(0xdec0de);
    let mut rand = |n: usize, amp: f32| -> Vec<f32> { (0..n).map(|_| ((r() % 20001) as f32 / 10000.0 - 1.0) * amp).collect() };
    let exact = |what: &str, got: Vec<f32>, want: Vec<f32>, tol: f32| {
        assert_eq!(got.len(), want.len(), "{what}");
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0f32, f32::max);
        println!("{what}: max rel err {worst:.2e}");
        assert!(got.iter().all(|v| v.is_finite()) && worst <= tol, "{what}: {worst} > {tol}");
    };

    // q/k/v-shaped (Q4_K, Q4_K, Q6_K as llama.cpp's Q4_K_M) and gate/up-shaped (Q8_0, Q5_K:
    // one multi-row and one single-row format), m = 1 and 2, both gemv kernels. Each
    // segment runs the very code a lone matrix takes, in the same order: equal up to the
    // shader compiler's FMA contraction.
    let k = 512;
    for (set, tys) in [("q/k/v", vec![(GgmlType::Q4K, 70), (GgmlType::Q4K, 20), (GgmlType::Q6K, 20)]), ("gate/up", vec![(GgmlType::Q8_0, 300), (GgmlType::Q5K, 33)])] {
        let qs: Vec<QTensor> = tys
            .iter()
            .enumerate()
            .map(|(i, &(ty, rows))| QTensor::upload(ty, rows, k, &random_blocks(ty, rows, k, 77 + i as u64), &device).unwrap())
            .collect();
        for m in [1usize, 2] {
            for per_row in [true, false] {
                let qs: Vec<QTensor> = qs.iter().cloned().map(|mut q| { q.per_row = per_row; q }).collect();
                let x = Tensor::<2>::from_data(TensorData::new(rand(m * k, 1.0), [m, k]), &device);
                let refs: Vec<&QTensor> = qs.iter().collect();
                let got = QTensor::gemv_multi(&refs, &x).expect("single-part matrices qualify");
                let want = Tensor::cat(qs.iter().map(|q| q.matmul_t(x.clone())).collect(), 1);
                exact(&format!("gemv_multi {set} m={m} per_row={per_row}"), to_vec(got), to_vec(want), 1e-6);
            }
        }
    }
    // Two parts of one table do not qualify: the caller falls back.
    let ty = GgmlType::Q8_0;
    let rb = k / 32 * 34;
    let split = QTensor::upload_parts(ty, 10, k, &random_blocks(ty, 10, k, 5), &device, 4 * rb).unwrap();
    let one = QTensor::upload(ty, 3, k, &random_blocks(ty, 3, k, 6), &device).unwrap();
    let x = Tensor::<2>::from_data(TensorData::new(rand(k, 1.0), [1, k]), &device);
    assert!(QTensor::gemv_multi(&[&split, &one], &x).is_none());

    // Gather from a device id, across parts of 4 rows (3 parts), times the embedding scale.
    let bytes = random_blocks(GgmlType::Q6K, 10, 256, 9);
    let table = QTensor::upload_parts(GgmlType::Q6K, 10, 256, &bytes, &device, 4 * 210).unwrap();
    let w_ref = dequantize(GgmlType::Q6K, &bytes).unwrap();
    for id in [0u32, 5, 9] {
        let idt = Tensor::<1, Int>::from_data(TensorData::new(vec![id], [1]), (&device, burn::tensor::DType::U32));
        let want: Vec<f32> = w_ref[id as usize * 256..(id as usize + 1) * 256].iter().map(|v| v * 25.3).collect();
        exact(&format!("gather_device id={id}"), to_vec(table.gather_device(&idt, 25.3)), want, 1e-6);
    }

    // GeGLU over [rows, 2f] against the split halves.
    for (rows, f) in [(1usize, 2048usize), (3, 700)] {
        let gu = Tensor::<2>::from_data(TensorData::new(rand(rows * 2 * f, 3.0), [rows, 2 * f]), &device);
        let (g, u) = (gu.clone().slice([0..rows, 0..f]), gu.clone().slice([0..rows, f..2 * f]));
        exact(&format!("geglu_packed [{rows}, {f}]"), to_vec(fused::geglu_packed(gu)), to_vec(fused::geglu(g, u)), 1e-6);
    }

    // Argmax over a vocabulary-sized row, a tie (the first wins), a short row.
    for (n, ties) in [(262_144usize, false), (262_144, true), (100, false), (1, false)] {
        let mut v = rand(n, 10.0);
        if ties && n > 200_000 {
            v[123_457] = 50.0;
            v[7] = 50.0;
            v[200_001] = 50.0;
        }
        let want = medlens_engine::generate::argmax(&v);
        let t = Tensor::<2>::from_data(TensorData::new(v, [1, n]), &device);
        let got = fused::argmax_device(t).into_data();
        let got = got.iter::<u32>().next().unwrap();
        assert_eq!(got, want, "argmax n={n} ties={ties}");
    }

    // q/k-norm + RoPE + KV store against the separate norm_rope launches and slice_assign,
    // with q, k, v read from one packed buffer (the fused projection) at their offsets.
    for (nh, nkv, hd, cap, slot, pos) in [(4usize, 1usize, 256usize, 16usize, 5usize, 5usize), (8, 2, 64, 40, 3, 300)] {
        let inv = rope::inv_freq(10_000.0, hd, 1.0);
        let mut table = rope::Table::new(inv);
        let (cos, sin) = table.full(pos + 1, &device);
        let qn = RmsNorm { scale: Tensor::<1>::from_data(TensorData::new(rand(hd, 2.0), [hd]), &device), eps: 1e-6 };
        let kn = RmsNorm { scale: Tensor::<1>::from_data(TensorData::new(rand(hd, 2.0), [hd]), &device), eps: 1e-5 };
        let w = (nh + 2 * nkv) * hd;
        let qkv = Tensor::<2>::from_data(TensorData::new(rand(w, 3.0), [1, w]), &device);
        let kc0 = Tensor::<3>::from_data(TensorData::new(rand(nkv * cap * hd, 1.0), [nkv, cap, hd]), &device);
        let vc0 = Tensor::<3>::from_data(TensorData::new(rand(nkv * cap * hd, 1.0), [nkv, cap, hd]), &device);
        let (kc_ref, vc_ref) = (kc0.clone().add_scalar(0.0), vc0.clone().add_scalar(0.0));
        let (q, kc, vc) = fused::qkv_store(
            (&qkv, &qkv, &qkv),
            [0, nh * hd, (nh + nkv) * hd],
            (&qn.scale, qn.eps),
            (&kn.scale, kn.eps),
            (&cos, &sin),
            (kc0, vc0),
            [nh, nkv, hd],
            slot,
            pos,
            0.0625,
        );
        let qx = qkv.clone().slice([0..1, 0..nh * hd]).reshape([1, nh, hd]);
        let kx = qkv.clone().slice([0..1, nh * hd..(nh + nkv) * hd]).reshape([1, nkv, hd]);
        let vx = qkv.slice([0..1, (nh + nkv) * hd..w]).reshape([nkv, 1, hd]);
        let want_q = fused::norm_rope(qx, &qn.scale, qn.eps, &cos, &sin, pos, 0.0625).reshape([nh, hd]);
        let want_k = fused::norm_rope(kx, &kn.scale, kn.eps, &cos, &sin, pos, 1.0).reshape([nkv, 1, hd]);
        let want_kc = kc_ref.slice_assign([0..nkv, slot..slot + 1, 0..hd], want_k);
        let want_vc = vc_ref.slice_assign([0..nkv, slot..slot + 1, 0..hd], vx);
        let c3 = |t: Tensor<3>| t.reshape([nkv * cap, hd]);
        exact(&format!("qkv_store q nh={nh} hd={hd}"), to_vec(q), to_vec(want_q), 1e-6);
        exact(&format!("qkv_store k cache nkv={nkv} slot={slot}"), to_vec(c3(kc)), to_vec(c3(want_kc)), 1e-6);
        exact(&format!("qkv_store v cache nkv={nkv} slot={slot}"), to_vec(c3(vc)), to_vec(c3(want_vc)), 0.0);
    }
}

/// The device sampler (`kernels::sample`) against the host sampler it stands in for: for the
/// same logits, parameters and uniform numbers (drawn from one seed), the device's id equals
/// the host's, or is `NEED_HOST` exactly where the host's kept set reaches past the device's
/// 64 candidates. The penalty kernel equals the host's penalty.
#[test]
fn device_sampler_picks_what_the_host_sampler_picks() {
    use burn::tensor::{DType, Int};
    use medlens_engine::generate::{Sampler, SamplingParams};
    use medlens_engine::kernels::sample::{penalize, sample_pick, Pick, NEED_HOST, TOP_K};
    let device = medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
        .expect("the sampling kernels need a wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)")
        .device;
    let mut r = rng(0x5a3c);
    // A vocabulary-sized row: Gaussian-ish noise with a peaked head (as a model's logits),
    // some exact ties, and a short row (one partial chunk).
    let vocab_row = |r: &mut dyn FnMut() -> u64, n: usize, peak: f32| -> Vec<f32> {
        let mut v: Vec<f32> = (0..n).map(|_| ((r() % 20001) as f32 / 10000.0 - 1.0) + ((r() % 20001) as f32 / 10000.0 - 1.0)).collect();
        for j in 0..20 {
            let i = (r() % n as u64) as usize;
            v[i] = peak - j as f32 * 0.3;
        }
        if n > 100 {
            let (a, b) = (n / 3, n / 2);
            v[a] = peak + 0.5;
            v[b] = peak + 0.5;
        }
        v
    };
    let history: Vec<u32> = vec![7, 99, 7, 1234, 99, 5];
    let hist = Tensor::<1, Int>::from_data(TensorData::new(history.clone(), [history.len()]), (&device, DType::U32));
    let cases: &[(&str, usize, f32, SamplingParams, bool)] = &[
        ("defaults", 262_144, 12.0, SamplingParams { temperature: 1.0, top_k: 64, top_p: 0.95, min_p: 0.0, repetition_penalty: 1.0, seed: 1 }, false),
        ("top-k 40 + min-p", 262_144, 9.0, SamplingParams { temperature: 0.7, top_k: 40, top_p: 1.0, min_p: 0.05, repetition_penalty: 1.0, seed: 2 }, false),
        ("top-p only, peaked", 262_144, 20.0, SamplingParams { temperature: 1.3, top_k: 0, top_p: 0.9, min_p: 0.0, repetition_penalty: 1.0, seed: 3 }, true),
        ("temperature only, peaked", 262_144, 25.0, SamplingParams { temperature: 1.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, seed: 4 }, true),
        ("flat, top-p only", 262_144, 1.0, SamplingParams { temperature: 1.0, top_k: 0, top_p: 0.5, min_p: 0.0, repetition_penalty: 1.0, seed: 5 }, true),
        ("penalty + sampling", 3000, 8.0, SamplingParams { temperature: 0.8, top_k: 64, top_p: 0.95, min_p: 0.0, repetition_penalty: 1.3, seed: 6 }, false),
        ("penalty, greedy", 3000, 8.0, SamplingParams { temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.3, seed: 7 }, false),
    ];
    for (name, n, peak, params, may_need_host) in cases {
        let mut raw = vocab_row(&mut r, *n, *peak);
        // Put the history's ids at the top so the penalty decides.
        for (j, &id) in history.iter().enumerate() {
            raw[id as usize] = peak + 1.0 - j as f32 * 0.01;
        }
        let mut sampler = Sampler::new(params.clone());
        let mut host_logits = raw.clone();
        sampler.penalize(&mut host_logits, &history);
        let penalty = params.repetition_penalty != 1.0;
        let mut on_host = 0;
        for draw in 0..25 {
            let rr = if params.temperature > 0.0 { sampler.draw() } else { 0.0 };
            let logits = Tensor::<2>::from_data(TensorData::new(raw.clone(), [1, *n]), &device);
            let logits = if penalty { penalize(logits, &hist, history.len(), params.repetition_penalty) } else { logits };
            if draw == 0 && penalty {
                assert_eq!(to_vec(logits.clone()), host_logits, "{name}: penalty");
            }
            let pick = Pick { temperature: params.temperature, top_k: params.top_k, top_p: params.top_p, min_p: params.min_p, r: rr };
            let got = sample_pick(logits, &hist, 0, false, pick).into_data().iter::<u32>().next().unwrap();
            let want = sampler.pick(&host_logits, rr);
            if got == NEED_HOST {
                assert!(may_need_host, "{name}: draw {draw} left to the host");
                on_host += 1;
                // Only where the host's answer lies past the device's candidates, or its
                // kept set does.
                let rank = host_logits.iter().filter(|&&l| l > host_logits[want as usize]).count();
                println!("{name}: draw {draw} to the host (host's pick ranks {rank})");
            } else {
                assert_eq!(got, want, "{name}: draw {draw} (r = {rr})");
            }
        }
        println!("{name}: 25 draws, {on_host} left to the host (candidates: {TOP_K})");
        if *name == "flat, top-p only" {
            assert_eq!(on_host, 25, "a nucleus of thousands cannot be decided by {TOP_K} candidates");
        }
    }
}
