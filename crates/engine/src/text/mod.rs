//! Text: tokenizers (Gemma 3 from `tokenizer.json` or a GGUF vocabulary; SigLIP's from
//! `tokenizer.json` or `spiece.model`) and the Gemma 3 chat template.

pub mod chat_template;
pub mod gguf_vocab;
pub mod siglip_tokenizer;
pub mod tokenizer;

pub use tokenizer::Tokenizer;
