//! Draft findings as a record: the built-in templates, and the one provenance schema the CLI
//! (`medlens findings --json`) and the app (exports, audit log) both write, so a draft says
//! the same about itself wherever it was made.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::generate::SamplingParams;

/// A findings prompt: the system text (folded into the first user turn) and the request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "FindingsTemplate"))]
pub struct Template {
    pub name: String,
    pub system: String,
    pub prompt: String,
}

/// The built-in templates, one per modality the product targets. Users edit copies.
pub fn templates() -> Vec<Template> {
    let t = |name: &str, system: &str, prompt: &str| Template { name: name.into(), system: system.into(), prompt: prompt.into() };
    vec![
        t(
            "cxr",
            "You are an expert radiologist.",
            "Describe this chest X-ray. Write the findings, then a one-line impression.",
        ),
        t("ct", "You are an expert radiologist.", "Describe the findings on this CT slice."),
        t(
            "derm",
            "You are an expert dermatologist.",
            "Describe this skin lesion and give a differential diagnosis.",
        ),
        t(
            "path",
            "You are an expert pathologist.",
            "Describe the findings in this histopathology image.",
        ),
    ]
}

/// A built-in template by name.
pub fn template(name: &str) -> Option<Template> {
    templates().into_iter().find(|t| t.name == name)
}

/// The sampling a draft was made with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SamplingRecord {
    pub greedy: bool,
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub min_p: f32,
    pub repetition_penalty: f32,
    pub seed: u64,
    pub max_tokens: usize,
}

impl SamplingRecord {
    pub fn new(p: &SamplingParams, greedy: bool, max_tokens: usize) -> Self {
        Self {
            greedy,
            temperature: p.temperature,
            top_k: p.top_k,
            top_p: p.top_p,
            min_p: p.min_p,
            repetition_penalty: p.repetition_penalty,
            seed: p.seed,
            max_tokens,
        }
    }
}

/// One image the model saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InputRecord {
    pub path: PathBuf,
    pub sop_instance_uid: Option<String>,
    pub frame: usize,
    /// How grey values were mapped to 8 bits (the DICOM crate's description), if DICOM.
    // The engine does not know the DICOM crate; in TypeScript the value is that crate's
    // `WindowUsed`, which the app's bindings declare beside it.
    #[cfg_attr(feature = "ts", ts(type = "WindowUsed | null"))]
    pub window: Option<serde_json::Value>,
    pub width: usize,
    pub height: usize,
}

/// Where a draft came from: the model files and their hashes, the prompt, the sampling, the
/// inputs, the adapter, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Provenance {
    pub model_file: PathBuf,
    pub model_sha256: String,
    pub quantization: String,
    /// The vision half of a llama.cpp pair, when it is a separate file.
    pub mmproj_file: Option<PathBuf>,
    pub mmproj_sha256: Option<String>,
    pub adapter: String,
    pub template: String,
    pub system: String,
    pub prompt: String,
    pub sampling: SamplingRecord,
    pub inputs: Vec<InputRecord>,
    /// RFC 3339, UTC.
    pub created: String,
}

/// Now as RFC 3339 in UTC (`2026-11-30T02:00:00.123456789Z`).
pub fn now_rfc3339() -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// sha256 of a model file (hex), for provenance. Multi-gigabyte files take seconds to hash,
/// so the digest is remembered in `cache_dir` keyed by path, size and modification time.
pub fn file_sha256(path: &Path, cache_dir: Option<&Path>) -> Result<String> {
    use sha2::{Digest, Sha256};
    let io = |source| EngineError::Io { file: path.into(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    let key = {
        let mut h = Sha256::new();
        h.update(format!("{}\n{}\n{}", path.display(), meta.len(), mtime));
        format!("{:x}", h.finalize())
    };
    let memo = cache_dir.map(|d| d.join("sha256").join(&key));
    if let Some(m) = &memo {
        if let Ok(s) = crate::formats::read_side_text(m) {
            if s.trim().len() == 64 {
                return Ok(s.trim().to_string());
            }
        }
    }
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(io)?;
    let digest = format!("{:x}", h.finalize());
    if let Some(m) = memo {
        if let Some(parent) = m.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::write(m, &digest);
    }
    Ok(digest)
}
