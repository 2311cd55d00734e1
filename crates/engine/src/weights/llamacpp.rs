//! MedGemma in the llama.cpp layout: what LM Studio and Ollama users have on disk.
//!
//! llama.cpp's `convert_hf_to_gguf.py` splits `Gemma3ForConditionalGeneration` in two files:
//!
//! - the **text model** (`general.architecture = gemma3`): the decoder under llama.cpp's names
//!   (`token_embd`, `blk.N.attn_q`, ...), every Gemma RMSNorm weight stored as `1 + w`, and the
//!   SentencePiece vocabulary in the metadata (no `tokenizer.json`);
//! - the **mmproj** (`general.architecture = clip`, `clip.projector_type = gemma3`): the SigLIP
//!   tower under `v.*` names (`v.patch_embd`, `v.position_embd`, `v.blk.N.{attn_q,attn_k,attn_v,
//!   attn_out,ln1,ln2,ffn_up,ffn_down}`, `v.post_ln`; true LayerNorms, stored as they are) and the
//!   projector (`mm.soft_emb_norm` stored as `1 + w`, `mm.input_projection` stored as HF's
//!   `[1152, 2560]` matrix, used as `x · W`). The pooling kernel is
//!   `clip.vision.projector.scale_factor` (4 when absent), so the image takes
//!   `(image_size / patch_size / kernel)²` soft tokens.
//!
//! Ollama's own converter writes both halves into one `gemma3` file with slightly different
//! vision names (`v.patch_embedding`, `v.blk.N.layer_norm1`, `v.blk.N.mlp.fc1`,
//! `v.blk.N.attn_output`, `v.post_layernorm`, `mm.mm_input_projection`, `mm.mm_soft_emb_norm`)
//! and the tower's hyper-parameters under `gemma3.vision.*`; both spellings are read.
//!
//! [`Pair`] maps the HF tensor names `MedGemma::load` asks for onto the two files, so the
//! model code is the same for every layout; the multimodal configuration is read from the
//! same keys by `models::medgemma::Config::from_llamacpp`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::formats::gguf::{Gguf, GgufHeader, Value};
use crate::weights::gguf::gguf_name;
use crate::weights::{Blocks, WeightSource};

/// A llama.cpp text GGUF and its vision half (a separate mmproj, or the same file for
/// Ollama's single-file conversion).
pub struct Pair {
    pub text: Gguf,
    /// `None` when the vision tensors live in `text` (Ollama's single file).
    pub mmproj: Option<Gguf>,
}

/// Which spelling of the vision tensor names a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    LlamaCpp,
    Ollama,
}

/// The llama.cpp / Ollama name of an HF vision-tower or projector tensor (`rest` is the name
/// after `vision_tower.vision_model.` or `multi_modal_projector.`).
fn vision_name(rest: &str, projector: bool, sp: Spelling) -> Option<String> {
    if projector {
        return Some(match (rest, sp) {
            ("mm_input_projection_weight", Spelling::LlamaCpp) => "mm.input_projection.weight".into(),
            ("mm_soft_emb_norm.weight", Spelling::LlamaCpp) => "mm.soft_emb_norm.weight".into(),
            ("mm_input_projection_weight", Spelling::Ollama) => "mm.mm_input_projection.weight".into(),
            ("mm_soft_emb_norm.weight", Spelling::Ollama) => "mm.mm_soft_emb_norm.weight".into(),
            _ => return None,
        });
    }
    let (stem, suffix) = rest.rsplit_once('.')?; // suffix: weight | bias
    let llama = sp == Spelling::LlamaCpp;
    let stem: String = match stem {
        "embeddings.patch_embedding" => if llama { "v.patch_embd" } else { "v.patch_embedding" }.into(),
        "embeddings.position_embedding" => if llama { "v.position_embd" } else { "v.position_embedding" }.into(),
        "post_layernorm" => if llama { "v.post_ln" } else { "v.post_layernorm" }.into(),
        _ => {
            let r = stem.strip_prefix("encoder.layers.")?;
            let (i, t) = r.split_once('.')?;
            let t = match (t, llama) {
                ("self_attn.q_proj", _) => "attn_q",
                ("self_attn.k_proj", _) => "attn_k",
                ("self_attn.v_proj", _) => "attn_v",
                ("self_attn.out_proj", true) => "attn_out",
                ("self_attn.out_proj", false) => "attn_output",
                ("layer_norm1", true) => "ln1",
                ("layer_norm2", true) => "ln2",
                ("mlp.fc1", true) => "ffn_up",
                ("mlp.fc2", true) => "ffn_down",
                ("layer_norm1" | "layer_norm2" | "mlp.fc1" | "mlp.fc2", false) => t,
                _ => return None,
            };
            format!("v.blk.{i}.{t}")
        }
    };
    Some(format!("{stem}.{suffix}"))
}

