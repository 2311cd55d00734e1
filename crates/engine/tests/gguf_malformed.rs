//! Malformed GGUF files give errors, never a panic or an out-of-bounds read; reference
//! dequantizers on random blocks agree with an independent per-element formulation.

use medlens_engine::formats::{gguf::Gguf, gguf_write::GgufWriter};
use medlens_engine::quant::{dequantize, GgmlType};
use medlens_engine::GgufError;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Random blocks with sane (finite, small) f16 scales.
fn random_blocks(ty: GgmlType, nblocks: usize, rng: &mut Lcg) -> Vec<u8> {
    let mut b = rng.bytes(nblocks * ty.block_bytes());
    let scale_offsets: &[usize] = match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
        GgmlType::Q6K => &[208],
        _ => &[],
    };
    for blk in b.chunks_mut(ty.block_bytes()) {
        for &o in scale_offsets {
            let v = half::f16::from_f32((rng.next() % 1000) as f32 / 1000.0 * 0.05);
            blk[o..o + 2].copy_from_slice(&v.to_le_bytes());
        }
    }
    b
}

fn valid_file() -> Vec<u8> {
    let mut rng = Lcg(3);
    let mut w = GgufWriter::new();
    w.string("general.architecture", "gemma3").u32("gemma3.block_count", 1);
    w.tensor("a", &[64, 2], GgmlType::Q8_0, random_blocks(GgmlType::Q8_0, 4, &mut rng));
    w.tensor("b", &[256, 1], GgmlType::Q4K, random_blocks(GgmlType::Q4K, 1, &mut rng));
    w.tensor("c", &[4], GgmlType::F32, vec![0; 16]);
    w.to_bytes()
}

#[test]
fn valid_file_parses() {
    let g = Gguf::from_bytes("<mem>", valid_file()).unwrap();
    assert_eq!(g.tensors.len(), 3);
    assert_eq!(g.get_str("general.architecture").unwrap(), "gemma3");
    let (shape, v) = g.tensor_f32("a").unwrap();
    assert_eq!(shape, vec![2, 64]);
    assert_eq!(v.len(), 128);
}

#[test]
fn every_truncation_is_an_error() {
    let f = valid_file();
    for n in 0..f.len() {
        let r = Gguf::from_bytes("<mem>", f[..n].to_vec());
        assert!(r.is_err(), "truncated to {n} bytes parsed");
    }
}

#[test]
fn random_corruptions_never_panic() {
    let f = valid_file();
    let mut rng = Lcg(11);
    for _ in 0..20000 {
        let mut g = f.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() as usize) % g.len();
            g[i] = rng.next() as u8;
        }
        if let Ok(p) = Gguf::from_bytes("<mem>", g) {
            // Whatever parsed must be readable in full.
            for t in p.tensors.clone() {
                let _ = p.tensor_f32(&t.name);
            }
        }
    }
}

/// Patches the first tensor-info field found after the tensor name `name`.
fn header_with(mutate: impl Fn(&mut Vec<u8>, usize)) -> Result<Gguf, GgufError> {
    let mut f = valid_file();
    let pos = f.windows(9).position(|w| w == [1, 0, 0, 0, 0, 0, 0, 0, b'a']).unwrap() + 9;
    mutate(&mut f, pos); // pos: n_dims of tensor "a"
    Gguf::from_bytes("<mem>", f)
}

