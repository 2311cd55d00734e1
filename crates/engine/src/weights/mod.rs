//! Weights by name: every model asks a [`WeightSource`] for tensors by their HF checkpoint
//! name; the sources here map those names onto files (a llama.cpp GGUF, safetensors, a
//! llama.cpp text + mmproj pair, a Medlens import) or make them (quantize-on-load).

use std::borrow::Cow;
use std::path::Path;

use crate::error::Result;
use crate::quant::GgmlType;

pub mod gguf;
pub mod imported;
pub mod llamacpp;
pub mod quantize;
pub mod safetensors;

/// A tensor in a ggml block format: shape in HF order (`[out, in]`), type, and the blocks,
/// borrowed from a memory-mapped file where the source has them on disk.
pub type Blocks<'a> = (Vec<usize>, GgmlType, Cow<'a, [u8]>);

/// Where weights come from: f32 values by HF checkpoint name, row-major.
pub trait WeightSource {
    /// The file (or folder) named in messages.
    fn file(&self) -> &Path;
    /// Returns `(shape, values)`; `None` if missing.
    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>>;
    /// Whether RMSNorm weights are stored as `1 + w` already (llama.cpp's GGUF convention).
    fn norms_include_one(&self) -> bool;
    /// The tensor in a ggml block format the GPU kernels read, when the source holds it
    /// quantized; `None` to fall back to [`Self::get`].
    fn get_quantized(&self, _hf_name: &str) -> Result<Option<Blocks<'_>>> {
        Ok(None)
    }
    /// [`Self::get_quantized`]'s bytes as a handle on a memory-mapped file, when they are
    /// exactly the file's: the CPU backend keeps such a weight in place (zero-copy).
    fn mapped(&self, _hf_name: &str) -> Option<crate::formats::gguf::MappedTensor> {
        None
    }
    /// The tensor was copied where the model keeps it: a memory-mapped source may drop its
    /// pages, so loading costs the model's size in memory, not the file's plus the model's.
    fn release(&self, _hf_name: &str) {}
}

/// A source that tells `report(done, total)` after each tensor it hands out: model-load
/// progress for the UI, counted in tensors (the same on every device and format). `total` is
/// the tensors the files hold, so `done` ends at or a little below it (a model may leave some
/// out). When `report` returns false the load is stopped: the next request for a tensor is
/// [`EngineError::LoadStopped`], so Stop does not wait for a 4B model to finish loading.
pub struct Reporting<'a> {
    inner: &'a dyn WeightSource,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    stopped: std::sync::atomic::AtomicBool,
    report: &'a dyn Fn(usize, usize) -> bool,
}

impl<'a> Reporting<'a> {
    pub fn new(inner: &'a dyn WeightSource, total: usize, report: &'a dyn Fn(usize, usize) -> bool) -> Self {
        Reporting { inner, total, done: std::sync::atomic::AtomicUsize::new(0), stopped: std::sync::atomic::AtomicBool::new(false), report }
    }

    fn tick(&self) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if !(self.report)(n, self.total.max(n)) {
            self.stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn go_on(&self) -> Result<()> {
        if self.stopped.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(crate::error::EngineError::LoadStopped { file: self.inner.file().to_path_buf() });
        }
        Ok(())
    }
}

impl WeightSource for Reporting<'_> {
    fn file(&self) -> &Path {
        self.inner.file()
    }

    fn get(&self, hf_name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        self.go_on()?;
        let r = self.inner.get(hf_name)?;
        if r.is_some() {
            self.tick();
        }
        Ok(r)
    }

    fn norms_include_one(&self) -> bool {
        self.inner.norms_include_one()
    }

    fn get_quantized(&self, hf_name: &str) -> Result<Option<Blocks<'_>>> {
        self.go_on()?;
        let r = self.inner.get_quantized(hf_name)?;
        if r.is_some() {
            self.tick();
        }
        Ok(r)
    }

    fn mapped(&self, hf_name: &str) -> Option<crate::formats::gguf::MappedTensor> {
        self.inner.mapped(hf_name)
    }

    fn release(&self, hf_name: &str) {
        self.inner.release(hf_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Two tensors, `a` (f32) and `q` (quantized).
    struct Two;

    impl WeightSource for Two {
        fn file(&self) -> &Path {
            Path::new("two.gguf")
        }
        fn get(&self, name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
            Ok((name == "a").then(|| (vec![2], vec![1.0, 2.0])))
        }
        fn norms_include_one(&self) -> bool {
            true
        }
        fn get_quantized(&self, name: &str) -> Result<Option<Blocks<'_>>> {
            Ok((name == "q").then(|| (vec![32], GgmlType::Q8_0, Cow::Owned(vec![0u8; 34]))))
        }
    }

    #[test]
    fn reporting_counts_the_tensors_handed_out_and_passes_everything_through() {
        let seen = RefCell::new(Vec::new());
        let report = |d: usize, t: usize| {
            seen.borrow_mut().push((d, t));
            true
        };
        let r = Reporting::new(&Two, 2, &report);
        assert_eq!(r.get("a").unwrap().unwrap().1, vec![1.0, 2.0]);
        assert!(r.get("missing").unwrap().is_none());
        assert!(r.get_quantized("a").unwrap().is_none());
        assert_eq!(r.get_quantized("q").unwrap().unwrap().1, GgmlType::Q8_0);
        assert!(r.norms_include_one());
        assert_eq!(r.file(), Path::new("two.gguf"));
        // Only tensors found count; a total below the count grows with it.
        assert!(r.get("a").unwrap().is_some());
        assert_eq!(*seen.borrow(), vec![(1, 2), (2, 2), (3, 3)]);
    }

    #[test]
    fn a_report_of_false_stops_the_load_at_the_next_tensor() {
        let stop_after = |d: usize, _t: usize| d < 2;
        let r = Reporting::new(&Two, 2, &stop_after);
        assert!(r.get("a").unwrap().is_some());
        assert!(r.get_quantized("q").unwrap().is_some(), "the report after this one says stop");
        let e = r.get("a").unwrap_err();
        assert!(matches!(e, crate::error::EngineError::LoadStopped { .. }), "{e}");
        assert_eq!(e.to_string(), "two.gguf: loading stopped");
        assert!(r.get_quantized("q").is_err());
    }
}