impl Pair {
    /// Opens a llama.cpp text GGUF and its mmproj. `mmproj` `None`: the vision tensors must be
    /// in the text file (Ollama), else the error says to pass the mmproj.
    pub fn open(text: &Path, mmproj: Option<&Path>) -> Result<Self> {
        let text = Gguf::open(text)?;
        let arch = text.get_str("general.architecture")?;
        if arch == "clip" {
            return Err(cfg_err(
                &text.path,
                "an mmproj (the vision half of a llama.cpp MedGemma): give the text model GGUF \
                 (architecture gemma3) as the model and this file as its mmproj"
                    .into(),
            ));
        }
        if arch != "gemma3" {
            return Err(cfg_err(&text.path, format!("architecture `{arch}` is not gemma3")));
        }
        let mmproj = match mmproj {
            Some(p) => {
                let m = Gguf::open(p)?;
                check_mmproj(&m)?;
                Some(m)
            }
            None if text.tensor_info("v.patch_embedding.weight").is_some() => None,
            None => {
                return Err(cfg_err(
                    &text.path,
                    "a llama.cpp text model without its vision tower: findings need the mmproj GGUF \
                     that comes with it (pass --mmproj, or keep `mmproj*.gguf` next to the model)"
                        .into(),
                ))
            }
        };
        Ok(Self { text, mmproj })
    }

    /// The file holding the vision tower and projector.
    pub fn vision_file(&self) -> &Gguf {
        self.mmproj.as_ref().unwrap_or(&self.text)
    }

    fn spelling(&self) -> Spelling {
        if self.mmproj.is_some() {
            Spelling::LlamaCpp
        } else {
            Spelling::Ollama
        }
    }

    /// The GGUF and tensor name behind an HF name (hub spelling:
    /// `vision_tower.vision_model.*`, `multi_modal_projector.*`, `language_model.model.*`).
    fn locate(&self, hf: &str) -> Option<(&Gguf, String)> {
        if let Some(rest) = hf.strip_prefix("vision_tower.vision_model.") {
            return Some((self.vision_file(), vision_name(rest, false, self.spelling())?));
        }
        if let Some(rest) = hf.strip_prefix("multi_modal_projector.") {
            return Some((self.vision_file(), vision_name(rest, true, self.spelling())?));
        }
        let rest = hf.strip_prefix("language_model.").unwrap_or(hf);
        Some((&self.text, gguf_name(rest)?))
    }
}

fn cfg_err(file: &Path, detail: String) -> EngineError {
    EngineError::Config { file: file.into(), detail }
}

/// An mmproj must be a clip file with Gemma 3's projector.
fn check_mmproj(m: &GgufHeader) -> Result<()> {
    let arch = m.get_str("general.architecture").unwrap_or("");
    if arch != "clip" {
        return Err(cfg_err(&m.path, format!("not an mmproj: architecture `{arch}` (expected clip)")));
    }
    if !is_gemma3_mmproj(m) {
        let proj = projector_type(m).unwrap_or("");
        return Err(cfg_err(&m.path, format!("mmproj projector `{proj}` is not Gemma 3's (gemma3)")));
    }
    Ok(())
}

fn projector_type(h: &GgufHeader) -> Option<&str> {
    h.get("clip.projector_type").or_else(|| h.get("clip.vision.projector_type")).and_then(Value::as_str)
}

