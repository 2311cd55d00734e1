//! Loading a model from a path, whatever its layout: a Gemma 3 text model (a GGUF, or an HF
//! folder), or MedGemma (an HF folder, a `medlens models import` GGUF, or a llama.cpp text
//! GGUF with its mmproj). A GGUF is recognised by its magic bytes, not its name (Ollama's
//! blobs have no extension).

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::error::{EngineError, Result};
use crate::formats::gguf::{is_gguf, weight_types, Gguf};
use crate::formats::safetensors::Safetensors;
use crate::models::gemma3::{Config, Gemma3};
use crate::models::medgemma::{self, MedGemma};
use crate::text::Tokenizer;
use crate::weights::imported::{self, ImportedGguf};
use crate::weights::llamacpp::{find_mmproj, Pair};
use crate::weights::Reporting;

/// A Gemma 3 text model and its tokenizer.
pub struct LoadedText {
    pub model: Gemma3,
    pub tokenizer: Tokenizer,
}

/// Loads a Gemma 3 text model and its tokenizer. `tokenizer` overrides the tokenizer file;
/// otherwise a `tokenizer.json` next to the model is used, else (GGUF) the one built from its
/// metadata.
pub fn load_text(path: &Path, tokenizer: Option<&Path>, device: &Device) -> Result<LoadedText> {
    must_exist(path)?;
    let dir = if path.is_dir() { path.to_path_buf() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() };
    let tok_file: Option<PathBuf> = tokenizer
        .map(Path::to_path_buf)
        .or_else(|| Some(dir.join("tokenizer.json")).filter(|p| p.exists()));
    if path.is_file() && is_gguf(path) {
        let g = Gguf::open(path)?;
        let cfg = Config::from_gguf(&g)?;
        let tokenizer = match tok_file {
            Some(t) => Tokenizer::from_file(t)?,
            None => Tokenizer::from_gguf(&g)?,
        };
        let model = Gemma3::load(cfg, &g, device)?;
        Ok(LoadedText { model, tokenizer })
    } else {
        let cfg_path = dir.join("config.json");
        let text = crate::formats::read_side_text(&cfg_path)
            .map_err(|source| EngineError::Io { file: cfg_path.clone(), source })?;
        let cfg = Config::from_hf_json(&cfg_path, &text)?;
        let st = Safetensors::open(path)?;
        let tok = tok_file.ok_or_else(|| EngineError::Tokenizer {
            file: dir.join("tokenizer.json"),
            detail: "no tokenizer.json next to the model (pass --tokenizer)".into(),
        })?;
        let tokenizer = Tokenizer::from_file(tok)?;
        let model = Gemma3::load(cfg, &st, device)?;
        Ok(LoadedText { model, tokenizer })
    }
}

/// A model path that is not there is named as such (a missing `x.gguf` would otherwise be
/// read as a file in a folder and reported as that folder's missing `config.json`).
fn must_exist(path: &Path) -> Result<()> {
    std::fs::metadata(path).map(|_| ()).map_err(|source| EngineError::Io { file: path.into(), source })
}

/// A MedGemma loaded from disk, with what provenance needs to say about it.
pub struct LoadedMedGemma {
    pub model: MedGemma,
    pub tokenizer: Tokenizer,
    /// The weights file (the import GGUF, or the folder's index / safetensors).
    pub file: PathBuf,
    /// `hf f32/bf16` for a folder; the import's quantization otherwise.
    pub quantization: String,
    /// The vision half of a llama.cpp pair (its mmproj GGUF), when it is a separate file.
    pub mmproj: Option<PathBuf>,
}

/// Loads MedGemma from an HF folder (`config.json` with a `vision_config`, safetensors,
/// `tokenizer.json`), a GGUF written by `medlens models import`, or llama.cpp's layout (a text
/// GGUF whose mmproj is found beside it; see [`load_medgemma_with_mmproj`]).
pub fn load_medgemma(path: &Path, device: &Device) -> Result<LoadedMedGemma> {
    load_medgemma_with_mmproj(path, None, device)
}

/// [`load_medgemma`], with the mmproj of a llama.cpp text GGUF given explicitly. Without one, an
/// mmproj next to the text model is used (LM Studio's layout), or the vision tensors in the
/// text file itself (Ollama's).
pub fn load_medgemma_with_mmproj(path: &Path, mmproj: Option<&Path>, device: &Device) -> Result<LoadedMedGemma> {
    load_medgemma_reporting(path, mmproj, device, &|_, _| true)
}

