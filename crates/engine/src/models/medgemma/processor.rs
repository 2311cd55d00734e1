//! `Gemma3Processor`: the prompt's token ids with the image soft tokens placed, and the
//! pixel values of an RGB8 image.

use crate::error::{EngineError, Result};
use crate::image::preprocess::resize_pil_bilinear;
use crate::text::chat_template::{gemma3_chat_template, Message};
use crate::text::tokenizer::Tokenizer;

/// `Gemma3Processor`'s text side: the chat template (a system text folded into the first user
/// turn), `<start_of_image>` per image before the user text, each expanded to
/// `\n\n<start_of_image>` + `mm_tokens` × `<image_soft_token>` + `<end_of_image>\n\n`, then
/// tokenized without adding specials (the template starts with `<bos>`).
pub fn prompt_ids(
    tok: &Tokenizer,
    system: Option<&str>,
    user_text: &str,
    n_images: usize,
    mm_tokens: usize,
) -> Result<Vec<u32>> {
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(Message::new("system", s));
    }
    messages.push(Message::new("user", &format!("{}{}", "<start_of_image>".repeat(n_images), user_text.trim())));
    let text = gemma3_chat_template(&tok.bos_token, &messages, true)
        .map_err(|e| EngineError::Tokenizer { file: tok.file().into(), detail: e })?;
    // Each `<start_of_image>` becomes `\n\n<start_of_image>` + soft tokens + `<end_of_image>\n\n`.
    // The three image tokens are special (added) tokens, so a tokenizer splits the text at them
    // and encodes the pieces between independently: encoding the pieces here and placing the
    // ids ourselves gives the same ids, and works with a vocabulary that lacks the soft token.
    let (boi, eoi, img) = image_ids(tok);
    let parts: Vec<&str> = text.split("<start_of_image>").collect();
    let mut ids = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let piece = match (i > 0, i + 1 < parts.len()) {
            (false, false) => part.to_string(),
            (false, true) => format!("{part}\n\n"),
            (true, false) => format!("\n\n{part}"),
            (true, true) => format!("\n\n{part}\n\n"),
        };
        if i > 0 {
            ids.push(boi);
            ids.extend(std::iter::repeat_n(img, mm_tokens));
            ids.push(eoi);
        }
        ids.extend(tok.encode(&piece, false)?);
    }
    Ok(ids)
}

/// `<start_of_image>`, `<end_of_image>` and `<image_soft_token>` ids of `tok` (Gemma 3's
/// 255999, 256000 and 262144 where the vocabulary lacks them).
pub fn image_ids(tok: &Tokenizer) -> (u32, u32, u32) {
    let id = |t: &str, d: u32| tok.token_to_id(t).unwrap_or(d);
    (id("<start_of_image>", 255_999), id("<end_of_image>", 256_000), id("<image_soft_token>", 262_144))
}

/// `Gemma3ImageProcessor` (the PIL path transformers takes without torchvision): RGB8 `w × h`
/// resized to `size × size` with PIL's bilinear filter (u8 out), then `(x / 255 − 0.5) / 0.5`,
/// CHW.
pub fn pixel_values(rgb: &[u8], w: usize, h: usize, size: usize) -> Vec<f32> {
    let r = resize_pil_bilinear(rgb, w, h, size, size);
    let mut out = vec![0f32; 3 * size * size];
    for (i, px) in r.chunks_exact(3).enumerate() {
        for c in 0..3 {
            let x = (px[c] as f64 / 255.0) as f32;
            out[c * size * size + i] = (x - 0.5) / 0.5;
        }
    }
    out
}
