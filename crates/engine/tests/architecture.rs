//! The engine's floors (see `src/lib.rs`): every `crate::` path in a module must name a module
//! of a lower floor, or its own. This reads the sources, so an upward arrow or a circle fails
//! here before it reaches review. Also: the library never depends on the DICOM crate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod common;
use common::package_dir;

/// Floors, lowest first; modules on one floor may not import each other.
const FLOORS: &[&[&str]] = &[
    &["error", "device", "profile"],
    &["quant"],
    &["formats"],
    &["kernels"],
    &["weights"],
    &["nn", "text", "image"],
    &["models"],
    &["generate"],
    &["serve"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`src/nn/linear.rs` → `nn`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules named by `crate::` paths in `text` (comments skipped), including
/// the members of a `use crate::{a, b::c}` group.
fn crate_edges(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn engine_modules_import_only_from_lower_floors() {
    let src = package_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in &files {
        let from = module_of(&src, f);
        if from == "lib" {
            continue;
        }
        let Some(floor) = floor_of(&from) else {
            bad.push(format!("{}: module `{from}` is on no floor (add it to FLOORS and lib.rs)", f.display()));
            continue;
        };
        for to in crate_edges(&std::fs::read_to_string(f).unwrap()) {
            checked += 1;
            if to == from || ["Result", "EngineError", "GgufError", "Device"].contains(&to.as_str()) {
                continue;
            }
            match floor_of(&to) {
                Some(t) if t < floor => {}
                Some(t) => bad.push(format!("{}: `{from}` (floor {floor}) uses `crate::{to}` (floor {t})", f.display())),
                None => bad.push(format!("{}: uses `crate::{to}`, a module on no floor", f.display())),
            }
        }
    }
    assert!(checked > 50, "only {checked} crate:: edges found: is the parser reading the sources?");
    assert!(bad.is_empty(), "edges that run up or across a floor:\n{}", bad.join("\n"));
}

#[test]
fn the_edge_parser_sees_plain_and_grouped_paths() {
    let e = crate_edges("use crate::nn::{Linear, RmsNorm};\nuse crate::{models, serve::x};\nlet a = crate::quant::dequantize(t); // crate::comment\n");
    assert_eq!(e.into_iter().collect::<Vec<_>>(), ["models", "nn", "quant", "serve"]);
}

#[test]
fn the_library_never_depends_on_dicom() {
    let toml = std::fs::read_to_string(package_dir().join("Cargo.toml")).unwrap();
    let deps = toml.split("[dependencies]").nth(1).unwrap_or("").split("\n[").next().unwrap_or("");
    assert!(!deps.is_empty(), "no [dependencies] table read");
    assert!(!deps.contains("medlens-dicom"), "crates/engine/Cargo.toml [dependencies] names medlens-dicom");
    let mut files = Vec::new();
    rust_files(&package_dir().join("src"), &mut files);
    for f in files {
        assert!(!std::fs::read_to_string(&f).unwrap().contains("medlens_dicom"), "{} uses medlens_dicom", f.display());
    }
}
