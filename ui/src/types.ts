// The viewer's shapes. Those the Rust command layer sends are generated from its types
// (./bindings.ts, by ts-rs: see src-tauri/src/bindings.rs) and re-exported here; the
// types below are the UI's own.
import type { FrameHeader } from "./bindings";

export type {
  FileError,
  FrameHeader,
  Index,
  IndexDone,
  IndexPart,
  IndexProgress,
  IndexStarted,
  Instance,
  MprInfo,
  MprSlice,
  Plane,
  PlaneLayout,
  ModalityLut,
  NamedWindow,
  PaletteChannel,
  Patient,
  Series,
  Study,
  TagEntry,
  VoiLut,
  Window,
} from "./bindings";

export type VoiFunction = FrameHeader["voi_function"];

export type PixelKind = FrameHeader["kind"];

export type StoredPixels = Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array;

/** One decoded `load_frame` message: the header and the stored pixel values. */
export interface Frame {
  header: FrameHeader;
  stored: StoredPixels;
}
