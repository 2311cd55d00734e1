//! SigLIP (`SiglipModel`): MedSigLIP's two towers, and MedGemma's vision tower.

mod config;
mod model;

pub use config::*;
pub use model::*;
