// Generated from the Rust types of the desktop app's commands and events by ts-rs
// (src-tauri/src/bindings.rs lists them). Do not edit: change the Rust types, then run
//   MEDLENS_UPDATE_BINDINGS=1 CARGO_TARGET_DIR=$HOME/.cache/medlens/target cargo test --locked \
//     -p medlens-dicom -p medlens-cli -p medlens-engine -p medlens-app --all-targets -- bindings
// medlens-app's test `bindings::tests::bindings_ts_is_current` fails while this file is stale.

/**
 * One volume axis as a plane uses it: which axis, and whether it runs backwards.
 */
export type AxisUse = { axis: number, reversed: boolean, };

/**
 * Where a frame's physical pixel size comes from (PS3.3 10.7.1.3 and C.8.11.4): what the
 * viewer names beside its scale bar, and what the PNG export writes with the scale.
 */
export type Calibration = "pixel_spacing" | "detector" | "magnification" | "aspect" | "uncalibrated";

/**
 * `export_png`'s reply: where the PNG went and the scale it states.
 */
export type ExportedPng = { path: string,
/**
 * The PNG's size: the frame's, or resampled to square pixels.
 */
width: number, height: number,
/**
 * mm per PNG pixel (written into the file as the `mm per pixel` text and pHYs).
 */
mm_per_pixel: number | null,
/**
 * Where the size comes from, as the viewer names it ("Pixel Spacing", …).
 */
calibration: string, };

export type FileError = { path: string, error: string, };

export type FindingsEvent = { "type": "stage", stage: "load" | "vision" | "prefill", } | { "type": "load_progress", done: number, total: number, } | { "type": "started", thumbnail_png_base64: string, prompt_tokens: number, } | { "type": "token", text: string, index: number, } | { "type": "done", text: string, tokens: number, timings: Timings, provenance: Provenance,
/**
 * Set when the draft could not be written to the audit log: the text to show.
 */
audit_error?: string, } | { "type": "stopped" } | { "type": "error", message: string,
/**
 * The GPU failed (out of memory, lost): the panel offers to run on the CPU.
 */
offer_cpu?: boolean, };

export type FindingsExportRequest = {
/**
 * Markdown, JSON with provenance, or a DICOM Basic Text SR.
 */
format: "md" | "json" | "sr", dir: string, text: string, provenance: Provenance, };

/**
 * `findings_start`: the job to pass to `findings_stop`.
 */
export type FindingsJob = { job: number, };

export type FindingsRequest = { path: string, frame: number, window?: Window | null, template: string, prompt: string, system?: string | null, sampling: Sampling, };

/**
 * A findings prompt: the system text (folded into the first user turn) and the request.
 */
export type FindingsTemplate = { name: string, system: string, prompt: string, };

export type FrameHeader = { rows: number, columns: number, samples: number,
/**
 * The stored values' type (`message` lays them out after the header).
 * `f32` only for reformats (`mpr.rs`), whose values are modality values already.
 */
kind: "u8" | "u16" | "i16" | "u32" | "i32" | "f32", bits_stored: number, slope: number, intercept: number, modality_lut: ModalityLut | null, windows: Array<NamedWindow>,
/**
 * VOI LUT Function (0028,1056), as `header_for` spells it.
 */
voi_function: "LINEAR" | "LINEAR_EXACT" | "SIGMOID", monochrome1: boolean,
/**
 * The unit of the modality values: Rescale Type (0028,1054), else a PET's Units
 * (0054,1001); empty when neither says.
 */
rescale_type: string, pixel_spacing: [number, number] | null,
/**
 * Physical pixel size and where it comes from, aspect, orientation (this frame's:
 * enhanced multi-frame files may differ per frame).
 */
geometry: PixelGeometry, presets: Array<NamedWindow>,
/**
 * Red, green, blue tables for PALETTE COLOR frames (stored values are indices).
 */
palette: [PaletteChannel, PaletteChannel, PaletteChannel] | null,
/**
 * VOI LUTs of the file (applied to modality values; output / (2^bits - 1)).
 */
voi_luts: Array<VoiLut>,
/**
 * PET: how modality values become SUVbw (`medlens_dicom::suv`); the PT presets are
 * SUV windows, so with it they are given here in the image's own units.
 */
suv: Suv | null,
/**
 * PET without an SUV: why (no weight, not decay corrected, …).
 */
suv_missing: string | null, };

