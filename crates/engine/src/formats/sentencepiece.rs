//! SentencePiece `spiece.model` files without the C++ library: a hand-written reader for the
//! `ModelProto` protobuf (only the fields tokenization needs). The SigLIP text tokenizer built
//! from it lives in `crate::text::siglip_tokenizer`.
//!
//! The reader validates every varint, length and wire type and returns [`SpieceError`] on
//! malformed input; it never panics. (`crate::text::gguf_vocab` is the other SentencePiece
//! helper: it builds Gemma's byte-fallback BPE from a GGUF vocabulary; SigLIP's model is a
//! unigram model.)
//!
//! Memory is bounded: a file is read only up to [`crate::formats::MAX_SIDE_FILE_BYTES`]
//! ([`ModelProto::read`]) and holds at most [`MAX_PIECES`] pieces, checked as they are read.

/// The most pieces a model may hold: four times Gemma 3's 262,144 (SigLIP's has 32,000).
pub const MAX_PIECES: usize = 1 << 20;

/// Errors from reading a `spiece.model` or building a tokenizer from it.
#[derive(Debug, thiserror::Error)]
pub enum SpieceError {
    #[error("truncated at byte {offset} while reading {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("bad varint at byte {offset}")]
    BadVarint { offset: usize },
    #[error("byte {offset}: field {field} has wire type {wire}, expected {expected}")]
    WireType { offset: usize, field: u32, wire: u8, expected: u8 },
    #[error("byte {offset}: unsupported wire type {wire} (field {field})")]
    UnsupportedWireType { offset: usize, field: u32, wire: u8 },
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("building the tokenizer: {0}")]
    Build(String),
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

type Result<T> = std::result::Result<T, SpieceError>;

/// `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_i64(v: i64) -> Option<Self> {
        Some(match v {
            1 => Self::Normal,
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => return None,
        })
    }
}

/// `TrainerSpec.ModelType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    Unigram,
    Bpe,
    Word,
    Char,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// The fields of `TrainerSpec` that tokenization needs (protobuf defaults where absent).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerSpec {
    pub model_type: ModelType,
    pub vocab_size: i32,
    pub byte_fallback: bool,
    pub unk_id: i32,
    pub bos_id: i32,
    pub eos_id: i32,
    pub pad_id: i32,
    pub unk_piece: String,
    pub bos_piece: String,
    pub eos_piece: String,
    pub pad_piece: String,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        Self {
            model_type: ModelType::Unigram,
            vocab_size: 8000,
            byte_fallback: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            unk_piece: "<unk>".into(),
            bos_piece: "<s>".into(),
            eos_piece: "</s>".into(),
            pad_piece: "<pad>".into(),
        }
    }
}

/// The fields of `NormalizerSpec` that tokenization needs (protobuf defaults where absent).
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// A parsed `spiece.model`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelProto {
    pub pieces: Vec<Piece>,
    pub trainer_spec: TrainerSpec,
    pub normalizer_spec: NormalizerSpec,
}

// ---- protobuf wire format --------------------------------------------------------------

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// A field's value as read off the wire.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the whole file (for error messages).
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn varint(&mut self, what: &'static str) -> Result<u64> {
        let start = self.at();
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(SpieceError::Truncated { offset: self.at(), what });
            };
            self.pos += 1;
            // The tenth byte may only carry the top bit of a u64.
            if i == 9 && b > 1 {
                return Err(SpieceError::BadVarint { offset: start });
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SpieceError::BadVarint { offset: start })
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let rest = self.buf.len() - self.pos;
        if n > rest {
            return Err(SpieceError::Truncated { offset: self.buf.len() + self.base, what });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next field: (field number, wire type, offset of the value, value); `None` at the end.
    fn field(&mut self) -> Result<Option<(u32, u8, usize, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key_at = self.at();
        let key = self.varint("field key")?;
        let wire = (key & 7) as u8;
        let field = key >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(SpieceError::Invalid { what: "field key", detail: format!("field number {field} at byte {key_at}") });
        }
        let field = field as u32;
        let at = self.at();
        let v = match wire {
            VARINT => Value::Varint(self.varint("varint value")?),
            I64 => {
                self.take(8, "fixed64 value")?;
                Value::Fixed64
            }
            LEN => {
                let n = self.varint("length")?;
                let n = usize::try_from(n).map_err(|_| SpieceError::Truncated { offset: at, what: "length-delimited value" })?;
                Value::Bytes(self.take(n, "length-delimited value")?)
            }
            I32 => {
                let b = self.take(4, "fixed32 value")?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            w => return Err(SpieceError::UnsupportedWireType { offset: key_at, field, wire: w }),
        };
        Ok(Some((field, wire, at, v)))
    }
}

fn expect_varint(field: u32, wire: u8, at: usize, v: &Value) -> Result<u64> {
    match v {
        Value::Varint(x) => Ok(*x),
        _ => Err(SpieceError::WireType { offset: at, field, wire, expected: VARINT }),
    }
}

fn expect_bytes<'a>(field: u32, wire: u8, at: usize, v: &Value<'a>) -> Result<&'a [u8]> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(SpieceError::WireType { offset: at, field, wire, expected: LEN }),
    }
}

