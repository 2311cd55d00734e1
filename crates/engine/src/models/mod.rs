//! The models, one folder each, written in the layers of [`crate::nn`] and loaded by HF
//! tensor name through a [`crate::weights::WeightSource`]. `medgemma` composes the other two.

pub mod gemma3;
pub mod medgemma;
pub mod siglip;
