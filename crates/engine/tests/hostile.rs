//! Hostile model files, one class each (issue 16): GGUF counts, lengths and dimensions,
//! safetensors headers, config values, tokenizer files. Each file is a few hundred bytes
//! built here (some of them at the start of a large sparse file, which costs no disk: the
//! claim "3 G elements" is then backed by bytes that exist). Before the fixes each of these
//! asked for gigabytes, panicked, or was accepted; now each gives an error naming the file
//! and the field, having allocated little.
//!
//! Memory is measured in this process by a counting global allocator (every Rust
//! allocation, capacity included) that also refuses any single request above 1 GiB, so a
//! regression aborts this binary instead of exhausting the machine. The tests take turns so
//! that each peak is the test's own.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use medlens_engine::formats::gguf::Gguf;
use medlens_engine::formats::safetensors::{read_headers, Safetensors};
use medlens_engine::models::{gemma3, medgemma, siglip};
use medlens_engine::text::siglip_tokenizer::TextTokenizer;
use medlens_engine::text::Tokenizer;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
const REFUSE_ABOVE: usize = 1 << 30;

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator with the same layout; the counters
// are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if l.size() > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if l.size() > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        CURRENT.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new > l.size() {
                grew(new - l.size());
            } else {
                CURRENT.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The most heap any one of these rejections may take.
const LIMIT: usize = 16 << 20;

/// Runs `f` and returns its error text, failing the test if it succeeded or took more than
/// [`LIMIT`] of heap at its peak. The text must name the file (`file_part`) and the field or
/// cause (`cause`).
fn rejects<T, E: std::fmt::Display>(what: &str, file_part: &str, cause: &str, f: impl FnOnce() -> Result<T, E>) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    let heap = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let e = match r {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => e.to_string(),
    };
    println!("{what}: {heap} bytes of heap at the peak: {e}");
    assert!(heap <= LIMIT, "{what}: took {heap} bytes of heap at its peak");
    assert!(e.contains(file_part), "{what}: the error does not name the file `{file_part}`: {e}");
    assert!(e.contains(cause), "{what}: the error does not say `{cause}`: {e}");
}

/// A fresh folder in the temp folder; each test removes its own.
fn tmp_dir(name: &str) -> PathBuf {
    let d = tmp_file(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// With `MEDLENS_KEEP_HOSTILE=DIR`, a crafted file or model folder is also copied to DIR as
/// `name` (sparse files stay sparse), for `tests/hostile/commands.py` to run the `medlens`
/// commands on.
fn keep(path: &Path, name: &str) {
    let Some(dir) = std::env::var_os("MEDLENS_KEEP_HOSTILE") else { return };
    std::fs::create_dir_all(&dir).unwrap();
    let to = Path::new(&dir).join(name);
    let _ = std::fs::remove_dir_all(&to);
    let ok = std::process::Command::new("cp").arg("-r").arg("--sparse=always").arg(path).arg(&to).status().unwrap().success();
    assert!(ok, "copying {} to {}", path.display(), to.display());
}

/// [`keep`] for a folder of crafted safetensors, with the tiny Gemma 3's `config.json`
/// added, so that the model scan and the loaders take it for a model and read its files.
fn keep_as_model(dir: &Path, name: &str) {
    keep(dir, name);
    if let Some(k) = std::env::var_os("MEDLENS_KEEP_HOSTILE") {
        std::fs::write(Path::new(&k).join(name).join("config.json"), repo_file("tests/engine/goldens/tiny/config.json")).unwrap();
    }
}

/// A path in the temp folder for one crafted file; the test removes it.
fn tmp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("medlens-hostile-{}-{name}", std::process::id()))
}

