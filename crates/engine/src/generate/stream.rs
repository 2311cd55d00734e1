//! Streaming detokenization: the text of the tokens generated so far, handed out as it grows.
//! Decoding the whole sequence each step (not token by token) keeps SentencePiece's spacing
//! right; a trailing incomplete UTF-8 sequence (byte-fallback pieces) is held back until its
//! last byte arrives.

use crate::text::Tokenizer;

/// Turns generated token ids into new text, one token at a time. Stop tokens are not text.
pub struct TextStream<'a> {
    tok: &'a Tokenizer,
    stop_ids: Vec<u32>,
    ids: Vec<u32>,
    shown: String,
}

impl<'a> TextStream<'a> {
    pub fn new(tok: &'a Tokenizer) -> Self {
        Self { tok, stop_ids: tok.stop_ids(), ids: Vec::new(), shown: String::new() }
    }

    /// Adds a generated token; returns the text it completes, if any.
    pub fn push(&mut self, id: u32) -> Option<String> {
        if self.stop_ids.contains(&id) {
            return None;
        }
        self.ids.push(id);
        let text = self.tok.decode(&self.ids, true).ok()?;
        if text.len() > self.shown.len() && text.starts_with(&self.shown) && !text.ends_with('\u{FFFD}') {
            let new = text[self.shown.len()..].to_string();
            self.shown = text;
            return Some(new);
        }
        None
    }

    /// The tokens pushed so far, without stop tokens.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// All the text handed out so far.
    pub fn text(&self) -> &str {
        &self.shown
    }
}
