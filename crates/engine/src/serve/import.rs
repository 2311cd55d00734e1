//! `medlens models import`: quantizes an HF release (MedGemma's folder: `config.json`,
//! sharded safetensors, tokenizer files) once into a single GGUF that loads without
//! re-quantizing.
//!
//! The file keeps the HF tensor names and shapes (so loading stays mechanical: the same
//! `WeightSource` code as safetensors) and carries the folder's JSON files as metadata
//! (`medlens.config_json`, `medlens.tokenizer_json`, ...), so one file is the whole model.
//! Text matrices: `q4_k_m` (llama.cpp's mix: Q6_K for the embedding, `v_proj` and `down_proj`,
//! Q4_K elsewhere), `q8_0` or `f16`. Vision matrices: `Q8_0` or `F16`. A matrix whose rows are
//! not whole blocks of the chosen format falls back to the next that fits (Q4_K → Q8_0 →
//! F16); norms, biases and embeddings of positions stay f32.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};
use crate::formats::gguf_write::GgufWriter;
use crate::formats::safetensors::Safetensors;
use crate::models::medgemma;
use crate::quant::{quantize, GgmlType};
use crate::weights::imported::CARRIED;
use crate::weights::quantize::is_weight_matrix;
use crate::weights::WeightSource;

/// What the text matrices become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextQuant {
    Q4KM,
    Q8_0,
    F16,
}

impl std::str::FromStr for TextQuant {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "q4_k_m" => Ok(Self::Q4KM),
            "q8_0" => Ok(Self::Q8_0),
            "f16" => Ok(Self::F16),
            o => Err(format!("unknown quantization `{o}` (q4_k_m, q8_0 or f16)")),
        }
    }
}

impl TextQuant {
    pub fn name(self) -> &'static str {
        match self {
            Self::Q4KM => "q4_k_m",
            Self::Q8_0 => "q8_0",
            Self::F16 => "f16",
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub output: PathBuf,
    pub tensors: usize,
    pub bytes: u64,
    /// Count of tensors per ggml type name.
    pub types: Vec<(String, usize)>,
}

fn is_vision(name: &str) -> bool {
    name.contains("vision_tower.") || name.contains("multi_modal_projector.")
}

/// The ggml type of tensor `name` of shape `shape` under the chosen formats.
pub fn choose_type(name: &str, shape: &[usize], text: TextQuant, vision: GgmlType) -> GgmlType {
    if !is_weight_matrix(name, shape) {
        return GgmlType::F32;
    }
    let cols = shape[1];
    let want = if is_vision(name) {
        // The projector's weight is a plain parameter `[vision, text]` multiplied as stored:
        // it stays f32 in this layout (2.9 M values).
        if name.ends_with("mm_input_projection_weight") {
            return GgmlType::F32;
        }
        vision
    } else {
        match text {
            TextQuant::Q4KM => {
                if name.ends_with("embed_tokens.weight") || name.ends_with("v_proj.weight") || name.ends_with("down_proj.weight") {
                    GgmlType::Q6K
                } else {
                    GgmlType::Q4K
                }
            }
            TextQuant::Q8_0 => GgmlType::Q8_0,
            TextQuant::F16 => GgmlType::F16,
        }
    };
    for t in [want, GgmlType::Q8_0, GgmlType::F16] {
        if cols % t.block_elems() == 0 {
            return t;
        }
    }
    GgmlType::F16
}

/// Refuses an output inside the source folder (or the folder itself): the folder would then
/// hold a second model beside its own (discovery would list both, a later import would read
/// the GGUF as a stray file) and a name such as `model.safetensors` would replace a shard.
/// Both sides are resolved (symbolic links, `..`) before they are compared.
pub fn check_output_outside(dir: &Path, out: &Path) -> Result<()> {
    let src = dir.canonicalize().map_err(|source| EngineError::Io { file: dir.into(), source })?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let resolved = match out.canonicalize() {
        Ok(p) => p,
        Err(_) => match (parent.canonicalize(), out.file_name()) {
            (Ok(p), Some(name)) => p.join(name),
            // The folder to write in does not exist: the write fails later, naming it.
            _ => return Ok(()),
        },
    };
    if resolved.starts_with(&src) {
        return Err(EngineError::Input {
            file: out.into(),
            detail: format!("the output is inside the model folder being imported ({}); write it elsewhere", src.display()),
        });
    }
    Ok(())
}

/// A temporary file beside the destination, removed when dropped unless renamed into place:
/// an import that fails while writing (disk full, a file size limit) leaves nothing behind.
struct PartialFile {
    path: PathBuf,
    done: bool,
}

impl PartialFile {
    /// A fresh name (never an existing file: another import may be writing beside it).
    fn create(out: &Path) -> Result<(Self, std::fs::File)> {
        let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
        for i in 0u32.. {
            let path = dir.join(format!(".{name}.{}.{i}.partial", std::process::id()));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => return Ok((Self { path, done: false }, f)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && i < 1000 => continue,
                Err(source) => return Err(EngineError::Io { file: path, source }),
            }
        }
        unreachable!("the loop returns")
    }