/// `head`, then zeros up to `len` bytes without writing them (a sparse file).
fn sparse(path: &Path, head: &[u8], len: u64) {
    std::fs::write(path, head).unwrap();
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

// ---- GGUF, byte by byte (the spec's layout, not our writer) ------------------------------

#[derive(Default)]
struct G {
    kv: Vec<u8>,
    n_kv: u64,
    tensors: Vec<u8>,
    n_tensors: u64,
}

fn gstr(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

impl G {
    fn kv(&mut self, key: &str, ty: u32, payload: &[u8]) -> &mut Self {
        gstr(&mut self.kv, key);
        self.kv.extend(ty.to_le_bytes());
        self.kv.extend(payload);
        self.n_kv += 1;
        self
    }
    fn string(&mut self, key: &str, v: &str) -> &mut Self {
        let mut p = Vec::new();
        gstr(&mut p, v);
        self.kv(key, 8, &p)
    }
    fn u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.kv(key, 4, &v.to_le_bytes())
    }
    fn u64(&mut self, key: &str, v: u64) -> &mut Self {
        self.kv(key, 10, &v.to_le_bytes())
    }
    fn array(&mut self, key: &str, ety: u32, n: u64, elems: &[u8]) -> &mut Self {
        let mut p = ety.to_le_bytes().to_vec();
        p.extend(n.to_le_bytes());
        p.extend(elems);
        self.kv(key, 9, &p)
    }
    fn strings(&mut self, key: &str, items: &[String]) -> &mut Self {
        let mut e = Vec::new();
        for s in items {
            gstr(&mut e, s);
        }
        self.array(key, 8, items.len() as u64, &e)
    }
    fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> &mut Self {
        gstr(&mut self.tensors, name);
        self.tensors.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.tensors.extend(d.to_le_bytes());
        }
        self.tensors.extend(ty.to_le_bytes());
        self.tensors.extend(offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }
    fn bytes_with_counts(&self, n_tensors: u64, n_kv: u64) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(n_tensors.to_le_bytes());
        b.extend(n_kv.to_le_bytes());
        b.extend(&self.kv);
        b.extend(&self.tensors);
        while b.len() % 32 != 0 {
            b.push(0);
        }
        b
    }
    fn bytes(&self) -> Vec<u8> {
        self.bytes_with_counts(self.n_tensors, self.n_kv)
    }
}

/// A GGUF claim backed by a sparse file of `len` bytes, read both ways the engine reads
/// GGUF: mapped whole (loading) and header only (model discovery).
fn gguf_rejects(name: &str, head: &[u8], len: u64, cause: &str) {
    let p = tmp_file(name);
    sparse(&p, head, len);
    keep(&p, name);
    rejects(&format!("{name} (open)"), name, cause, || Gguf::open(&p));
    rejects(&format!("{name} (header)"), name, cause, || Gguf::read_header(&p));
    std::fs::remove_file(&p).ok();
}

#[test]
fn gguf_array_of_billions_of_elements_is_refused_before_allocating() {
    let _g = serial();
    // 3 G one-byte elements, all present in a 4 GiB (sparse) file: as values, 96 GB.
    let head = G::default().array("tokenizer.ggml.token_type", 0, 3 << 30, &[]).bytes();
    gguf_rejects("array.gguf", &head, 4 << 30, "tokenizer.ggml.token_type");
    // A count beyond the bytes present: refused whatever the element type.
    let head = G::default().array("tokenizer.ggml.scores", 6, 1 << 40, &[]).bytes();
    gguf_rejects("array-lie.gguf", &head, 1 << 20, "tokenizer.ggml.scores");
}

#[test]
fn gguf_string_of_gigabytes_is_refused_before_allocating() {
    let _g = serial();
    let mut head = G::default().bytes_with_counts(0, 1);
    head.truncate(24);
    gstr(&mut head, "tokenizer.chat_template");
    head.extend(8u32.to_le_bytes());
    head.extend((2u64 << 30).to_le_bytes()); // 2 GiB of template text, present (sparse)
    gguf_rejects("string.gguf", &head, 3 << 30, "tokenizer.chat_template");
}

#[test]
fn gguf_tensor_count_filling_the_file_is_refused_before_allocating() {
    let _g = serial();
    // As many tensors as 4 GiB can describe at 40 bytes each: 107 M infos, 8 GB of table.
    let head = G::default().bytes_with_counts((4u64 << 30) / 40, 0);
    gguf_rejects("tensors.gguf", &head, 4 << 30, "tensors");
}

