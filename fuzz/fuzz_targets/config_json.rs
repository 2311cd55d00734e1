//! Bytes → `config.json` as Gemma 3, SigLIP and MedGemma read it → the tensor lists sized
//! from an accepted config (which must therefore be bounded).
#![no_main]

#[path = "../paths/engine.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(|data: &[u8]| paths::config_json(data));
