//! MedGemma-4B (`Gemma3ForConditionalGeneration`): configuration, model and processor.

mod config;
mod model;
mod processor;

pub use config::*;
pub use model::*;
pub use processor::*;
