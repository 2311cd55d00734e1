//! SentencePiece `spiece.model` reader and the SigLIP tokenizer built from it, against
//! transformers' (slow) `SiglipTokenizer` (`tests/engine/siglip/spiece/gen.py` wrote the model
//! and `reference.json`); malformed files must give `Err`, never a panic. Needs no device.

use std::path::PathBuf;

use medlens_engine::formats::sentencepiece::{ModelProto, ModelType, PieceType, SpieceError};
use medlens_engine::text::siglip_tokenizer::{siglip_tokenizer, siglip_tokenizer_from_file};
use serde_json::Value;

mod common;
use common::package_dir;

fn fixture_dir() -> PathBuf {
    package_dir().join("../../tests/engine/siglip/spiece")
}
fn model_bytes() -> Vec<u8> {
    std::fs::read(fixture_dir().join("spiece.model")).unwrap()
}
fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("reference.json")).unwrap()).unwrap()
}
fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn parses_the_model() {
    let m = ModelProto::parse(&model_bytes()).unwrap();
    let r = reference();
    assert_eq!(m.pieces.len() as u64, r["vocab_size"].as_u64().unwrap());
    assert_eq!(m.trainer_spec.model_type, ModelType::Unigram);
    assert!(!m.trainer_spec.byte_fallback);
    assert_eq!(m.trainer_spec.unk_id as u64, r["unk_id"].as_u64().unwrap());
    assert_eq!(m.trainer_spec.eos_id as u64, r["eos_id"].as_u64().unwrap());
    assert_eq!(m.trainer_spec.pad_id, 0);
    assert_eq!(m.trainer_spec.bos_id, -1, "a negative int32 (10-byte varint)");
    assert_eq!(m.pieces[0].piece, "<pad>");
    assert_eq!(m.pieces[0].kind, PieceType::Control);
    assert_eq!(m.pieces[1].piece, "</s>");
    assert_eq!(m.pieces[2].kind, PieceType::Unknown);
    assert!(m.pieces[3..].iter().all(|p| p.kind == PieceType::Normal && p.score < 0.0));
    assert_eq!(m.normalizer_spec.name, "nmt_nfkc");
    assert!(m.normalizer_spec.add_dummy_prefix && m.normalizer_spec.remove_extra_whitespaces);
    assert!(m.normalizer_spec.escape_whitespaces);
    assert!(!m.normalizer_spec.precompiled_charsmap.is_empty());
}

#[test]
fn ids_match_transformers_siglip_tokenizer() {
    let r = reference();
    let max_length = r["max_length"].as_u64().unwrap() as usize;
    let pad_id = r["pad_id"].as_u64().unwrap() as u32;
    let mut tok = siglip_tokenizer_from_file(fixture_dir().join("spiece.model")).unwrap();
    let mut bad = Vec::new();
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    // Unpadded and untruncated.
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let got = tok.encode(text, true).unwrap().get_ids().to_vec();
        if got != ids(&c["ids_unpadded"]) {
            bad.push(format!("unpadded {text:?}:\n  got  {got:?}\n  want {:?}", ids(&c["ids_unpadded"])));
        }
    }
    // As the model card: padding="max_length", max_length=64, truncation=True.
    tok.with_truncation(Some(tokenizers::TruncationParams { max_length, ..Default::default() })).unwrap();
    tok.with_padding(Some(tokenizers::PaddingParams {
        strategy: tokenizers::PaddingStrategy::Fixed(max_length),
        pad_id,
        pad_token: "</s>".into(),
        ..Default::default()
    }));
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let got = tok.encode(text, true).unwrap().get_ids().to_vec();
        if got != ids(&c["ids"]) {
            bad.push(format!("padded {text:?}:\n  got  {got:?}\n  want {:?}", ids(&c["ids"])));
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

// ---- malformed input ----------------------------------------------------------------------

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}
fn field_bytes(field: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(field << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}
fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
    let mut p = Vec::new();
    field_bytes(1, text.as_bytes(), &mut p);
    p.push(2 << 3 | 5);
    p.extend_from_slice(&score.to_le_bytes());
    p.push(3 << 3);
    varint(kind, &mut p);
    p
}
/// A minimal model: pieces <unk>, </s>, ▁a, b; trainer_spec with unk_id.
fn tiny_model(unk_id: u64, extra_piece: Option<&str>) -> Vec<u8> {
    let mut m = Vec::new();
    field_bytes(1, &piece("<unk>", 0.0, 2), &mut m);
    field_bytes(1, &piece("</s>", 0.0, 3), &mut m);
    field_bytes(1, &piece("\u{2581}a", -1.0, 1), &mut m);
    field_bytes(1, &piece("b", -2.0, 1), &mut m);
    if let Some(p) = extra_piece {
        field_bytes(1, &piece(p, -3.0, 1), &mut m);
    }
    let mut t = Vec::new();
    t.push(3 << 3);
    varint(1, &mut t); // unigram
    varint(40 << 3, &mut t);
    varint(unk_id, &mut t);
    field_bytes(2, &t, &mut m);
    m
}

