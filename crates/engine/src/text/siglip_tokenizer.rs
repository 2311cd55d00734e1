//! SigLIP's text tokenizer: `tokenizer.json`, or one built from SentencePiece's
//! `spiece.model` that encodes as transformers' slow `SiglipTokenizer`.
//!
//! What `SiglipTokenizer` does to a text (transformers 5, `models/siglip/tokenization_siglip.py`):
//! 1. `tokenize` replaces `▁` by a space and prepends `▁`; the text is split on its special
//!    tokens (`</s>`, `<unk>`; stripped of surrounding whitespace);
//! 2. `canonicalize_text` on each piece: lowercase (`do_lower_case`, default true), delete
//!    ASCII punctuation (`string.punctuation`), collapse runs of Python whitespace (`\s+`) into
//!    one space, strip;
//! 3. SentencePiece encodes `"<unk>" + piece` and the `<unk>` pieces are cut off again, so only
//!    the first piece of the text gets the leading `▁`; SentencePiece itself applies the
//!    model's `precompiled_charsmap` (SigLIP: nmt_nfkc), removes extra spaces (a literal `▁`
//!    counts as one) and escapes spaces as `▁`;
//! 4. `</s>` is appended (not if the ids already end with it); padding uses `</s>` too.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::formats::sentencepiece::{check_charsmap, ModelProto, ModelType, SpieceError};

type SpResult<T> = std::result::Result<T, SpieceError>;

/// The SigLIP text tokenizer: `tokenizer.json`, or else SentencePiece's `spiece.model` (read
/// by [`crate::formats::sentencepiece`], encoding as transformers' `SiglipTokenizer`), truncated and padded to
/// `max_length`.
pub struct TextTokenizer {
    tok: tokenizers::Tokenizer,
    file: PathBuf,
    pub max_length: usize,
    pub pad_id: u32,
}

impl TextTokenizer {
    pub fn from_dir(dir: &Path, max_length: usize) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let spiece = dir.join("spiece.model");
        let config: Option<serde_json::Value> = crate::formats::read_side_text(&dir.join("tokenizer_config.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let (mut tok, f, default_pads): (_, PathBuf, &[&str]) = if json.exists() {
            let tok = read_tokenizer_json(&json)?;
            (tok, json, &["<pad>", "</s>"])
        } else if spiece.exists() {
            let err = |detail: String| EngineError::Tokenizer { file: spiece.clone(), detail };
            let model = ModelProto::read(&spiece).map_err(|e| err(e.to_string()))?;
            // SiglipTokenizer's do_lower_case (default true) and pad token (default </s>).
            let lower = config.as_ref().and_then(|c| c.get("do_lower_case")?.as_bool()).unwrap_or(true);
            let tok = siglip_tokenizer(&model, lower).map_err(|e| err(e.to_string()))?;
            (tok, spiece, &["</s>"])
        } else {
            return Err(EngineError::Tokenizer {
                file: json,
                detail: "no tokenizer.json or spiece.model in the model folder".into(),
            });
        };
        // Pad token: tokenizer_config.json's, else the tokenizer's default.
        let cfg_pad = config.as_ref().and_then(|v| {
            let p = v.get("pad_token")?;
            p.as_str().map(String::from).or_else(|| p.get("content")?.as_str().map(String::from))
        });
        let (pad_token, pad_id) = cfg_pad
            .iter()
            .map(String::as_str)
            .chain(default_pads.iter().copied())
            .find_map(|t| tok.token_to_id(t).map(|id| (t.to_string(), id)))
            .ok_or_else(|| EngineError::Tokenizer { file: f.clone(), detail: format!("no pad token ({})", default_pads.join(" or ")) })?;
        tok.with_truncation(Some(tokenizers::TruncationParams { max_length, ..Default::default() }))
            .map_err(|e| EngineError::Tokenizer { file: f.clone(), detail: e.to_string() })?;
        tok.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::Fixed(max_length),
            pad_id,
            pad_token,
            ..Default::default()
        }));
        Ok(Self { tok, file: f, max_length, pad_id })
    }

    /// The file the tokenizer was read from (`tokenizer.json` or `spiece.model`).
    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn encode(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|t| {
                self.tok
                    .encode(t.as_str(), true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| EngineError::Tokenizer { file: self.file.clone(), detail: e.to_string() })
            })
            .collect()
    }
}

/// A HF `tokenizer.json`, read only up to [`crate::formats::MAX_SIDE_FILE_BYTES`] (Gemma 3's
/// is 33 MB): `tokenizers` reads and parses whatever it is given, whole.
pub fn read_tokenizer_json(path: &Path) -> Result<tokenizers::Tokenizer> {
    let bytes = crate::formats::read_bounded(path, crate::formats::MAX_SIDE_FILE_BYTES)
        .map_err(|source| EngineError::Io { file: path.into(), source })?;
    crate::text::parse_tokenizer_json(&bytes, path)
}

/// Python's `string.punctuation` (ASCII), deleted by `canonicalize_text`.
const PUNCTUATION: &str = r"[\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E]";
/// What Python's `re` matches with `\s` in a `str` (the characters `str.isspace()` accepts).
const PY_WHITESPACE: &str =
    r"[\t\n\x0B\x0C\r\x1C-\x1F \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+";

