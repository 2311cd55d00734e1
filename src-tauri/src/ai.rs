//! The AI commands: draft findings (MedGemma), zero-shot labels (MedSigLIP), the model
//! manager, exports and the local audit log. Thin over `medlens_engine`.
//!
//! Model work runs on worker threads, never on the UI's: findings stream through a Tauri
//! channel token by token; one findings job runs at a time (a new one cancels the old),
//! Stop sets the job's cancel flag, checked before every decode step. Everything the models
//! produce is appended to `audit.jsonl` in the app's data folder; nothing leaves the machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use medlens_engine::discover::{self, Kind, ModelInfo};
use medlens_engine::generate::{decode, GenerateOptions, GenerateOutput, StopReason};
use medlens_engine::medgemma;
use medlens_engine::sampling::SamplingParams;
use medlens_engine::zeroshot::{Label, LabelSet, Mode, ZeroShotModel};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::AppState;

/// The device every model runs on, chosen once: `MEDLENS_DEVICE` (auto, gpu, cpu), else auto.
struct DeviceInfo {
    device: medlens_engine::Device,
    name: String,
    notice: Option<String>,
}

#[derive(Default)]
pub struct AiState {
    device: OnceLock<Result<DeviceInfo, String>>,
    medgemma: Mutex<Option<(PathBuf, Arc<medgemma::Loaded>)>>,
    siglip: Mutex<Option<(PathBuf, ZeroShotModel)>>,
    user_models: Mutex<Vec<PathBuf>>,
    job: Mutex<Option<(u64, Arc<AtomicBool>)>>,
    /// Held while a findings job runs: one at a time.
    running: Mutex<()>,
    next_job: AtomicU64,
}

impl AiState {
    fn device(&self) -> Result<&DeviceInfo, String> {
        self.device
            .get_or_init(|| {
                let choice: medlens_engine::device::DeviceChoice =
                    std::env::var("MEDLENS_DEVICE").unwrap_or_else(|_| "auto".into()).parse()?;
                let s = medlens_engine::device::select(choice).map_err(|e| e.to_string())?;
                Ok(DeviceInfo { device: s.device, name: s.name, notice: s.notice })
            })
            .as_ref()
            .map_err(|e| e.clone())
    }
}

/// The app's data folder (audit log, label sets, imported models).
fn data_dir(app: &AppHandle) -> PathBuf {
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
    let user = ai.user_models.lock().unwrap().clone();
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

/// Appends one record to the audit log.
fn audit(app: &AppHandle, record: Value) {
    let dir = data_dir(app);
    let _ = std::fs::create_dir_all(&dir);
    let line = json!({"time": now_rfc3339(), "record": record}).to_string();
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("audit.jsonl")) {
        let _ = writeln!(f, "{line}");
    }
}

#[tauri::command]
pub fn models_scan(app: AppHandle, ai: State<'_, AiState>) -> Vec<ModelInfo> {
    scan(&app, &ai)
}

#[tauri::command]
pub fn models_add(ai: State<'_, AiState>, path: PathBuf) -> ModelInfo {
    let info = discover::inspect(&path, "user").unwrap_or_else(|| ModelInfo {
        kind: Kind::Medgemma,
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        path: path.clone(),
        source: "user".into(),
        format: "hf".into(),
        status: "invalid".into(),
        message: Some(format!("{}: not a model folder (no config.json) or GGUF file", path.display())),
        bytes: 0,
        mmproj: None,
    });
    let mut u = ai.user_models.lock().unwrap();
    if !u.contains(&path) {
        u.push(path);
    }
    info
}

#[derive(Clone, Serialize)]
pub struct ImportProgress {
    done: usize,
    total: usize,
    tensor: String,
}

