//! The AI commands: draft findings (MedGemma), zero-shot labels (MedSigLIP), the model
//! manager, exports and the local audit log. Thin over `medlens_engine`.
//!
//! Model work runs on worker threads, never on the UI's: findings stream through a Tauri
//! channel token by token; one findings job runs at a time (a new one cancels the old),
//! Stop sets the job's cancel flag, checked at the next tensor of a load, the next layer of
//! the vision encode or the prefill, and the next decode step. Everything the models
//! produce is appended to `audit.jsonl` in the app's data folder (`audit.rs`); nothing
//! leaves the machine. A path from the UI is used only if the user granted it
//! (`access.rs`); a worker that panics reports an error like any other failure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use medlens_engine::generate::{decode_loop, GenerateOptions, GenerateOutput, SamplingParams, StopReason, TextStream};
use medlens_engine::models::medgemma;
use medlens_engine::device::{gpu_failure, is_cube, DeviceChoice};
use medlens_engine::EngineError;
use medlens_engine::serve::discover::{self, Kind, ModelInfo};
use medlens_engine::serve::findings::{self, file_sha256, InputRecord, Provenance, SamplingRecord, Template};
use medlens_engine::serve::load::{load_medgemma_reporting, LoadedMedGemma};
use medlens_engine::serve::zeroshot::{Label, LabelSet, Mode, ZeroShotModel};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::wire::{FindingsJob, GpuInfo, ImportResult, LabelScore, LabelSetSummary, LabelsResult, SavedFile, Timings};
use crate::{access, catch_panic, files, lock, AppState};

/// The most tokens one findings request may ask for: a findings draft is a few hundred;
/// the bound keeps the KV cache, sized up front for the whole generation, in proportion.
pub const MAX_NEW_TOKENS: usize = 8192;

/// The device every model runs on, chosen on first use: `MEDLENS_DEVICE` (auto, gpu, cpu),
/// else auto; after a GPU failure the user may switch to the CPU (`ai_use_cpu`).
struct DeviceInfo {
    device: medlens_engine::Device,
    name: String,
    notice: Option<String>,
}

#[derive(Default)]
pub struct AiState {
    device: Mutex<Option<Result<Arc<DeviceInfo>, String>>>,
    medgemma: Mutex<Option<(PathBuf, Arc<LoadedMedGemma>)>>,
    siglip: Mutex<Option<(PathBuf, ZeroShotModel)>>,
    user_models: Mutex<Vec<PathBuf>>,
    job: Mutex<Option<(u64, Arc<AtomicBool>)>>,
    /// Held while a findings job runs: one at a time.
    running: Mutex<()>,
    next_job: AtomicU64,
    audit: crate::audit::AuditLog,
}

impl AiState {
    fn device(&self) -> Result<Arc<DeviceInfo>, String> {
        lock(&self.device)
            .get_or_insert_with(|| {
                let choice: DeviceChoice = std::env::var("MEDLENS_DEVICE").unwrap_or_else(|_| "auto".into()).parse()?;
                Self::select(choice)
            })
            .clone()
    }

    fn select(choice: DeviceChoice) -> Result<Arc<DeviceInfo>, String> {
        let s = medlens_engine::device::select(choice).map_err(|e| e.to_string())?;
        Ok(Arc::new(DeviceInfo { device: s.device, name: s.name, notice: s.notice }))
    }

    /// Whether the models run on a GPU (so a GPU failure can be met by the CPU).
    fn on_gpu(&self) -> bool {
        matches!(lock(&self.device).as_ref(), Some(Ok(d)) if is_cube(&d.device))
    }
}

/// The app's data folder (audit log, label sets, imported models).
pub(crate) fn data_dir(app: &AppHandle) -> PathBuf {
    std::env::var_os("MEDLENS_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| app.path().app_data_dir().ok())
        .unwrap_or_else(|| std::env::temp_dir().join("medlens"))
}

/// `models/` folders: `$MEDLENS_MODELS_DIR` (`:`-separated), the data folder's, the bundled
/// resources', and the source tree's.
fn models_dirs(app: &AppHandle) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::env::var_os("MEDLENS_MODELS_DIR").map(|s| std::env::split_paths(&s).collect()).unwrap_or_default();
    v.push(data_dir(app).join("models"));
    if let Ok(r) = app.path().resource_dir() {
        v.push(r.join("models"));
    }
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"));
    v
}

fn scan(app: &AppHandle, ai: &AiState) -> Vec<ModelInfo> {
    let user = lock(&ai.user_models).clone();
    discover::scan(&models_dirs(app), &user)
}

fn first_ok(models: &[ModelInfo], kind: Kind) -> Result<ModelInfo, String> {
    models.iter().find(|m| m.kind == kind && m.status == "ok").cloned().ok_or_else(|| {
        let what = if kind == Kind::Medgemma { "MedGemma" } else { "MedSigLIP" };
        let bad: Vec<String> = models.iter().filter(|m| m.kind == kind).filter_map(|m| m.message.clone()).collect();
        if bad.is_empty() {
            format!("no {what} model found: see Models (put it in models/ or the Hugging Face cache)")
        } else {
            format!("no usable {what} model: {}", bad.join("; "))
        }
    })
}

