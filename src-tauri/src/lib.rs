//! Medlens desktop viewer: thin Tauri commands over `medlens_dicom` and, for the AI panels
//! (`ai.rs`), `medlens_engine`.
//!
//! Files are reached only through these commands, and only files under paths the user
//! dropped on the window (taken from the native drag-drop handler, never from an event a
//! page could emit), chose in a native dialog, or the bundled sample (`access.rs`); pixels
//! go to the UI as binary (`tauri::ipc::Response`), indexing runs on a worker thread and
//! reports by events (`medlens://index-*`). A panic in a worker becomes the error reply or
//! event the UI already handles (`catch_panic`), and locks recover from it (`lock`).

mod access;
mod ai;
mod audit;
#[cfg(test)]
mod bindings;
mod files;
mod frame;
mod indexer;
mod measurements;
mod mpr;
mod wire;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::menu::{MenuBuilder, MenuItemBuilder, SubmenuBuilder};
use tauri::{AppHandle, DragDropEvent, Emitter, Manager, State, WindowEvent};
use tauri_plugin_dialog::DialogExt;

/// Everything the commands share.
#[derive(Default)]
pub struct AppState {
    /// Files the indexer found under granted paths; the only files frames and tags are read from.
    known: Mutex<HashSet<PathBuf>>,
    /// Running index jobs and their cancel flags.
    jobs: Mutex<Vec<(u64, Arc<AtomicBool>)>>,
    next_job: AtomicU64,
    sample_opened: AtomicBool,
    /// The last opened file (multi-frame objects are read once, not per frame).
    last: Mutex<Option<Arc<medlens_dicom::DicomFile>>>,
    /// What the user granted: dropped and chosen paths, the data folder, the export folder.
    grants: access::Grants,
}

/// Locks `m`, recovering it if a thread panicked while holding it: every value behind our
/// locks stays consistent between statements (a job list, a cache slot), and a poisoned
/// lock would otherwise turn one failed job into a failure of every later one.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| {
        m.clear_poison();
        poisoned.into_inner()
    })
}

/// Runs a worker's `job`; a panic inside it becomes an error naming `what` (logged), so
/// the UI gets the error reply or event it already handles and leaves its running state.
pub(crate) fn catch_panic<T>(what: &str, job: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = medlens_engine::device::panic_text(&*payload).unwrap_or_else(|| "unknown panic".into());
            tracing::error!("{what}: internal error: {msg}");
            // burn cannot return an allocation the GPU refused, or a lost device, as an
            // error: those panics are the GPU's failures, said as such.
            if let Some(e) = medlens_engine::device::gpu_failure(&msg) {
                return Err(e.to_string());
            }
            Err(format!("{what} failed: internal error ({msg})"))
        }
    }
}

/// `medlens://index-started`.
#[derive(Clone, Serialize, ts_rs::TS)]
#[ts(rename = "IndexStarted")]
struct Started {
    job: u64,
    paths: Vec<PathBuf>,
}

/// `medlens://index-progress`.
#[derive(Clone, Serialize, ts_rs::TS)]
#[ts(rename = "IndexProgress")]
struct ProgressEvent {
    job: u64,
    done: usize,
    total: usize,
}

/// `medlens://index-part`: a part of a job's index, read while the rest is being read (big
/// folders come in parts, so the first series shows early; see `indexer::part_ends`).
#[derive(Clone, Serialize, ts_rs::TS)]
#[ts(rename = "IndexPart")]
struct Part {
    job: u64,
    index: indexer::Index,
}

/// `medlens://index-done`: the job's last part.
#[derive(Clone, Serialize, ts_rs::TS)]
#[ts(rename = "IndexDone")]
struct Done {
    job: u64,
    cancelled: bool,
    index: indexer::Index,
}