#[test]
fn tiny_handmade_model_works() {
    let m = ModelProto::parse(&tiny_model(0, None)).unwrap();
    assert_eq!(m.pieces.len(), 4);
    assert_eq!(m.normalizer_spec.precompiled_charsmap.len(), 0);
    let tok = siglip_tokenizer(&m, true).unwrap();
    let e = tok.encode("A, b!", true).unwrap();
    assert_eq!(e.get_ids(), &[2, 0, 3, 1], "▁a, ▁ (unk), b, </s>");
}

#[test]
fn empty_file_is_an_error() {
    assert!(ModelProto::parse(&[]).is_err());
}

#[test]
fn truncated_files_are_errors() {
    let b = model_bytes();
    // Cut inside the last field (the normalizer spec with its charsmap) and inside the first.
    for cut in [b.len() - 1, b.len() - 100, b.len() / 2, 1, 2, 3, 5] {
        assert!(ModelProto::parse(&b[..cut]).is_err(), "cut at {cut}");
    }
    // Any prefix: Ok or Err, never a panic (a cut between two fields leaves a smaller model).
    for cut in (0..b.len()).step_by(97).chain(0..300) {
        let _ = ModelProto::parse(&b[..cut]).map(|m| siglip_tokenizer(&m, true).map(|t| t.encode("a b", true).is_ok()));
    }
}

#[test]
fn bad_varints_are_errors() {
    // Eleven continuation bytes.
    let e = ModelProto::parse(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).unwrap_err();
    assert!(matches!(e, SpieceError::BadVarint { .. }), "{e}");
    // Tenth byte carrying more than the top bit.
    let e = ModelProto::parse(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]).unwrap_err();
    assert!(matches!(e, SpieceError::BadVarint { .. }), "{e}");
    // A varint that runs off the end.
    let e = ModelProto::parse(&[0x0A, 0x80]).unwrap_err();
    assert!(matches!(e, SpieceError::Truncated { .. }), "{e}");
    let e = ModelProto::parse(&[0x8A]).unwrap_err();
    assert!(matches!(e, SpieceError::Truncated { .. }), "{e}");
}

#[test]
fn lengths_beyond_the_end_are_errors() {
    let e = ModelProto::parse(&[0x0A, 0x05, 0x01]).unwrap_err();
    assert!(matches!(e, SpieceError::Truncated { .. }), "{e}");
    // Huge length (u64::MAX).
    let mut b = vec![0x0A];
    varint(u64::MAX, &mut b);
    assert!(ModelProto::parse(&b).is_err());
    // A piece whose inner string is longer than the piece.
    let mut b = Vec::new();
    field_bytes(1, &[0x0A, 0x7F, b'a'], &mut b);
    let e = ModelProto::parse(&b).unwrap_err();
    assert!(matches!(e, SpieceError::Truncated { .. }), "{e}");
    // Fixed32 score cut short.
    let mut b = Vec::new();
    field_bytes(1, &[0x0A, 0x01, b'a', 0x15, 0x00, 0x00], &mut b);
    assert!(ModelProto::parse(&b).is_err());
}

