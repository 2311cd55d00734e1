//! SigLIP encoders, MedSigLIP preprocessing and zero-shot scoring against transformers
//! goldens (`tests/engine/siglip/gen_goldens.py`). `MEDLENS_ENGINE_DEVICE=cpu|wgpu` picks the
//! device (default cpu); the tests that need no device run on either.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use medlens_engine::image::preprocess::{Preprocess, Resize};
use medlens_engine::quant::GgmlType;
use medlens_engine::serve::zeroshot::{LabelSet, Mode, ZeroShotModel};
use medlens_engine::EngineError;
use serde_json::Value;

mod common;
use common::package_dir;

fn repo() -> PathBuf {
    package_dir().join("../..").canonicalize().unwrap()
}
fn gold_dir() -> PathBuf {
    repo().join("tests/engine/siglip")
}
fn model_dir() -> PathBuf {
    gold_dir().join("tiny-siglip")
}
fn goldens() -> Value {
    serde_json::from_str(&std::fs::read_to_string(gold_dir().join("goldens.json")).unwrap()).unwrap()
}
fn device() -> (String, Device) {
    let name = std::env::var("MEDLENS_ENGINE_DEVICE").unwrap_or_else(|_| "cpu".into());
    let d = match name.as_str() {
        "cpu" => Device::flex(),
        "wgpu" => {
            medlens_engine::device::select(medlens_engine::device::DeviceChoice::Gpu)
                .expect("MEDLENS_ENGINE_DEVICE=wgpu but no usable wgpu adapter")
                .device
        }
        o => panic!("MEDLENS_ENGINE_DEVICE={o}: expected cpu or wgpu"),
    };
    (name, d)
}
fn bin(v: &Value) -> Vec<f32> {
    let b = std::fs::read(gold_dir().join(v["file"].as_str().unwrap())).unwrap();
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}
fn flat(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        o => panic!("not numeric: {o}"),
    }
}
fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
fn ids(v: &Value) -> Vec<Vec<u32>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()).collect()
}
fn png_rgb(path: &Path) -> (usize, usize, Vec<u8>) {
    let r = medlens_dicom::load_rgb(path, 0, None).unwrap();
    (r.width, r.height, r.rgb)
}