/// Index `paths` (granted by the user) on a worker thread, reporting by events.
fn start_index(app: &AppHandle, paths: Vec<PathBuf>) {
    if paths.is_empty() {
        return;
    }
    let state = app.state::<AppState>();
    let job = state.next_job.fetch_add(1, Ordering::Relaxed) + 1;
    let cancel = Arc::new(AtomicBool::new(false));
    lock(&state.jobs).push((job, cancel.clone()));
    let _ = app.emit("medlens://index-started", Started { job, paths: paths.clone() });
    let app = app.clone();
    std::thread::spawn(move || {
        let last = std::sync::atomic::AtomicU64::new(0);
        let progress = |p: indexer::Progress| {
            // At most ~20 progress events a second, plus the last one.
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            if p.done == p.total || now.saturating_sub(last.load(Ordering::Relaxed)) >= 50 {
                last.store(now, Ordering::Relaxed);
                let _ = app.emit("medlens://index-progress", ProgressEvent { job, done: p.done, total: p.total });
            }
        };
        let state = app.state::<AppState>();
        // Files become readable (`known`) before the UI hears of them.
        let know = |index: &indexer::Index| {
            let mut known = lock(&state.known);
            for p in &index.patients {
                for st in &p.studies {
                    for se in &st.series {
                        known.extend(se.instances.iter().map(|i| i.path.clone()));
                    }
                }
            }
        };
        let mut last_part = None;
        let finished = indexer::index_or_error(&paths, || {
            indexer::index_in_parts(&paths, &progress, &cancel, &mut |index, last| {
                know(&index);
                if last {
                    last_part = Some(index);
                } else {
                    let _ = app.emit("medlens://index-part", Part { job, index });
                }
            });
            indexer::Index::default()
        });
        // A panic mid-way: its error entries are the last part.
        let index = last_part.unwrap_or(finished);
        lock(&state.jobs).retain(|(j, _)| *j != job);
        let _ = app.emit("medlens://index-done", Done { job, cancelled: cancel.load(Ordering::Relaxed), index });
    });
}

/// Grants `paths` (the user dropped or chose them) and indexes them.
fn grant_and_index(app: &AppHandle, paths: Vec<PathBuf>) {
    let state = app.state::<AppState>();
    for p in &paths {
        if let Err(e) = state.grants.grant(p) {
            tracing::warn!("not granted: {e}");
        }
    }
    start_index(app, paths);
}

fn check_known(state: &AppState, path: &Path) -> Result<(), String> {
    if lock(&state.known).contains(path) {
        Ok(())
    } else {
        Err(format!("{}: not an opened file (drop it on the window or use File → Open first)", path.display()))
    }
}

fn open_cached(state: &AppState, path: &Path) -> Result<Arc<medlens_dicom::DicomFile>, String> {
    if let Some(f) = lock(&state.last).as_ref().filter(|f| f.path == path) {
        return Ok(f.clone());
    }
    let f = Arc::new(medlens_dicom::open(path).map_err(|e| e.kind.to_string())?);
    *lock(&state.last) = Some(f.clone());
    Ok(f)
}

/// Runs `job` on a blocking worker thread, off the main thread that draws the window (where
/// Tauri runs commands that are not async); a panic in it becomes an error naming `what`.
pub(crate) async fn blocking<T: Send + 'static>(what: &'static str, job: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tauri::async_runtime::spawn_blocking(move || catch_panic(what, job)).await.map_err(|e| format!("{what}: {e}"))?
}

/// Stored values of one frame plus its display parameters, as one binary message.
#[tauri::command]
async fn load_frame(app: AppHandle, path: PathBuf, frame: usize) -> Result<Response, String> {
    blocking("reading the frame", move || {
        let state = app.state::<AppState>();
        check_known(&state, &path)?;
        let file = open_cached(&state, &path)?;
        frame::message(&file, frame).map(Response::new)
    })
    .await
}

/// Every element of a file, for the tag browser.
#[tauri::command]
async fn tags(app: AppHandle, path: PathBuf) -> Result<Vec<medlens_dicom::TagEntry>, String> {
    blocking("reading the tags", move || {
        let state = app.state::<AppState>();
        check_known(&state, &path)?;
        Ok(open_cached(&state, &path)?.tags())
    })
    .await
}

