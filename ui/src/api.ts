// The only place the UI talks to the Rust side. Pixels arrive as binary (ArrayBuffer).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { ExportedPng, MeasurementsExported, PixelGeometry, SavedMeasurement } from "./bindings";
import type { Frame, IndexDone, IndexPart, IndexProgress, IndexStarted, MprInfo, MprSlice, Plane, TagEntry } from "./types";
import { decodeFrameMessage } from "./windowing";

export const EVENTS = {
  started: "medlens://index-started",
  progress: "medlens://index-progress",
  part: "medlens://index-part",
  done: "medlens://index-done",
  menu: "medlens://menu",
} as const;

export async function loadFrame(path: string, frame: number): Promise<Frame> {
  const buf = await invoke<ArrayBuffer>("load_frame", { path, frame });
  return decodeFrameMessage(buf);
}

export function tags(path: string): Promise<TagEntry[]> {
  return invoke<TagEntry[]>("tags", { path });
}

/** Ask the native side to show an open dialog; indexing of the choice is reported by events. */
export function openDialog(folder: boolean): Promise<void> {
  return invoke("open_dialog", { folder });
}

export function openSample(): Promise<boolean> {
  return invoke<boolean>("open_sample");
}

export function cancelIndex(): Promise<void> {
  return invoke("cancel_index");
}

/** Save RGBA pixels as PNG (native save dialog, or the automation export folder); non-square
 *  pixels are resampled to their true aspect and the PNG states its scale. Returns where it
 *  went and that scale, or null if cancelled. */
export function exportPng(rgba: Uint8Array, width: number, height: number, name: string, geometry: PixelGeometry): Promise<ExportedPng | null> {
  const headers: Record<string, string> = {
    "x-width": String(width),
    "x-height": String(height),
    "x-name": encodeURIComponent(name),
    "x-aspect": geometry.aspect.join("\\"),
    "x-calibration": geometry.calibration,
  };
  if (geometry.spacing) headers["x-spacing"] = geometry.spacing.join("\\");
  return invoke<ExportedPng | null>("export_png", rgba, { headers });
}

/** The study's measurements as saved in the data folder (none when it has none). */
export function measurementsLoad(studyUid: string): Promise<SavedMeasurement[]> {
  return invoke<SavedMeasurement[]>("measurements_load", { studyUid });
}

/** Replace the study's saved measurements (all of them; none removes the file). */
export function measurementsSave(studyUid: string, measurements: SavedMeasurement[]): Promise<void> {
  return invoke("measurements_save", { studyUid, measurements });
}

/** Export the study's measurements as CSV and JSON to a folder chosen in a dialog (or the
 *  automation export folder); null if cancelled. */
export function measurementsExport(studyUid: string, measurements: SavedMeasurement[]): Promise<MeasurementsExported | null> {
  return invoke<MeasurementsExported | null>("measurements_export", { studyUid, measurements });
}

/** Stack the series' slices into a volume for MPR (an error says why they are not one). */
export function mprOpen(slices: MprSlice[]): Promise<MprInfo> {
  return invoke<MprInfo>("mpr_open", { slices });
}

/** Slice `index` of a reformat, a maximum intensity projection over `slab` slices. */
export async function mprPlane(plane: Plane, index: number, slab: number): Promise<Frame> {
  return decodeFrameMessage(await invoke<ArrayBuffer>("mpr_plane", { plane, index, slab }));
}

/** Free the volume. */
export function mprClose(): Promise<void> {
  return invoke("mpr_close");
}

export function onIndexStarted(f: (e: IndexStarted) => void): Promise<UnlistenFn> {
  return listen<IndexStarted>(EVENTS.started, (e) => f(e.payload));
}
export function onIndexProgress(f: (e: IndexProgress) => void): Promise<UnlistenFn> {
  return listen<IndexProgress>(EVENTS.progress, (e) => f(e.payload));
}
/** A part of a big job's index, read while the rest is being read. */
export function onIndexPart(f: (e: IndexPart) => void): Promise<UnlistenFn> {
  return listen<IndexPart>(EVENTS.part, (e) => f(e.payload));
}
export function onIndexDone(f: (e: IndexDone) => void): Promise<UnlistenFn> {
  return listen<IndexDone>(EVENTS.done, (e) => f(e.payload));
}
export function onMenu(f: (id: string) => void): Promise<UnlistenFn> {
  return listen<string>(EVENTS.menu, (e) => f(e.payload));
}

/** Files dragged over the window (enter: true) or leaving / dropped (false). */
export async function onDragHover(f: (over: boolean) => void): Promise<void> {
  await listen("tauri://drag-enter", () => f(true));
  await listen("tauri://drag-leave", () => f(false));
  await listen("tauri://drag-drop", () => f(false));
}