    /// Puts the finished file in place. With `replace`, a rename (an existing `out` is
    /// replaced in one step). Without, a hard link, which fails if `out` exists, even one
    /// that appeared while the import ran (a rename would replace it silently); then the
    /// temporary name is removed. File systems without hard links: check, then rename.
    fn persist(mut self, out: &Path, replace: bool) -> Result<()> {
        let io = |source| EngineError::Io { file: out.into(), source };
        let exists = || EngineError::Io {
            file: out.into(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists; it was not replaced"),
        };
        if replace {
            std::fs::rename(&self.path, out).map_err(io)?;
        } else {
            match std::fs::hard_link(&self.path, out) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&self.path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists()),
                Err(_) => {
                    if std::fs::symlink_metadata(out).is_ok() {
                        return Err(exists());
                    }
                    std::fs::rename(&self.path, out).map_err(io)?;
                }
            }
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Imports the HF folder `dir` into `out`. `progress(done, total, tensor)` after each tensor.
/// `out` may not lie inside `dir` ([`check_output_outside`]); it is written to a temporary file
/// beside it and put in place at the end, so a failed import leaves no partial file. An
/// existing `out` is replaced only with `replace`; without it, one that exists at the end
/// (even one that appeared during the minutes of quantizing, after the caller checked) is an
/// error and stays as it was.
pub fn import_hf(
    dir: &Path,
    out: &Path,
    text: TextQuant,
    vision: GgmlType,
    replace: bool,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<ImportReport> {
    if !matches!(vision, GgmlType::F16 | GgmlType::Q8_0 | GgmlType::F32) {
        return Err(EngineError::Unsupported(format!("vision tower as {}", vision.name())));
    }
    check_output_outside(dir, out)?;
    let cfg_path = dir.join("config.json");
    let cfg_text = crate::formats::read_side_text(&cfg_path).map_err(|source| EngineError::Io { file: cfg_path.clone(), source })?;
    // Fail before spending minutes quantizing when the folder is not a MedGemma: the config
    // must parse as one (tensor shapes are checked when the import is loaded).
    medgemma::Config::from_hf_json(&cfg_path, &cfg_text)?;
    let st = Safetensors::open(dir)?;
    let mut names: Vec<String> = st.names().map(String::from).collect();
    names.sort();
    if names.is_empty() {
        return Err(EngineError::Safetensors { file: dir.into(), detail: "no tensors".into() });
    }
    let mut w = GgufWriter::new();
    w.string("general.architecture", "medlens.gemma3mm");
    w.string("general.name", &dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
    w.string("medlens.quantization", &format!("text {}, vision {}", text.name(), vision.name().to_ascii_lowercase()));
    for (file, key) in CARRIED {
        let p = dir.join(file);
        // Absent files are left out; one present but unreadable (or too large) is an error,
        // not a model that later lacks its tokenizer.
        match crate::formats::read_side_text(&p) {
            Ok(t) => {
                w.string(key, &t);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(EngineError::Io { file: p, source }),
        }
    }
    let mut types: std::collections::BTreeMap<String, usize> = Default::default();
    let total = names.len();
    for (i, name) in names.iter().enumerate() {
        let (shape, v) = st.get(name)?.ok_or_else(|| EngineError::MissingTensor { file: dir.into(), tensor: name.clone() })?;
        let ty = choose_type(name, &shape, text, vision);
        let data = quantize(ty, &v).ok_or_else(|| EngineError::Unsupported(format!("{name}: cannot write as {}", ty.name())))?;
        let dims: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
        w.tensor(name, &dims, ty, data);
        *types.entry(ty.name().to_string()).or_default() += 1;
        progress(i + 1, total, name);
    }
    let (tmp, f) = PartialFile::create(out)?;
    {
        let mut bw = std::io::BufWriter::new(f);
        let io = |source| EngineError::Io { file: out.into(), source };
        w.write_to(&mut bw).and_then(|_| std::io::Write::flush(&mut bw)).map_err(io)?;
        // On the disk before the rename makes it the output.
        bw.get_ref().sync_all().map_err(io)?;
    }
    tmp.persist(out, replace)?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(ImportReport { output: out.into(), tensors: total, bytes, types: types.into_iter().collect() })
}
