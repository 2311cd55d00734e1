//! Serving: what the CLI and the app call. Load a model from a path whatever its layout,
//! discover models on this machine, import an HF release into one GGUF, zero-shot labels,
//! findings records (templates, provenance), shape-exact random weights for benchmarks.

pub mod discover;
pub mod findings;
pub mod import;
pub mod load;
pub mod random;
pub mod zeroshot;