fn expect_string(field: u32, wire: u8, at: usize, v: &Value, what: &'static str) -> Result<String> {
    let b = expect_bytes(field, wire, at, v)?;
    String::from_utf8(b.to_vec())
        .map_err(|e| SpieceError::Invalid { what, detail: format!("not UTF-8 at byte {at}: {e}") })
}

/// An `int32` on the wire: negative values are sign-extended 10-byte varints.
fn as_i32(x: u64, at: usize, what: &'static str) -> Result<i32> {
    i32::try_from(x as i64).map_err(|_| SpieceError::Invalid { what, detail: format!("{x} at byte {at} is not an int32") })
}

fn as_bool(x: u64) -> bool {
    x != 0
}

fn parse_piece(buf: &[u8], base: usize) -> Result<Piece> {
    let mut r = Reader::new(buf, base);
    let (mut piece, mut score, mut kind) = (None, 0.0f32, PieceType::Normal);
    while let Some((f, w, at, v)) = r.field()? {
        match f {
            1 => piece = Some(expect_string(f, w, at, &v, "piece")?),
            2 => match v {
                Value::Fixed32(bits) => score = f32::from_bits(bits),
                _ => return Err(SpieceError::WireType { offset: at, field: f, wire: w, expected: I32 }),
            },
            3 => {
                let t = expect_varint(f, w, at, &v)?;
                kind = PieceType::from_i64(t as i64)
                    .ok_or_else(|| SpieceError::Invalid { what: "piece type", detail: format!("{t} at byte {at}") })?;
            }
            _ => {}
        }
    }
    let piece = piece.ok_or_else(|| SpieceError::Invalid { what: "piece", detail: format!("piece at byte {base} has no text") })?;
    if !score.is_finite() {
        return Err(SpieceError::Invalid { what: "score", detail: format!("piece `{piece}` has score {score}") });
    }
    Ok(Piece { piece, score, kind })
}

fn parse_trainer_spec(buf: &[u8], base: usize) -> Result<TrainerSpec> {
    let mut r = Reader::new(buf, base);
    let mut t = TrainerSpec::default();
    while let Some((f, w, at, v)) = r.field()? {
        match f {
            3 => {
                let m = expect_varint(f, w, at, &v)?;
                t.model_type = match m {
                    1 => ModelType::Unigram,
                    2 => ModelType::Bpe,
                    3 => ModelType::Word,
                    4 => ModelType::Char,
                    _ => return Err(SpieceError::Invalid { what: "model_type", detail: format!("{m} at byte {at}") }),
                };
            }
            4 => t.vocab_size = as_i32(expect_varint(f, w, at, &v)?, at, "vocab_size")?,
            35 => t.byte_fallback = as_bool(expect_varint(f, w, at, &v)?),
            40 => t.unk_id = as_i32(expect_varint(f, w, at, &v)?, at, "unk_id")?,
            41 => t.bos_id = as_i32(expect_varint(f, w, at, &v)?, at, "bos_id")?,
            42 => t.eos_id = as_i32(expect_varint(f, w, at, &v)?, at, "eos_id")?,
            43 => t.pad_id = as_i32(expect_varint(f, w, at, &v)?, at, "pad_id")?,
            45 => t.unk_piece = expect_string(f, w, at, &v, "unk_piece")?,
            46 => t.bos_piece = expect_string(f, w, at, &v, "bos_piece")?,
            47 => t.eos_piece = expect_string(f, w, at, &v, "eos_piece")?,
            48 => t.pad_piece = expect_string(f, w, at, &v, "pad_piece")?,
            _ => {}
        }
    }
    Ok(t)
}

fn parse_normalizer_spec(buf: &[u8], base: usize) -> Result<NormalizerSpec> {
    let mut r = Reader::new(buf, base);
    let mut n = NormalizerSpec::default();
    while let Some((f, w, at, v)) = r.field()? {
        match f {
            1 => n.name = expect_string(f, w, at, &v, "normalizer name")?,
            2 => n.precompiled_charsmap = expect_bytes(f, w, at, &v)?.to_vec(),
            3 => n.add_dummy_prefix = as_bool(expect_varint(f, w, at, &v)?),
            4 => n.remove_extra_whitespaces = as_bool(expect_varint(f, w, at, &v)?),
            5 => n.escape_whitespaces = as_bool(expect_varint(f, w, at, &v)?),
            _ => {}
        }
    }
    Ok(n)
}

impl ModelProto {
    /// Reads and parses a `spiece.model` file, refusing one longer than
    /// [`crate::formats::MAX_SIDE_FILE_BYTES`] before reading it.
    pub fn read(path: &std::path::Path) -> Result<Self> {
        Self::parse(&crate::formats::read_bounded(path, crate::formats::MAX_SIDE_FILE_BYTES)?)
    }

