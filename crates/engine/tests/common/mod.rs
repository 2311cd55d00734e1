//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The package folder at run time: cargo and tests/lib/rust.sh run tests from it, so a test
/// binary that another checkout of the repository built (a shared target folder) still reads
/// this checkout's files. `CARGO_MANIFEST_DIR` (baked in at build time) is the fallback.
pub fn package_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("Cargo.toml").is_file() {
        cwd
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

/// `tests/engine/multimodal`: the tiny MedGemma goldens and their generators.
pub fn multimodal_dir() -> PathBuf {
    package_dir().join("../../tests/engine/multimodal")
}
/// The device `MEDLENS_ENGINE_DEVICE` names (`wgpu`), else the CPU backend.
pub fn test_device() -> burn::tensor::Device {
    match std::env::var("MEDLENS_ENGINE_DEVICE").as_deref() {
        Ok("wgpu") => medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
            .expect("MEDLENS_ENGINE_DEVICE=wgpu but no usable wgpu adapter")
            .device,
        _ => burn::tensor::Device::flex(),
    }
}
pub fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}
pub fn f32s(p: &Path) -> Vec<f32> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}
pub fn u32s(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}
pub fn max_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