#[test]
fn specific_malformations_are_named_errors() {
    // bad magic / version
    let mut f = valid_file();
    f[0] = b'X';
    assert!(matches!(Gguf::from_bytes("<mem>", f), Err(GgufError::BadMagic { .. })));
    let mut f = valid_file();
    f[4] = 9;
    assert!(matches!(Gguf::from_bytes("<mem>", f), Err(GgufError::BadVersion { .. })));
    // absurd tensor count
    let mut f = valid_file();
    f[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(Gguf::from_bytes("<mem>", f).is_err());
    // absurd n_dims
    let e = header_with(|f, p| f[p..p + 4].copy_from_slice(&99u32.to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("dimensions"), "{e}");
    // absurd dim (2^62)
    let e = header_with(|f, p| f[p + 4..p + 12].copy_from_slice(&(1u64 << 62).to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("absurd"), "{e}");
    // zero dim
    let e = header_with(|f, p| f[p + 4..p + 12].copy_from_slice(&0u64.to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("absurd"), "{e}");
    // row not whole blocks (63 elements of Q8_0)
    let e = header_with(|f, p| f[p + 4..p + 12].copy_from_slice(&63u64.to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("blocks"), "{e}");
    // wrong (unknown) type
    let e = header_with(|f, p| f[p + 20..p + 24].copy_from_slice(&77u32.to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("type"), "{e}");
    // misaligned offset
    let e = header_with(|f, p| f[p + 24..p + 32].copy_from_slice(&5u64.to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("aligned"), "{e}");
    // offset past the end
    let e = header_with(|f, p| f[p + 24..p + 32].copy_from_slice(&(1u64 << 40).to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
    // overlapping tensors: a at the offset of b
    let e = header_with(|f, p| f[p + 24..p + 32].copy_from_slice(&160u64.to_le_bytes())).unwrap_err();
    assert!(e.to_string().contains("overlaps") || e.to_string().contains("outside"), "{e}");
    // element count overflow: dims 2^39 x 2^39 (n_dims already 2)
    let e = header_with(|f, p| {
        f[p + 4..p + 12].copy_from_slice(&(1u64 << 39).to_le_bytes());
        f[p + 12..p + 20].copy_from_slice(&(1u64 << 39).to_le_bytes());
    })
    .unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
}

/// Independent per-element formulation of each format (written from the ggml layout
/// description, element by element) against the block reference dequantizer.
fn element(ty: GgmlType, b: &[u8], i: usize) -> f32 {
    let h = |o: usize| half::f16::from_le_bytes([b[o], b[o + 1]]).to_f32();
    match ty {
        GgmlType::Q8_0 => h(0) * (b[2 + i] as i8) as f32,
        GgmlType::Q4_0 => {
            let q = if i < 16 { b[2 + i] & 15 } else { b[2 + i - 16] >> 4 };
            h(0) * (q as f32 - 8.0)
        }
        GgmlType::Q5_0 => {
            let qh = u32::from_le_bytes(b[2..6].try_into().unwrap());
            let lo = if i < 16 { b[6 + i] & 15 } else { b[6 + i - 16] >> 4 };
            let hi = ((qh >> i) & 1) as u8;
            h(0) * ((lo | (hi << 4)) as f32 - 16.0)
        }
        GgmlType::Q4K | GgmlType::Q5K => {
            let sub = i / 32; // 8 sub-blocks of 32
            let sc = &b[4..16];
            let (s, m) = if sub < 4 {
                (sc[sub] & 63, sc[sub + 4] & 63)
            } else {
                ((sc[sub + 4] & 15) | ((sc[sub - 4] >> 6) << 4), (sc[sub + 4] >> 4) | ((sc[sub] >> 6) << 4))
            };
            let pair = sub / 2; // 64-element group
            let l = i % 32;
            let qs_off = if ty == GgmlType::Q4K { 16 } else { 48 };
            let byte = b[qs_off + 32 * pair + l];
            let mut q = if sub % 2 == 0 { byte & 15 } else { byte >> 4 };
            if ty == GgmlType::Q5K {
                q |= ((b[16 + l] >> sub) & 1) << 4;
            }
            h(0) * s as f32 * q as f32 - h(2) * m as f32
        }
        GgmlType::Q6K => {
            let half_ = i / 128;
            let j = i % 128;
            let quarter = j / 32;
            let l = j % 32;
            let ql = &b[64 * half_..];
            let qh = b[128 + 32 * half_ + l];
            let lo = match quarter {
                0 => ql[l] & 15,
                1 => ql[l + 32] & 15,
                2 => ql[l] >> 4,
                _ => ql[l + 32] >> 4,
            };
            let hi = (qh >> (2 * quarter)) & 3;
            let q = (lo | (hi << 4)) as i32 - 32;
            let sc = b[192 + 8 * half_ + 2 * quarter + l / 16] as i8;
            h(208) * sc as f32 * q as f32
        }
        _ => unreachable!(),
    }
}

#[test]
fn reference_dequantizers_agree_with_per_element_formulation() {
    let mut rng = Lcg(5);
    for ty in [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K] {
        let nb = 64;
        let data = random_blocks(ty, nb, &mut rng);
        let y = dequantize(ty, &data).unwrap();
        for (bi, blk) in data.chunks(ty.block_bytes()).enumerate() {
            for i in 0..ty.block_elems() {
                let want = element(ty, blk, i);
                let got = y[bi * ty.block_elems() + i];
                assert!((want - got).abs() <= 1e-6 * want.abs().max(1.0), "{} block {bi} elem {i}: {got} vs {want}", ty.name());
            }
        }
    }
}
