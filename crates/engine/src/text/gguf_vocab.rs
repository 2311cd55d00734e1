//! Building a HF `tokenizer.json` (byte-fallback BPE, Gemma style) from a SentencePiece
//! vocabulary with scores, as stored in GGUF metadata.

use serde_json::json;

/// The most merges a vocabulary may yield, and the most bytes their pieces may add up to.
/// Gemma 3's 262k pieces yield well under a million merges of a few bytes each; without a
/// bound, a GGUF of a few hundred KB (the pieces `a`, `aa`, `aaa`, ...) yields merges whose
/// `tokenizer.json` runs to gigabytes.
pub const MAX_MERGES: usize = 1 << 22;
pub const MAX_MERGE_BYTES: usize = 64 << 20;
/// The most bytes the search for merges may hash (each split of a piece looks up both halves,
/// `len` bytes): a few seconds. Gemma 3's vocabulary needs about 10 MB; a few long pieces
/// would otherwise cost time quadratic in their length.
pub const MAX_SPLIT_WORK: usize = 1 << 31;

/// `vocab`: (piece, score, ggml token type). Merges are derived from the vocabulary: every
/// split of a piece into two in-vocabulary pieces is a merge, ranked by the merged piece's
/// score (higher first), as SentencePiece BPE applies them.
pub fn tokenizer_json_from_spm(vocab: &[(String, f64, u64)]) -> Result<String, String> {
    use std::collections::HashMap;
    let ids: HashMap<&str, usize> = vocab.iter().enumerate().map(|(i, v)| (v.0.as_str(), i)).collect();
    let mut merges: Vec<(f64, usize, usize, usize)> = Vec::new();
    let mut merge_bytes = 0usize;
    let mut work = 0usize;
    for (id, (piece, score, ty)) in vocab.iter().enumerate() {
        if *ty != 1 {
            continue; // only normal pieces take part in merges
        }
        let chars: Vec<usize> = piece.char_indices().map(|(i, _)| i).skip(1).collect();
        work = work.saturating_add(piece.len().saturating_mul(chars.len()));
        if work > MAX_SPLIT_WORK {
            return Err(format!("the vocabulary's pieces are too long to search for merges (piece {id} has {} bytes)", piece.len()));
        }
        for &cut in &chars {
            let (a, b) = piece.split_at(cut);
            if let (Some(&ia), Some(&ib)) = (ids.get(a), ids.get(b)) {
                if vocab[ia].2 == 1 && vocab[ib].2 == 1 {
                    merge_bytes += piece.len();
                    if merges.len() >= MAX_MERGES || merge_bytes > MAX_MERGE_BYTES {
                        return Err(format!(
                            "the vocabulary yields more than {MAX_MERGES} merges or {MAX_MERGE_BYTES} bytes of them"
                        ));
                    }
                    merges.push((*score, id, ia, ib));
                }
            }
        }
    }
    // total_cmp, not partial_cmp: a NaN score (a damaged file) compared "equal" to every
    // other made the order inconsistent, and the standard library's sort panics on that.
    merges.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let merges: Vec<[&str; 2]> = merges.iter().map(|m| [vocab[m.2].0.as_str(), vocab[m.3].0.as_str()]).collect();
    let v: serde_json::Map<String, serde_json::Value> =
        vocab.iter().enumerate().map(|(i, p)| (p.0.clone(), json!(i))).collect();
    // Control (3) and user-defined (4) tokens are added tokens, matched before the model
    // (exactly the added tokens of Gemma 3's tokenizer.json).
    let added: Vec<serde_json::Value> = vocab
        .iter()
        .enumerate()
        .filter(|(_, p)| p.2 == 3 || p.2 == 4)
        .map(|(i, p)| json!({"id": i, "content": p.0, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false,
            "special": p.2 == 3 && !p.0.starts_with("<unused")}))
        .collect();
    let unk = vocab.iter().position(|p| p.2 == 2).map(|i| vocab[i].0.clone());
    let t = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false},
        "post_processor": null,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": v, "merges": merges}
    });
    serde_json::to_string(&t).map_err(|e| e.to_string())
}