#[tauri::command]
fn cancel_index(state: State<'_, AppState>) {
    for (_, c) in lock(&state.jobs).iter() {
        c.store(true, Ordering::Relaxed);
    }
}

/// Native open dialog (files or one folder); what the user picks is indexed.
#[tauri::command]
fn open_dialog(app: AppHandle, folder: bool) {
    let handle = app.clone();
    let dialog = app.dialog().file().set_title(if folder { "Open a folder of DICOM files" } else { "Open DICOM files" });
    if folder {
        dialog.pick_folder(move |p| {
            if let Some(p) = p.and_then(|p| p.into_path().ok()) {
                grant_and_index(&handle, vec![p]);
            }
        });
    } else {
        dialog.pick_files(move |ps| {
            let paths: Vec<PathBuf> = ps.unwrap_or_default().into_iter().filter_map(|p| p.into_path().ok()).collect();
            grant_and_index(&handle, paths);
        });
    }
}

/// Native dialog for a path an AI panel needs (a model file or folder, an export folder):
/// what the user picks is granted and returned (null if cancelled). The one way the UI
/// gets a path outside what was dropped, opened or the data folder.
#[tauri::command]
async fn choose_path(app: AppHandle, folder: bool, title: Option<String>) -> Result<Option<PathBuf>, String> {
    // The page names what the path is for, but the dialog says whose it is and what choosing
    // does: a page script cannot word a dialog that talks the user into granting a folder.
    let what = title.as_deref().unwrap_or(if folder { "a folder" } else { "a file" });
    let what: String = what.chars().filter(|c| !c.is_control()).take(60).collect();
    let title = format!("Medlens: choose {what} (Medlens may read and write what you choose)");
    let dialog = app.dialog().file().set_title(title);
    let chosen = if folder { dialog.blocking_pick_folder() } else { dialog.blocking_pick_file() };
    let Some(path) = chosen.and_then(|p| p.into_path().ok()) else { return Ok(None) };
    app.state::<AppState>().grants.grant(&path)?;
    Ok(Some(path))
}

/// Whether the app was started for the end-to-end tests (`MEDLENS_TEST_DROPS=1`), which
/// cannot make a native drop: then `test_drop` stands in for one.
fn test_drops_enabled() -> bool {
    // Never in a release build: an environment a launcher sets must not open a door a page
    // script can walk through. The e2e suite drives the debug build.
    cfg!(debug_assertions) && std::env::var("MEDLENS_TEST_DROPS").is_ok_and(|v| v == "1")
}

/// A drop for the automated tests, refused unless the person starting the app set
/// `MEDLENS_TEST_DROPS=1` (a page script can call this but cannot set the app's
/// environment). In normal use drops come only from the native handler in `run`.
#[tauri::command]
fn test_drop(app: AppHandle, paths: Vec<PathBuf>) -> Result<(), String> {
    if !test_drops_enabled() {
        return Err("test_drop: refused (only for automated tests; drop files on the window instead)".into());
    }
    grant_and_index(&app, paths);
    Ok(())
}

/// Where the bundled sample study is: `$MEDLENS_SAMPLE_DIR`, next to the executable's
/// resources, or (debug builds) in the source tree this binary was built from.
fn sample_dir(app: &AppHandle) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MEDLENS_SAMPLE_DIR") {
        return if p.is_empty() { None } else { Some(PathBuf::from(p)) };
    }
    let candidates = [
        app.path().resource_dir().ok().map(|d| d.join("samples/mr-volume")),
        // The source tree this binary was built from: for development builds only. A
        // release build run elsewhere must not open (and grant itself) whatever happens to
        // lie at its build machine's path; `scripts/run-app.sh` names the sample instead.
        #[cfg(debug_assertions)]
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/mr-volume")),
        #[cfg(not(debug_assertions))]
        None,
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir()).map(|p| p.canonicalize().unwrap_or(p))
}