/// Whether a GGUF header is a llama.cpp mmproj with Gemma 3's projector.
pub fn is_gemma3_mmproj(h: &GgufHeader) -> bool {
    h.get_str("general.architecture").is_ok_and(|a| a == "clip") && projector_type(h) == Some("gemma3")
}

/// The mmproj next to a llama.cpp text model: a `*.gguf` in the same folder whose header is
/// a Gemma 3 clip projector (LM Studio keeps `mmproj-*.gguf` beside the model). Files named
/// `mmproj*` are tried first; only headers are read, and the one found is returned.
pub fn find_mmproj(text: &Path) -> Option<GgufHeader> {
    let dir = text.parent()?;
    let mut cands: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != text && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")))
        .collect();
    let named = |p: &PathBuf| !p.file_name().is_some_and(|n| n.to_string_lossy().to_lowercase().contains("mmproj"));
    cands.sort_by_key(|p| (named(p), p.clone()));
    cands.into_iter().find_map(|p| Gguf::read_header(p).ok().filter(is_gemma3_mmproj))
}

impl WeightSource for Pair {
    fn file(&self) -> &Path {
        &self.text.path
    }
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let Some((g, name)) = self.locate(hf_name) else { return Ok(None) };
        Ok(g.tensor_f32(&name))
    }
    /// Text RMSNorms and the projector's soft-embedding norm are stored as `1 + w`; the
    /// tower's LayerNorms are not RMSNorms and are read as they are.
    fn norms_include_one(&self) -> bool {
        true
    }
    fn get_quantized(&self, hf_name: &str) -> Result<Option<Blocks<'_>>> {
        let Some((g, name)) = self.locate(hf_name) else { return Ok(None) };
        Ok(g.quantized_tensor(&name).map(|(s, t, b)| (s, t, Cow::Borrowed(b))))
    }
    fn mapped(&self, hf_name: &str) -> Option<crate::formats::gguf::MappedTensor> {
        let (g, name) = self.locate(hf_name)?;
        g.mapped_tensor(&name)
    }
    fn release(&self, hf_name: &str) {
        if let Some((g, name)) = self.locate(hf_name) {
            g.release(&name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vision_names_follow_llama_cpp_and_ollama() {
        let l = |r: &str| vision_name(r, false, Spelling::LlamaCpp);
        let o = |r: &str| vision_name(r, false, Spelling::Ollama);
        assert_eq!(l("embeddings.patch_embedding.weight").as_deref(), Some("v.patch_embd.weight"));
        assert_eq!(l("embeddings.position_embedding.weight").as_deref(), Some("v.position_embd.weight"));
        assert_eq!(l("encoder.layers.26.self_attn.out_proj.bias").as_deref(), Some("v.blk.26.attn_out.bias"));
        assert_eq!(l("encoder.layers.3.layer_norm2.weight").as_deref(), Some("v.blk.3.ln2.weight"));
        assert_eq!(l("encoder.layers.3.mlp.fc1.weight").as_deref(), Some("v.blk.3.ffn_up.weight"));
        assert_eq!(l("post_layernorm.bias").as_deref(), Some("v.post_ln.bias"));
        assert_eq!(o("embeddings.patch_embedding.weight").as_deref(), Some("v.patch_embedding.weight"));
        assert_eq!(o("encoder.layers.0.self_attn.out_proj.weight").as_deref(), Some("v.blk.0.attn_output.weight"));
        assert_eq!(o("encoder.layers.0.mlp.fc2.bias").as_deref(), Some("v.blk.0.mlp.fc2.bias"));
        assert_eq!(o("post_layernorm.weight").as_deref(), Some("v.post_layernorm.weight"));
        assert_eq!(
            vision_name("mm_input_projection_weight", true, Spelling::LlamaCpp).as_deref(),
            Some("mm.input_projection.weight")
        );
        assert_eq!(
            vision_name("mm_soft_emb_norm.weight", true, Spelling::Ollama).as_deref(),
            Some("mm.mm_soft_emb_norm.weight")
        );
        assert_eq!(l("head.attention.in_proj_weight"), None);
    }
}
