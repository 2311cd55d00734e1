//! What each model-file fuzz target does with its bytes, shared by the targets
//! (`fuzz_targets/*.rs`) and by `crates/engine/tests/hostile.rs`, which runs every committed
//! seed and every kept crash input (`fuzz/seeds/TARGET`, `fuzz/regressions/TARGET`) through
//! the same function: a crash the fuzzer found stays a test.
#![allow(dead_code)]

use medlens_engine::formats::gguf::Gguf;
use medlens_engine::formats::safetensors::{read_headers, Safetensors};
use medlens_engine::formats::sentencepiece::ModelProto;
use medlens_engine::models::{gemma3, medgemma, siglip};
use medlens_engine::text::Tokenizer;

/// The targets by name, as `scripts/fuzz.sh` and `fuzz/Cargo.toml` name them.
pub const TARGETS: [(&str, fn(&[u8])); 5] = [
    ("gguf_header", gguf_header),
    ("safetensors_header", safetensors_header),
    ("spiece", spiece),
    ("config_json", config_json),
    ("tokenizer_json", tokenizer_json),
];

/// GGUF header and tensor table → small tensors dequantized, the Gemma 3 config from its
/// keys, the tokenizer from its vocabulary.
pub fn gguf_header(data: &[u8]) {
    let Ok(g) = Gguf::from_bytes("fuzz.gguf", data.to_vec()) else { return };
    for t in g.tensors.iter().take(16) {
        if t.n_bytes <= 1 << 16 {
            let _ = g.tensor_f32(&t.name);
            let _ = g.quantized_tensor(&t.name);
        }
    }
    let _ = gemma3::Config::from_gguf(&g);
    let _ = Tokenizer::from_gguf(&g);
}

/// A `.safetensors` file, read as loading (mapped) and discovery (header only) read it, then
/// its small tensors as f32. The reader takes a path: one folder per process.
pub fn safetensors_header(data: &[u8]) {
    thread_local! {
        static DIR: std::path::PathBuf = {
            let d = std::env::temp_dir().join(format!("medlens-fuzz-st-{}", std::process::id()));
            std::fs::create_dir_all(&d).expect("a temporary folder");
            d
        };
    }
    DIR.with(|d| {
        if std::fs::write(d.join("model.safetensors"), data).is_err() {
            return;
        }
        let _ = read_headers(d);
        if let Ok(st) = Safetensors::open(d) {
            let names: Vec<String> = st.names().take(16).map(String::from).collect();
            for n in names {
                let _ = st.tensor_f32(&n);
            }
        }
    });
}

/// SentencePiece `ModelProto` → the SigLIP tokenizer built from it → one encoding.
pub fn spiece(data: &[u8]) {
    let Ok(m) = ModelProto::parse(data) else { return };
    if let Ok(tok) = medlens_engine::text::siglip_tokenizer::siglip_tokenizer(&m, true) {
        let _ = tok.encode("A chest X-ray, PA view: cardiomegaly?", true);
    }
}

/// `config.json` as Gemma 3, SigLIP and MedGemma read it → the tensor lists sized from an
/// accepted config (which must therefore be bounded).
pub fn config_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let f = std::path::Path::new("config.json");
    let _ = gemma3::Config::from_hf_json(f, text);
    if let Ok(c) = siglip::SiglipConfig::from_hf_json(f, text) {
        let _ = c.vision.num_patches();
        let _ = c.tensor_shapes();
    }
    if let Ok(c) = medgemma::Config::from_hf_json(f, text) {
        let _ = c.pooling();
        let _ = c.tensor_shapes();
    }
}

/// For targets whose code catches a third-party parser's panics on purpose (and turns them
/// into errors naming the file): the panic hook prints instead of aborting, so such a panic
/// is seen by the code's own catch as in the app. One that escapes the code still aborts.
pub fn panics_caught_by_the_code_are_not_crashes() {
    std::panic::set_hook(Box::new(|info| eprintln!("panic (caught by the code under test, or about to abort): {info}")));
}

/// `tokenizer.json` → the Gemma 3 tokenizer wrapper → encode and decode.
pub fn tokenizer_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Tokenizer::from_json_str(text, std::path::Path::new("tokenizer.json")) else { return };
    if let Ok(ids) = t.encode("Findings: no acute abnormality.", true) {
        let _ = t.decode(&ids, false);
        let _ = t.decode(&ids, true);
    }
    let _ = t.stop_ids();
}
