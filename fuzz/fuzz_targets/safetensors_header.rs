//! Bytes → a safetensors file → its header, as loading (`Safetensors::open`, mapped) and
//! discovery (`read_headers`, header only) read it, then every small tensor as f32.
#![no_main]

#[path = "../paths/engine.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(|data: &[u8]| paths::safetensors_header(data));
