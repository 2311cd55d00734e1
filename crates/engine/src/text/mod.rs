//! Text: tokenizers (Gemma 3 from `tokenizer.json` or a GGUF vocabulary; SigLIP's from
//! `tokenizer.json` or `spiece.model`) and the Gemma 3 chat template.

pub mod chat_template;
pub mod gguf_vocab;
pub mod siglip_tokenizer;
pub mod tokenizer;

pub use tokenizer::Tokenizer;

/// Parses `tokenizer.json` bytes with the `tokenizers` crate, which panics on some malformed
/// files (a `decoder` cut short makes its deserializer `expect`): the JSON's syntax is checked
/// first (without building a tree), and a panic that still comes out of the crate is turned
/// into an error naming the file, so no tokenizer file can take the process down.
pub(crate) fn parse_tokenizer_json(bytes: &[u8], file: &std::path::Path) -> crate::Result<tokenizers::Tokenizer> {
    let err = |detail: String| crate::EngineError::Tokenizer { file: file.into(), detail };
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| err(format!("not JSON: {e}")))?;
    match std::panic::catch_unwind(|| tokenizers::Tokenizer::from_bytes(bytes)) {
        Ok(r) => r.map_err(|e| err(e.to_string())),
        Err(_) => Err(err("malformed (the tokenizers crate failed on it)".into())),
    }
}
