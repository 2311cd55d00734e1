//! Writes lose nothing (issue 16): every output of the `medlens` binary is written to a
//! temporary file and renamed; an existing output is never replaced without `--force`; a
//! failed run leaves no partial file; `models import -o` inside the source folder is refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn package_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("Cargo.toml").is_file() {
        cwd
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

fn repo() -> PathBuf {
    package_dir().join("../..").canonicalize().unwrap()
}

fn medlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medlens"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medlens-writes-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The names in a folder, sorted (temporary files included: they start with a dot).
fn listing(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn dicom() -> PathBuf {
    repo().join("samples/mr-volume/brain_001.dcm")
}

#[test]
fn render_never_replaces_an_output_without_force_and_leaves_nothing_on_failure() {
    let d = tmp("render");
    let out = d.join("out.png");
    std::fs::write(&out, b"precious").unwrap();
    let o = medlens().arg("render").arg(dicom()).arg("-o").arg(&out).output().unwrap();
    assert!(!o.status.success(), "replaced an existing output");
    assert!(stderr(&o).contains("already exists") && stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_eq!(listing(&d), vec!["out.png"]);

    let o = medlens().arg("render").arg(dicom()).arg("-o").arg(&out).arg("--force").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&out).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(listing(&d), vec!["out.png"], "no temporary file left");

    // A failing render (input not DICOM) writes nothing, under any name.
    let junk = d.join("notes.txt");
    std::fs::write(&junk, b"not an image").unwrap();
    let o = medlens().arg("render").arg(&junk).arg("-o").arg(d.join("new.png")).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert_eq!(listing(&d), vec!["notes.txt", "out.png"]);
    std::fs::remove_dir_all(&d).ok();
}

/// Ctrl-C while an output is half written leaves nothing behind: the temporary file is
/// removed before the process ends, with the shell's exit status for SIGINT (130). The debug
/// build holds the output open for as long as `MEDLENS_TEST_HOLD_OUTPUT_MS` asks.
#[cfg(unix)]
#[test]
fn an_interrupt_leaves_no_partial_output() {
    let d = tmp("interrupt");
    let out = d.join("out.png");
    let child = medlens()
        .arg("render")
        .arg(dicom())
        .arg("-o")
        .arg(&out)
        .env("MEDLENS_TEST_HOLD_OUTPUT_MS", "60000")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !listing(&d).iter().any(|n| n.starts_with(".out.png.") && n.ends_with(".tmp")) {
        assert!(t0.elapsed().as_secs() < 30, "no temporary output appeared: {:?}", listing(&d));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let k = Command::new("kill").arg("-INT").arg(child.id().to_string()).status().unwrap();
    assert!(k.success());
    let o = child.wait_with_output().unwrap();
    assert!(t0.elapsed().as_secs() < 50, "the interrupt did not end the run");
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert!(listing(&d).is_empty(), "left behind: {:?}", listing(&d));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn embed_refuses_an_existing_output_before_loading_anything() {
    let d = tmp("embed");
    let out = d.join("e.npy");
    std::fs::write(&out, b"precious").unwrap();
    let model = repo().join("tests/engine/siglip/tiny-siglip");
    let o = medlens().arg("embed").arg("--model").arg(&model).args(["--text", "edema", "--device", "cpu", "-o"]).arg(&out).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    std::fs::remove_dir_all(&d).ok();
}

/// Copies are named by their new (random) SOP Instance UID, so a second run never meets
/// the first one's names; what can be checked is that it leaves them alone, that the report
/// names the final paths, and that no staging folder is left behind.
#[test]
fn anonymize_moves_complete_copies_into_place_and_leaves_others_alone() {
    let d = tmp("anon");
    let out = d.join("anon");
    let run = || medlens().arg("anonymize").arg(dicom()).arg("-o").arg(&out).arg("--json").output().unwrap();
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let written = PathBuf::from(v["written"][0].as_str().unwrap());
    assert_eq!(written.parent().unwrap(), out, "the report names the final path");
    assert_eq!(listing(&out).len(), 1, "one copy, no staging folder: {:?}", listing(&out));
    std::fs::write(&written, b"edited by hand").unwrap();
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    let names = listing(&out);
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".dcm")), "no staging folder left: {names:?}");
    assert_eq!(std::fs::read(&written).unwrap(), b"edited by hand");
    std::fs::remove_dir_all(&d).ok();
}

/// The tiny MedGemma HF folder, copied (its files only) so that tests may damage it.
fn tiny_medgemma(into: &Path) -> PathBuf {
    let src = repo().join("tests/engine/multimodal/tiny");
    let dst = into.join("tiny");
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    dst
}

fn import(src: &Path, out: &Path, extra: &[&str]) -> Output {
    medlens().args(["models", "import"]).arg(src).arg("-o").arg(out).args(["--quant", "q8_0", "--json"]).args(extra).output().unwrap()
}

#[test]
fn models_import_refuses_an_output_inside_the_source_folder() {
    let d = tmp("import-inside");
    let src = tiny_medgemma(&d);
    let before = listing(&src);
    for out in [src.join("tiny.gguf"), src.join("../tiny/tiny.gguf"), src.join("model.safetensors")] {
        let o = import(&src, &out, &["--force"]);
        assert!(!o.status.success(), "{} accepted", out.display());
        assert!(stderr(&o).contains("inside the model folder"), "{}", stderr(&o));
        assert_eq!(listing(&src), before, "the source folder is unchanged");
    }
    assert_eq!(std::fs::read(src.join("model.safetensors")).unwrap(), std::fs::read(repo().join("tests/engine/multimodal/tiny/model.safetensors")).unwrap());
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn models_import_never_replaces_an_output_without_force() {
    let d = tmp("import-force");
    let src = tiny_medgemma(&d);
    let outdir = d.join("out");
    std::fs::create_dir_all(&outdir).unwrap();
    let out = outdir.join("tiny.gguf");
    std::fs::write(&out, b"precious").unwrap();
    let o = import(&src, &out, &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already exists") && stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let o = import(&src, &out, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"GGUF");
    assert_eq!(listing(&outdir), vec!["tiny.gguf"], "no temporary file left");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn a_failed_import_leaves_no_partial_file() {
    let d = tmp("import-fail");
    let src = tiny_medgemma(&d);
    let outdir = d.join("out");
    std::fs::create_dir_all(&outdir).unwrap();
    let out = outdir.join("tiny.gguf");

    // A corrupted source: the weights cut short.
    let w = src.join("model.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let o = import(&src, &out, &[]);
    assert!(!o.status.success(), "imported a truncated checkpoint");
    assert!(stderr(&o).contains("model.safetensors"), "the error names the file: {}", stderr(&o));
    assert!(listing(&outdir).is_empty(), "{:?}", listing(&outdir));
    std::fs::write(&w, &bytes).unwrap();

    // A write that fails half way: a 64 KiB file size limit (the signal ignored, so the
    // write returns EFBIG) against an output of some 300 KB.
    let o = Command::new("bash")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 64; exec "$0" models import "$1" -o "$2" --quant q8_0 --json"#)
        .arg(env!("CARGO_BIN_EXE_medlens"))
        .arg(&src)
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success(), "the write did not fail: {}", stderr(&o));
    assert!(stderr(&o).contains("tiny.gguf"), "the error names the output: {}", stderr(&o));
    assert!(listing(&outdir).is_empty(), "a partial file was left: {:?}", listing(&outdir));
    std::fs::remove_dir_all(&d).ok();
}
