//! Bytes → `tokenizer.json` → the Gemma 3 tokenizer wrapper → encode, chat template, decode.
#![no_main]

#[path = "../paths/engine.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(|data: &[u8]| paths::tokenizer_json(data));
