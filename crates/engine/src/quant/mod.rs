//! ggml quant formats: block layouts with reference dequantizers (the ground truth of every
//! kernel test) and reference quantizers.

mod blocks;
mod quantize;
#[cfg(test)]
pub(crate) mod testing;

pub use blocks::*;
pub use quantize::*;