#[test]
fn bad_structure_is_an_error() {
    assert!(ModelProto::parse(&[0x00]).is_err(), "field number 0");
    assert!(matches!(ModelProto::parse(&[0x0B]).unwrap_err(), SpieceError::UnsupportedWireType { .. }), "group");
    assert!(matches!(ModelProto::parse(&[0x08, 0x01]).unwrap_err(), SpieceError::WireType { .. }), "pieces as varint");
    assert!(ModelProto::parse(&[0x1A, 0x00]).is_err(), "no pieces");
    let mut b = Vec::new();
    field_bytes(1, &[0x0A, 0x02, 0xC3, 0x28], &mut b);
    assert!(ModelProto::parse(&b).is_err(), "piece not UTF-8");
    let mut b = Vec::new();
    field_bytes(1, &piece("a", 0.0, 9), &mut b);
    assert!(ModelProto::parse(&b).is_err(), "piece type 9");
    let mut b = Vec::new();
    field_bytes(1, &piece("a", f32::NAN, 1), &mut b);
    assert!(ModelProto::parse(&b).is_err(), "NaN score");
    assert!(ModelProto::parse(&tiny_model(4, None)).is_err(), "unk_id beyond the pieces");
    assert!(ModelProto::parse(&tiny_model(0, Some("b"))).is_err(), "duplicate piece");
    // Unknown fields of every wire type are skipped.
    let mut b = tiny_model(0, None);
    b.extend_from_slice(&[0x78, 0x05, 0x79, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D, 0, 0, 0, 0]);
    assert!(ModelProto::parse(&b).is_ok());
}

#[test]
fn corrupted_models_never_panic() {
    let good = model_bytes();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let charsmap_start = good.len() - ModelProto::parse(&good).unwrap().normalizer_spec.precompiled_charsmap.len();
    for i in 0..120 {
        let mut b = good.clone();
        // Half the runs corrupt the charsmap (whose trie the normalizer walks unchecked).
        let (lo, span) = if i % 2 == 0 { (charsmap_start, good.len() - charsmap_start) } else { (0, good.len()) };
        for _ in 0..1 + next() % 8 {
            let at = lo + (next() as usize) % span;
            b[at] = next() as u8;
        }
        if let Ok(m) = ModelProto::parse(&b) {
            if let Ok(t) = siglip_tokenizer(&m, true) {
                for text in ["a chest x-ray", "Café ＦＵＬＬ ½ 肺炎 🫁", ""] {
                    let _ = t.encode(text, true);
                }
            }
        }
    }
}

#[test]
fn charsmap_with_bad_trie_is_rejected() {
    let m = ModelProto::parse(&model_bytes()).unwrap();
    // Trie size larger than the charsmap.
    let mut bad = m.clone();
    bad.normalizer_spec.precompiled_charsmap = vec![0xFF, 0xFF, 0x00, 0x00, 1, 2, 3, 4];
    assert!(siglip_tokenizer(&bad, true).is_err());
    // Root offset pointing outside the array.
    let mut bad = m.clone();
    let mut cm = vec![4, 0, 0, 0];
    cm.extend_from_slice(&(0xFFFF_FC00u32).to_le_bytes());
    bad.normalizer_spec.precompiled_charsmap = cm;
    assert!(siglip_tokenizer(&bad, true).is_err());
    // Too short for its size field.
    let mut bad = m;
    bad.normalizer_spec.precompiled_charsmap = vec![1, 0];
    assert!(siglip_tokenizer(&bad, true).is_err());
}

// ---- engine: the SigLIP text tokenizer falls back to spiece.model --------------------------
// (scratch-crate runs cut the file here)

#[test]
fn text_tokenizer_falls_back_to_spiece_model() {
    use medlens_engine::text::siglip_tokenizer::TextTokenizer;
    let dir = std::env::temp_dir().join(format!("medlens-spiece-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture_dir().join("spiece.model"), dir.join("spiece.model")).unwrap();
    let r = reference();
    let t = TextTokenizer::from_dir(&dir, 64).unwrap();
    assert_eq!(t.pad_id as u64, r["pad_id"].as_u64().unwrap(), "SiglipTokenizer pads with </s>");
    let cases = r["cases"].as_array().unwrap();
    let texts: Vec<String> = cases.iter().map(|c| c["text"].as_str().unwrap().to_string()).collect();
    let got = t.encode(&texts).unwrap();
    for (c, g) in cases.iter().zip(&got) {
        assert_eq!(g, &ids(&c["ids"]), "{:?}", c["text"]);
    }
    // A corrupt spiece.model is an Err naming the file.
    std::fs::write(dir.join("spiece.model"), [0x0A, 0x05, 0x01]).unwrap();
    let e = TextTokenizer::from_dir(&dir, 64).err().expect("corrupt spiece.model must fail");
    assert!(e.to_string().contains("spiece.model"), "{e}");
    // Neither file: a clear error.
    std::fs::remove_file(dir.join("spiece.model")).unwrap();
    let e = TextTokenizer::from_dir(&dir, 64).err().expect("empty folder must fail");
    assert!(e.to_string().contains("spiece.model"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
