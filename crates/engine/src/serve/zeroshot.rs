//! MedSigLIP zero-shot labels: label sets, the three scoring modes, embedding caches, and a
//! loaded model folder (its text tokenizer padded to max_length 64 as the model card does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::formats::safetensors::Safetensors;
use crate::image::preprocess::Preprocess;
use crate::models::siglip::{logits, Siglip, SiglipConfig};
use crate::quant::GgmlType;
use crate::text::siglip_tokenizer::TextTokenizer;
use crate::weights::quantize::QuantizeOnLoad;

/// How logits become scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LabelMode"))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Per label `sigmoid(scale * cos + bias)` (multi-label, SigLIP's native).
    #[default]
    Sigmoid,
    /// Softmax of the logits across labels (the model card's example).
    Softmax,
    /// Softmax over each (finding, negative) pair; the finding's share.
    Paired,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "sigmoid" => Ok(Self::Sigmoid),
            "softmax" => Ok(Self::Softmax),
            "paired" => Ok(Self::Paired),
            o => Err(format!("unknown mode `{o}` (sigmoid, softmax or paired)")),
        }
    }
}

/// One label: the name shown, the prompt embedded, and the negative prompt of paired mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Label {
    pub label: String,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub negative: Option<String>,
}

impl Label {
    pub fn prompt(&self) -> &str {
        self.prompt.as_deref().unwrap_or(&self.label)
    }
    /// The negative prompt: as given, else `no <prompt>`.
    pub fn negative(&self) -> String {
        self.negative.clone().unwrap_or_else(|| format!("no {}", self.prompt()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LabelSetFile"))]
pub struct LabelSet {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub labels: Vec<Label>,
}

/// The built-in label sets, by name.
pub const BUILTIN: [(&str, &str); 4] = [
    ("chest", include_str!("labels/chest.json")),
    ("dermatology", include_str!("labels/dermatology.json")),
    ("pathology", include_str!("labels/pathology.json")),
    ("ct", include_str!("labels/ct.json")),
];

fn label_err(source: &str, detail: impl Into<String>) -> EngineError {
    EngineError::Config { file: PathBuf::from(source), detail: detail.into() }
}

impl LabelSet {
    /// Parses a label-set JSON: `{"name", "labels": [{"label", "prompt"?, "negative"?}]}`, or
    /// simply a list of strings or label objects.
    pub fn from_json(source: &str, text: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| label_err(source, format!("label set is not valid JSON: {e}")))?;
        let set = if v.is_array() {
            let labels: Vec<serde_json::Value> = serde_json::from_value(v).unwrap_or_default();
            let labels = labels
                .into_iter()
                .map(|l| match l {
                    serde_json::Value::String(s) => Ok(Label { label: s, prompt: None, negative: None }),
                    o => serde_json::from_value(o).map_err(|e| label_err(source, format!("label: {e}"))),
                })
                .collect::<Result<Vec<_>>>()?;
            LabelSet { name: source.into(), description: String::new(), labels }
        } else {
            serde_json::from_value(v).map_err(|e| label_err(source, format!("not a label set: {e}")))?
        };
        set.validate(source)
    }

    fn validate(self, source: &str) -> Result<Self> {
        if self.labels.is_empty() {
            return Err(label_err(source, "the label list is empty"));
        }
        if let Some(i) = self.labels.iter().position(|l| l.label.trim().is_empty()) {
            return Err(label_err(source, format!("label {} is empty", i + 1)));
        }
        Ok(self)
    }

    /// `"a;b;c"`: labels that are their own prompts.
    pub fn from_list(list: &str) -> Result<Self> {
        let labels: Vec<Label> = list
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Label { label: s.into(), prompt: None, negative: None })
            .collect();
        LabelSet { name: "labels".into(), description: String::new(), labels }.validate("--labels")
    }

    /// A built-in set by name, or a JSON file.
    pub fn named_or_file(name: &str) -> Result<Self> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Self::from_json(name, text);
        }
        let p = Path::new(name);
        if !p.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(label_err(name, format!("no such label set (built in: {}) and no such file", names.join(", "))));
        }
        let text = crate::formats::read_side_text(p).map_err(|source| EngineError::Io { file: p.into(), source })?;
        Self::from_json(name, &text)
    }

    pub fn prompts(&self) -> Vec<String> {
        self.labels.iter().map(|l| l.prompt().to_string()).collect()
    }
    pub fn negatives(&self) -> Vec<String> {
        self.labels.iter().map(|l| l.negative()).collect()
    }
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn softmax(xs: &[f32]) -> Vec<f32> {
    let m = xs.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = xs.iter().map(|x| (x - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

/// Scores of one image from its logits against the prompts (and, for paired mode, against
/// the negatives).
pub fn scores(mode: Mode, logits: &[f32], negative_logits: Option<&[f32]>) -> Result<Vec<f32>> {
    Ok(match mode {
        Mode::Sigmoid => logits.iter().map(|&x| sigmoid(x)).collect(),
        Mode::Softmax => softmax(logits),
        Mode::Paired => {
            let neg = negative_logits.ok_or_else(|| EngineError::Labels("paired mode needs negative prompts".into()))?;
            logits.iter().zip(neg).map(|(&p, &n)| softmax(&[p, n])[0]).collect()
        }
    })
}

/// A MedSigLIP model folder, loaded: model, tokenizer, preprocessing, embedding caches.
pub struct ZeroShotModel {
    pub dir: PathBuf,
    pub model: Siglip,
    pub tokenizer: TextTokenizer,
    pub preprocess: Preprocess,
    /// Text embeddings by prompt.
    text_cache: HashMap<String, Vec<f32>>,
    /// Image embeddings by caller's key (path, frame, window).
    image_cache: HashMap<String, Vec<f32>>,
}

impl ZeroShotModel {
    /// Loads `dir` (HF layout: config.json, model.safetensors, preprocessor_config.json,
    /// tokenizer.json or spiece.model). `quantize`: Q8_0 blocks on import.
    pub fn load(dir: &Path, device: &Device, quantize: Option<GgmlType>) -> Result<Self> {
        let config = SiglipConfig::from_dir(dir)?;
        let st = Safetensors::open(dir)?;
        let model = match quantize.filter(|&t| t != GgmlType::F32) {
            Some(ty) => Siglip::load(config.clone(), &QuantizeOnLoad { inner: &st, ty }, device)?,
            None => Siglip::load(config.clone(), &st, device)?,
        };
        let tokenizer = TextTokenizer::from_dir(dir, config.text.max_position_embeddings.min(64))?;
        let mut preprocess = Preprocess::from_dir(dir, config.vision.image_size);
        preprocess.size = config.vision.image_size;
        Ok(Self { dir: dir.into(), model, tokenizer, preprocess, text_cache: HashMap::new(), image_cache: HashMap::new() })
    }

    /// Text embeddings of `prompts` (cached per prompt).
    pub fn text_embeds(&mut self, prompts: &[String]) -> Result<Vec<Vec<f32>>> {
        let missing: Vec<String> = {
            let mut m: Vec<String> = prompts.iter().filter(|p| !self.text_cache.contains_key(*p)).cloned().collect();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let ids = self.tokenizer.encode(&missing)?;
            let e = self.model.text_embeds(&ids)?;
            for (p, v) in missing.into_iter().zip(e) {
                self.text_cache.insert(p, v);
            }
        }
        Ok(prompts.iter().map(|p| self.text_cache[p].clone()).collect())
    }

    /// Whether an image embedding is cached under `key`.
    pub fn has_image(&self, key: &str) -> bool {
        self.image_cache.contains_key(key)
    }

    /// Image embedding of an RGB8 image, cached under `key` when given.
    pub fn image_embed(&mut self, key: Option<&str>, width: usize, height: usize, rgb: &[u8]) -> Result<Vec<f32>> {
        if let Some(v) = key.and_then(|k| self.image_cache.get(k)) {
            return Ok(v.clone());
        }
        let px = self.preprocess.apply(width, height, rgb);
        let e = self.model.image_embeds(&px, 1)?.remove(0);
        if let Some(k) = key {
            self.image_cache.insert(k.into(), e.clone());
        }
        Ok(e)
    }

    /// Scores of an image embedding for a label set.
    pub fn score(&mut self, image: &[f32], set: &LabelSet, mode: Mode) -> Result<Vec<f32>> {
        if set.labels.is_empty() {
            return Err(EngineError::Labels("the label list is empty".into()));
        }
        let t = self.text_embeds(&set.prompts())?;
        let l = logits(&[image.to_vec()], &t, self.model.scale, self.model.bias).remove(0);
        let neg = if mode == Mode::Paired {
            let n = self.text_embeds(&set.negatives())?;
            Some(logits(&[image.to_vec()], &n, self.model.scale, self.model.bias).remove(0))
        } else {
            None
        };
        scores(mode, &l, neg.as_deref())
    }
}
