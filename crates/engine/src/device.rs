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
    WGPU_STARTED.store(true, std::sync::atomic::Ordering::Relaxed);
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

/// Whether this process has made a wgpu device (through [`probe_wgpu`]).
static WGPU_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The adapters wgpu lists on this machine, as (name, whether it is a CPU), through an
/// instance of our own that is dropped at once; `None` when the list is not ready without
/// waiting (never on native wgpu). Telling a machine with only a software rasterizer apart
/// this way costs no device: making one on lavapipe holds about 85 MiB of host memory for the
/// life of the process (peak RSS of a CLI run that stops after choosing its device: 109 MiB
/// with a lavapipe device, 23 MiB with the CPU alone).
fn listed_adapters() -> Option<Vec<(String, bool)>> {
    use cubecl::wgpu::wgpu;
    use std::future::Future;
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::all(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut list = std::pin::pin!(instance.enumerate_adapters(wgpu::Backends::all()));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match list.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(adapters) => Some(
            adapters
                .iter()
                .map(|a| {
                    let info = a.get_info();
                    (info.name, info.device_type == wgpu::DeviceType::Cpu)
                })
                .collect(),
        ),
        std::task::Poll::Pending => None,
    }
}

pub fn select(choice: DeviceChoice) -> crate::Result<Selected> {
    let cpu = || Selected { device: Device::flex(), name: "cpu (burn flex)".into(), notice: None };
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => probe_wgpu()
            .map(|device| Selected { device, name: "wgpu".into(), notice: None })
            .map_err(|e| crate::EngineError::Device(format!("no usable wgpu adapter: {e}"))),
        DeviceChoice::Auto => {
            // Only software adapters listed, and no wgpu device made yet (the Vulkan loader
            // must not see instances come and go beside a live device's): the CPU, without
            // making a device on the software adapter first.
            if !WGPU_STARTED.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(name) = software_only() {
                    let mut s = cpu();
                    s.notice = Some(software_notice(&name));
                    return Ok(s);
                }
            }
            auto_probed(cpu)
        }
    }
}

/// `auto` once a wgpu device is made: the adapter, unless it is a software one.
fn auto_probed(cpu: impl Fn() -> Selected) -> crate::Result<Selected> {
    match probe_wgpu() {
        // A software rasterizer (lavapipe, llvmpipe, WARP, SwiftShader) runs shaders on
        // the same cores as the CPU kernels, several times slower (measured on the 270M:
        // the CPU path decodes ~20× faster than lavapipe on two cores).
        Ok(device) if is_software(&device) => {
            let name = device.identity().map(|i| i.name).unwrap_or_else(|| "a software adapter".into());
            let mut s = cpu();
            s.notice = Some(software_notice(&name));
            Ok(s)
        }
        Ok(device) => Ok(Selected { device, name: "wgpu".into(), notice: None }),
        Err(e) => {
            let mut s = cpu();
            s.notice = Some(format!("no usable GPU adapter ({e}); running on the CPU"));
            Ok(s)
        }
    }
}

/// What `auto` tells the user when it runs on the CPU beside a software adapter.
fn software_notice(name: &str) -> String {
    format!("the only GPU adapter, {name}, is a software renderer; running on the CPU, which is faster here (--device gpu forces the adapter)")
}

/// The software adapter's name when wgpu lists adapters and all of them are CPUs (lavapipe,
/// llvmpipe, WARP, SwiftShader); listed once per process.
fn software_only() -> Option<String> {
    static LISTED: std::sync::OnceLock<Option<Vec<(String, bool)>>> = std::sync::OnceLock::new();
    let list = LISTED.get_or_init(|| std::panic::catch_unwind(listed_adapters).ok().flatten()).as_ref()?;
    if list.is_empty() || !list.iter().all(|(_, cpu)| *cpu) {
        return None;
    }
    list.first().map(|(name, _)| name.clone())
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

/// Whether the caller asked to stop, checked between the layers of a long pass (the vision
/// encode, a prefill). On a wgpu adapter the host queues work far ahead of the device, so
/// the check first waits for the work queued so far: a Stop then takes effect within one
/// layer's time instead of after the whole pass. Without a flag nothing waits.
pub fn stop_requested(device: &Device, stop: Option<&std::sync::atomic::AtomicBool>) -> crate::Result<()> {
    let Some(stop) = stop else { return Ok(()) };
    if is_cube(device) {
        device.sync().map_err(|e| crate::EngineError::Device(format!("{e:?}")))?;
    }
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(crate::EngineError::Stopped);
    }
    Ok(())
}

/// What a device error or panic message says went wrong, when it was the GPU itself: its
/// memory (CubeCL's `OutOfMemory` and `BufferTooBig`, wgpu's "Out of Memory", an allocation
/// above the adapter's buffer limit) or the device (lost, or poisoned by a fault).
/// Everything else is not the GPU's doing and gets `None`: an engine bug stays a bug.
pub fn gpu_failure(message: &str) -> Option<crate::EngineError> {
    let memory = [
        "out of memory",
        "out-of-memory",
        "outofmemory",
        "out of device memory",
        "can't allocate buffer",
        "buffertoobig",
        "buffer too big",
        "maximum buffer size",
        "max_buffer_size",
    ];
    // Not "poisoned" alone: a poisoned Mutex says "poisoned lock", and is a bug.
    let lost = ["device lost", "device was lost", "devicelost", "device is lost", "device was poisoned", "device is poisoned", "devicepoisoned"];
    // CubeCL's errors nest their causes line by line, under backtraces: the detail quoted is
    // the line that says what failed.
    let find = |patterns: &[&str]| {
        message.lines().find(|l| {
            let l = l.to_ascii_lowercase();
            patterns.iter().any(|p| l.contains(p))
        })
    };
    let detail = |line: &str| line.trim().chars().take(200).collect();
    if let Some(line) = find(&memory) {
        Some(crate::EngineError::GpuOutOfMemory { detail: detail(line) })
    } else {
        find(&lost).map(|line| crate::EngineError::GpuLost { detail: detail(line) })
    }
}

