//! Gemma 3 text (`Gemma3ForCausalLM`): configuration and decoder.

mod config;
mod model;

pub use config::*;
pub use model::*;