/// Open the bundled sample study, once per run. Returns whether it started indexing.
#[tauri::command]
fn open_sample(app: AppHandle, state: State<'_, AppState>) -> Result<bool, String> {
    if state.sample_opened.swap(true, Ordering::SeqCst) {
        return Ok(false);
    }
    match sample_dir(&app) {
        Some(dir) => {
            grant_and_index(&app, vec![dir]);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Save an RGBA image (raw body; x-width, x-height, x-name headers) as PNG: 8-bit grey
/// when every pixel is grey, else RGB. Non-square pixels (x-aspect, x-spacing: the frame's
/// `vertical\horizontal`, x-calibration: its source) are resampled to square ones and the
/// PNG states its scale (`medlens_dicom::export::png_true_aspect`). The destination is
/// chosen in a save dialog (which asks before replacing a file), or is
/// `$MEDLENS_EXPORT_DIR/x-name` for automation (`-2`, `-3` … appended when the name is
/// taken); x-name must be a plain name. Returns the path with the scale written, or null
/// if cancelled.
#[tauri::command]
async fn export_png(app: AppHandle, request: Request<'_>) -> Result<Option<frame::ExportedPng>, String> {
    let InvokeBody::Raw(rgba) = request.body() else { return Err("export_png expects raw RGBA bytes".into()) };
    let header = |k: &str| request.headers().get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
    let width: u32 = header("x-width").and_then(|v| v.parse().ok()).ok_or("missing x-width")?;
    let height: u32 = header("x-height").and_then(|v| v.parse().ok()).ok_or("missing x-height")?;
    let name = header("x-name").map(|n| percent_decode(&n)).unwrap_or_else(|| "medlens.png".into());
    access::plain_name(&name)?;
    if rgba.len() != width as usize * height as usize * 4 {
        return Err(format!("export: {} bytes for a {width}×{height} image", rgba.len()));
    }
    let geometry = frame::export_geometry(header("x-aspect").as_deref(), header("x-spacing").as_deref(), header("x-calibration").as_deref())?;
    let rgba = rgba.clone();
    // Replacing a file only where the save dialog asked the user.
    let overwrite = std::env::var_os("MEDLENS_EXPORT_DIR").is_none();
    let dest = match std::env::var_os("MEDLENS_EXPORT_DIR") {
        Some(dir) => Some(files::free_name(Path::new(&dir), &name)),
        None => app
            .dialog()
            .file()
            .set_title("Export PNG")
            .set_file_name(&name)
            .add_filter("PNG image", &["png"])
            .blocking_save_file()
            .and_then(|p| p.into_path().ok()),
    };
    let Some(dest) = dest else { return Ok(None) };
    tauri::async_runtime::spawn_blocking(move || write_png(&dest, width, height, &rgba, &geometry, overwrite).map(Some))
        .await
        .map_err(|e| e.to_string())?
}

/// The `x-name` header, percent-encoded UTF-8 (`encodeURIComponent`): `%XX` escapes are
/// decoded, anything else (a `%` without two hex digits) is kept, invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Writes the PNG through a temporary file; an existing `dest` is replaced only if `overwrite`.
fn write_png(
    dest: &Path,
    width: u32,
    height: u32,
    rgba: &[u8],
    geometry: &medlens_dicom::export::ExportGeometry,
    overwrite: bool,
) -> Result<frame::ExportedPng, String> {
    let grey = rgba.chunks_exact(4).all(|p| p[0] == p[1] && p[1] == p[2]);
    let (channels, data): (u8, Vec<u8>) = if grey {
        (1, rgba.chunks_exact(4).map(|p| p[0]).collect())
    } else {
        (3, rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect())
    };
    let img = medlens_dicom::Image8 { width, height, channels, data };
    let (bytes, scale) = medlens_dicom::export::png_true_aspect(&img, geometry).map_err(|e| format!("{}: {e}", dest.display()))?;
    files::write_atomic(dest, overwrite, &|w| w.write_all(&bytes))?;
    Ok(frame::ExportedPng {
        path: dest.to_string_lossy().into_owned(),
        width: scale.width,
        height: scale.height,
        mm_per_pixel: scale.mm_per_pixel,
        calibration: scale.calibration.label().to_string(),
    })
}

/// Grants the app's own folders: the data folder (audit log, label sets, imported models)
/// and the export folder the person starting the app named (`$MEDLENS_EXPORT_DIR`).
fn grant_own_folders(app: &AppHandle) {
    let state = app.state::<AppState>();
    let mut own = vec![ai::data_dir(app)];
    own.extend(std::env::var_os("MEDLENS_EXPORT_DIR").map(PathBuf::from));
    for dir in own {
        if let Err(e) = std::fs::create_dir_all(&dir).map_err(|e| e.to_string()).and_then(|_| state.grants.grant(&dir).map_err(String::from)) {
            tracing::warn!("{}: {e}", dir.display());
        }
    }
}

pub fn run() {
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::default())
        .manage(ai::AiState::default())
        .manage(mpr::MprState::default())
        // A drop on the window grants its paths and indexes them. Only the native handler
        // reports drops: the `tauri://drag-drop` event the webview also receives can be
        // emitted by page script, so nothing listens to it for paths.
        .on_window_event(|window, event| {
            if let WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) = event {
                grant_and_index(window.app_handle(), paths.clone());
            }
        })
        .setup(|app| {
            grant_own_folders(app.handle());
            let file = SubmenuBuilder::new(app, "File")
                .item(&MenuItemBuilder::with_id("open-files", "Open Files…").accelerator("CmdOrCtrl+O").build(app)?)
                .item(&MenuItemBuilder::with_id("open-folder", "Open Folder…").accelerator("CmdOrCtrl+Shift+O").build(app)?)
                .separator()
                .item(&MenuItemBuilder::with_id("export-png", "Export PNG…").accelerator("CmdOrCtrl+E").build(app)?)
                .separator()
                .quit()
                .build()?;
            app.set_menu(MenuBuilder::new(app).item(&file).build()?)?;
            app.on_menu_event(|app, e| {
                let _ = app.emit("medlens://menu", e.id().0.clone());
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            load_frame,
            tags,
            cancel_index,
            open_dialog,
            open_sample,
            choose_path,
            test_drop,
            export_png,
            ai::models_scan,
            ai::models_add,
            ai::models_import,
            ai::gpu_info,
            ai::findings_templates,
            ai::findings_start,
            ai::findings_stop,
            ai::ai_use_cpu,
            ai::labels_compute,
            ai::label_sets_list,
            ai::label_sets_save,
            ai::findings_export,
            ai::labels_export_csv,
            measurements::measurements_load,
            measurements::measurements_save,
            measurements::measurements_export,
            mpr::mpr_open,
            mpr::mpr_plane,
            mpr::mpr_close
        ])
        .run(tauri::generate_context!())
        .expect("error while running Medlens");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/mr-volume")
    }

    #[test]
    fn frame_message_layout() {
        let file = medlens_dicom::open(sample().join("brain_010.dcm")).unwrap();
        let msg = frame::message(&file, 0).unwrap();
        assert_eq!(&msg[..4], b"MLF1");
        let len = u32::from_le_bytes(msg[4..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&msg[8..8 + len]).unwrap();
        let offset = (8 + len).div_ceil(8) * 8;
        assert_eq!(header["rows"], 256);
        assert_eq!(header["columns"], 256);
        assert_eq!(header["kind"], "i16");
        assert_eq!(msg.len() - offset, 256 * 256 * 2);
        assert!(msg[8 + len..offset].iter().all(|&b| b == 0));
        assert!(header["windows"].as_array().is_some());
        assert!(file.frame(1).is_err() && frame::message(&file, 1).unwrap_err().contains("out of range"));
    }

    /// A Modality LUT shorter than its descriptor is an error saying which table and why
    /// (the UI prefixes the path), not a frame displayed without the table.
    #[test]
    fn frame_message_refuses_an_unusable_modality_lut() {
        use medlens_dicom::dataset::{DataSet, Element, Value, Vr};
        let mut file = medlens_dicom::open(sample().join("brain_010.dcm")).unwrap();
        let mut item = DataSet::default();
        for (tag, vr, value) in [
            (medlens_dicom::tags::LUT_DESCRIPTOR, Vr(*b"US"), [4096u16, 0, 12].iter().flat_map(|v| v.to_le_bytes()).collect()),
            (medlens_dicom::tags::LUT_DATA, Vr(*b"OW"), vec![0u8; 8]),
        ] {
            item.elements.insert(tag, Element { tag, vr, value: Value::Bytes(value) });
        }
        let tag = medlens_dicom::tags::MODALITY_LUT_SEQUENCE;
        file.parsed.dataset.elements.insert(tag, Element { tag, vr: Vr::SQ, value: Value::Seq(vec![item]) });
        let err = frame::message(&file, 0).unwrap_err();
        assert!(err.contains("LUTData") && err.contains("4 entries where the descriptor declares 4096"), "{err}");
    }

    #[test]
    fn index_sample_sorted_and_flat() {
        let idx = indexer::index_paths(&[sample()], &|_| {}, &AtomicBool::new(false));
        assert!(idx.errors.is_empty(), "{:?}", idx.errors);
        let series = &idx.patients[0].studies[0].series[0];
        assert_eq!(series.instances.len(), 20);
        let z: Vec<f64> = series.instances.iter().map(|i| i.image_position.unwrap()[2]).collect();
        assert!(z.windows(2).all(|w| w[0] != w[1]), "distinct slice positions");
        let json = serde_json::to_value(&idx).unwrap();
        assert!(json["patients"][0]["studies"][0]["series"][0]["instances"][0]["rows"].is_number());
    }

    #[test]
    fn png_export_is_grey_for_grey_pixels() {
        let dir = std::env::temp_dir().join(format!("medlens-app-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let grey = dir.join("g.png");
        let square = frame::export_geometry(None, None, None).unwrap();
        write_png(&grey, 2, 1, &[10, 10, 10, 255, 200, 200, 200, 255], &square, false).unwrap();
        let dec = png::Decoder::new(std::fs::File::open(&grey).unwrap());
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(&buf[..2], &[10, 200]);
        let rgb = dir.join("c.png");
        write_png(&rgb, 1, 1, &[1, 2, 3, 255], &square, false).unwrap();
        let mut r = png::Decoder::new(std::fs::File::open(&rgb).unwrap()).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        assert_eq!(r.next_frame(&mut buf).unwrap().color_type, png::ColorType::Rgb);
        // Not over an existing file unless confirmed.
        let e = write_png(&rgb, 1, 1, &[9, 9, 9, 255], &square, false).unwrap_err();
        assert!(e.contains("c.png") && e.contains("already exists"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("brain%20001-f1.png"), "brain 001-f1.png");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9cho%2Fx.png"), "écho/x.png");
        assert_eq!(percent_decode("a%FFb"), "a\u{FFFD}b");
    }

    /// A worker whose job panics reports an error naming the job and the panic; a lock it
    /// poisoned is recovered, and the next job runs.
    #[test]
    fn a_panicking_job_is_an_error_and_the_next_job_runs() {
        let shared = Mutex::new(0u32);
        let e = catch_panic("findings", || -> Result<(), String> {
            let mut g = shared.lock().unwrap();
            *g += 1;
            panic!("index out of range: the len is 3 but the index is 7");
        })
        .unwrap_err();
        assert!(e.starts_with("findings failed: internal error") && e.contains("the index is 7"), "{e}");
        assert!(shared.is_poisoned());
        assert_eq!(*lock(&shared), 1);
        assert!(!shared.is_poisoned(), "recovered for good");
        let e = catch_panic("labels", || -> Result<(), String> { std::panic::panic_any(42u8) }).unwrap_err();
        assert!(e.contains("unknown panic"), "{e}");
        assert_eq!(catch_panic("labels", || Ok::<_, String>(7)), Ok(7));
        assert_eq!(catch_panic("labels", || Err::<u8, _>("no model".to_string())), Err("no model".to_string()));
    }
}