/// Model outputs (vision with head, text at its 64 positions, logits) within 1e-5 in f32, and
/// the same with weights quantized to Q8_0 on import within a looser bound.
#[test]
fn siglip_model_matches_transformers() {
    let (name, dev) = device();
    let g = goldens();
    let m = &g["model"];
    let pix = bin(&m["pixel_values"]);
    let mut zs = ZeroShotModel::load(&model_dir(), &dev, None).unwrap();
    // Tokenizer: padded to 64 like transformers.
    let texts: Vec<String> = m["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    let got_ids = zs.tokenizer.encode(&texts).unwrap();
    assert_eq!(got_ids, ids(&m["input_ids"]), "token ids");
    let chest = LabelSet::named_or_file("chest").unwrap();
    assert_eq!(zs.tokenizer.encode(&chest.prompts()).unwrap(), ids(&g["zeroshot"]["chest_input_ids"]), "chest ids");

    let hid = zs.model.vision.forward_hidden(&pix, 2).unwrap().into_data().try_into_vec::<f32>().unwrap();
    let e_hid = max_abs(&hid, &flat(&m["vision_last_hidden"]));
    let img = zs.model.image_embeds(&pix, 2).unwrap();
    let e_img = max_abs(&img.concat(), &flat(&m["image_embeds"]));
    let txt = zs.model.text_embeds(&got_ids).unwrap();
    let e_txt = max_abs(&txt.concat(), &flat(&m["text_embeds"]));
    let lg = zs.model.logits(&img, &txt);
    let e_lg = max_abs(&lg.concat(), &flat(&m["logits_per_image"]));
    println!("[{name}] f32 max abs err: vision hidden {e_hid:.2e}, image embeds {e_img:.2e}, text embeds {e_txt:.2e}, logits_per_image {e_lg:.2e}");
    assert!(e_hid < 1e-5 && e_img < 1e-5 && e_txt < 1e-5 && e_lg < 1e-5);
    // Cached text path gives the same.
    let again = zs.text_embeds(&texts).unwrap();
    assert!(max_abs(&again.concat(), &txt.concat()) < 1e-6);

    // Q8_0 weights (per 32-value blocks, 8-bit): relative weight error <= 1/254 per block.
    let q = ZeroShotModel::load(&model_dir(), &dev, Some(GgmlType::Q8_0)).unwrap();
    let qi = q.model.image_embeds(&pix, 2).unwrap();
    let qt = q.model.text_embeds(&got_ids).unwrap();
    let ql = q.model.logits(&qi, &qt);
    let (qe_i, qe_t, qe_l) = (
        max_abs(&qi.concat(), &flat(&m["image_embeds"])),
        max_abs(&qt.concat(), &flat(&m["text_embeds"])),
        max_abs(&ql.concat(), &flat(&m["logits_per_image"])),
    );
    let scale_i = flat(&m["image_embeds"]).iter().fold(0f32, |a, x| a.max(x.abs()));
    let scale_t = flat(&m["text_embeds"]).iter().fold(0f32, |a, x| a.max(x.abs()));
    println!("[{name}] Q8_0 max abs err: image embeds {qe_i:.2e} (of max {scale_i:.2}), text embeds {qe_t:.2e} (of max {scale_t:.2}), logits {qe_l:.2e}");
    // Justification: each weight is off by at most half a step of its block (max/254); through
    // 2 layers plus head the embeddings move by ~1e-2 relative; logits are scale(10) x cos.
    assert!(qe_i < 0.05 * scale_i && qe_t < 0.05 * scale_t && qe_l < 0.1, "Q8_0 error too large");
}

/// What `medlens labels` prints: probabilities of the tiny model for the two real images,
/// through preprocessing, equal to transformers'.
#[test]
fn zeroshot_probabilities_match_transformers() {
    let (name, dev) = device();
    let g = goldens();
    let mut zs = ZeroShotModel::load(&model_dir(), &dev, None).unwrap();
    for img in ["dicom", "photo"] {
        let path = repo().join(g["preprocess"][img]["path"].as_str().unwrap());
        let (w, h, rgb) = png_rgb(&path);
        let e = zs.image_embed(Some(img), w, h, &rgb).unwrap();
        let z = &g["zeroshot"][img];
        let user: Vec<&str> = z["labels"]["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let set = LabelSet::from_list(&user.join(";")).unwrap();
        let mut worst = 0f32;
        for (mode, key) in [(Mode::Sigmoid, "sigmoid"), (Mode::Softmax, "softmax")] {
            let s = zs.score(&e, &set, mode).unwrap();
            worst = worst.max(max_abs(&s, &flat(&z["labels"][key])));
        }
        let chest = LabelSet::named_or_file("chest").unwrap();
        for (mode, key) in [(Mode::Sigmoid, "sigmoid"), (Mode::Softmax, "softmax"), (Mode::Paired, "paired")] {
            let s = zs.score(&e, &chest, mode).unwrap();
            worst = worst.max(max_abs(&s, &flat(&z["chest"][key])));
        }
        println!("[{name}] {img}: zero-shot probabilities max abs err {worst:.2e}");
        assert!(worst < 1e-5, "{img}: {worst}");
    }
}

/// Pixel values vs the card's no-antialias bilinear resize (torch, float) and vs transformers'
/// `SiglipImageProcessor` (PIL bilinear), on a rendered DICOM frame and a photo.
#[test]
fn preprocessing_matches_references() {
    let g = goldens();
    let stride = g["preprocess_stride_448"].as_u64().unwrap() as usize;
    for img in ["dicom", "photo"] {
        let e = &g["preprocess"][img];
        let (w, h, rgb) = png_rgb(&repo().join(e["path"].as_str().unwrap()));
        assert_eq!([w, h], [e["size"][0].as_u64().unwrap() as usize, e["size"][1].as_u64().unwrap() as usize]);
        for size in [64usize, 448] {
            for (resize, key) in [(Resize::Card, "card"), (Resize::Pil, "pil")] {
                let mut p = Preprocess::medsiglip(size);
                p.resize = resize;
                let got = p.apply(w, h, &rgb);
                let got: Vec<f32> = if size == 448 { got.into_iter().step_by(stride).collect() } else { got };
                let want = bin(&e[format!("{key}_{size}")]);
                let err = max_abs(&got, &want);
                println!("{img} {key} {size}: max abs err {err:.2e}");
                assert!(err < 1e-5, "{img} {key} {size}: {err}");
            }
        }
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    // Empty label list.
    let e = LabelSet::from_list(" ; ;").unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let e = LabelSet::from_json("x.json", r#"{"name": "x", "labels": []}"#).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    // Label-set file that is not JSON.
    let dir = std::env::temp_dir().join(format!("medlens-siglip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let e = LabelSet::named_or_file(bad.to_str().unwrap()).unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("not valid JSON"), "{e}");
    let e = LabelSet::named_or_file("no-such-set").unwrap_err().to_string();
    assert!(e.contains("no such label set"), "{e}");

    // Model folders with a missing and a misshapen tensor.
    let src = model_dir();
    let st = std::fs::read(src.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&st[8..8 + n]).unwrap();
    let write_variant = |name: &str, edit: &dyn Fn(&mut serde_json::Map<String, Value>)| -> PathBuf {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"] {
            std::fs::copy(src.join(f), d.join(f)).unwrap();
        }
        let mut h = header.as_object().unwrap().clone();
        edit(&mut h);
        // Repack the data of the tensors left, contiguous (safetensors allows no holes).
        let mut names: Vec<String> = h.keys().filter(|k| *k != "__metadata__").cloned().collect();
        names.sort_by_key(|k| h[k]["data_offsets"][0].as_u64().unwrap());
        let mut data = Vec::new();
        for k in names {
            let o = &h[&k]["data_offsets"];
            let (a, b) = (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize);
            let start = data.len();
            data.extend_from_slice(&st[8 + n + a..8 + n + b]);
            h.get_mut(&k).unwrap()["data_offsets"] = serde_json::json!([start, data.len()]);
        }
        let hb = serde_json::to_vec(&h).unwrap();
        let mut out = (hb.len() as u64).to_le_bytes().to_vec();
        out.extend(hb);
        out.extend(data);
        std::fs::write(d.join("model.safetensors"), out).unwrap();
        d
    };
    let dev = Device::flex();
    let missing = write_variant("missing", &|h| {
        h.remove("vision_model.head.probe");
    });
    match ZeroShotModel::load(&missing, &dev, None) {
        Err(e @ EngineError::MissingTensor { .. }) => assert!(e.to_string().contains("vision_model.head.probe"), "{e}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("loaded a model without its probe"),
    }
    // Swap the shape of fc1 ([48, 32] -> [32, 48]): same bytes, wrong shape.
    let misshapen = write_variant("misshapen", &|h| {
        let t = h.get_mut("text_model.encoder.layers.0.mlp.fc1.weight").unwrap();
        t["shape"] = serde_json::json!([32, 48]);
    });
    match ZeroShotModel::load(&misshapen, &dev, None) {
        Err(e @ EngineError::Shape { .. }) => assert!(e.to_string().contains("mlp.fc1.weight"), "{e}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("loaded a misshapen tensor"),
    }
    // No tokenizer.
    let notok = dir.join("notok");
    std::fs::create_dir_all(&notok).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(f), notok.join(f)).unwrap();
    }
    let e = ZeroShotModel::load(&notok, &dev, None).err().expect("no tokenizer must fail").to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