/// Appends one record to the audit log (rotated at `audit::ROTATE_BYTES`). A failure is
/// logged and returned, for the reply to carry to the UI.
fn audit(app: &AppHandle, record: Value) -> Option<String> {
    let line = json!({"time": now_rfc3339(), "record": record}).to_string();
    let log = data_dir(app).join("audit.jsonl");
    match app.state::<AiState>().audit.append(&log, crate::audit::ROTATE_BYTES, &line) {
        Ok(()) => None,
        Err(e) => {
            tracing::error!("{e}");
            Some(e.to_string())
        }
    }
}

#[tauri::command]
pub async fn models_scan(app: AppHandle) -> Result<Vec<ModelInfo>, String> {
    crate::blocking("model scan", move || Ok(scan(&app, &app.state::<AiState>()))).await
}

/// Adds a model file or folder the user granted (chosen, dropped, or in the data folder).
#[tauri::command]
pub async fn models_add(app: AppHandle, path: PathBuf) -> Result<ModelInfo, String> {
    crate::blocking("adding a model", move || add_model(&app, path)).await
}

fn add_model(app: &AppHandle, path: PathBuf) -> Result<ModelInfo, String> {
    app.state::<AppState>().grants.check(&path)?;
    let ai = app.state::<AiState>();
    let info = discover::inspect(&path, "user").unwrap_or_else(|| ModelInfo {
        kind: Kind::Medgemma,
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.clone(),
        source: "user".into(),
        format: "hf".into(),
        status: "invalid".into(),
        message: Some(format!("{}: not a model folder (no config.json) or GGUF file", path.display())),
        bytes: 0,
        weights_in_memory: 0,
        mmproj: None,
    });
    let mut u = lock(&ai.user_models);
    if !u.contains(&path) {
        u.push(path);
    }
    Ok(info)
}

#[derive(Clone, Serialize, ts_rs::TS)]
pub struct ImportProgress {
    done: usize,
    total: usize,
    tensor: String,
}

