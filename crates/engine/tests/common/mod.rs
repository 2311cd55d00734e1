//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

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
