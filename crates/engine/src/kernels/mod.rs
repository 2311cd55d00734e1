//! GPU kernels: quantized weights in their ggml block layout and the CubeCL kernels that
//! read them (gemv, dequantize, gather), reached through burn's backend extension.

pub mod qmatmul;