/**
 * The device the models run on (`gpu_info`).
 */
export type GpuInfo = {
/**
 * The adapter's name (`cpu …` on the CPU, `none` when no device could be set up).
 */
adapter: string,
/**
 * `wgpu`, `cpu` or `none`.
 */
backend: string, memory_bytes?: number,
/**
 * Set when inference falls back to the CPU (or no device works): the text to show.
 */
notice?: string, };

export type ImportProgress = { done: number, total: number, tensor: string, };

/**
 * `models_import`: the GGUF written.
 */
export type ImportResult = { output: string, };

export type Index = { patients: Array<Patient>, errors: Array<FileError>, };

/**
 * `medlens://index-done`: the job's last part.
 */
export type IndexDone = { job: number, cancelled: boolean, index: Index, };

/**
 * `medlens://index-part`: a part of a job's index, read while the rest is being read (big
 * folders come in parts, so the first series shows early; see `indexer::part_ends`).
 */
export type IndexPart = { job: number, index: Index, };

/**
 * `medlens://index-progress`.
 */
export type IndexProgress = { job: number, done: number, total: number, };

/**
 * `medlens://index-started`.
 */
export type IndexStarted = { job: number, paths: Array<string>, };

/**
 * One image the model saw.
 */
export type InputRecord = { path: string, sop_instance_uid: string | null, frame: number,
/**
 * How grey values were mapped to 8 bits (the DICOM crate's description), if DICOM.
 */
window: WindowUsed | null, width: number, height: number, };

export type Instance = { path: string, sop_instance_uid: string, sop_class_uid: string, instance_number: number | null, image_position: [number, number, number] | null, rows: number, columns: number, frames: number, samples_per_pixel: number, bits_allocated: number, photometric: string, transfer_syntax: string, };

/**
 * How logits become scores.
 */
export type LabelMode = "sigmoid" | "softmax" | "paired";

/**
 * One label's probability.
 */
export type LabelScore = { label: string, probability: number, };

/**
 * One entry of `label_sets_list`: a built-in set or one saved in the data folder.
 */
export type LabelSet = { name: string, labels: Array<string>, builtin: boolean, };

export type LabelsCsvRequest = { dir: string,
/**
 * `label` and `probability` are read from each row.
 */
rows: Array<LabelScore>,
/**
 * The image the scores are for.
 */
path: string, };

export type LabelsRequest = { path: string, frame: number, window?: Window | null, labels: Array<string>,
/**
 * Parsed as `Mode` (`sigmoid`, `softmax` or `paired`).
 */
mode: LabelMode, };

/**
 * `labels_compute`.
 */
export type LabelsResult = { scores: Array<LabelScore>,
/**
 * Whether the image embedding came from the cache.
 */
cached: boolean, ms: number,
/**
 * Set when the scores could not be written to the audit log: the text to show.
 */
audit_error?: string, };

/**
 * Where an export went (`measurements_export`).
 */
export type MeasurementsExported = { csv: string, json: string,
/**
 * The DICOM SR (TID 1500), unless `sr_skipped` says why there is none.
 */
sr: string | null, sr_skipped: string | null, };

export type ModalityLut = { first_mapped: number, data: Array<number>, };

/**
 * One candidate, as the model manager lists it.
 */
