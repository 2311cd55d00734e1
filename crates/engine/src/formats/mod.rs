//! File formats, read and validated without knowing what a model is: GGUF (reader and
//! writer), safetensors, SentencePiece's `spiece.model`.

pub mod gguf;
pub mod gguf_write;
pub mod safetensors;
pub mod sentencepiece;