#[test]
fn gguf_dims_and_offsets_beyond_the_bytes_present_are_refused() {
    let _g = serial();
    for (name, dims, offset, cause) in [
        ("dims.gguf", vec![1u64 << 20, 1 << 20], 0u64, "outside the data section"),
        ("offset.gguf", vec![8], 1 << 50, "outside the data section"),
        ("overflow.gguf", vec![1 << 30, 1 << 30, 1 << 30], 0, "overflows"),
        ("ndims.gguf", vec![1; 9], 0, "9 dimensions"),
    ] {
        let mut g = G::default();
        g.tensor("blk.0.attn_q.weight", &dims, 0, offset);
        let mut b = g.bytes();
        b.extend([0u8; 64]);
        let p = tmp_file(name);
        std::fs::write(&p, &b).unwrap();
        keep(&p, name);
        rejects(name, name, cause, || Gguf::open(&p));
        rejects(name, "blk.0.attn_q.weight", cause, || Gguf::read_header(&p));
        std::fs::remove_file(&p).ok();
    }
}

/// A Gemma 3 GGUF's keys with `block_count` = `n`.
fn gemma3_gguf(n: u64) -> G {
    let mut g = G::default();
    g.string("general.architecture", "gemma3")
        .u32("gemma3.embedding_length", 64)
        .u32("gemma3.attention.head_count", 4)
        .u64("gemma3.block_count", n)
        .u32("gemma3.feed_forward_length", 128)
        .strings("tokenizer.ggml.tokens", &["<pad>".into(), "<bos>".into()]);
    g
}

#[test]
fn gguf_config_values_are_bounded_before_anything_is_sized_from_them() {
    let _g = serial();
    // The valid form parses (so the rejection below is the layer count's).
    assert!(gemma3::Config::from_gguf(&Gguf::from_bytes("ok.gguf", gemma3_gguf(4).bytes()).unwrap()).is_ok());
    // 10^12 layers: a per-layer list of a terabyte.
    let g = Gguf::from_bytes("layers.gguf", gemma3_gguf(1_000_000_000_000).bytes()).unwrap();
    rejects("block_count", "layers.gguf", "gemma3.block_count", || gemma3::Config::from_gguf(&g));
}

/// A llama.cpp-style vocabulary in GGUF metadata.
fn vocab_gguf(tokens: &[String], types: &[i32], extra: impl FnOnce(&mut G)) -> Vec<u8> {
    let mut g = G::default();
    g.string("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", tokens);
    let scores: Vec<u8> = (0..tokens.len()).flat_map(|i| (-(i as f32)).to_le_bytes()).collect();
    g.array("tokenizer.ggml.scores", 6, tokens.len() as u64, &scores);
    let ty: Vec<u8> = types.iter().flat_map(|t| t.to_le_bytes()).collect();
    g.array("tokenizer.ggml.token_type", 5, types.len() as u64, &ty);
    extra(&mut g);
    g.bytes()
}

#[test]
fn gguf_special_token_ids_outside_the_vocabulary_are_refused() {
    let _g = serial();
    let tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "a", "b", "ab"].iter().map(|s| s.to_string()).collect();
    let types = [3, 3, 3, 1, 1, 1];
    let ok = Gguf::from_bytes("vocab.gguf", vocab_gguf(&tokens, &types, |g| {
        g.u32("tokenizer.ggml.bos_token_id", 2);
    }))
    .unwrap();
    assert_eq!(Tokenizer::from_gguf(&ok).unwrap().bos_id, 2);
    for key in ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
        let g = Gguf::from_bytes("vocab.gguf", vocab_gguf(&tokens, &types, |g| {
            g.u32(key, 1_000_000_000);
        }))
        .unwrap();
        rejects(key, "vocab.gguf", key, || Tokenizer::from_gguf(&g));
    }
}

#[test]
fn gguf_vocabulary_whose_merges_explode_is_refused() {
    let _g = serial();
    // `a`, `aa`, ..., 700 × `a`: 245 KB of pieces whose every split is a merge. As a
    // tokenizer.json those merges would hold 114 MB of strings before `tokenizers` parsed them.
    let mut tokens = vec!["<bos>".to_string()];
    let mut types = vec![3];
    for k in 1..=700 {
        tokens.push("a".repeat(k));
        types.push(1);
    }
    let g = Gguf::from_bytes("merges.gguf", vocab_gguf(&tokens, &types, |_| {})).unwrap();
    rejects("merges", "merges.gguf", "merges", || Tokenizer::from_gguf(&g));
}