/// Imports a Hugging Face model folder the user granted, or one the model scan found, as a
/// GGUF in the data folder (a new name if one is taken). A failed import leaves no file.
#[tauri::command]
pub async fn models_import(app: AppHandle, path: PathBuf, quant: String, on_progress: Channel<ImportProgress>) -> Result<ImportResult, String> {
    let q: medlens_engine::serve::import::TextQuant = quant.parse()?;
    if let Err(e) = app.state::<AppState>().grants.check(&path) {
        if !scan(&app, &app.state::<AiState>()).iter().any(|m| m.path == path) {
            return Err(e.into());
        }
    }
    let out_dir = data_dir(&app).join("models");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    // Held until the import ends: the importer renames over `out`, so a second import
    // started meanwhile must not pick the same name.
    let reserved = files::reserve_free_name(&out_dir, &format!("{name}-{}.gguf", q.name()));
    tauri::async_runtime::spawn_blocking(move || {
        let out = reserved.path();
        // The importer writes a temporary file beside `out` and removes it itself on failure.
        catch_panic("model import", || {
            // `replace`: the reserved name is a placeholder this import owns.
            medlens_engine::serve::import::import_hf(&path, out, q, medlens_engine::quant::GgmlType::F16, true, &mut |done, total, t| {
                let _ = on_progress.send(ImportProgress { done, total, tensor: t.to_string() });
            })
            .map(|r| ImportResult { output: r.output })
            .map_err(|e| e.to_string())
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The device, chosen on first use (which can take seconds: off the main thread).
#[tauri::command]
pub async fn gpu_info(app: AppHandle) -> Result<GpuInfo, String> {
    crate::blocking("gpu_info", move || Ok(gpu_info_of(&app.state::<AiState>()))).await
}

fn gpu_info_of(ai: &AiState) -> GpuInfo {
    match ai.device() {
        Ok(d) => GpuInfo {
            adapter: d.name.clone(),
            backend: if d.name.starts_with("cpu") { "cpu" } else { "wgpu" }.into(),
            memory_bytes: d.device.memory_pool_usage().map(|u| u.bytes_reserved),
            notice: d.notice.clone(),
        },
        Err(e) => GpuInfo { adapter: "none".into(), backend: "none".into(), memory_bytes: None, notice: Some(e) },
    }
}

/// After a GPU failure (out of memory, lost device): every model runs on the CPU from now on.
/// The loaded models are dropped (they live on the GPU) and load again on their next use;
/// a running findings job is stopped first.
#[tauri::command]
pub async fn ai_use_cpu(app: AppHandle) -> Result<GpuInfo, String> {
    crate::blocking("ai_use_cpu", move || {
        let ai = app.state::<AiState>();
        if let Some((_, c)) = lock(&ai.job).as_ref() {
            c.store(true, Ordering::Relaxed);
        }
        let _idle = lock(&ai.running);
        let cpu = AiState::select(DeviceChoice::Cpu)?;
        *lock(&ai.medgemma) = None;
        *ai.siglip.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *lock(&ai.device) = Some(Ok(cpu));
        tracing::info!("models run on the CPU from now on (asked after a GPU failure)");
        Ok(gpu_info_of(&ai))
    })
    .await
}

#[tauri::command]
pub fn findings_templates() -> Vec<Template> {
    findings::templates()
}

/// `medlens_dicom::Window` as the UI sends it (the bindings check the two agree).
#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "Window")]
pub struct WindowArg {
    center: f64,
    width: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "Sampling")]
pub struct SamplingArg {
    greedy: bool,
    temperature: f32,
    top_k: usize,
    top_p: f32,
    #[serde(default)]
    #[ts(optional = nullable)]
    min_p: f32,
    #[serde(default = "no_penalty")]
    #[ts(optional = nullable)]
    repetition_penalty: f32,
    seed: u64,
    max_tokens: usize,
}

fn no_penalty() -> f32 {
    1.0
}

impl SamplingArg {
    fn params(&self) -> SamplingParams {
        SamplingParams::from_options(self.greedy, self.temperature, self.top_k, self.top_p, self.min_p, self.repetition_penalty, self.seed)
    }}

#[derive(Clone, Debug, Deserialize, ts_rs::TS)]
pub struct FindingsRequest {
    path: PathBuf,
    frame: usize,
    #[ts(optional = nullable)]
    window: Option<WindowArg>,
    template: String,
    prompt: String,
    #[ts(optional = nullable)]
    system: Option<String>,
    sampling: SamplingArg,
}

#[derive(Clone, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FindingsEvent {
    /// A stage before the first token begins: loading the model (only when it is not loaded
    /// yet), encoding the image, reading the prompt. On a CPU each can take minutes at 4B.
    Stage {
        #[ts(type = r#""load" | "vision" | "prefill""#)]
        stage: &'static str,
    },
    /// Loading the model: `done` of the `total` tensors its files hold read (sent at each
    /// percent).
    #[serde(rename = "load_progress")]
    LoadProgress { done: usize, total: usize },
    Started { thumbnail_png_base64: String, prompt_tokens: usize },
    Token { text: String, index: usize },
    Done {
        text: String,
        tokens: usize,
        timings: Timings,
        provenance: Box<Provenance>,
        /// Set when the draft could not be written to the audit log: the text to show.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        audit_error: Option<String>,
    },
    Stopped,
    Error {
        message: String,
        /// The GPU failed (out of memory, lost): the panel offers to run on the CPU.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        #[ts(as = "Option<bool>", optional)]
        offer_cpu: bool,
    },
}

fn window_of(w: &Option<WindowArg>) -> Option<medlens_dicom::Window> {
    w.as_ref().map(|w| medlens_dicom::Window { center: w.center, width: w.width })
}

/// `max_tokens` as asked, if within `MAX_NEW_TOKENS` (and at least one).
fn check_max_tokens(n: usize) -> Result<usize, String> {
    match n {
        0 => Err("max_tokens must be at least 1".into()),
        n if n > MAX_NEW_TOKENS => Err(format!("max_tokens {n} is more than the {MAX_NEW_TOKENS} a findings draft may ask for")),
        n => Ok(n),
    }
}

/// The event that ends a findings job, from how it ended (`Ok(true)`: stopped; `Ok(false)`:
/// done, its event already sent; an error, a panic included).
/// `on_gpu`: the job ran on a GPU, so a GPU failure offers the CPU.
fn final_event(r: Result<bool, String>, on_gpu: bool) -> Option<FindingsEvent> {
    match r {
        Ok(true) => Some(FindingsEvent::Stopped),
        Ok(false) => None,
        Err(message) => {
            let (message, gpu) = gpu_message(message);
            Some(FindingsEvent::Error { message, offer_cpu: gpu && on_gpu })
        }
    }
}

/// A job's error, with a GPU failure (out of memory, lost device: from an engine error or a
/// panic inside burn) put in the user's words; and whether it was one.
pub(crate) fn gpu_message(message: String) -> (String, bool) {
    if message.contains("the GPU ran out of memory") || message.contains("the GPU was lost") {
        return (message, true);
    }
    match gpu_failure(&message) {
        Some(e) => (e.to_string(), true),
        None => (message, false),
    }
}

/// Starts a findings job on the image the viewer shows; events stream on `on_event`.
#[tauri::command]
pub fn findings_start(app: AppHandle, state: State<'_, AppState>, ai: State<'_, AiState>, req: FindingsRequest, on_event: Channel<FindingsEvent>) -> Result<FindingsJob, String> {
    crate::check_known(&state, &req.path)?;
    check_max_tokens(req.sampling.max_tokens)?;
    let job = ai.next_job.fetch_add(1, Ordering::Relaxed) + 1;
    let cancel = Arc::new(AtomicBool::new(false));
    if let Some((_, old)) = lock(&ai.job).replace((job, cancel.clone())) {
        old.store(true, Ordering::Relaxed); // a new request supersedes the running one
    }
    let app2 = app.clone();
    std::thread::spawn(move || {
        let ai = app2.state::<AiState>();
        let _one = lock(&ai.running);
        let r = if cancel.load(Ordering::Relaxed) { Ok(true) } else { catch_panic("findings", || run_findings(&app2, &ai, &req, &cancel, &on_event)) };
        if let Some(e) = final_event(r, ai.on_gpu()) {
            let _ = on_event.send(e);
        }
        let mut j = lock(&ai.job);
        if j.as_ref().is_some_and(|(id, _)| *id == job) {
            *j = None;
        }
    });
    Ok(FindingsJob { job })
}

#[tauri::command]
pub fn findings_stop(ai: State<'_, AiState>, job: u64) {
    if let Some((id, c)) = lock(&ai.job).as_ref() {
        if *id == job {
            c.store(true, Ordering::Relaxed);
        }
    }
}

/// Loads (once) and returns the MedGemma model; `loading` is called first when it has to
/// be read, `progress(done, total)` as its tensors are read (false: stop loading).
fn medgemma_model(app: &AppHandle, ai: &AiState, loading: impl FnOnce(), progress: &dyn Fn(usize, usize) -> bool) -> Result<Arc<LoadedMedGemma>, String> {
    let info = first_ok(&scan(app, ai), Kind::Medgemma)?;
    let mut slot = lock(&ai.medgemma);
    if let Some((p, m)) = slot.as_ref() {
        if *p == info.path {
            return Ok(m.clone());
        }
    }
    loading();
    let d = ai.device()?;
    let loaded = Arc::new(load_medgemma_reporting(&info.path, info.mmproj.as_deref(), &d.device, progress).map_err(|e| e.to_string())?);
    *slot = Some((info.path, loaded.clone()));
    Ok(loaded)
}

/// Returns Ok(true) when stopped, Ok(false) when done (events sent).
fn run_findings(app: &AppHandle, ai: &AiState, req: &FindingsRequest, cancel: &AtomicBool, tx: &Channel<FindingsEvent>) -> Result<bool, String> {
    let t0 = Instant::now();
    let img = medlens_dicom::load_rgb(&req.path, req.frame, window_of(&req.window)).map_err(|e| e.to_string())?;
    let percent = std::sync::atomic::AtomicUsize::new(usize::MAX);
    let progress = |done: usize, total: usize| {
        let p = done * 100 / total.max(1);
        if percent.swap(p, Ordering::Relaxed) != p {
            let _ = tx.send(FindingsEvent::LoadProgress { done, total });
        }
        // Stop ends the load too, at the next tensor.
        !cancel.load(Ordering::Relaxed)
    };
    let loaded = match medgemma_model(
        app,
        ai,
        || {
            let _ = tx.send(FindingsEvent::Stage { stage: "load" });
        },
        &progress,
    ) {
        Err(_) if cancel.load(Ordering::Relaxed) => return Ok(true),
        r => r?,
    };
    // Stop is honoured in every stage: the load (at the next tensor), the vision encode and
    // the prefill (at the next layer), and decoding (at the next step).
    if cancel.load(Ordering::Relaxed) {
        return Ok(true);
    }
    let d = ai.device()?;
    let m = &loaded.model;
    let tok = &loaded.tokenizer;
    let system = req.system.clone().filter(|s| !s.trim().is_empty());
    let ids = medgemma::prompt_ids(tok, system.as_deref(), &req.prompt, 1, m.config.mm_tokens_per_image).map_err(|e| e.to_string())?;
    let _ = tx.send(FindingsEvent::Started { thumbnail_png_base64: thumbnail(&img), prompt_tokens: ids.len() });
    if cancel.load(Ordering::Relaxed) {
        return Ok(true);
    }
    let _ = tx.send(FindingsEvent::Stage { stage: "vision" });
    let px = medgemma::pixel_values(&img.rgb, img.width, img.height, m.config.vision.image_size);
    // Stop reaches into the encode and the prefill: they end at the next layer.
    let feats = match m.image_features_until(&px, 1, Some(cancel)) {
        Err(EngineError::Stopped) => return Ok(true),
        r => r.map_err(|e| e.to_string())?,
    };
    let s = &req.sampling;
    let max_tokens = check_max_tokens(s.max_tokens)?;
    let _ = tx.send(FindingsEvent::Stage { stage: "prefill" });
    let mut cache = m.language_model.new_cache_for(ids.len() + max_tokens);
    let logits = match m.prefill_logits_until(&ids, Some(feats), &mut cache, Some(cancel)) {
        Err(EngineError::Stopped) => return Ok(true),
        r => r.map_err(|e| e.to_string())?,
    };
    let sampling = s.params();
    let opts = GenerateOptions { max_tokens, sampling: sampling.clone(), stop_ids: tok.stop_ids(), top_logprobs: 0 };
    let mut text_stream = TextStream::new(tok);
    let mut ttft = None;
    let out = decode_loop(&m.language_model, logits, &mut cache, GenerateOutput::new(&ids), &opts, cancel, |t| {
        ttft.get_or_insert(t0.elapsed().as_secs_f64() * 1000.0);
        if let Some(text) = text_stream.push(t) {
            let _ = tx.send(FindingsEvent::Token { text, index: text_stream.ids().len() - 1 });
        }
        !cancel.load(Ordering::Relaxed)
    });
    if out.stop == StopReason::Cancelled {
        return Ok(true);
    }
    if out.stop == StopReason::Failed {
        return Err(format!("generation stopped after {} tokens: {}", out.tokens.len(), out.error.unwrap_or_default()));
    }
    let text = tok.decode(text_stream.ids(), true).map_err(|e| e.to_string())?;
    let total_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let n = out.tokens.len() as f64;
    let cache_dir = data_dir(app);
    let mmproj_sha256 = match &loaded.mmproj {
        Some(p) => Some(file_sha256(p, Some(&cache_dir)).map_err(|e| e.to_string())?),
        None => None,
    };
    let provenance = Provenance {
        model_file: loaded.file.clone(),
        model_sha256: file_sha256(&loaded.file, Some(&cache_dir)).map_err(|e| e.to_string())?,
        quantization: loaded.quantization.clone(),
        mmproj_file: loaded.mmproj.clone(),
        mmproj_sha256,
        adapter: d.name.clone(),
        template: req.template.clone(),
        system: system.clone().unwrap_or_default(),
        prompt: req.prompt.clone(),
        sampling: SamplingRecord::new(&sampling, s.greedy, s.max_tokens),
        inputs: vec![InputRecord {
            path: req.path.clone(),
            sop_instance_uid: medlens_dicom::sop_instance_uid(&req.path),
            frame: req.frame,
            window: img.window.as_ref().and_then(|w| serde_json::to_value(w).ok()),
            width: img.width,
            height: img.height,
        }],
        created: findings::now_rfc3339(),
    };
    let timings = Timings {
        ttft_ms: ttft.unwrap_or(total_ms),
        tokens_per_s: (n - 1.0).max(0.0) / out.decode_s.max(1e-9),
        total_ms,
    };
    let audit_error = audit(app, json!({"kind": "findings", "provenance": provenance, "text": text, "timings": timings}));
    let _ = tx.send(FindingsEvent::Done { text, tokens: out.tokens.len(), timings, provenance: Box::new(provenance), audit_error });
    Ok(false)
}

/// A PNG (base64) of the exact pixels sent, at most 256 px wide.
fn thumbnail(img: &medlens_dicom::ModelImage) -> String {
    let scale = (256.0 / img.width.max(img.height) as f64).min(1.0);
    let (w, h) = (((img.width as f64 * scale).round() as usize).max(1), ((img.height as f64 * scale).round() as usize).max(1));
    let rgb = medlens_engine::image::preprocess::resize_pil_bilinear(&img.rgb, img.width, img.height, w, h);
    png_base64(&rgb, w, h)
}

/// `rgb` (`w`×`h`, 8-bit RGB) as a PNG in standard base64 with padding (RFC 4648 §4), for a
/// `data:image/png;base64,` URL.
fn png_base64(rgb: &[u8], w: usize, h: usize) -> String {
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut wr) = enc.write_header() {
            let _ = wr.write_image_data(rgb);
        }
    }
    base64::engine::general_purpose::STANDARD.encode(&png_bytes)
}

/// UTC now as RFC 3339 in whole seconds: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `t` in UTC as RFC 3339 in whole seconds, `YYYY-MM-DDTHH:MM:SSZ` (`Rfc3339` itself would
/// append the fraction of a second).
fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

/// UTC now as DICOM DA (`YYYYMMDD`) and TM (`HHMMSS`, whole seconds).
pub(crate) fn dicom_date_time_now() -> (String, String) {
    dicom_date_time(OffsetDateTime::now_utc())
}

/// `t` in UTC as DICOM DA (`YYYYMMDD`) and TM (`HHMMSS`, whole seconds).
fn dicom_date_time(t: OffsetDateTime) -> (String, String) {
    let t = t.to_offset(UtcOffset::UTC);
    let da = t.format(format_description!("[year][month][day]")).unwrap_or_default();
    let tm = t.format(format_description!("[hour][minute][second]")).unwrap_or_default();
    (da, tm)
}

#[derive(Clone, Debug, Deserialize, ts_rs::TS)]
pub struct LabelsRequest {
    path: PathBuf,
    frame: usize,
    #[ts(optional = nullable)]
    window: Option<WindowArg>,
    labels: Vec<String>,
    /// Parsed as `Mode` (`sigmoid`, `softmax` or `paired`).
    #[ts(as = "Mode")]
    mode: String,
}

/// Zero-shot label probabilities for the image the viewer shows (embeddings cached per
/// image, frame and window, and per label prompt).
#[tauri::command]
pub async fn labels_compute(app: AppHandle, req: LabelsRequest) -> Result<LabelsResult, String> {
    {
        let state = app.state::<AppState>();
        crate::check_known(&state, &req.path)?;
    }
    tauri::async_runtime::spawn_blocking(move || catch_panic("labels", || {
        let t0 = Instant::now();
        let ai = app.state::<AiState>();
        let mode: Mode = req.mode.parse().map_err(|e: String| e)?;
        let labels: Vec<Label> = req
            .labels
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .map(|l| Label { label: l.to_string(), prompt: None, negative: None })
            .collect();
        if labels.is_empty() {
            return Err("the label list is empty".to_string());
        }
        let set = LabelSet { name: "panel".into(), description: String::new(), labels };
        let info = first_ok(&scan(&app, &ai), Kind::Medsiglip)?;
        let d = ai.device()?;
        // A job that panicked may have left the model's caches half-updated: load it afresh.
        let mut slot = ai.siglip.lock().unwrap_or_else(|p| {
            ai.siglip.clear_poison();
            let mut slot = p.into_inner();
            *slot = None;
            slot
        });
        if slot.as_ref().is_none_or(|(p, _)| *p != info.path) {
            let m = ZeroShotModel::load(&info.path, &d.device, None).map_err(|e| e.to_string())?;
            *slot = Some((info.path.clone(), m));
        }
        let (_, model) = slot.as_mut().ok_or("model not loaded")?;
        let key = format!("{}#{}#{:?}", req.path.display(), req.frame, req.window.as_ref().map(|w| (w.center, w.width)));
        let cached = model.has_image(&key);
        let img = medlens_dicom::load_rgb(&req.path, req.frame, window_of(&req.window)).map_err(|e| e.to_string())?;
        let e = model.image_embed(Some(&key), img.width, img.height, &img.rgb).map_err(|e| e.to_string())?;
        let p = model.score(&e, &set, mode).map_err(|e| e.to_string())?;
        let scores: Vec<LabelScore> = set.labels.iter().zip(&p).map(|(l, p)| LabelScore { label: l.label.clone(), probability: *p }).collect();
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let audit_error =
            audit(&app, json!({"kind": "labels", "model": info.path, "path": req.path, "frame": req.frame, "window": req.window, "mode": req.mode, "scores": scores}));
        Ok(LabelsResult { scores, cached, ms, audit_error })
    }))
    .await
    .map_err(|e| e.to_string())?
    // A GPU failure in the user's words: the panel offers the CPU on it.
    .map_err(|m| gpu_message(m).0)
}

fn label_sets_dir(app: &AppHandle) -> PathBuf {
    data_dir(app).join("label-sets")
}

#[tauri::command]
pub async fn label_sets_list(app: AppHandle) -> Result<Vec<LabelSetSummary>, String> {
    crate::blocking("listing label sets", move || Ok(list_label_sets(&app))).await
}

fn list_label_sets(app: &AppHandle) -> Vec<LabelSetSummary> {
    let mut out = Vec::new();
    for (name, text) in medlens_engine::serve::zeroshot::BUILTIN {
        if let Ok(s) = LabelSet::from_json(name, text) {
            out.push(LabelSetSummary { name: name.to_string(), labels: s.labels.iter().map(|l| l.label.clone()).collect(), builtin: true });
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(label_sets_dir(app)).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            if let Ok(s) = LabelSet::from_json(&f.display().to_string(), &text) {
                out.push(LabelSetSummary { name: s.name, labels: s.labels.iter().map(|l| l.label.clone()).collect(), builtin: false });
            }
        }
    }
    out
}

/// Saves a label set in the data folder as `<name>.json` (characters other than letters,
/// digits, `-` and `_` become `_`). `name` must be a plain name; an existing set is replaced
/// only with `overwrite` (the UI asks first).
#[tauri::command]
pub async fn label_sets_save(app: AppHandle, name: String, labels: Vec<String>, overwrite: Option<bool>) -> Result<(), String> {
    crate::blocking("saving a label set", move || save_label_set(&app, &name, labels, overwrite.unwrap_or(false))).await
}

fn save_label_set(app: &AppHandle, name: &str, labels: Vec<String>, overwrite: bool) -> Result<(), String> {
    access::plain_name(name)?;
    let clean: String = name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if clean.is_empty() {
        return Err("a label set needs a name".into());
    }
    let labels: Vec<Label> = labels.into_iter().filter(|l| !l.trim().is_empty()).map(|l| Label { label: l.trim().into(), prompt: None, negative: None }).collect();
    if labels.is_empty() {
        return Err("the label list is empty".into());
    }
    let set = LabelSet { name: name.to_string(), description: String::new(), labels };
    let dir = label_sets_dir(app);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let f = dir.join(format!("{clean}.json"));
    let body = serde_json::to_string_pretty(&set).map_err(|e| e.to_string())?;
    Ok(files::write_atomic(&f, overwrite, &|w| w.write_all(body.as_bytes()))?)
}

/// The export folder `dir`, if the user granted it, created if need be.
fn export_dir(state: &AppState, dir: &Path) -> Result<PathBuf, String> {
    let dir = state.grants.check(dir)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

#[derive(Clone, Debug, Deserialize, ts_rs::TS)]
#[ts(rename = "FindingsExportRequest")]
pub struct ExportRequest {
    /// Markdown, JSON with provenance, or a DICOM Basic Text SR.
    #[ts(type = r#""md" | "json" | "sr""#)]
    format: String,
    dir: PathBuf,
    text: String,
    provenance: Provenance,
}

/// Writes the draft as Markdown, JSON with provenance, or a DICOM Basic Text SR that
/// references the source instance (a file the viewer opened), into `dir` (granted by the
/// user), as a new file named by the time.
#[tauri::command]
pub async fn findings_export(app: AppHandle, req: ExportRequest) -> Result<SavedFile, String> {
    crate::blocking("findings export", move || export_findings(&app.state::<AppState>(), req)).await
}

fn export_findings(state: &AppState, req: ExportRequest) -> Result<SavedFile, String> {
    let dir = export_dir(state, &req.dir)?;
    let (d, t) = dicom_date_time_now();
    let stamp = format!("{d}-{t}");
    let banner = "DRAFT: research use only, not for diagnosis";
    let path = match req.format.as_str() {
        "md" => {
            let prov = serde_json::to_string_pretty(&req.provenance).unwrap_or_default();
            let body = format!("# Draft findings\n\n**{banner}**\n\n{}\n\n## Provenance\n\n```json\n{prov}\n```\n", req.text);
            files::write_unique(&dir, &format!("medlens-findings-{stamp}"), "md", &|w| w.write_all(body.as_bytes()))?
        }
        "json" => {
            let j = json!({"draft": banner, "text": req.text, "provenance": req.provenance});
            let body = serde_json::to_string_pretty(&j).unwrap_or_default();
            files::write_unique(&dir, &format!("medlens-findings-{stamp}"), "json", &|w| w.write_all(body.as_bytes()))?
        }
        "sr" => {
            let input = req.provenance.inputs.first().ok_or("the provenance names no source DICOM file")?;
            crate::check_known(state, &input.path)?;
            let src = input.path.display().to_string();
            if medlens_dicom::plain::is_plain_image_file(&input.path) {
                return Err(format!("{src}: a plain image, not DICOM: export Markdown or JSON"));
            }
            let file = medlens_dicom::open(&input.path).map_err(|e| format!("{src}: {}", e.kind))?;
            let frame = Some(input.frame as u32);
            let prov = serde_json::to_string(&req.provenance).unwrap_or_default();
            let (series_uid, instance_uid) = (medlens_dicom::sr::new_uid(), medlens_dicom::sr::new_uid());
            let report = medlens_dicom::sr::DraftReport {
                text: &req.text,
                provenance: &prov,
                frame,
                date: &d,
                time: &t,
                series_uid: &series_uid,
                instance_uid: &instance_uid,
            };
            let bytes = medlens_dicom::sr::basic_text_sr_file(&file, &report).map_err(|e| format!("{src}: {e}"))?;
            files::write_unique(&dir, &format!("medlens-findings-{stamp}-sr"), "dcm", &|w| w.write_all(&bytes))?
        }
        o => return Err(format!("unknown export format `{o}` (md, json or sr)")),
    };
    Ok(SavedFile { path })
}

#[derive(Clone, Debug, Deserialize, ts_rs::TS)]
#[ts(rename = "LabelsCsvRequest")]
pub struct CsvRequest {
    dir: PathBuf,
    /// `label` and `probability` are read from each row.
    #[ts(as = "Vec<crate::wire::LabelScore>")]
    rows: Vec<HashMap<String, Value>>,
    /// The image the scores are for.
    path: String,
}

/// Writes the scores as CSV into `dir` (granted by the user), as a new file named by the time.
#[tauri::command]
pub async fn labels_export_csv(app: AppHandle, req: CsvRequest) -> Result<SavedFile, String> {
    crate::blocking("CSV export", move || export_labels_csv(&app.state::<AppState>(), req)).await
}

fn export_labels_csv(state: &AppState, req: CsvRequest) -> Result<SavedFile, String> {
    let dir = export_dir(state, &req.dir)?;
    let (d, t) = dicom_date_time_now();
    let body = labels_csv(&req.path, &req.rows)?;
    let path = files::write_unique(&dir, &format!("medlens-labels-{d}-{t}"), "csv", &|w| w.write_all(&body))?;
    Ok(SavedFile { path })
}

/// The label scores as CSV: a `path,label,probability` header, then one row per score with
/// the probability to six decimals (`NaN` when missing); fields are quoted where needed.
fn labels_csv(path: &str, rows: &[HashMap<String, Value>]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["path", "label", "probability"]).map_err(|e| e.to_string())?;
    for r in rows {
        let label = r.get("label").and_then(|v| v.as_str()).unwrap_or("");
        let prob = r.get("probability").and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        let prob = format!("{prob:.6}");
        w.write_record([path, label, prob.as_str()]).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_is_a_base64_png_of_the_pixels() {
        let b64 = &base64::engine::general_purpose::STANDARD;
        // The engine: standard alphabet (`+/`, not `-_`), padded (RFC 4648 §4).
        assert_eq!(base64::Engine::encode(b64, [0xfbu8, 0xff]), "+/8=");
        assert_eq!(base64::Engine::encode(b64, b"foobar"), "Zm9vYmFy");
        let rgb = [255, 0, 0, 0, 128, 255];
        let s = png_base64(&rgb, 2, 1);
        let png_bytes = base64::Engine::decode(b64, &s).unwrap();
        let mut r = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (2, 1, png::ColorType::Rgb));
        assert_eq!(buf, rgb);
    }

    #[test]
    fn max_tokens_is_bounded() {
        assert_eq!(check_max_tokens(1), Ok(1));
        assert_eq!(check_max_tokens(MAX_NEW_TOKENS), Ok(MAX_NEW_TOKENS));
        assert!(check_max_tokens(0).is_err());
        let e = check_max_tokens(usize::MAX).unwrap_err();
        assert!(e.contains(&usize::MAX.to_string()) && e.contains("8192"), "{e}");
    }

    /// A findings job that panics ends with the error event the panel handles (it leaves
    /// its running state on it), not with silence.
    #[test]
    fn a_panicking_findings_job_ends_with_an_error_event() {
        let r = catch_panic("findings", || -> Result<bool, String> { panic!("token id 262208 out of the vocabulary") });
        match final_event(r, true) {
            Some(FindingsEvent::Error { message, offer_cpu }) => {
                assert!(message.contains("findings failed") && message.contains("262208"), "{message}");
                assert!(!offer_cpu, "a bug is not the GPU's failure");
            }
            _ => panic!("expected an error event"),
        }
        assert!(matches!(final_event(Ok(true), true), Some(FindingsEvent::Stopped)));
        assert!(final_event(Ok(false), true).is_none());
    }

    /// A GPU failure, as a panic inside burn (CubeCL's allocation error) or as an engine
    /// error (a read-back from a lost device), ends with an error that says so in plain
    /// words and offers the CPU; on the CPU there is nothing to offer.
    #[test]
    fn a_gpu_failure_offers_the_cpu() {
        let r = catch_panic("findings", || -> Result<bool, String> { panic!("out of device memory allocating 4294967296 bytes\n  0: backtrace") });
        match final_event(r.clone(), true) {
            Some(FindingsEvent::Error { message, offer_cpu }) => {
                assert!(message.starts_with("the GPU ran out of memory (out of device memory allocating 4294967296 bytes)"), "{message}");
                assert!(offer_cpu);
            }
            _ => panic!("expected an error event"),
        }
        assert!(matches!(final_event(r, false), Some(FindingsEvent::Error { offer_cpu: false, .. })));
        let lost = Err("generation stopped after 3 tokens: device: reading back from the device: DevicePoisoned(Lost: reset)".to_string());
        match final_event(lost, true) {
            Some(FindingsEvent::Error { message, offer_cpu }) => assert!(message.starts_with("the GPU was lost") && offer_cpu, "{message}"),
            _ => panic!("expected an error event"),
        }
    }

    #[test]
    fn timestamps_rfc3339_and_dicom_da_tm() {
        use time::macros::datetime;
        let t = datetime!(2024-02-29 03:04:05.678 UTC);
        assert_eq!(rfc3339(t), "2024-02-29T03:04:05Z");
        assert_eq!(dicom_date_time(t), ("20240229".to_string(), "030405".to_string()));
        // Another offset is converted to UTC first.
        let t = datetime!(2000-01-01 0:30 +1);
        assert_eq!(rfc3339(t), "1999-12-31T23:30:00Z");
        assert_eq!(dicom_date_time(t), ("19991231".to_string(), "233000".to_string()));
        let t = datetime!(1970-01-01 0:00 UTC);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:00Z");
        assert_eq!(dicom_date_time(t), ("19700101".to_string(), "000000".to_string()));
        let s = now_rfc3339();
        assert!(s.len() == 20 && s.ends_with('Z'), "{s}");
    }

    /// A DICOM SR must reference a DICOM instance; a plain image (opened in the viewer as an
    /// in-memory Secondary Capture) has no real UIDs to reference, so SR export of it is refused
    /// before anything is written. The PNG is made by the `png` crate, not by us.
    #[test]
    fn sr_export_of_a_plain_image_is_refused_before_writing() {
        let root = std::env::temp_dir().join(format!("medlens-sr-plain-{}", std::process::id()));
        let out = root.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let img = root.join("photo.png");
        {
            let mut e = png::Encoder::new(std::fs::File::create(&img).unwrap(), 2, 1);
            e.set_color(png::ColorType::Rgb);
            e.write_header().unwrap().write_image_data(&[255, 0, 0, 0, 128, 255]).unwrap();
        }
        let state = AppState::default();
        state.grants.grant(&root).unwrap();
        let img = access::resolve(&img).unwrap();
        lock(&state.known).insert(img.clone());
        let provenance = Provenance {
            model_file: "m.gguf".into(),
            model_sha256: String::new(),
            quantization: String::new(),
            mmproj_file: None,
            mmproj_sha256: None,
            adapter: String::new(),
            template: String::new(),
            system: String::new(),
            prompt: String::new(),
            sampling: SamplingRecord::new(&SamplingParams::default(), true, 16),
            inputs: vec![InputRecord { path: img.clone(), sop_instance_uid: None, frame: 0, window: None, width: 2, height: 1 }],
            created: String::new(),
        };
        let req = ExportRequest { format: "sr".into(), dir: out.clone(), text: "draft".into(), provenance };
        let e = export_findings(&state, req).unwrap_err();
        assert!(e.contains(&img.display().to_string()) && e.contains("not DICOM"), "{e}");
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing may be written");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn labels_csv_round_trips_commas_quotes_and_newlines() {
        let path = "/data/study, \"A\"/x.dcm";
        let labels = ["plain", "effusion, left", "the \"dense\" sign", "two\nlines", "cr\r\nlf", ""];
        let rows: Vec<HashMap<String, Value>> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| HashMap::from([("label".to_string(), json!(l)), ("probability".to_string(), json!(i as f64 / 8.0))]))
            .collect();
        let body = labels_csv(path, &rows).unwrap();
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.starts_with("path,label,probability\n\"/data/study, \"\"A\"\"/x.dcm\",plain,0.000000\n"), "{text}");
        let mut r = csv::Reader::from_reader(body.as_slice());
        assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), ["path", "label", "probability"]);
        let back: Vec<Vec<String>> = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
        assert_eq!(back.len(), labels.len());
        for (i, row) in back.iter().enumerate() {
            assert_eq!(row, &[path.to_string(), labels[i].to_string(), format!("{:.6}", i as f64 / 8.0)]);
        }
    }
}