#[tauri::command]
pub async fn models_import(app: AppHandle, path: PathBuf, quant: String, on_progress: Channel<ImportProgress>) -> Result<Value, String> {
    let q: medlens_engine::import::TextQuant = quant.parse()?;
    let out_dir = data_dir(&app).join("models");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let out = out_dir.join(format!("{name}-{}.gguf", q.name()));
    tauri::async_runtime::spawn_blocking(move || {
        medlens_engine::import::import_hf(&path, &out, q, medlens_engine::quant::GgmlType::F16, &mut |done, total, t| {
            let _ = on_progress.send(ImportProgress { done, total, tensor: t.to_string() });
        })
        .map(|r| json!({"output": r.output}))
        .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

#[tauri::command]
pub fn gpu_info(ai: State<'_, AiState>) -> Value {
    match ai.device() {
        Ok(d) => json!({
            "adapter": d.name,
            "backend": if d.name.starts_with("cpu") { "cpu" } else { "wgpu" },
            "memory_bytes": d.device.memory_pool_usage().map(|u| u.bytes_reserved),
            "notice": d.notice,
        }),
        Err(e) => json!({"adapter": "none", "backend": "none", "notice": e}),
    }
}

#[tauri::command]
pub fn findings_templates() -> Vec<medgemma::Template> {
    medgemma::templates()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WindowArg {
    center: f64,
    width: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SamplingArg {
    greedy: bool,
    temperature: f32,
    top_k: usize,
    top_p: f32,
    seed: u64,
    max_tokens: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct FindingsRequest {
    path: PathBuf,
    frame: usize,
    window: Option<WindowArg>,
    template: String,
    prompt: String,
    system: Option<String>,
    sampling: SamplingArg,
}

#[derive(Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FindingsEvent {
    Started { thumbnail_png_base64: String, prompt_tokens: usize },
    Token { text: String, index: usize },
    Done { text: String, tokens: usize, timings: Value, provenance: Value },
    Stopped,
    Error { message: String },
}

fn window_of(w: &Option<WindowArg>) -> Option<medlens_dicom::Window> {
    w.as_ref().map(|w| medlens_dicom::Window { center: w.center, width: w.width })
}

/// Starts a findings job on the image the viewer shows; events stream on `on_event`.
#[tauri::command]
pub fn findings_start(app: AppHandle, state: State<'_, AppState>, ai: State<'_, AiState>, req: FindingsRequest, on_event: Channel<FindingsEvent>) -> Result<Value, String> {
    crate::check_known(&state, &req.path)?;
    let job = ai.next_job.fetch_add(1, Ordering::Relaxed) + 1;
    let cancel = Arc::new(AtomicBool::new(false));
    if let Some((_, old)) = ai.job.lock().unwrap().replace((job, cancel.clone())) {
        old.store(true, Ordering::Relaxed); // a new request supersedes the running one
    }
    let app2 = app.clone();
    std::thread::spawn(move || {
        let ai = app2.state::<AiState>();
        let _one = ai.running.lock().unwrap_or_else(|p| p.into_inner());
        let r = if cancel.load(Ordering::Relaxed) { Ok(true) } else { run_findings(&app2, &ai, &req, &cancel, &on_event) };
        match r {
            Ok(true) => {
                let _ = on_event.send(FindingsEvent::Stopped);
            }
            Ok(false) => {}
            Err(message) => {
                let _ = on_event.send(FindingsEvent::Error { message });
            }
        }
        let mut j = ai.job.lock().unwrap();
        if j.as_ref().is_some_and(|(id, _)| *id == job) {
            *j = None;
        }
    });
    Ok(json!({"job": job}))
}

#[tauri::command]
pub fn findings_stop(ai: State<'_, AiState>, job: u64) {
    if let Some((id, c)) = ai.job.lock().unwrap().as_ref() {
        if *id == job {
            c.store(true, Ordering::Relaxed);
        }
    }
}

/// Loads (once) and returns the MedGemma model.
fn medgemma_model(app: &AppHandle, ai: &AiState) -> Result<Arc<medgemma::Loaded>, String> {
    let info = first_ok(&scan(app, ai), Kind::Medgemma)?;
    let mut slot = ai.medgemma.lock().unwrap();
    if let Some((p, m)) = slot.as_ref() {
        if *p == info.path {
            return Ok(m.clone());
        }
    }
    let d = ai.device()?;
    let loaded = Arc::new(medgemma::load_with_mmproj(&info.path, info.mmproj.as_deref(), &d.device).map_err(|e| e.to_string())?);
    *slot = Some((info.path, loaded.clone()));
    Ok(loaded)
}

/// Returns Ok(true) when stopped, Ok(false) when done (events sent).
fn run_findings(app: &AppHandle, ai: &AiState, req: &FindingsRequest, cancel: &AtomicBool, tx: &Channel<FindingsEvent>) -> Result<bool, String> {
    let t0 = Instant::now();
    let img = medlens_engine::image_input::load_rgb(&req.path, req.frame, window_of(&req.window)).map_err(|e| e.to_string())?;
    let loaded = medgemma_model(app, ai)?;
    let d = ai.device()?;
    let m = &loaded.model;
    let tok = &loaded.tokenizer;
    let system = req.system.clone().filter(|s| !s.trim().is_empty());
    let ids = medgemma::prompt_ids(tok, system.as_deref(), &req.prompt, 1, m.config.mm_tokens_per_image).map_err(|e| e.to_string())?;
    let _ = tx.send(FindingsEvent::Started { thumbnail_png_base64: thumbnail(&img), prompt_tokens: ids.len() });
    if cancel.load(Ordering::Relaxed) {
        return Ok(true);
    }
    let px = medgemma::pixel_values(&img.data, img.width, img.height, m.config.vision.image_size);
    let feats = m.image_features(&px, 1).map_err(|e| e.to_string())?;
    let mut cache = m.language_model.new_cache();
    let logits = m.prefill_logits(&ids, Some(feats), &mut cache).map_err(|e| e.to_string())?;
    let s = &req.sampling;
    let sampling = if s.greedy {
        SamplingParams::greedy()
    } else {
        SamplingParams { temperature: s.temperature, top_k: s.top_k, top_p: s.top_p, seed: s.seed, ..SamplingParams::greedy() }
    };
    let opts = GenerateOptions { max_tokens: s.max_tokens.max(1), sampling, stop_ids: tok.stop_ids(), top_logprobs: 0 };
    let out0 = GenerateOutput { prompt_ids: ids.clone(), tokens: Vec::new(), error: None, logprobs: Vec::new(), stop: StopReason::MaxTokens, prefill_s: 0.0, decode_s: 0.0 };
    let stops = tok.stop_ids();
    let mut body: Vec<u32> = Vec::new();
    let mut shown = String::new();
    let mut ttft = None;
    let out = decode(&m.language_model, logits, &mut cache, out0, &opts, cancel, |t| {
        ttft.get_or_insert(t0.elapsed().as_secs_f64() * 1000.0);
        if !stops.contains(&t) {
            body.push(t);
            if let Ok(text) = tok.decode(&body, true) {
                if text.starts_with(&shown) && !text.ends_with('\u{FFFD}') && text.len() > shown.len() {
                    let _ = tx.send(FindingsEvent::Token { text: text[shown.len()..].to_string(), index: body.len() - 1 });
                    shown = text;
                }
            }
        }
        !cancel.load(Ordering::Relaxed)
    });
    if out.stop == StopReason::Cancelled {
        return Ok(true);
    }
    if out.stop == StopReason::Failed {
        return Err(format!("generation stopped after {} tokens: {}", out.tokens.len(), out.error.unwrap_or_default()));
    }
    let text = tok.decode(&body, true).map_err(|e| e.to_string())?;
    let total_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let n = out.tokens.len() as f64;
    let sop = medlens_dicom::open_header(&req.path).ok().and_then(|f| {
        f.dataset().string(medlens_dicom::tags::SOP_INSTANCE_UID).or_else(|| f.meta().string(medlens_dicom::tags::MEDIA_STORAGE_SOP_INSTANCE_UID))
    });
    let cache_dir = data_dir(app);
    let provenance = json!({
        "model_file": loaded.file,
        "model_sha256": medgemma::file_sha256(&loaded.file, Some(&cache_dir)).unwrap_or_default(),
        "quantization": loaded.quantization,
        "adapter": d.name,
        "template": req.template,
        "prompt": req.prompt,
        "system": system,
        "sampling": req.sampling,
        "sop_instance_uid": sop,
        "source_path": req.path,
        "frame": req.frame,
        "window": req.window,
        "created": now_rfc3339(),
    });
    let timings = json!({
        "ttft_ms": ttft.unwrap_or(total_ms),
        "tokens_per_s": (n - 1.0).max(0.0) / out.decode_s.max(1e-9),
        "total_ms": total_ms,
    });
    audit(app, json!({"kind": "findings", "provenance": provenance, "text": text, "timings": timings}));
    let _ = tx.send(FindingsEvent::Done { text, tokens: out.tokens.len(), timings, provenance });
    Ok(false)
}

/// A PNG (base64) of the exact pixels sent, at most 256 px wide.
fn thumbnail(img: &medlens_engine::image_input::Rgb8) -> String {
    let scale = (256.0 / img.width.max(img.height) as f64).min(1.0);
    let (w, h) = (((img.width as f64 * scale).round() as usize).max(1), ((img.height as f64 * scale).round() as usize).max(1));
    let rgb = medlens_engine::preprocess::resize_pil_bilinear(&img.data, img.width, img.height, w, h);
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut wr) = enc.write_header() {
            let _ = wr.write_image_data(&rgb);
        }
    }
    base64(&png_bytes)
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        s.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    s
}

/// UTC now as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let (d, t) = now_parts();
    format!("{}-{}-{}T{}:{}:{}Z", &d[..4], &d[4..6], &d[6..], &t[..2], &t[2..4], &t[4..])
}

/// UTC now as DICOM `YYYYMMDD` and `HHMMSS`.
fn now_parts() -> (String, String) {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (format!("{year:04}{month:02}{day:02}"), format!("{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60))
}

#[derive(Clone, Debug, Deserialize)]
pub struct LabelsRequest {
    path: PathBuf,
    frame: usize,
    window: Option<WindowArg>,
    labels: Vec<String>,
    mode: String,
}

/// Zero-shot label probabilities for the image the viewer shows (embeddings cached per
/// image, frame and window, and per label prompt).
#[tauri::command]
pub async fn labels_compute(app: AppHandle, req: LabelsRequest) -> Result<Value, String> {
    {
        let state = app.state::<AppState>();
        crate::check_known(&state, &req.path)?;
    }
    tauri::async_runtime::spawn_blocking(move || {
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
        let mut slot = ai.siglip.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|(p, _)| *p != info.path) {
            let m = ZeroShotModel::load(&info.path, &d.device, None).map_err(|e| e.to_string())?;
            *slot = Some((info.path.clone(), m));
        }
        let (_, model) = slot.as_mut().ok_or("model not loaded")?;
        let key = format!("{}#{}#{:?}", req.path.display(), req.frame, req.window.as_ref().map(|w| (w.center, w.width)));
        let cached = model.has_image(&key);
        let img = medlens_engine::image_input::load_rgb(&req.path, req.frame, window_of(&req.window)).map_err(|e| e.to_string())?;
        let e = model.image_embed(Some(&key), img.width, img.height, &img.data).map_err(|e| e.to_string())?;
        let p = model.score(&e, &set, mode).map_err(|e| e.to_string())?;
        let scores: Vec<Value> = set.labels.iter().zip(&p).map(|(l, p)| json!({"label": l.label, "probability": p})).collect();
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        audit(&app, json!({"kind": "labels", "model": info.path, "path": req.path, "frame": req.frame, "window": req.window, "mode": req.mode, "scores": scores}));
        Ok(json!({"scores": scores, "cached": cached, "ms": ms}))
    })
    .await
    .map_err(|e| e.to_string())?
}

fn label_sets_dir(app: &AppHandle) -> PathBuf {
    data_dir(app).join("label-sets")
}

#[tauri::command]
pub fn label_sets_list(app: AppHandle) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, text) in medlens_engine::zeroshot::BUILTIN {
        if let Ok(s) = LabelSet::from_json(name, text) {
            out.push(json!({"name": name, "labels": s.labels.iter().map(|l| l.label.clone()).collect::<Vec<_>>(), "builtin": true}));
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(label_sets_dir(&app)).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            if let Ok(s) = LabelSet::from_json(&f.display().to_string(), &text) {
                out.push(json!({"name": s.name, "labels": s.labels.iter().map(|l| l.label.clone()).collect::<Vec<_>>(), "builtin": false}));
            }
        }
    }
    out
}

#[tauri::command]
pub fn label_sets_save(app: AppHandle, name: String, labels: Vec<String>) -> Result<(), String> {
    let clean: String = name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if clean.is_empty() {
        return Err("a label set needs a name".into());
    }
    let labels: Vec<Label> = labels.into_iter().filter(|l| !l.trim().is_empty()).map(|l| Label { label: l.trim().into(), prompt: None, negative: None }).collect();
    if labels.is_empty() {
        return Err("the label list is empty".into());
    }
    let set = LabelSet { name: name.clone(), description: String::new(), labels };
    let dir = label_sets_dir(&app);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let f = dir.join(format!("{clean}.json"));
    std::fs::write(&f, serde_json::to_string_pretty(&set).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", f.display()))
}

#[derive(Clone, Debug, Deserialize)]
pub struct ExportRequest {
    format: String,
    dir: PathBuf,
    text: String,
    provenance: Value,
}

/// Writes the draft as Markdown, JSON with provenance, or a DICOM Basic Text SR that
/// references the source instance, into `dir`.
#[tauri::command]
pub fn findings_export(req: ExportRequest) -> Result<Value, String> {
    std::fs::create_dir_all(&req.dir).map_err(|e| format!("{}: {e}", req.dir.display()))?;
    let (d, t) = now_parts();
    let stamp = format!("{d}-{t}");
    let banner = "DRAFT: research use only, not for diagnosis";
    let path = match req.format.as_str() {
        "md" => {
            let p = req.dir.join(format!("medlens-findings-{stamp}.md"));
            let prov = serde_json::to_string_pretty(&req.provenance).unwrap_or_default();
            std::fs::write(&p, format!("# Draft findings\n\n**{banner}**\n\n{}\n\n## Provenance\n\n```json\n{prov}\n```\n", req.text))
                .map_err(|e| format!("{}: {e}", p.display()))?;
            p
        }
        "json" => {
            let p = req.dir.join(format!("medlens-findings-{stamp}.json"));
            let j = json!({"draft": banner, "text": req.text, "provenance": req.provenance});
            std::fs::write(&p, serde_json::to_string_pretty(&j).unwrap_or_default()).map_err(|e| format!("{}: {e}", p.display()))?;
            p
        }
        "sr" => {
            let src = req.provenance.get("source_path").and_then(|v| v.as_str()).ok_or("the provenance names no source DICOM file")?;
            let file = medlens_dicom::open(src).map_err(|e| format!("{src}: {}", e.kind))?;
            let frame = req.provenance.get("frame").and_then(|v| v.as_u64()).map(|f| f as u32);
            let prov = req.provenance.to_string();
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
            let p = req.dir.join(format!("medlens-findings-{stamp}-sr.dcm"));
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            p
        }
        o => return Err(format!("unknown export format `{o}` (md, json or sr)")),
    };
    Ok(json!({"path": path}))
}

#[derive(Clone, Debug, Deserialize)]
pub struct CsvRequest {
    dir: PathBuf,
    rows: Vec<HashMap<String, Value>>,
    path: String,
}

#[tauri::command]
pub fn labels_export_csv(req: CsvRequest) -> Result<Value, String> {
    std::fs::create_dir_all(&req.dir).map_err(|e| format!("{}: {e}", req.dir.display()))?;
    let (d, t) = now_parts();
    let p = req.dir.join(format!("medlens-labels-{d}-{t}.csv"));
    let mut s = String::from("path,label,probability\n");
    let q = |x: &str| if x.contains([',', '"', '\n']) { format!("\"{}\"", x.replace('"', "\"\"")) } else { x.to_string() };
    for r in &req.rows {
        let label = r.get("label").and_then(|v| v.as_str()).unwrap_or("");
        let prob = r.get("probability").and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        s.push_str(&format!("{},{},{prob:.6}\n", q(&req.path), q(label)));
    }
    std::fs::write(&p, s).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(json!({"path": p}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn civil_date_is_iso() {
        let s = now_rfc3339();
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.starts_with("20") && s.ends_with('Z') && &s[4..5] == "-" && &s[10..11] == "T", "{s}");
    }
}