// ---- safetensors --------------------------------------------------------------------------

fn st_file(path: &Path, header: &str, data: usize) {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend(header.as_bytes());
    b.extend(vec![0u8; data]);
    std::fs::write(path, b).unwrap();
}

#[test]
fn safetensors_header_length_is_bounded_before_reading() {
    let _g = serial();
    let d = tmp_dir("st-header");
    let p = d.join("model.safetensors");
    // 90 MB of declared header in a 200 MB (sparse) file: under the `safetensors` crate's own
    // bound, read whole by discovery before being parsed.
    sparse(&p, &90_000_000u64.to_le_bytes(), 200_000_000);
    keep_as_model(&d, "st-header-90mb");
    rejects("header length (discovery)", "model.safetensors", "header of 90000000 bytes", || read_headers(&d));
    rejects("header length (open)", "model.safetensors", "header of 90000000 bytes", || Safetensors::open(&d));
    // Longer than the file.
    sparse(&p, &(1u64 << 62).to_le_bytes(), 4096);
    keep_as_model(&d, "st-header-past-end");
    rejects("header past the end", "model.safetensors", "header length", || read_headers(&d));
    rejects("header past the end (open)", "model.safetensors", "header length", || Safetensors::open(&d));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn safetensors_dtype_times_shape_must_be_the_byte_span() {
    let _g = serial();
    let d = tmp_dir("st-span");
    let p = d.join("model.safetensors");
    for (i, header) in [
        // 4 MiB of f32 claimed over 16 bytes.
        r#"{"w":{"dtype":"F32","shape":[1024,1024],"data_offsets":[0,16]}}"#,
        // An element count that overflows.
        r#"{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}"#,
        // Offsets past the data.
        r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1048576]}}"#,
    ]
    .into_iter()
    .enumerate()
    {
        st_file(&p, header, 16);
        keep_as_model(&d, &format!("st-span-{i}"));
        rejects(header, "model.safetensors", "", || Safetensors::open(&d));
        rejects(header, "model.safetensors", "", || read_headers(&d));
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn safetensors_tensor_in_two_shards_is_refused() {
    let _g = serial();
    let d = tmp_dir("st-shards");
    let h = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    st_file(&d.join("a.safetensors"), h, 16);
    st_file(&d.join("b.safetensors"), h, 16);
    std::fs::write(d.join("model.safetensors.index.json"), r#"{"weight_map":{"w":"a.safetensors","v":"b.safetensors"}}"#).unwrap();
    keep_as_model(&d, "st-shards");
    rejects("duplicate tensor", "b.safetensors", "tensor `w` is also in another shard", || Safetensors::open(&d));
    std::fs::remove_dir_all(&d).ok();
}

// ---- config.json --------------------------------------------------------------------------

fn repo_file(rel: &str) -> String {
    let p = common::package_dir().join("../..").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `base` (a JSON object) with `path` (keys, outermost first) set to `value`.
fn with(base: &str, path: &[&str], value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(base).unwrap();
    let mut o = &mut v;
    for k in &path[..path.len() - 1] {
        o = o.get_mut(*k).unwrap();
    }
    o[path[path.len() - 1]] = value;
    v.to_string()
}

#[test]
fn gemma3_config_values_are_bounded_and_consistent() {
    let _g = serial();
    let base = repo_file("tests/engine/goldens/tiny/config.json");
    let f = Path::new("tiny/config.json");
    assert!(gemma3::Config::from_hf_json(f, &base).is_ok());
    let big = serde_json::json!(1_000_000_000_000u64);
    for (field, value, cause) in [
        // 10^12 layers: before, a per-layer list of a terabyte was built from it.
        ("num_hidden_layers", big.clone(), "num_hidden_layers"),
        ("hidden_size", big.clone(), "hidden_size"),
        ("intermediate_size", big.clone(), "intermediate_size"),
        ("vocab_size", big.clone(), "vocab_size"),
        ("num_attention_heads", big.clone(), "num_attention_heads"),
        ("head_dim", big.clone(), "head_dim"),
        ("max_position_embeddings", big.clone(), "max_position_embeddings"),
        // The KV ring of a sliding layer is sized by the window.
        ("sliding_window", big.clone(), "sliding_window"),
        ("num_key_value_heads", serde_json::json!(3), "not a multiple of num_key_value_heads"),
        ("num_key_value_heads", serde_json::json!(8), "num_key_value_heads = 8"),
        ("head_dim", serde_json::json!(31), "head_dim 31 is odd"),
        ("rms_norm_eps", serde_json::json!(-1.0), "rms_norm_eps"),
        ("query_pre_attn_scalar", serde_json::json!(0.0), "query_pre_attn_scalar"),
        ("final_logit_softcapping", serde_json::json!(-30.0), "final_logit_softcapping"),
    ] {
        let mut text = with(&base, &[field], value);
        if field == "num_hidden_layers" {
            text = with(&text, &["layer_types"], serde_json::Value::Null);
        }
        rejects(&format!("gemma3 {field}"), "tiny/config.json", cause, || gemma3::Config::from_hf_json(f, &text));
    }
    // Each within its own bound, their product (the q projection's width) not.
    let wide = with(&with(&base, &["num_attention_heads"], serde_json::json!(1024)), &["head_dim"], serde_json::json!(1024));
    rejects("gemma3 heads x head_dim", "tiny/config.json", "num_attention_heads x head_dim", || gemma3::Config::from_hf_json(f, &wide));
    let bad_rope = with(&base, &["rope_parameters", "full_attention", "rope_theta"], serde_json::json!(-1.0));
    rejects("gemma3 rope_theta", "tiny/config.json", "rope_theta", || gemma3::Config::from_hf_json(f, &bad_rope));
}

#[test]
fn siglip_config_values_are_bounded_and_whole_numbers() {
    let _g = serial();
    let base = repo_file("tests/engine/siglip/tiny-siglip/config.json");
    let f = Path::new("tiny-siglip/config.json");
    assert!(siglip::SiglipConfig::from_hf_json(f, &base).is_ok());
    let big = serde_json::json!(1u64 << 40);
    for (path, value, cause) in [
        // image 2^40 px at patch 1: before, (2^40)^2 patches overflowed.
        (vec!["vision_config", "image_size"], big.clone(), "image_size"),
        (vec!["vision_config", "patch_size"], serde_json::json!(128), "patch_size = 128"),
        (vec!["vision_config", "num_hidden_layers"], big.clone(), "num_hidden_layers"),
        (vec!["vision_config", "num_channels"], serde_json::json!(1000), "num_channels"),
        (vec!["text_config", "vocab_size"], big.clone(), "vocab_size"),
        (vec!["text_config", "max_position_embeddings"], big.clone(), "max_position_embeddings"),
        (vec!["text_config", "hidden_size"], big.clone(), "hidden_size"),
        // Present but not a number: before, silently the default (768).
        (vec!["text_config", "hidden_size"], serde_json::json!("wide"), "hidden_size"),
        (vec!["vision_config", "num_attention_heads"], serde_json::json!(5), "not a multiple of num_attention_heads"),
        (vec!["vision_config", "layer_norm_eps"], serde_json::json!(-1.0), "layer_norm_eps"),
    ] {
        let text = with(&base, &path, value);
        rejects(&format!("siglip {}", path.join(".")), "tiny-siglip/config.json", cause, || {
            siglip::SiglipConfig::from_hf_json(f, &text)
        });
    }
    // 2^12 px at patch 1: every size within bounds, but 16 M patches.
    let text = with(&with(&base, &["vision_config", "image_size"], serde_json::json!(4096)), &["vision_config", "patch_size"], serde_json::json!(1));
    rejects("siglip patches", "tiny-siglip/config.json", "patches", || siglip::SiglipConfig::from_hf_json(f, &text));
}

#[test]
fn medgemma_config_image_layout_is_bounded() {
    let _g = serial();
    let base = repo_file("tests/engine/multimodal/tiny/config.json");
    let f = Path::new("tiny/config.json");
    assert!(medgemma::Config::from_hf_json(f, &base).is_ok());
    for (key, value, cause) in [
        // Before: its square root squared overflowed.
        ("mm_tokens_per_image", serde_json::json!(u64::MAX), "mm_tokens_per_image"),
        ("mm_tokens_per_image", serde_json::json!(1u64 << 40), "mm_tokens_per_image"),
        ("mm_tokens_per_image", serde_json::json!(15), "mm_tokens_per_image"),
        // Image token ids index the embedding table and the logits.
        ("image_token_index", serde_json::json!(1_000_000_000u64), "image_token_index"),
        ("boi_token_index", serde_json::json!(512), "boi_token_index"),
        ("eoi_token_index", serde_json::json!(-1), "eoi_token_index"),
    ] {
        let text = with(&base, &[key], value);
        rejects(&format!("medgemma {key}"), "tiny/config.json", cause, || medgemma::Config::from_hf_json(f, &text));
    }
    let text = with(&base, &["text_config", "num_hidden_layers"], serde_json::json!(1_000_000_000_000u64));
    let text = with(&text, &["text_config", "layer_types"], serde_json::Value::Null);
    rejects("medgemma text layers", "tiny/config.json", "num_hidden_layers", || medgemma::Config::from_hf_json(f, &text));
}

// ---- side files read whole ---------------------------------------------------------------

#[test]
fn tokenizer_and_config_files_are_read_only_up_to_a_bound() {
    let _g = serial();
    let d = tmp_dir("side");
    // 2 GiB (sparse) each: before, read whole into memory.
    let spiece = d.join("spiece.model");
    sparse(&spiece, b"\x0a\x05\x0a\x01a", 2 << 30);
    keep(&d, "side-spiece");
    rejects("spiece.model", "spiece.model", "bytes", || TextTokenizer::from_dir(&d, 64));
    std::fs::remove_file(&spiece).ok();
    let json = d.join("tokenizer.json");
    sparse(&json, b"{", 2 << 30);
    keep_as_model(&d, "side-tokenizer-json");
    rejects("tokenizer.json", "tokenizer.json", "bytes", || Tokenizer::from_file(&json));
    rejects("tokenizer.json (SigLIP)", "tokenizer.json", "bytes", || TextTokenizer::from_dir(&d, 64));
    std::fs::remove_file(&json).ok();
    let cfg = d.join("config.json");
    sparse(&cfg, b"{", 2 << 30);
    keep(&d, "side-config-json");
    rejects("config.json", "config.json", "bytes", || siglip::SiglipConfig::from_dir(&d));
    std::fs::remove_dir_all(&d).ok();
}

/// The loaders read a model folder's `config.json` before anything else; one byte over the
/// side-file bound (sparse, so it costs no disk) must be refused from its length, not read
/// whole (which would take its 64 MiB of heap, four times [`LIMIT`]).
#[test]
fn model_folder_config_over_the_bound_is_refused_by_the_loaders() {
    let _g = serial();
    let d = tmp_dir("load");
    sparse(&d.join("config.json"), b"{", medlens_engine::formats::MAX_SIDE_FILE_BYTES + 1);
    keep(&d, "load-config-over-bound");
    let device = burn::tensor::Device::flex();
    rejects("load_medgemma config.json", "config.json", "bytes", || medlens_engine::serve::load::load_medgemma(&d, &device));
    rejects("load_text config.json", "config.json", "bytes", || medlens_engine::serve::load::load_text(&d, None, &device));
    std::fs::remove_dir_all(&d).ok();
}

// ---- fuzz seeds and kept crash inputs ------------------------------------------------------

#[path = "../../../fuzz/paths/engine.rs"]
mod fuzz_paths;

/// Every committed fuzz seed (`fuzz/seeds/TARGET`) and every crash input kept after its fix
/// (`fuzz/regressions/TARGET`) goes through the same function as its fuzz target: no panic,
/// and no more than the fuzzers' own allocation bound of heap.
#[test]
fn fuzz_seeds_and_kept_crash_inputs_pass_through_their_targets() {
    let _g = serial();
    let root = common::package_dir().join("../../fuzz");
    let mut seen = std::collections::BTreeMap::new();
    for (target, run) in fuzz_paths::TARGETS {
        for kind in ["seeds", "regressions"] {
            let Ok(files) = std::fs::read_dir(root.join(kind).join(target)) else { continue };
            for f in files {
                let p = f.unwrap().path();
                let data = std::fs::read(&p).unwrap();
                let base = CURRENT.load(Ordering::Relaxed);
                PEAK.store(base, Ordering::Relaxed);
                let r = std::panic::catch_unwind(|| run(&data));
                let heap = PEAK.load(Ordering::Relaxed).saturating_sub(base);
                assert!(r.is_ok(), "{target}: {} panicked", p.display());
                assert!(heap <= 512 << 20, "{target}: {} took {heap} bytes of heap", p.display());
                *seen.entry(target).or_insert(0) += 1;
            }
        }
    }
    println!("inputs per target: {seen:?}");
    assert_eq!(seen.len(), fuzz_paths::TARGETS.len(), "every target has seeds: {seen:?}");
}

/// A mutation smoke run over the seeds, for machines without cargo-fuzz (not coverage
/// guided): `MEDLENS_HOSTILE_MUTATE_SECS=60 hostile --ignored mutated` runs each target that
/// long on mutated seeds (bytes overwritten with random and boundary values, cut, spliced,
/// duplicated), with the same checks as the seeds. The input being run is kept in
/// `$TMPDIR/medlens-hostile-current.bin`, so an abort (an allocation the allocator refused)
/// leaves it behind.
#[test]
#[ignore]
fn mutated_seeds_pass_through_their_targets() {
    let _g = serial();
    let secs: u64 = std::env::var("MEDLENS_HOSTILE_MUTATE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let root = common::package_dir().join("../../fuzz/seeds");
    let current = std::env::temp_dir().join("medlens-hostile-current.bin");
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    const BOUNDARY: [u64; 8] = [0, 1, 0x7f, 0xff, 0xffff, 0xffff_ffff, 1 << 40, u64::MAX];
    for (target, run) in fuzz_paths::TARGETS {
        let seeds: Vec<Vec<u8>> = std::fs::read_dir(root.join(target)).unwrap().map(|f| std::fs::read(f.unwrap().path()).unwrap()).collect();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        let (mut runs, mut max_heap) = (0u64, 0usize);
        while std::time::Instant::now() < end {
            let mut d = seeds[(next() % seeds.len() as u64) as usize].clone();
            for _ in 0..1 + next() % 8 {
                if d.is_empty() {
                    d.push(next() as u8);
                }
                let at = (next() % d.len() as u64) as usize;
                match next() % 6 {
                    0 => d[at] = next() as u8,
                    1 => {
                        let v = BOUNDARY[(next() % 8) as usize].to_le_bytes();
                        let n = (1usize << (next() % 4)).min(d.len() - at);
                        d[at..at + n].copy_from_slice(&v[..n]);
                    }
                    2 => d.truncate(at),
                    3 => {
                        let n = (next() % 64) as usize;
                        let piece: Vec<u8> = d[at..(at + n).min(d.len())].to_vec();
                        let to = (next() % d.len() as u64) as usize;
                        d.splice(to..to, piece);
                    }
                    4 => d[at] ^= 1 << (next() % 8),
                    _ => {
                        // An ASCII digit run: numbers in the JSON inputs.
                        let digits = format!("{}", BOUNDARY[(next() % 8) as usize]);
                        d.splice(at..(at + 1).min(d.len()), digits.bytes());
                    }
                }
            }
            std::fs::write(&current, &d).unwrap();
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let r = std::panic::catch_unwind(|| run(&d));
            let heap = PEAK.load(Ordering::Relaxed).saturating_sub(base);
            if r.is_err() || heap > 512 << 20 {
                let keep = std::env::temp_dir().join(format!("medlens-hostile-{target}-{runs}.bin"));
                std::fs::write(&keep, &d).unwrap();
                panic!("{target}: input {} panicked or took {heap} bytes of heap", keep.display());
            }
            max_heap = max_heap.max(heap);
            runs += 1;
        }
        println!("{target}: {runs} mutated inputs in {secs} s, none panicked; most heap {max_heap} bytes");
    }
}
