//! DICOM for Medlens: reading files (including damaged and unusual ones), indexing
//! them into patient → study → series → instance, decoding pixels for every common
//! transfer syntax, the display pipeline (modality LUT, VOI, presets) to RGBA,
//! conversion to model input, PNG export and anonymized copies.
//!
//! No UI, no GPU: the app and the engine build on this crate. See ARCHITECTURE.md.

pub mod anonymize;
pub mod charset;
pub mod dataset;
pub mod dict;
pub mod display;
pub mod error;
pub mod export;
pub mod index;
pub mod model_input;
pub mod object;
pub mod pixels;
pub mod plain;
pub mod presets;
pub mod read;
pub mod measurement_sr;
pub mod sr;
pub mod syntax;
pub mod suv;
pub mod tags;
pub mod volume;
pub mod write;

pub use dataset::{DataSet, Element, Tag, Value, Vr};
pub use error::{Error, ErrorKind, Result};
pub use object::{open_header, DicomFile, TagEntry};
// DICOM, or a plain image as an in-memory Secondary Capture (`plain` module docs); the
// DICOM-only readers stay `object::open` and `object::sop_instance_uid`.
pub use plain::{open, sop_instance_uid};
pub use pixels::{Frame, ImageInfo, Pixels};
pub use syntax::TransferSyntax;
pub use display::{render, DisplayInfo, Image8, Voi, VoiFunction, Window};
pub use index::{index_paths, Index, IndexOptions};
pub use model_input::{load_rgb, ModelImage};
