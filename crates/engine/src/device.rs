//! Device selection: wgpu picks the best adapter; CPU (burn's Flex backend) as fallback.

use burn::tensor::{Device, DeviceKind, Tensor, TensorData};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Gpu,
    Cpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "gpu" | "wgpu" => Ok(Self::Gpu),
            "cpu" => Ok(Self::Cpu),
            o => Err(format!("unknown device `{o}` (auto, gpu or cpu)")),
        }
    }
}

/// The device picked, and a notice for the user when the choice fell back.
pub struct Selected {
    pub device: Device,
    pub name: String,
    pub notice: Option<String>,
}

/// Tries a wgpu device: a tiny round trip must work (no adapter panics inside burn, so the
/// probe runs under `catch_unwind`).
fn probe_wgpu() -> Result<Device, String> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| {
        let d = Device::wgpu(DeviceKind::DefaultDevice);
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &d);
        let v = (t * 2.0).into_data().try_into_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        if v != [2.0, 4.0] {
            return Err(format!("round trip gave {v:?}"));
        }
        Ok(d)
    });
    std::panic::set_hook(prev);
    match r {
        Ok(r) => r,
        Err(e) => Err(e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "wgpu initialisation panicked".into())),
    }
}

pub fn select(choice: DeviceChoice) -> crate::Result<Selected> {
    let cpu = || Selected { device: Device::flex(), name: "cpu (burn flex)".into(), notice: None };
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => probe_wgpu()
            .map(|device| Selected { device, name: "wgpu".into(), notice: None })
            .map_err(|e| crate::EngineError::Device(format!("no usable wgpu adapter: {e}"))),
        DeviceChoice::Auto => match probe_wgpu() {
            // A software rasterizer (lavapipe, llvmpipe, WARP, SwiftShader) runs shaders on
            // the same cores as the CPU kernels, several times slower (measured on the 270M:
            // the CPU path decodes ~20× faster than lavapipe on two cores).
            Ok(device) if is_software(&device) => {
                let name = device.identity().map(|i| i.name).unwrap_or_else(|| "a software adapter".into());
                let mut s = cpu();
                s.notice = Some(format!(
                    "the only GPU adapter, {name}, is a software renderer; running on the CPU, which is faster here (--device gpu forces the adapter)"
                ));
                Ok(s)
            }
            Ok(device) => Ok(Selected { device, name: "wgpu".into(), notice: None }),
            Err(e) => {
                let mut s = cpu();
                s.notice = Some(format!("no usable GPU adapter ({e}); running on the CPU"));
                Ok(s)
            }
        },
    }
}

/// Whether weights stay quantized on `device` in their ggml block layout (every backend: the
/// GPU kernels and the CPU kernels read them). `MEDLENS_ENGINE_DENSE=1` forces f32
/// everywhere, for comparisons.
pub fn keeps_quantized(_device: &Device) -> bool {
    std::env::var_os("MEDLENS_ENGINE_DENSE").is_none_or(|v| v != "1")
}

/// Whether `device` runs CubeCL kernels (wgpu), where the engine's own fused kernels apply;
/// burn's CPU backend (Flex) composes the same operations from burn ops.
pub fn is_cube(device: &Device) -> bool {
    *device != Device::flex()
}

/// The adapter as it names itself, and what its kernels are compiled for; `None` on the CPU
/// backend.
pub fn identity(device: &Device) -> Option<(String, String)> {
    if !is_cube(device) {
        return None;
    }
    device.identity().map(|i| (i.name, i.fingerprint))
}

/// Whether decode's quantized gemv should run one unit per output row (CPU adapters such as
/// lavapipe, where a cube's units are SIMD lanes) rather than cooperatively (GPUs). The
/// environment variable `MEDLENS_GEMV` (`rows` or `coop`) overrides the choice, for
/// benchmarks and tests of either kernel on any adapter.
pub fn gemv_per_row(device: &Device) -> bool {
    match std::env::var("MEDLENS_GEMV").as_deref() {
        Ok("rows") => return true,
        Ok("coop") => return false,
        _ => {}
    }
    is_cube(device) && is_software(device)
}

/// Whether `device` is a wgpu adapter with no card behind it (a CPU, a software rasterizer
/// such as lavapipe): it has no physical identity.
pub fn is_software(device: &Device) -> bool {
    static SOFTWARE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    is_cube(device) && *SOFTWARE.get_or_init(|| device.identity().is_some_and(|i| i.physical.is_none()))
}

/// Tells the C allocator (glibc) to keep freed large blocks for reuse, for the whole process;
/// the CLI and the app call it first thing. By default glibc serves every block above
/// 32 MiB with a fresh `mmap` and unmaps it on free, so each of the CPU path's large
/// activations (a 4,096 × 4,304 f32 MLP input of MedGemma's vision tower is 70 MB) is
/// faulted in and zeroed page by page, again at every layer. Measured on MedSigLIP-448 with
/// random weights (release, 2 threads): 28.7 s of system time → 1.8 s, image embedding
/// 9.6 → 7.9 s, the same peak RSS. Blocks above 1 GiB are still mapped, and up to 512 MiB
/// free at the top of the heap is kept rather than returned to the system. Elsewhere (other
/// C libraries, other systems) this does nothing.
pub fn keep_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}