/// [`load_medgemma_with_mmproj`], telling `progress(done, total)` after each tensor read
/// (`total`: the tensors the files hold); `progress` returning false stops the load
/// ([`EngineError::LoadStopped`]).
pub fn load_medgemma_reporting(path: &Path, mmproj: Option<&Path>, device: &Device, progress: &dyn Fn(usize, usize) -> bool) -> Result<LoadedMedGemma> {
    must_exist(path)?;
    if let Some(m) = mmproj {
        must_exist(m)?;
    }
    let is_gguf = path.is_file() && is_gguf(path);
    let is_import = is_gguf && Gguf::read_header(path).is_ok_and(|h| imported::is_import(&h));
    if is_gguf && (!is_import || mmproj.is_some()) {
        let found = match mmproj {
            Some(m) => Some(m.to_path_buf()),
            None => find_mmproj(path).map(|h| h.path),
        };
        let pair = Pair::open(path, found.as_deref())?;
        let tokenizer = Tokenizer::from_gguf(&pair.text)?;
        let cfg = medgemma::Config::from_llamacpp(&pair, medgemma::image_ids(&tokenizer))?;
        let vt = pair.mmproj.as_ref().unwrap_or(&pair.text);
        let quantization = format!(
            "llama.cpp: text {}, vision {}",
            weight_types(&pair.text.tensors, "blk."),
            weight_types(&vt.tensors, "v.blk.")
        );
        let total = pair.text.tensors.len() + pair.mmproj.as_ref().map_or(0, |m| m.tensors.len());
        let model = MedGemma::load(cfg, &Reporting::new(&pair, total, progress), device)?;
        return Ok(LoadedMedGemma { model, tokenizer, file: path.into(), quantization, mmproj: found });
    }
    if is_gguf {
        let g = ImportedGguf::open(path)?;
        let cfg_text = g.carried("config.json").unwrap_or_default().to_string();
        let cfg = medgemma::Config::from_hf_json(path, &cfg_text)?;
        let tok_json = g.carried("tokenizer.json").ok_or_else(|| EngineError::Tokenizer {
            file: path.into(),
            detail: "the import carries no tokenizer.json".into(),
        })?;
        let tokenizer = Tokenizer::from_json_str(tok_json, path)?;
        let quantization = g.gguf.get("medlens.quantization").and_then(|v| v.as_str()).unwrap_or("gguf").to_string();
        let model = MedGemma::load(cfg, &Reporting::new(&g, g.gguf.tensors.len(), progress), device)?;
        return Ok(LoadedMedGemma { model, tokenizer, file: path.into(), quantization, mmproj: None });
    }
    let dir = if path.is_dir() { path.to_path_buf() } else { path.parent().unwrap_or(Path::new(".")).to_path_buf() };
    let cfg_path = dir.join("config.json");
    let text = crate::formats::read_side_text(&cfg_path).map_err(|source| EngineError::Io { file: cfg_path.clone(), source })?;
    let cfg = medgemma::Config::from_hf_json(&cfg_path, &text)?;
    let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))?;
    let st = Safetensors::open(&dir)?;
    let model = MedGemma::load(cfg, &Reporting::new(&st, st.len(), progress), device)?;
    let idx = dir.join("model.safetensors.index.json");
    let file = if idx.exists() { idx } else { dir.join("model.safetensors") };
    Ok(LoadedMedGemma { model, tokenizer, file, quantization: "hf (f32 compute)".into(), mmproj: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model path that does not exist is the error, not a `config.json` beside it.
    #[test]
    fn a_missing_model_is_named() {
        let d = Device::flex();
        let dir = std::env::temp_dir().join(format!("medlens-missing-{}", std::process::id()));
        let gguf = dir.join("medgemma-4b-it-Q4_K_M.gguf");
        for e in [
            load_medgemma(&gguf, &d).err().map(|e| e.to_string()),
            load_text(&gguf, None, &d).err().map(|e| e.to_string()),
        ] {
            let e = e.expect("a missing file must not load");
            assert!(e.starts_with(&gguf.display().to_string()) && !e.contains("config.json"), "{e}");
            assert!(e.contains("cannot read"), "{e}");
        }
        // An mmproj that is not there is named too, the text model being there.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&gguf, b"GGUF").unwrap();
        let mm = dir.join("mmproj-f16.gguf");
        let e = load_medgemma_with_mmproj(&gguf, Some(&mm), &d).err().expect("a missing mmproj must not load").to_string();
        assert!(e.starts_with(&mm.display().to_string()), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
