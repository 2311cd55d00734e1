//! Bytes → SentencePiece `ModelProto` → the SigLIP tokenizer built from it → one encoding.
#![no_main]

#[path = "../paths/engine.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(|data: &[u8]| paths::spiece(data));
