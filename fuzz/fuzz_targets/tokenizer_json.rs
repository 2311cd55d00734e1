//! Bytes → `tokenizer.json` → the Gemma 3 tokenizer wrapper → encode, chat template, decode.
//!
//! The tokenizers crate panics on some malformed files (its decoder deserializer `expect`s);
//! `text::parse_tokenizer_json` catches those and returns an error naming the file, as the
//! app needs. libfuzzer-sys's panic hook would abort at the panic, before that catch, so the
//! hook here only prints: a panic our code catches is not a crash, and one that escapes it
//! still aborts (libfuzzer-sys catches the unwind at the target's edge and aborts).
#![no_main]

#[path = "../paths/engine.rs"]
mod paths;

libfuzzer_sys::fuzz_target!(init: paths::panics_caught_by_the_code_are_not_crashes(), |data: &[u8]| paths::tokenizer_json(data));
