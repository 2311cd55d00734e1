//! Kernels, reached through burn's backend extension: quantized weights in their ggml block
//! layout and the CubeCL kernels that read them (gemv, dequantize, gather); fused row kernels
//! (norms, RoPE, GeGLU, softmax) for the decoder; and the CPU kernels (`cpu`) that give
//! burn's CPU backend the same quantized operations.

pub mod cpu;
pub mod fused;
pub mod qmatmul;
pub mod sample;
