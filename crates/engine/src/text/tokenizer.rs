//! Tokenizer: HF `tokenizers` on a `tokenizer.json`, or built from GGUF metadata. Special ids
//! are looked up in the files, never hard-coded.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::formats::gguf::Gguf;
use crate::text::chat_template::{gemma3_chat_template, Message};

/// A Gemma 3 tokenizer and the special tokens generation needs.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    file: PathBuf,
    pub bos_id: u32,
    pub eos_id: Option<u32>,
    pub end_of_turn_id: Option<u32>,
    pub bos_token: String,
}

impl Tokenizer {
    /// Loads a HF `tokenizer.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let inner = crate::text::siglip_tokenizer::read_tokenizer_json(path)?;
        Self::wrap(inner, path)
    }

    /// Loads `tokenizer.json` text (carried inside an imported GGUF); `file` names it in errors.
    pub fn from_json_str(json: &str, file: &Path) -> Result<Self> {
        let inner = crate::text::parse_tokenizer_json(json.as_bytes(), file)?;
        Self::wrap(inner, file)
    }

    fn wrap(inner: tokenizers::Tokenizer, file: &Path) -> Result<Self> {
        let bos_token = "<bos>".to_string();
        let bos_id = inner.token_to_id(&bos_token).ok_or_else(|| EngineError::Tokenizer {
            file: file.into(),
            detail: "no <bos> token".into(),
        })?;
        Ok(Self {
            eos_id: inner.token_to_id("<eos>"),
            end_of_turn_id: inner.token_to_id("<end_of_turn>"),
            bos_id,
            bos_token,
            inner,
            file: file.into(),
        })
    }

    /// Builds the tokenizer from GGUF metadata (`tokenizer.ggml.*`): a byte-fallback BPE on
    /// the SentencePiece vocabulary, as Gemma's `tokenizer.json`.
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let err = |d: String| EngineError::Tokenizer { file: g.path.clone(), detail: d };
        let model = g.get_str("tokenizer.ggml.model")?;
        if model != "llama" {
            return Err(err(format!("tokenizer model `{model}` is not SentencePiece (llama)")));
        }
        let tokens = g.get_array("tokenizer.ggml.tokens")?;
        let scores = g.get_array("tokenizer.ggml.scores")?;
        let types = g.get_array("tokenizer.ggml.token_type")?;
        if scores.len() != tokens.len() || types.len() != tokens.len() {
            return Err(err("tokens, scores and token_type differ in length".into()));
        }
        let mut vocab = Vec::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            let s = t.as_str().ok_or_else(|| err(format!("token {i} is not a string")))?;
            let sc = scores[i].as_f64().ok_or_else(|| err(format!("score {i} is not a number")))?;
            let ty = types[i].as_u64().unwrap_or(1);
            vocab.push((s.to_string(), sc, ty));
        }
        let json = crate::text::gguf_vocab::tokenizer_json_from_spm(&vocab)
            .map_err(|e| err(format!("building tokenizer: {e}")))?;
        let inner = tokenizers::Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| err(format!("building tokenizer: {e}")))?;
        let mut t = Self::wrap(inner, &g.path)?;
        // Special ids from the GGUF where present; an id outside the vocabulary would index
        // past the embedding table and the logits.
        let special = |key: &str| -> Result<Option<u32>> {
            match g.get_u64(key) {
                Err(_) => Ok(None),
                Ok(id) if (id as usize) < vocab.len() => Ok(Some(id as u32)),
                Ok(id) => Err(EngineError::Gguf(crate::GgufError::Metadata {
                    file: g.path.clone(),
                    key: key.into(),
                    detail: format!("token id {id} is outside the vocabulary of {} tokens", vocab.len()),
                })),
            }
        };
        if let Some(b) = special("tokenizer.ggml.bos_token_id")? {
            t.bos_id = b;
            t.bos_token = vocab[b as usize].0.clone();
        }
        if let Some(e) = special("tokenizer.ggml.eos_token_id")? {
            t.eos_id = Some(e);
        }
        Ok(t)
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Encodes text; with `add_special` the BOS is prepended (as the tokenizer's post-processor
    /// does, or explicitly when it has none).
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| EngineError::Tokenizer {
            file: self.file.clone(),
            detail: e.to_string(),
        })?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        if add_special {
            ids.push(self.bos_id);
        }
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner.decode(ids, skip_special).map_err(|e| EngineError::Tokenizer {
            file: self.file.clone(),
            detail: e.to_string(),
        })
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
    pub fn token_to_id(&self, t: &str) -> Option<u32> {
        self.inner.token_to_id(t)
    }

    /// Renders and encodes a chat with the Gemma 3 template.
    pub fn encode_chat(&self, messages: &[Message], add_generation_prompt: bool) -> Result<Vec<u32>> {
        let text = gemma3_chat_template(&self.bos_token, messages, add_generation_prompt)
            .map_err(|d| EngineError::Tokenizer { file: self.file.clone(), detail: d })?;
        self.encode(&text, false)
    }

    /// Stop tokens: EOS and `<end_of_turn>` (where the vocabulary has them).
    pub fn stop_ids(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.eos_id.into_iter().chain(self.end_of_turn_id).collect();
        v.dedup();
        v
    }
}
