//! Finding MedGemma and MedSigLIP on this machine, and checking a candidate without loading
//! its weights (config parses, every shard is there, safetensors headers are sound and hold
//! the tensors the config needs with their shapes).
//!
//! Places looked at, in order: the app's `models/` folder(s), the Hugging Face cache
//! (`$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`: `models--google--medgemma-4b-it`
//! and `models--google--medsiglip-448`, every snapshot), LM Studio (`~/.lmstudio/models`,
//! `~/.cache/lm-studio/models`) and Ollama (`~/.ollama/models`) for GGUF files, and paths
//! the user added.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::formats::gguf::{is_gguf, weight_types, Gguf, GgufHeader};
use crate::formats::safetensors::read_headers;
use crate::models::medgemma;
use crate::models::siglip::SiglipConfig;
use crate::weights::imported::is_import;
use crate::weights::llamacpp::{find_mmproj, is_gemma3_mmproj};

/// Which model a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ModelKind"))]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Medgemma,
    Medsiglip,
}

/// One candidate, as the model manager lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ModelInfo {
    pub kind: Kind,
    pub name: String,
    pub path: PathBuf,
    /// `models`, `hf-cache`, `ollama`, `lmstudio` or `user`.
    #[cfg_attr(feature = "ts", ts(type = r#""models" | "hf-cache" | "ollama" | "lmstudio" | "user""#))]
    pub source: String,
    /// `hf` (a folder) or `gguf`.
    #[cfg_attr(feature = "ts", ts(type = r#""hf" | "gguf""#))]
    pub format: String,
    /// `ok` or `invalid`.
    #[cfg_attr(feature = "ts", ts(type = r#""ok" | "invalid""#))]
    pub status: String,
    /// Why the model is invalid (or a note when it is ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub message: Option<String>,
    pub bytes: u64,
    /// What the weights take in memory once loaded, on the CPU or the GPU (the same on both):
    /// a GGUF's blocks as stored, so its files' size (mmproj included); an HF folder's
    /// tensors as f32, so twice its bf16 files. Activations and the KV cache come on top.
    pub weights_in_memory: u64,
    /// The vision half of a llama.cpp / Ollama MedGemma (its mmproj GGUF), when separate.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub mmproj: Option<PathBuf>,
}

/// The Hugging Face hub cache folders to look in.
pub fn hf_cache_dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("HF_HUB_CACHE").or_else(|| std::env::var_os("HUGGINGFACE_HUB_CACHE")) {
        v.push(PathBuf::from(p));
    }
    if let Some(h) = std::env::var_os("HF_HOME") {
        v.push(PathBuf::from(h).join("hub"));
    }
    if let Some(h) = dirs::home_dir() {
        v.push(h.join(".cache/huggingface/hub"));
    }
    v.dedup();
    v
}

/// The user's home folder (`dirs` knows where it is on every platform; `$HOME` is usually
/// unset on Windows).
fn home() -> Option<PathBuf> {
    dirs::home_dir()
}