export type ModelInfo = { kind: ModelKind, name: string, path: string,
/**
 * `models`, `hf-cache`, `ollama`, `lmstudio` or `user`.
 */
source: "models" | "hf-cache" | "ollama" | "lmstudio" | "user",
/**
 * `hf` (a folder) or `gguf`.
 */
format: "hf" | "gguf",
/**
 * `ok` or `invalid`.
 */
status: "ok" | "invalid",
/**
 * Why the model is invalid (or a note when it is ok).
 */
message?: string, bytes: number,
/**
 * What the weights take in memory once loaded, on the CPU or the GPU (the same on both):
 * a GGUF's blocks as stored, so its files' size (mmproj included); an HF folder's
 * tensors as f32, so twice its bf16 files. Activations and the KV cache come on top.
 */
weights_in_memory: number,
/**
 * The vision half of a llama.cpp / Ollama MedGemma (its mmproj GGUF), when separate.
 */
mmproj?: string, };

/**
 * Which model a candidate is.
 */
export type ModelKind = "medgemma" | "medsiglip";

/**
 * `mpr_open`'s reply: where the volume is and how each plane cuts it.
 */
export type MprInfo = {
/**
 * Columns, rows, slices of the stack.
 */
dims: [number, number, number],
/**
 * mm between voxels along the three axes (the third: the mean slice spacing).
 */
spacing: [number, number, number],
/**
 * The axes' directions in the patient (LPS).
 */
axes: [[number, number, number], [number, number, number], [number, number, number]],
/**
 * Position (LPS, mm) of voxel (0, 0, 0).
 */
origin: [number, number, number],
/**
 * Axial, coronal, sagittal.
 */
planes: Array<PlaneLayout>, };

/**
 * One slice of the series, as the viewer lists it.
 */
export type MprSlice = { path: string, frame: number, };

export type NamedWindow = { name: string, center: number, width: number, };

/**
 * One channel of a PALETTE COLOR lookup table.
 */
export type PaletteChannel = { first_mapped: number, bits: number, data: Array<number>, };

export type Patient = { id: string, name: string, studies: Array<Study>, };

/**
 * A frame's geometry on screen: physical pixel size, aspect and orientation.
 */
export type PixelGeometry = {
/**
 * mm between the centres of adjacent rows, then of adjacent columns (DICOM order:
 * vertical first), in the plane `calibration` names; `None` when nothing is in mm.
 */
spacing: [number, number] | null,
/**
 * The pixel's height and width relative to each other (vertical, horizontal): the
 * spacing, else Pixel Aspect Ratio, else 1\1. The viewer and the export draw this.
 */
aspect: [number, number], calibration: Calibration,
/**
 * The Estimated Radiographic Magnification Factor applied (`Magnification` only).
 */
magnification: number | null,
/**
 * Image Orientation (Patient) (0020,0037): the row direction (towards higher column
 * numbers) then the column direction, unit vectors in LPS; only when both are unit
 * length and orthogonal within 1e-2 (normalised here).
 */
orientation: [number, number, number, number, number, number] | null,
/**
 * Patient Orientation (0020,0020): the row and column directions as letters of
 * A/P/R/L/H/F (projection images, which have no Image Orientation (Patient)).
 */
patient_orientation: [string, string] | null, };

/**
 * The three reformats.
 */
export type Plane = "axial" | "coronal" | "sagittal";

/**
 * How a plane cuts the volume: its slice, column and row axes.
 */
export type PlaneLayout = { plane: Plane, slice: AxisUse, column: AxisUse, row: AxisUse,
/**
 * Slices, columns, rows.
 */
count: number, width: number, height: number,
/**
 * Row spacing then column spacing (DICOM order), mm.
 */
pixel_spacing: [number, number],
/**
 * mm between slices.
 */
slice_spacing: number,
/**
 * Image Orientation (Patient) of the plane: screen right, then screen down (LPS).
 */
orientation: [number, number, number, number, number, number], };

/**
 * Where a draft came from: the model files and their hashes, the prompt, the sampling, the
 * inputs, the adapter, when.
 */
