//! The serving floor on the tiny MedGemma: `medlens models import` round trip (logits after
//! quantizing), and discovery of llama.cpp pairs as LM Studio and Ollama keep them.

use burn::tensor::Device;
use medlens_engine::serve::load::{load_medgemma, load_medgemma_with_mmproj};

mod common;
use common::{f32s, json, max_err, multimodal_dir as dir, test_device as device, u32s};

/// The tiny HF model imported to one GGUF (Q8_0 text and vision matrices; the tiny model's
/// rows are not whole Q4_K super-blocks, so `q4_k_m` writes Q8_0 there too), loaded back
/// through the same loader: logits within a tolerance that follows from the rounding. Q8_0
/// moves each weight by up to half a step (1/254 of its block's largest magnitude, ~0.4%),
/// f16 by 2^-11 relative; across the ~20 matrices between pixels and logits those relative
/// errors add, so the bound is a fraction of the logits' own scale: 3% (Q8_0) and 0.3% (f16)
/// of max |logit|.
#[test]
fn import_round_trip_keeps_logits() {
    use medlens_engine::serve::import::{import_hf, TextQuant};
    use medlens_engine::weights::imported::ImportedGguf;
    use medlens_engine::quant::GgmlType;
    let d = device();
    let g = json(&dir().join("tiny/goldens.json"));
    let ids = u32s(&g["input"]["input_ids"]);
    let px = f32s(&dir().join("tiny/pixel_values.bin"));
    let want = f32s(&dir().join("tiny/logits.bin"));
    let tmp = std::env::temp_dir().join(format!("medlens-import-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for (q, vis) in [(TextQuant::Q8_0, GgmlType::Q8_0), (TextQuant::Q4KM, GgmlType::F16), (TextQuant::F16, GgmlType::F16)] {
        let out = tmp.join(format!("tiny-{}.gguf", q.name()));
        let mut calls = 0;
        let r = import_hf(&dir().join("tiny"), &out, q, vis, false, &mut |_, _, _| calls += 1).unwrap();
        assert_eq!(calls, r.tensors);
        let loaded = load_medgemma(&out, &d).unwrap();
        let gg = ImportedGguf::open(&out).unwrap();
        assert!(gg.carried("config.json").is_some());
        let m = &loaded.model;
        let feats = m.image_features(&px, 1).unwrap();
        let logits = m.forward_all(&ids, Some(feats), &mut m.language_model.new_cache()).unwrap();
        let e = max_err(&logits, &want);
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let rel = e / scale;
        println!("import {} (vision {}): {:?}; logits max abs err {e:.2e} = {:.2}% of max |logit| {scale:.2}", q.name(), vis.name(), r.types, rel * 100.0);
        let tol = if q == TextQuant::F16 { 3e-3 } else { 3e-2 };
        assert!(rel < tol, "{}: logits off by {e} ({rel} of the scale)", q.name());
        assert!(r.types.iter().any(|(t, _)| t != "F32"), "nothing was quantized: {:?}", r.types);
    }
    // An output that appears while the import runs (after any check a caller made) is not
    // replaced without `replace`: the import fails, the file stays, nothing partial is left.
    let out = tmp.join("appears.gguf");
    let mut first = true;
    let e = import_hf(&dir().join("tiny"), &out, TextQuant::Q8_0, GgmlType::Q8_0, false, &mut |_, _, _| {
        if std::mem::take(&mut first) {
            std::fs::write(&out, b"someone else's file").unwrap();
        }
    })
    .err()
    .expect("replaced a file that appeared during the import");
    assert!(e.to_string().contains("appears.gguf") && e.to_string().contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"someone else's file");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().contains("partial")).collect();
    assert!(left.is_empty(), "partial files left: {left:?}");
    // With `replace`, it is replaced by the whole import.
    import_hf(&dir().join("tiny"), &out, TextQuant::Q8_0, GgmlType::Q8_0, true, &mut |_, _, _| {}).unwrap();
    assert!(ImportedGguf::open(&out).is_ok());
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Discovery reads only GGUF headers and pairs a llama.cpp text model with its mmproj: LM
/// Studio's folder (both files side by side) and Ollama's store (blobs named by a manifest).
#[test]
fn discovery_pairs_llamacpp_text_and_mmproj() {
    use medlens_engine::serve::discover::{inspect, scan_ollama};
    let lc = dir().join("tiny-llamacpp");
    let tmp = std::env::temp_dir().join(format!("medlens-disc-{}", std::process::id()));
    let lms = tmp.join("lmstudio/lmstudio-community/medgemma-4b-it-GGUF");
    std::fs::create_dir_all(&lms).unwrap();
    std::fs::copy(lc.join("medgemma-tiny-q8_0.gguf"), lms.join("medgemma-4b-it-Q8_0.gguf")).unwrap();
    // Text model alone: invalid, and says why.
    let m = inspect(&lms.join("medgemma-4b-it-Q8_0.gguf"), "lmstudio").unwrap();
    assert_eq!(m.status, "invalid", "{m:?}");
    assert!(m.message.as_deref().unwrap().contains("mmproj"), "{m:?}");
    std::fs::copy(lc.join("mmproj-medgemma-tiny-f16.gguf"), lms.join("mmproj-model-f16.gguf")).unwrap();
    let m = inspect(&lms.join("medgemma-4b-it-Q8_0.gguf"), "lmstudio").unwrap();
    assert_eq!((m.status.as_str(), m.format.as_str()), ("ok", "gguf"), "{m:?}");
    assert_eq!(m.mmproj.as_deref(), Some(lms.join("mmproj-model-f16.gguf").as_path()));
    assert!(m.message.as_deref().unwrap().contains("Q8_0") && m.message.as_deref().unwrap().contains("F16"), "{m:?}");
    // The mmproj chosen as the model: invalid, pointing at the text model.
    let m = inspect(&lms.join("mmproj-model-f16.gguf"), "user").unwrap();
    assert_eq!(m.status, "invalid");
    assert!(m.message.as_deref().unwrap().contains("text model"), "{m:?}");

    // Ollama: manifests/<registry>/<ns>/<model>/<tag> names sha256 blobs.
    let ol = tmp.join("ollama");
    let man = ol.join("manifests/registry.ollama.ai/library/medgemma");
    std::fs::create_dir_all(&man).unwrap();
    std::fs::create_dir_all(ol.join("blobs")).unwrap();
    std::fs::copy(lc.join("medgemma-tiny-f32.gguf"), ol.join("blobs/sha256-aaaa")).unwrap();
    std::fs::copy(lc.join("mmproj-medgemma-tiny-f32.gguf"), ol.join("blobs/sha256-bbbb")).unwrap();
    std::fs::write(
        man.join("4b"),
        r#"{"schemaVersion":2,"layers":[
            {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:aaaa","size":1},
            {"mediaType":"application/vnd.ollama.image.projector","digest":"sha256:bbbb","size":1},
            {"mediaType":"application/vnd.ollama.image.template","digest":"sha256:cccc","size":1}]}"#,
    )
    .unwrap();
    let found = scan_ollama(&ol);
    assert_eq!(found.len(), 1, "{found:?}");
    let m = &found[0];
    assert_eq!((m.name.as_str(), m.status.as_str(), m.source.as_str()), ("medgemma:4b", "ok", "ollama"), "{m:?}");
    assert_eq!(m.mmproj.as_deref(), Some(ol.join("blobs/sha256-bbbb").as_path()));
    // And it loads from the blobs (no .gguf extension) as the app would.
    let loaded = load_medgemma_with_mmproj(&m.path, m.mmproj.as_deref(), &Device::flex()).unwrap();
    assert_eq!(loaded.model.config.mm_tokens_per_image, 16);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The model manager says what a model's weights will take before it loads: checked on the
/// GPU against the memory the loaded model really holds (the pool's bytes in use before and
/// after loading), for an HF folder (f32) and a llama.cpp pair (blocks as stored), within
/// 15%. On the CPU the HF figure is checked against the config's tensor shapes and the
/// files' size.
#[test]
fn discovery_says_what_the_weights_take_in_memory() {
    use medlens_engine::models::medgemma::Config;
    use medlens_engine::serve::discover::inspect;
    let d = device();
    let hf = dir().join("tiny");
    let cfg_text = std::fs::read_to_string(hf.join("config.json")).unwrap();
    let cfg = Config::from_hf_json(&hf.join("config.json"), &cfg_text).unwrap();
    let elems: u64 = cfg.tensor_shapes().iter().map(|(_, s)| s.iter().map(|&x| x as u64).product::<u64>()).sum();
    let m = inspect(&hf, "models").unwrap();
    assert_eq!(m.status, "ok", "{m:?}");
    // As f32: at least every tensor the config calls for, at most twice bf16 files.
    assert!(m.weights_in_memory >= 4 * elems && m.weights_in_memory <= 2 * m.bytes, "{} for {elems} elements in {} bytes", m.weights_in_memory, m.bytes);
    let lc = dir().join("tiny-llamacpp");
    let tmp = std::env::temp_dir().join(format!("medlens-mem-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::copy(lc.join("medgemma-tiny-q8_0.gguf"), tmp.join("medgemma-tiny-Q8_0.gguf")).unwrap();
    std::fs::copy(lc.join("mmproj-medgemma-tiny-f16.gguf"), tmp.join("mmproj-medgemma-tiny-f16.gguf")).unwrap();
    let pair = inspect(&tmp.join("medgemma-tiny-Q8_0.gguf"), "models").unwrap();
    assert_eq!(pair.status, "ok", "{pair:?}");
    if medlens_engine::device::is_cube(&d) {
        for (what, info) in [("HF folder", &m), ("llama.cpp pair", &pair)] {
            let in_use = || d.memory_pool_usage().map(|u| u.bytes_in_use).unwrap_or(0);
            let before = in_use();
            let loaded = load_medgemma_with_mmproj(&info.path, info.mmproj.as_deref(), &d).unwrap();
            let _ = d.sync();
            let held = in_use().saturating_sub(before);
            let ratio = held as f64 / info.weights_in_memory as f64;
            println!("{what}: said {} bytes, the loaded model holds {held} on the device ({ratio:.3})", info.weights_in_memory);
            assert!((0.85..=1.15).contains(&ratio), "{what}: said {}, holds {held}", info.weights_in_memory);
            drop(loaded);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