/// A panic's message, when it carries one (`panic!` with a literal or a format).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Runs `work` on `device`, turning a panic inside burn or CubeCL into an error: a GPU
/// failure (see [`gpu_failure`]) into [`crate::EngineError::GpuOutOfMemory`] or
/// [`crate::EngineError::GpuLost`], anything else into a device error that quotes the panic.
/// burn's tensor operations cannot return errors, so an allocation the GPU refuses surfaces
/// as a panic; the app and the CLI run model work through this so that it never reaches
/// the user as one. An error `work` returns passes through, classified the same way.
pub fn guard<T>(work: impl FnOnce() -> crate::Result<T>) -> crate::Result<T> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    match r {
        Ok(Err(crate::EngineError::Device(msg))) => Err(gpu_failure(&msg).unwrap_or(crate::EngineError::Device(msg))),
        Ok(r) => r,
        Err(payload) => {
            let msg = panic_text(&*payload).unwrap_or_else(|| "a panic without a message".into());
            Err(gpu_failure(&msg).unwrap_or_else(|| crate::EngineError::Device(format!("internal error: {msg}"))))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineError;

    /// Where wgpu lists only software adapters (lavapipe here and in CI), `auto` runs on the
    /// CPU and names the adapter it passed over; it does so again on a second call.
    #[test]
    fn auto_passes_over_a_software_adapter() {
        let Some(name) = software_only() else {
            eprintln!("a hardware adapter (or none) is listed: nothing to pass over");
            return;
        };
        for _ in 0..2 {
            let s = select(DeviceChoice::Auto).unwrap();
            assert!(!is_cube(&s.device), "auto chose {} beside the software adapter {name}", s.name);
            let notice = s.notice.unwrap_or_default();
            assert!(notice.contains(&name) && notice.contains("software renderer"), "{notice}");
        }
    }

    /// The messages as CubeCL 0.11 and wgpu 30 word them (their `Display`s), each with the
    /// backtrace or context that follows; and failures that are not the GPU's.
    #[test]
    fn gpu_failures_are_told_apart_from_bugs() {
        let oom = [
            "out of device memory allocating 68719476736 bytes\n   0: backtrace",
            "An out-of-memory error happened during launch\nCaused by:\n  arena full",
            "Validation Error\n\nCaused by:\n  In Device::create_buffer\n    Buffer size 68719476736 is greater than the maximum buffer size (4294967295)",
            "wgpu error: Out of Memory",
            // What lavapipe's refusal of a 256 GiB tensor reads as (burn-wgpu 0.22).
            "reading back from the device: An error happened during execution\nCaused by:\n  The bytes were never written\nCaused by:\n  can't allocate buffer of size: 274877906944\nNo backtrace available",
            "reading back from the device: Io(BufferTooBig(4096))",
        ];
        for m in oom {
            let e = gpu_failure(m).unwrap_or_else(|| panic!("not seen as out of memory: {m}"));
            assert!(matches!(e, EngineError::GpuOutOfMemory { .. }), "{m}: {e}");
            let text = e.to_string();
            assert!(text.starts_with("the GPU ran out of memory (") && text.contains("--device cpu"), "{text}");
            assert!(!text.contains("backtrace") && !text.contains('\n'), "only the line that says what failed is quoted: {text}");
        }
        let lost = [
            "The device was poisoned during launch\nCaused by:\n  Lost: driver reset",
            "Parent device is lost",
            "reading back from the device: DevicePoisoned(Destroyed: gone)",
        ];
        for m in lost {
            let e = gpu_failure(m).unwrap_or_else(|| panic!("not seen as a lost device: {m}"));
            assert!(matches!(e, EngineError::GpuLost { .. }), "{m}: {e}");
        }
        for m in [
            "index out of bounds: the len is 3 but the index is 7",
            "attempt to multiply with overflow",
            "shape mismatch [2, 3] vs [3, 2]",
            "called `Result::unwrap()` on an `Err` value: poisoned lock: another task failed inside",
        ] {
            assert!(gpu_failure(m).is_none(), "{m}");
        }
    }

    #[test]
    fn guard_turns_panics_into_errors() {
        // The panics print their messages (the hook is the process's, shared with other
        // tests: left alone).
        let oom = guard::<()>(|| panic!("out of device memory allocating 1099511627776 bytes"));
        let bug = guard::<()>(|| panic!("index out of bounds: the len is 3 but the index is 7"));
        let lost_err = guard::<()>(|| Err(EngineError::Device("reading back: DevicePoisoned(Lost)".into())));
        assert!(matches!(oom, Err(EngineError::GpuOutOfMemory { .. })), "{oom:?}");
        let bug = bug.unwrap_err();
        assert!(!bug.is_gpu_failure());
        assert_eq!(bug.to_string(), "device: internal error: index out of bounds: the len is 3 but the index is 7");
        assert!(matches!(lost_err, Err(EngineError::GpuLost { .. })), "{lost_err:?}");
        assert_eq!(guard(|| Ok(7)).unwrap(), 7);
        let other = guard::<()>(|| Err(EngineError::Generation("empty prompt".into()))).unwrap_err();
        assert_eq!(other.to_string(), "generation: empty prompt", "other errors pass through");
    }
}
