//! Counters of the work a forward pass asks of the device: kernel launches (by kernel name),
//! host→device uploads, device→host read-backs, KV-cache bytes copied and keys attended.
//!
//! Why counters: they are the same on every adapter (lavapipe in CI, an H200 on a
//! workstation), so tests can assert them where times would be noise. `medlens bench`
//! reports them per decode step.
//!
//! The counts are per thread: the engine issues every launch, upload and read-back from the
//! thread that runs the model (CubeCL reports launches on the issuing thread), so tests
//! running in parallel threads never see each other's work. Launches are counted only after
//! [`observe_launches`] (one process-wide CubeCL observer, installed once); the rest are
//! always counted (a thread-local add).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use burn::tensor::{Tensor, TensorData};

/// What one thread asked of the device so far (or, from [`Counts::since`], in an interval).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Kernel launches (dispatches), total.
    pub launches: u64,
    /// Kernel launches by kernel name (the name CubeCL gives, module path and generics cut).
    pub launches_by_kernel: BTreeMap<String, u64>,
    /// Host→device writes of tensor data (each forces CubeCL to submit the queued work).
    pub uploads: u64,
    pub upload_bytes: u64,
    /// Device→host reads (each waits for the device).
    pub readbacks: u64,
    pub readback_bytes: u64,
    /// Bytes of cached keys and values copied to build an attention input.
    pub kv_bytes_copied: u64,
    /// Σ over layers and query rows of the keys each query attends over (masked slots
    /// included: they cost as much as visible ones).
    pub keys_attended: u64,
}

impl Counts {
    /// What happened between `before` and `self`.
    pub fn since(&self, before: &Counts) -> Counts {
        let mut by = BTreeMap::new();
        for (k, &n) in &self.launches_by_kernel {
            let d = n - before.launches_by_kernel.get(k).copied().unwrap_or(0);
            if d > 0 {
                by.insert(k.clone(), d);
            }
        }
        Counts {
            launches: self.launches - before.launches,
            launches_by_kernel: by,
            uploads: self.uploads - before.uploads,
            upload_bytes: self.upload_bytes - before.upload_bytes,
            readbacks: self.readbacks - before.readbacks,
            readback_bytes: self.readback_bytes - before.readback_bytes,
            kv_bytes_copied: self.kv_bytes_copied - before.kv_bytes_copied,
            keys_attended: self.keys_attended - before.keys_attended,
        }
    }
}

thread_local! {
    static COUNTS: RefCell<Counts> = RefCell::new(Counts::default());
}

/// This thread's counts so far.
pub fn snapshot() -> Counts {
    COUNTS.with(|c| c.borrow().clone())
}

/// Runs `f` with this thread's counts set aside: returns what `f` counted, and leaves the
/// thread's counts as they were before. Nested calls each keep their own, so a pool thread
/// that, while waiting inside one request's work, runs another request's (rayon's work
/// stealing) does not count the second in the first: the second's isolated counts go back
/// to its own caller ([`absorb`]).
pub fn isolated<R>(f: impl FnOnce() -> R) -> (R, Counts) {
    struct Restore(Option<Counts>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(saved) = self.0.take() {
                COUNTS.with(|c| *c.borrow_mut() = saved);
            }
        }
    }
    let mut restore = Restore(Some(COUNTS.with(|c| std::mem::take(&mut *c.borrow_mut()))));
    let r = f();
    let mine = COUNTS.with(|c| std::mem::replace(&mut *c.borrow_mut(), restore.0.take().unwrap_or_default()));
    (r, mine)
}

/// Adds `c` to this thread's counts: work another thread did on this one's behalf (the CPU
/// backend runs a forward pass on its thread pool, `kernels::cpu::on_pool`).
pub fn absorb(c: &Counts) {
    add(|t| {
        t.launches += c.launches;
        for (k, &n) in &c.launches_by_kernel {
            *t.launches_by_kernel.entry(k.clone()).or_insert(0) += n;
        }
        t.uploads += c.uploads;
        t.upload_bytes += c.upload_bytes;
        t.readbacks += c.readbacks;
        t.readback_bytes += c.readback_bytes;
        t.kv_bytes_copied += c.kv_bytes_copied;
        t.keys_attended += c.keys_attended;
    });
}

fn add(f: impl FnOnce(&mut Counts)) {
    COUNTS.with(|c| f(&mut c.borrow_mut()));
}

/// Counts a read-back of `bytes`.
pub fn count_readback(bytes: usize) {
    add(|c| {
        c.readbacks += 1;
        c.readback_bytes += bytes as u64;
    });
}

/// Counts `bytes` of cached keys/values copied, and `keys` attended.
pub fn count_attention(kv_bytes_copied: usize, keys: usize) {
    add(|c| {
        c.kv_bytes_copied += kv_bytes_copied as u64;
        c.keys_attended += keys as u64;
    });
}

/// `Tensor::from_data`, counted as an upload: every host→device write on a model's forward
/// path goes through here.
pub fn upload<const D: usize, K: burn::tensor::kind::Basic>(
    data: TensorData,
    options: impl Into<burn::tensor::TensorCreationOptions>,
) -> Tensor<D, K> {
    let bytes = data.bytes().len();
    add(|c| {
        c.uploads += 1;
        c.upload_bytes += bytes as u64;
    });
    Tensor::from_data(data, options)
}