/// Builds a `tokenizers::Tokenizer` that encodes as transformers' `SiglipTokenizer` (slow,
/// SentencePiece) does with `do_lower_case`: unigram model with the file's pieces, scores, unk
/// id and byte fallback; normalizer = SigLIP's `canonicalize_text` followed by SentencePiece's
/// own normalization (charsmap, extra whitespace), `▁` prefix and spaces escaped as `▁`; no
/// pre-tokenizer (the lattice spans the whole text, as in SentencePiece); `</s>` appended by
/// the post-processor; `</s>` and `<unk>` are special added tokens stripped of surrounding
/// whitespace. Padding and truncation are left unset.
///
/// Known differences from the slow tokenizer (none in 8,700 random English/medical/Unicode
/// texts outside these): texts that carry the literal special tokens `</s>`/`<unk>` (the text
/// after one gets a `▁` prefix here, the slow tokenizer segments it behind the characters
/// `<unk>` without one; a text whose pieces already end with `</s>` gets a second `</s>`, the
/// slow tokenizer adds none); grapheme clusters whose base character the charsmap rewrites,
/// followed by combining marks, Hangul jamo or a ZWJ (`ｈ\u{302}`, `⒧\u{32c}`): `tokenizers`'
/// `Precompiled` maps such a cluster by its shortest matching prefix and drops the rest, where
/// SentencePiece maps the longest match and keeps the rest. Lowercasing is per character
/// (Python's `lower()` turns a word-final `Σ` into `ς`, this gives `σ`).
pub fn siglip_tokenizer(model: &ModelProto, do_lower_case: bool) -> SpResult<tokenizers::Tokenizer> {
    use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
    use tokenizers::models::unigram::Unigram;
    use tokenizers::normalizers::{Lowercase, NormalizerWrapper, Precompiled, Prepend, Replace, Sequence};
    use tokenizers::pre_tokenizers::metaspace::PrependScheme;
    use tokenizers::processors::template::TemplateProcessing;
    use tokenizers::AddedToken;

    let build = |e: String| SpieceError::Build(e);
    if model.trainer_spec.model_type != ModelType::Unigram {
        return Err(SpieceError::Invalid {
            what: "model_type",
            detail: format!("{:?}; SigLIP's tokenizer is a unigram model", model.trainer_spec.model_type),
        });
    }
    let unk_id = model.trainer_spec.unk_id as usize; // validated by `parse`
    let vocab: Vec<(String, f64)> = model.pieces.iter().map(|p| (p.piece.clone(), f64::from(p.score))).collect();
    let unigram = Unigram::from(vocab, Some(unk_id), model.trainer_spec.byte_fallback).map_err(|e| build(e.to_string()))?;
    let mut tok = tokenizers::Tokenizer::new(unigram);

    let replace = |p: tokenizers::normalizers::replace::ReplacePattern, c: &str| -> SpResult<NormalizerWrapper> {
        Ok(Replace::new(p, c).map_err(|e| build(e.to_string()))?.into())
    };
    use tokenizers::normalizers::replace::ReplacePattern::{Regex as Re, String as Str};
    let strip = || replace(Re(r"\A +| +\z".into()), "");
    let mut norm: Vec<NormalizerWrapper> = vec![replace(Str("\u{2581}".into()), " ")?];
    // canonicalize_text
    if do_lower_case {
        norm.push(Lowercase.into());
    }
    norm.push(replace(Re(PUNCTUATION.into()), "")?);
    norm.push(replace(Re(PY_WHITESPACE.into()), " ")?);
    norm.push(strip()?);
    // SentencePiece's normalizer
    let spec = &model.normalizer_spec;
    if !spec.precompiled_charsmap.is_empty() {
        check_charsmap(&spec.precompiled_charsmap)?;
        let p = Precompiled::from(&spec.precompiled_charsmap)
            .map_err(|e| SpieceError::Invalid { what: "precompiled_charsmap", detail: e.to_string() })?;
        norm.push(p.into());
    }
    if spec.remove_extra_whitespaces {
        norm.push(strip()?);
        norm.push(replace(Re(" {2,}".into()), " ")?);
    }
    // `tokenize`'s `▁` prefix. (Not Metaspace's `PrependScheme::First`: it decides by the
    // original offset of the first kept character, so "!abc" or "  abc" would lose the prefix.)
    norm.push(Prepend::new("\u{2581}".into()).into());
    if spec.escape_whitespaces {
        norm.push(replace(Str(" ".into()), "\u{2581}")?);
    }
    tok.with_normalizer(Some(Sequence::new(norm)));
    // No pre-tokenizer: SentencePiece segments the whole normalized string.
    tok.with_decoder(Some(MetaspaceDecoder::new('\u{2581}', PrependScheme::Always, false)));

    let eos_id = model
        .piece_to_id("</s>")
        .ok_or_else(|| SpieceError::Invalid { what: "vocabulary", detail: "no `</s>` piece (SigLIP's eos and pad)".into() })?;
    let post = TemplateProcessing::builder()
        .try_single("$A:0 </s>:0")
        .and_then(|b| b.try_pair("$A:0 </s>:0 $B:0 </s>:0"))
        .map_err(|e| build(e.to_string()))?
        .special_tokens(vec![("</s>".to_string(), eos_id)])
        .build()
        .map_err(|e| build(e.to_string()))?;
    tok.with_post_processor(Some(post));

    let unk_piece = model.pieces[unk_id].piece.clone();
    let special: Vec<AddedToken> = ["</s>".to_string(), unk_piece]
        .into_iter()
        .map(|t| AddedToken::from(t, true).lstrip(true).rstrip(true).normalized(false))
        .collect();
    tok.add_special_tokens(&special);
    Ok(tok)
}

/// Reads `spiece.model` and builds the SigLIP tokenizer (`do_lower_case` true, the default).
pub fn siglip_tokenizer_from_file(path: impl AsRef<Path>) -> SpResult<tokenizers::Tokenizer> {
    let model = ModelProto::read(path.as_ref())?;
    siglip_tokenizer(&model, true)
}