/// Every candidate under `models_dirs`, the HF cache, LM Studio, Ollama and `user` paths.
pub fn scan(models_dirs: &[PathBuf], user: &[PathBuf]) -> Vec<ModelInfo> {
    let mut out = Vec::new();
    for d in models_dirs {
        for p in children(d) {
            if p.is_dir() || is_gguf(&p) {
                if let Some(m) = inspect(&p, "models") {
                    out.push(m);
                }
            }
        }
    }
    for hub in hf_cache_dirs() {
        for (repo, kind) in [("models--google--medgemma-4b-it", Kind::Medgemma), ("models--google--medsiglip-448", Kind::Medsiglip)] {
            for snap in children(&hub.join(repo).join("snapshots")) {
                if snap.is_dir() {
                    let mut m = inspect(&snap, "hf-cache").unwrap_or_else(|| invalid(kind, &snap, "hf-cache", "hf", "no config.json"));
                    m.name = format!("{} ({})", repo.trim_start_matches("models--").replace("--", "/"), short(&snap));
                    out.push(m);
                }
            }
        }
    }
    if let Some(h) = home() {
        for (dir, source) in [
            (h.join(".lmstudio/models"), "lmstudio"),
            (h.join(".cache/lm-studio/models"), "lmstudio"),
            ] {
            let mut ggufs = Vec::new();
            walk_gguf(&dir, 4, &mut ggufs);
            for g in ggufs {
                let n = g.to_string_lossy().to_ascii_lowercase();
                if n.contains("medgemma") && !n.contains("mmproj") {
                    if let Some(m) = inspect(&g, source) {
                        out.push(m);
                    }
                }
            }
        }
    }
    if let Some(h) = home() {
        let root = std::env::var_os("OLLAMA_MODELS").map(PathBuf::from).unwrap_or_else(|| h.join(".ollama/models"));
        out.extend(scan_ollama(&root));
    }
    for p in user {
        out.push(inspect(p, "user").unwrap_or_else(|| invalid(Kind::Medgemma, p, "user", "hf", "not a model folder or GGUF file")));
    }
    out
}

fn short(p: &Path) -> String {
    let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    n.chars().take(8).collect()
}

fn children(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.sort();
    v
}

/// A `*.gguf` file, by name: what folder walks collect (Ollama's blobs, which have no
/// extension, are reached through their manifests and checked by magic).
fn has_gguf_extension(p: &Path) -> bool {
    p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}

fn walk_gguf(d: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    for p in children(d) {
        if p.is_dir() {
            walk_gguf(&p, depth - 1, out);
        } else if has_gguf_extension(&p) {
            out.push(p);
        }
    }
}

/// Ollama keeps weights as content-addressed blobs (`blobs/sha256-<hex>`, no extension) named
/// by manifests (`manifests/<registry>/<namespace>/<model>/<tag>`, JSON): the layer of media
/// type `application/vnd.ollama.image.model` is the GGUF, `...image.projector` the mmproj.
/// Manifests whose path names MedGemma are inspected.
pub fn scan_ollama(root: &Path) -> Vec<ModelInfo> {
    let mut manifests = Vec::new();
    walk_files(&root.join("manifests"), 5, &mut manifests);
    let mut out = Vec::new();
    for m in manifests {
        let rel = m.strip_prefix(root.join("manifests")).unwrap_or(&m).to_string_lossy().to_ascii_lowercase();
        if !rel.contains("medgemma") {
            continue;
        }
        let Ok(text) = crate::formats::read_side_text(&m) else { continue };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        let blob = |media: &str| -> Option<PathBuf> {
            let layers = v.get("layers")?.as_array()?;
            let l = layers.iter().find(|l| l.get("mediaType").and_then(|t| t.as_str()) == Some(media))?;
            let d = l.get("digest")?.as_str()?.replace(':', "-");
            Some(root.join("blobs").join(d))
        };
        let Some(model) = blob("application/vnd.ollama.image.model") else { continue };
        let mut info = inspect_gguf_with(&model, "ollama", blob("application/vnd.ollama.image.projector"));
        // Tags read better than digests: `medgemma:4b` for manifests/.../medgemma/4b.
        let parts: Vec<&str> = rel.rsplitn(3, '/').collect();
        if parts.len() >= 2 {
            info.name = format!("{}:{}", parts[1], parts[0]);
        }
        out.push(info);
    }
    out
}

