// Shapes shared with the Rust command layer (src-tauri/src/dto.rs). Keep in sync.

export interface Instance {
  path: string;
  sop_instance_uid: string;
  instance_number: number | null;
  image_position: [number, number, number] | null;
  rows: number;
  columns: number;
  frames: number;
  samples_per_pixel: number;
  bits_allocated: number;
  photometric: string;
  transfer_syntax: string;
}

export interface Series {
  uid: string;
  modality: string;
  number: number | null;
  description: string;
  instances: Instance[];
}

export interface Study {
  uid: string;
  date: string;
  time: string;
  description: string;
  accession: string;
  series: Series[];
}

export interface Patient {
  id: string;
  name: string;
  studies: Study[];
}

export interface FileError {
  path: string;
  error: string;
}

export interface Index {
  patients: Patient[];
  errors: FileError[];
}

export interface IndexProgress {
  job: number;
  done: number;
  total: number;
}

export interface IndexDone {
  job: number;
  cancelled: boolean;
  index: Index;
}

export interface Window {
  center: number;
  width: number;
}

export interface NamedWindow extends Window {
  name: string;
}

export type VoiFunction = "LINEAR" | "LINEAR_EXACT" | "SIGMOID";

export type PixelKind = "u8" | "u16" | "i16" | "u32" | "i32";

/** Everything the UI needs to display one frame, besides its stored pixel values. */
export interface FrameHeader {
  rows: number;
  columns: number;
  samples: number;
  kind: PixelKind;
  bits_stored: number;
  slope: number;
  intercept: number;
  /** Modality LUT, if the file has one: output = lut[clamp(stored - first_mapped)]. */
  modality_lut: { first_mapped: number; data: number[] } | null;
  windows: NamedWindow[];
  voi_function: VoiFunction;
  monochrome1: boolean;
  rescale_type: string;
  pixel_spacing: [number, number] | null;
  presets: NamedWindow[];
  /** PALETTE COLOR tables (red, green, blue); stored values are indices. */
  palette?: [PaletteChannel, PaletteChannel, PaletteChannel] | null;
  /** VOI LUTs from the file, an alternative to its windows. */
  voi_luts?: VoiLut[];
}

export interface VoiLut {
  name: string;
  first_mapped: number;
  bits: number;
  data: number[];
}

export interface PaletteChannel {
  first_mapped: number;
  bits: number;
  data: number[];
}

export type StoredPixels = Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface Frame {
  header: FrameHeader;
  stored: StoredPixels;
}

export interface TagEntry {
  tag: string;
  vr: string;
  keyword: string;
  value: string;
  depth: number;
}
