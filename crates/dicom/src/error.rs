//! Errors. Every error that can reach a user names the file and the reason.

use std::path::PathBuf;

/// An error about one file: where, and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct Error {
    pub path: PathBuf,
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(path: impl Into<PathBuf>, kind: ErrorKind) -> Self {
        Error { path: path.into(), kind }
    }
}

/// What went wrong, independent of the file it happened in.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a DICOM file (no DICM preamble and no recognisable data set)")]
    NotDicom,
    #[error("malformed data at byte {offset}: {reason}")]
    Malformed { offset: u64, reason: String },
    #[error("the file ends early, at byte {offset}, inside {what}")]
    Truncated { offset: u64, what: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("no pixel data in this object")]
    NoPixelData,
    #[error("missing or invalid attribute {keyword} {tag}: {reason}")]
    Attribute { keyword: &'static str, tag: &'static str, reason: String },
    #[error("frame {frame} is out of range: the object has {frames} frame(s)")]
    FrameOutOfRange { frame: usize, frames: usize },
    #[error("{codec} decoding failed: {reason}")]
    Codec { codec: &'static str, reason: String },
    #[error("pixel data is shorter than expected: {actual} bytes where {expected} are needed")]
    ShortPixelData { expected: usize, actual: usize },
    #[error("cannot write output: {0}")]
    Output(String),
}

/// Result of an operation that knows its file.
pub type Result<T> = std::result::Result<T, Error>;

/// Result of a file-independent step; the caller adds the path with [`WithPath`].
pub type KindResult<T> = std::result::Result<T, ErrorKind>;

/// Attaches a path to a file-independent error.
pub trait WithPath<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> WithPath<T> for KindResult<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|kind| Error::new(path, kind))
    }
}