fn walk_files(d: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    for p in children(d) {
        if p.is_dir() {
            walk_files(&p, depth - 1, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn invalid(kind: Kind, path: &Path, source: &str, format: &str, msg: &str) -> ModelInfo {
    ModelInfo {
        kind,
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.into(),
        source: source.into(),
        format: format.into(),
        status: "invalid".into(),
        message: Some(format!("{}: {msg}", path.display())),
        bytes: 0,
        weights_in_memory: 0,
        mmproj: None,
    }
}

/// Inspects a folder or GGUF file; `None` when it is not a model at all (no config.json in a
/// folder). A model that is broken is `Some` with status `invalid` and the reason.
pub fn inspect(path: &Path, source: &str) -> Option<ModelInfo> {
    if path.is_file() && is_gguf(path) {
        return Some(inspect_gguf(path, source));
    }
    let cfg = path.join("config.json");
    if !cfg.is_file() {
        return None;
    }
    let text = match crate::formats::read_side_text(&cfg) {
        Ok(t) => t,
        Err(e) => return Some(invalid(Kind::Medgemma, path, source, "hf", &format!("config.json: {e}"))),
    };
    let v: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Some(invalid(Kind::Medgemma, path, source, "hf", &format!("config.json is not valid JSON: {e}"))),
    };
    let kind = if v.get("vision_config").is_some() && v.get("text_config").is_some() && v.get("model_type").and_then(|m| m.as_str()) != Some("siglip") {
        Kind::Medgemma
    } else {
        Kind::Medsiglip
    };
    let mut info = ModelInfo {
        kind,
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.into(),
        source: source.into(),
        format: "hf".into(),
        status: "ok".into(),
        message: None,
        bytes: 0,
        weights_in_memory: 0,
        mmproj: None,
    };
    let expected: Result<Vec<(String, Vec<usize>)>, String> = match kind {
        Kind::Medgemma => medgemma::Config::from_hf_json(&cfg, &text).map(|c| c.tensor_shapes()).map_err(|e| e.to_string()),
        Kind::Medsiglip => SiglipConfig::from_hf_json(&cfg, &text).map(|c| c.tensor_shapes()).map_err(|e| e.to_string()),
    };
    let check = expected.and_then(|exp| {
        let (headers, bytes) = read_headers(path).map_err(|e| e.to_string())?;
        info.bytes = bytes;
        // Every tensor of the files, as f32: the loaders widen bf16 and f16 (measured on the
        // GPU against the loaded model's memory: crates/engine/tests/serve.rs).
        info.weights_in_memory = headers.values().map(|shape| 4 * shape.iter().map(|&d| d as u64).product::<u64>()).sum();
        check_shapes(&headers, &exp, kind)?;
        let has_tok = path.join("tokenizer.json").is_file() || (kind == Kind::Medsiglip && path.join("spiece.model").is_file());
        if !has_tok {
            return Err("no tokenizer.json".into());
        }
        Ok(())
    });
    if let Err(e) = check {
        info.status = "invalid".into();
        info.message = Some(format!("{}: {e}", path.display()));
    }
    Some(info)
}

fn inspect_gguf(path: &Path, source: &str) -> ModelInfo {
    inspect_gguf_with(path, source, None)
}

/// Checks a GGUF from its header alone (never the weights): a Medlens import; a llama.cpp
/// Gemma 3 text model with its mmproj (`mmproj`, else one found beside it); or Ollama's single
/// file with the vision tensors inside. Anything else is `invalid` with the reason.
fn inspect_gguf_with(path: &Path, source: &str, mmproj: Option<PathBuf>) -> ModelInfo {
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ok = |message: Option<String>, mmproj: Option<PathBuf>| ModelInfo {
        kind: Kind::Medgemma,
        name: name.clone(),
        path: path.into(),
        source: source.into(),
        format: "gguf".into(),
        status: "ok".into(),
        message,
        bytes,
        // Blocks stay as stored, on the CPU (mapped) and on the GPU (uploaded).
        weights_in_memory: bytes,
        mmproj,
    };
    let bad = |msg: &str| {
        let mut m = invalid(Kind::Medgemma, path, source, "gguf", msg);
        m.bytes = bytes;
        m
    };
    let h = match Gguf::read_header(path) {
        Ok(h) => h,
        Err(e) => return bad(&e.to_string()),
    };
    if is_import(&h) {
        let q = h.get_str("medlens.quantization").ok().map(|q| format!("imported: {q}"));
        return ok(q, None);
    }
    let arch = h.get_str("general.architecture").unwrap_or("?");
    if is_gemma3_mmproj(&h) {
        return bad("an mmproj (the vision half of a llama.cpp MedGemma): choose the text model GGUF beside it");
    }
    if arch != "gemma3" {
        return bad(&format!("architecture `{arch}` is not Gemma 3"));
    }
    let ty = |h: &GgufHeader, prefix: &str| weight_types(&h.tensors, prefix);
    let text_hidden = h.tensor_info("token_embd.weight").map(|t| t.shape()[1]);
    if h.tensor_info("v.patch_embedding.weight").is_some() {
        return ok(Some(format!("Ollama single file: text {}, vision inside", ty(&h, "blk."))), None);
    }
    let m = match mmproj.map(Gguf::read_header) {
        Some(Ok(m)) => m,
        Some(Err(e)) => return bad(&format!("mmproj: {e}")),
        None => match find_mmproj(path) {
            Some(m) => m,
            None => {
                return bad("a Gemma 3 text model without its vision tower: keep its mmproj GGUF (from the same release) next to it")
            }
        },
    };
    let mp = m.path.clone();
    if !is_gemma3_mmproj(&m) {
        return bad(&format!("{} is not a Gemma 3 mmproj", mp.display()));
    }
    // The projector must map the tower's width onto this text model's.
    let proj = m.tensor_info("mm.input_projection.weight").map(|t| t.shape());
    match (proj, text_hidden) {
        (Some(p), Some(th)) if p.len() == 2 && p[1] == th => {}
        (p, th) => {
            return bad(&format!(
                "mmproj {} does not fit: projection {:?}, text width {:?}",
                mp.display(),
                p,
                th
            ))
        }
    }
    let msg = format!(
        "llama.cpp: text {}, vision {} ({})",
        ty(&h, "blk."),
        ty(&m, "v.blk."),
        mp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    );
    let mut info = ok(Some(msg), Some(mp.clone()));
    let mmproj_bytes = std::fs::metadata(&mp).map(|m| m.len()).unwrap_or(0);
    info.bytes += mmproj_bytes;
    info.weights_in_memory += mmproj_bytes;
    info
}

/// Hub, transformers-5-on-disk and in-memory spellings of one name.
fn aliases(name: &str) -> Vec<String> {
    let mut v = vec![name.to_string()];
    if let Some(r) = name.strip_prefix("language_model.model.") {
        v.push(format!("model.language_model.{r}"));
    }
    if let Some(r) = name.strip_prefix("vision_tower.vision_model.") {
        v.push(format!("vision_tower.{r}"));
        v.push(format!("model.vision_tower.{r}"));
        v.push(format!("model.vision_tower.vision_model.{r}"));
    }
    if let Some(r) = name.strip_prefix("multi_modal_projector.") {
        v.push(format!("model.multi_modal_projector.{r}"));
    }
    v
}

fn check_shapes(headers: &HashMap<String, Vec<usize>>, expected: &[(String, Vec<usize>)], kind: Kind) -> Result<(), String> {
    for (name, shape) in expected {
        // SigLIP's logit scale/bias and the head's norm are optional in some exports.
        if kind == Kind::Medsiglip && (name.starts_with("logit_") || name.contains("head.layernorm") && !headers.contains_key(name)) {
            continue;
        }
        let found = aliases(name).into_iter().find_map(|a| headers.get(&a).map(|s| (a, s.clone())));
        match found {
            None => return Err(format!("tensor `{name}` is missing")),
            Some((a, s)) if &s != shape => return Err(format!("tensor `{a}` has shape {s:?}, the config needs {shape:?}")),
            _ => {}
        }
    }
    Ok(())
}
