//! DICOM for Medlens: indexing, pixel decoding, display pipeline, model input, export.