/// The process-wide launch observer: adds each launch to the issuing thread's counts.
struct Observer;

impl cubecl::logging::LaunchObserver for Observer {
    fn launched(&self, kernel: &'static str) {
        // `path::to::kernel<Generics>` → `kernel`, as CubeCL's own short format.
        let base = kernel.split('<').next().unwrap_or(kernel);
        let short = base.rsplit("::").next().unwrap_or(base);
        add(|c| {
            c.launches += 1;
            match c.launches_by_kernel.get_mut(short) {
                Some(n) => *n += 1,
                None => {
                    c.launches_by_kernel.insert(short.to_string(), 1);
                }
            }
        });
    }
}

static OBSERVATION: OnceLock<cubecl::logging::LaunchObservation> = OnceLock::new();

/// Starts counting kernel launches for the rest of the process (idempotent). Launches cost
/// one map update more while observed.
pub fn observe_launches() {
    OBSERVATION.get_or_init(|| cubecl::logging::LaunchObservation::new(Arc::new(Observer)));
}

/// The distinct kernels (by CubeCL's stable hash of kernel and specialization) launched
/// while `f` ran: a kernel launched after warm-up that was not launched during it was
/// compiled then.
pub fn kernels_launched<T>(f: impl FnOnce() -> T) -> (T, std::collections::HashSet<String>) {
    let seen = cubecl::launched::LaunchedKernels::new();
    let r = f();
    let set = seen.finish().into_iter().map(|h| format!("{h:?}")).collect();
    (r, set)
}

/// Host CPU time of this process so far (user, system), seconds; `None` where the platform
/// does not say.
pub fn cpu_times() -> Option<(f64, f64)> {
    #[cfg(unix)]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a whole rusage into the pointer it is given.
        let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
        if r != 0 {
            return None;
        }
        // SAFETY: initialised by the successful call above.
        let u = unsafe { u.assume_init() };
        let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        Some((s(u.ru_utime), s(u.ru_stime)))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The adapter's device-memory copy bandwidth, GB/s (bytes read + written): the best of three
/// passes over 256 MiB in 64 MiB buffers (one storage binding each, under any adapter's limit).
pub fn copy_bandwidth(device: &burn::tensor::Device) -> Option<f64> {
    // burn's CPU backend: the memory is the device's memory.
    if *device == burn::tensor::Device::flex() {
        return Some(host_read_bandwidth());
    }
    let n = 16 << 20; // f32s: 64 MiB
    let bufs: Vec<Tensor<1>> = (0..4).map(|_| Tensor::<1>::ones([n], device)).collect();
    device.sync().ok()?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        // Each output is fresh (the inputs are shared), so every byte is read and written once.
        let outs: Vec<Tensor<1>> = bufs.iter().map(|b| b.clone() + 1.0).collect();
        device.sync().ok()?;
        best = best.min(t.elapsed().as_secs_f64());
        drop(outs);
    }
    Some(2.0 * 4.0 * (4 * n) as f64 / best / 1e9)
}

/// The CPU's memory read bandwidth in GB/s, on every core: a 256 MiB buffer (beyond any
/// cache) summed in parallel, best of three. A CPU decode step reads its weights once, so
/// this is its roofline, as a device copy is the GPU's.
pub fn host_read_bandwidth() -> f64 {
    use rayon::prelude::*;
    let words = 32 << 20; // u64s: 256 MiB
    let buf: Vec<u64> = (0..words as u64).collect();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let s: u64 = buf.par_chunks(1 << 16).map(|c| c.iter().fold(0u64, |a, &b| a.wrapping_add(b))).reduce(|| 0, u64::wrapping_add);
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    (words * 8) as f64 / best / 1e9
}

#[cfg(test)]
mod isolated_tests {
    use super::*;

    /// Nested isolated runs each see only their own counts, and the thread's counts are
    /// as they were after each (the pattern of a pool thread that runs another caller's
    /// pass while it waits inside one).
    #[test]
    fn isolated_counts_nest() {
        count_attention(1, 1);
        let outer0 = snapshot();
        let ((_, inner), outer) = isolated(|| {
            count_attention(10, 0);
            let r = isolated(|| count_attention(100, 0));
            count_attention(1000, 0);
            r
        });
        assert_eq!(inner.kv_bytes_copied, 100);
        assert_eq!(outer.kv_bytes_copied, 1010, "the nested run's counts are not the outer's");
        assert_eq!(snapshot(), outer0, "the thread's counts are restored");
        absorb(&outer);
        assert_eq!(snapshot().since(&outer0).kv_bytes_copied, 1010);
        // A panic inside restores them too.
        let r = std::panic::catch_unwind(|| isolated(|| {
            count_attention(5, 0);
            panic!("inside")
        }));
        assert!(r.is_err());
        assert_eq!(snapshot().since(&outer0).kv_bytes_copied, 1010);
    }
}
