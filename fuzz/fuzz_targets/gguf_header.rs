//! Bytes → GGUF header and tensor table → what loading reads from them: every tensor
//! (small ones) dequantized, the Gemma 3 config, the tokenizer built from the vocabulary.
//! Nothing may panic, and nothing may allocate beyond what the bytes justify (libFuzzer's
//! `-malloc_limit_mb` in scripts/fuzz.sh turns such an allocation into a crash).
#![no_main]

#[path = "../paths/engine.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(|data: &[u8]| paths::gguf_header(data));