    /// Parses a serialized `ModelProto` and checks it: at least one piece, no duplicate
    /// pieces, finite scores, `unk_id` naming a piece.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        if buf.is_empty() {
            return Err(SpieceError::Invalid { what: "model", detail: "empty file".into() });
        }
        let mut r = Reader::new(buf, 0);
        let mut pieces = Vec::new();
        let mut trainer_spec = None;
        let mut normalizer_spec = None;
        while let Some((f, w, at, v)) = r.field()? {
            match f {
                1 if pieces.len() >= MAX_PIECES => {
                    return Err(SpieceError::Invalid { what: "model", detail: format!("more than {MAX_PIECES} pieces") })
                }
                1 => pieces.push(parse_piece(expect_bytes(f, w, at, &v)?, at)?),
                2 => trainer_spec = Some(parse_trainer_spec(expect_bytes(f, w, at, &v)?, at)?),
                3 => normalizer_spec = Some(parse_normalizer_spec(expect_bytes(f, w, at, &v)?, at)?),
                _ => {}
            }
        }
        let m = Self {
            pieces,
            trainer_spec: trainer_spec.unwrap_or_default(),
            normalizer_spec: normalizer_spec.unwrap_or_default(),
        };
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        if self.pieces.is_empty() {
            return Err(SpieceError::Invalid { what: "model", detail: "no pieces".into() });
        }
        if self.pieces.len() > u32::MAX as usize / 2 {
            return Err(SpieceError::Invalid { what: "model", detail: "too many pieces".into() });
        }
        let mut seen = std::collections::HashSet::with_capacity(self.pieces.len());
        for p in &self.pieces {
            if p.piece.is_empty() {
                return Err(SpieceError::Invalid { what: "piece", detail: "empty piece".into() });
            }
            if !seen.insert(p.piece.as_str()) {
                return Err(SpieceError::Invalid { what: "piece", detail: format!("duplicate piece `{}`", p.piece) });
            }
        }
        let unk = self.trainer_spec.unk_id;
        if unk < 0 || unk as usize >= self.pieces.len() {
            return Err(SpieceError::Invalid { what: "unk_id", detail: format!("{unk} is not a piece id (0..{})", self.pieces.len()) });
        }
        Ok(())
    }

    pub fn piece_to_id(&self, piece: &str) -> Option<u32> {
        self.pieces.iter().position(|p| p.piece == piece).map(|i| i as u32)
    }
}

// ---- precompiled charsmap check ------------------------------------------------------------

/// `tokenizers`' `Precompiled` normalizer (crate `spm_precompiled`) walks the charsmap's
/// double-array trie without bounds checks, so a malformed charsmap would panic at encode time.
/// This walks every reachable trie node the way `common_prefix_search` does and checks every
/// index it can touch, and that every value is a char boundary of the normalized blob.
pub(crate) fn check_charsmap(map: &[u8]) -> Result<()> {
    let bad = |d: String| SpieceError::Invalid { what: "precompiled_charsmap", detail: d };
    if map.len() < 4 {
        return Err(bad(format!("{} bytes", map.len())));
    }
    let trie_size = u32::from_le_bytes([map[0], map[1], map[2], map[3]]) as usize;
    let units = trie_size / 4;
    if map.len() - 4 < units * 4 {
        return Err(bad(format!("trie of {trie_size} bytes in {} bytes", map.len())));
    }
    let array: Vec<usize> = map[4..4 + units * 4]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let blob = &map[4 + units * 4..];
    let normalized = std::str::from_utf8(blob).map_err(|e| bad(format!("normalized strings are not UTF-8: {e}")))?;
    let has_leaf = |u: usize| (u >> 8) & 1 == 1;
    let value = |u: usize| u & ((1usize << 31) - 1);
    let label = |u: usize| u & ((1usize << 31) | 0xFF);
    let offset = |u: usize| (u >> 10) << ((u & (1usize << 9)) >> 6);
    let Some(&root) = array.first() else {
        return Err(bad("empty trie".into()));
    };
    // Each node is expanded once (marked when first reached, so the stack stays within the
    // array's size); every expansion probes all 255 byte labels, as an input byte can be any.
    let mut visited = vec![false; array.len()];
    let start = offset(root);
    match visited.get_mut(start) {
        Some(v) => *v = true,
        None => return Err(bad(format!("trie root {start} out of {} units", array.len()))),
    }
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        for c in 1usize..=255 {
            let p = node ^ c;
            let Some(&unit) = array.get(p) else {
                return Err(bad(format!("trie index {p} out of {} units", array.len())));
            };
            if label(unit) != c {
                continue;
            }
            let next = p ^ offset(unit);
            if has_leaf(unit) {
                let Some(&leaf) = array.get(next) else {
                    return Err(bad(format!("trie leaf index {next} out of {} units", array.len())));
                };
                let v = value(leaf);
                if v > normalized.len() || !normalized.is_char_boundary(v) {
                    return Err(bad(format!("value {v} is not a position in the {}-byte normalized strings", normalized.len())));
                }
            }
            match visited.get_mut(next) {
                Some(true) => {}
                Some(v) => {
                    *v = true;
                    stack.push(next);
                }
                None => return Err(bad(format!("trie node {next} out of {} units", array.len()))),
            }
        }
    }
    Ok(())
}
