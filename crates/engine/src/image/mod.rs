//! Images as the models take them: RGB8 bytes, resized and normalized per model.

pub mod preprocess;