export type Provenance = { model_file: string, model_sha256: string, quantization: string,
/**
 * The vision half of a llama.cpp pair, when it is a separate file.
 */
mmproj_file: string | null, mmproj_sha256: string | null, adapter: string, template: string, system: string, prompt: string, sampling: SamplingRecord, inputs: Array<InputRecord>,
/**
 * RFC 3339, UTC.
 */
created: string, };

export type Sampling = { greedy: boolean, temperature: number, top_k: number, top_p: number, min_p?: number, repetition_penalty?: number, seed: number, max_tokens: number, };

/**
 * The sampling a draft was made with.
 */
export type SamplingRecord = { greedy: boolean, temperature: number, top_k: number, top_p: number, min_p: number, repetition_penalty: number, seed: number, max_tokens: number, };

/**
 * `findings_export`, `labels_export_csv`: the file written.
 */
export type SavedFile = { path: string, };

/**
 * One measurement: its image, its points and the numbers shown for it when it was last
 * placed or edited (the statistics of an ROI need the frame's pixels, which a reader of
 * the file does not have).
 */
export type SavedMeasurement = { sop_instance_uid: string,
/**
 * 0-based frame of a multi-frame image.
 */
frame: number,
/**
 * The file it was drawn on, for the reader (the UID is what a load matches).
 */
path: string, kind: "length" | "angle" | "ellipse" | "rect" | "freehand",
/**
 * Image coordinates: x along the row, y down the column; pixel (c, r) covers
 * [c, c+1) × [r, r+1). A freehand outline's vertices, in drawing order (closed).
 */
points: Array<[number, number]>,
/**
 * The unit of lengths (and, squared, of areas): `mm`, or `px` without a calibration.
 */
unit: "mm" | "px", length: number | null,
/**
 * Degrees.
 */
angle: number | null, area: number | null, mean: number | null,
/**
 * Population standard deviation.
 */
sd: number | null, min: number | null, max: number | null,
/**
 * Pixels inside an ROI.
 */
count: number | null,
/**
 * The unit of the values (`HU`, a Rescale Type), empty when they have none.
 */
value_unit: string,
/**
 * PET with an SUV: the ROI's mean, SD, min and max in SUVbw (absent in files saved
 * before SUV was measured).
 */
suv_mean: number | null, suv_sd: number | null, suv_min: number | null, suv_max: number | null, };

export type Series = { uid: string, modality: string, number: number | null, description: string, instances: Array<Instance>, };

export type Study = { uid: string, date: string, time: string, description: string, accession: string, series: Array<Series>, };

/**
 * How modality values become SUVbw: multiply by `factor`.
 */
export type Suv = {
/**
 * g/ml per Bq/ml (1 for images already in SUV).
 */
factor: number,
/**
 * What it was computed from, for the viewer to show ("72.5 kg, 370 MBq at 10:00:00, …").
 */
basis: string, };

/**
 * One row of the tag browser.
 */
export type TagEntry = {
/**
 * `(0010,0010)`
 */
tag: string, vr: string,
/**
 * Standard keyword; empty for private and unknown tags.
 */
keyword: string,
/**
 * Printable value (truncated for long binary values).
 */
value: string,
/**
 * Nesting depth (0 for top level; items' elements are deeper).
 */
depth: number, };

/**
 * How long a findings draft took.
 */
export type Timings = {
/**
 * Time to the first token, from the request.
 */
ttft_ms: number,
/**
 * Decode speed after the first token.
 */
tokens_per_s: number, total_ms: number, };

export type VoiLut = { name: string, first_mapped: number, bits: number, data: Array<number>, };

/**
 * A window: centre and width in modality-LUT output units.
 */
export type Window = { center: number, width: number, };

/**
 * How the grey values were mapped to 8 bits.
 */
export type WindowUsed = { "kind": "window", center: number, width: number, } | { "kind": "three_windows", windows: [Window, Window, Window], } | { "kind": "voi_lut" } | { "kind": "colour" };
