//! `ui/src/bindings.ts`: the TypeScript declarations of every type the commands and events
//! carry as JSON, rendered from the Rust types (`ts_rs::TS`) into one file. The UI imports
//! them (`ui/src/types.ts`, `ui/src/aiTypes.ts`) instead of declaring them by hand, and the
//! test below fails when the file no longer matches the Rust types.
//!
//! Regenerate with `MEDLENS_UPDATE_BINDINGS=1` (the command is in the file's header).

use std::any::{type_name, TypeId};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ts_rs::{Config, TypeVisitor, TS};

const HEADER: &str = "\
// Generated from the Rust types of the desktop app's commands and events by ts-rs
// (src-tauri/src/bindings.rs lists them). Do not edit: change the Rust types, then run
//   MEDLENS_UPDATE_BINDINGS=1 CARGO_TARGET_DIR=$HOME/.cache/medlens/target cargo test --locked \\
//     -p medlens-dicom -p medlens-cli -p medlens-engine -p medlens-app --all-targets -- bindings
// medlens-app's test `bindings::tests::bindings_ts_is_current` fails while this file is stale.
";

/// Every type sent to or received from the UI; the types they refer to are declared too.
/// Command replies that are plain JSON (`open_sample`: boolean,
/// `medlens://menu`: the menu item's id) have no declaration.
fn roots(c: &mut Collector) {
    use medlens_engine::serve::{discover, findings, zeroshot};
    // Viewer: events `medlens://index-*`, the frame header of `load_frame`, `tags`.
    c.visit::<crate::Started>();
    c.visit::<crate::ProgressEvent>();
    c.visit::<crate::Part>();
    c.visit::<crate::Done>();
    c.visit::<crate::frame::FrameHeader>();
    c.visit::<crate::frame::ExportedPng>();
    c.visit::<medlens_dicom::TagEntry>();
    // The window the viewer and the requests use (`ai::WindowArg` has the same shape, which
    // `Collector` checks); visited first, so its docs are the ones declared.
    c.visit::<medlens_dicom::Window>();
    // Model manager.
    c.visit::<discover::ModelInfo>();
    c.visit::<crate::ai::ImportProgress>();
    c.visit::<crate::wire::ImportResult>();
    c.visit::<crate::wire::GpuInfo>();
    // Findings.
    c.visit::<findings::Template>();
    c.visit::<crate::ai::FindingsRequest>();
    c.visit::<crate::wire::FindingsJob>();
    c.visit::<crate::ai::FindingsEvent>();
    c.visit::<crate::ai::ExportRequest>();
    c.visit::<crate::wire::SavedFile>();
    // `InputRecord::window` is declared as this type by name (the engine does not know it).
    c.visit::<medlens_dicom::model_input::WindowUsed>();
    // Labels.
    c.visit::<zeroshot::Mode>();
    c.visit::<crate::ai::LabelsRequest>();
    c.visit::<crate::wire::LabelsResult>();
    c.visit::<crate::wire::LabelSetSummary>();
    c.visit::<crate::ai::CsvRequest>();
    // Measurements saved with their study and exported.
    c.visit::<crate::measurements::SavedMeasurement>();
    c.visit::<crate::measurements::MeasurementsExported>();
    // MPR: `mpr_open`'s request and reply (`mpr_plane` replies with a frame message).
    c.visit::<crate::mpr::MprSlice>();
    c.visit::<crate::mpr::MprInfo>();
}

struct Decl {
    rust: &'static str,
    /// The type inlined, without docs: two Rust types may share a TypeScript name only if
    /// these agree.
    shape: String,
    text: String,
}

/// Walks the types and everything they depend on, keeping one declaration per name.
struct Collector {
    cfg: Config,
    seen: HashSet<TypeId>,
    decls: BTreeMap<String, Decl>,
    clashes: Vec<String>,
}

impl TypeVisitor for Collector {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        // Derived types have a declaration (and an output path); primitives and containers
        // do not, but their parameters may.
        if T::output_path().is_some() {
            let name = T::ident(&self.cfg);
            let shape = T::inline(&self.cfg);
            match self.decls.get(&name) {
                Some(d) if d.shape != shape => self.clashes.push(format!(
                    "`{name}` is declared by {} as {} and by {} as {shape}",
                    d.rust,
                    d.shape,
                    type_name::<T>()
                )),
                Some(_) => {}
                None => {
                    let text = format!("{}export {}", T::docs().unwrap_or_default(), T::decl(&self.cfg));
                    self.decls.insert(name, Decl { rust: type_name::<T>(), shape, text });
                }
            }
        }
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

/// The text of `ui/src/bindings.ts`: the header, then the declarations sorted by name.
pub fn render() -> String {
    // 64-bit integers are JSON numbers on the wire, so `number` (ts-rs defaults to `bigint`).
    let mut c = Collector {
        cfg: Config::new().with_large_int("number"),
        seen: HashSet::new(),
        decls: BTreeMap::new(),
        clashes: Vec::new(),
    };
    roots(&mut c);
    assert!(c.clashes.is_empty(), "TypeScript name clashes (rename one with #[ts(rename = \"…\")]):\n{}", c.clashes.join("\n"));
    let mut out = String::from(HEADER);
    for d in c.decls.values() {
        out.push('\n');
        // ts-rs leaves a space before each field's doc comment at the end of a line.
        for line in d.text.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

pub fn path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_ts_is_current() {
        let want = render();
        let path = path();
        if std::env::var_os("MEDLENS_UPDATE_BINDINGS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            let line = have.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or_else(|| have.lines().count().min(want.lines().count()));
            panic!(
                "{} does not match the Rust types (first difference at line {}):\n  file:      {}\n  generated: {}\n\
                 Run `MEDLENS_UPDATE_BINDINGS=1 CARGO_TARGET_DIR=$HOME/.cache/medlens/target cargo test --locked \
                 -p medlens-dicom -p medlens-cli -p medlens-engine -p medlens-app --all-targets -- bindings` to regenerate it, \
                 then adapt the UI to the new types.",
                path.display(),
                line + 1,
                have.lines().nth(line).unwrap_or("(end of file)"),
                want.lines().nth(line).unwrap_or("(end of file)"),
            );
        }
    }

    #[test]
    fn two_shapes_under_one_name_are_a_clash() {
        #[derive(ts_rs::TS)]
        #[ts(rename = "Same")]
        struct A {
            _a: u8,
        }
        #[derive(ts_rs::TS)]
        #[ts(rename = "Same")]
        struct B {
            _a: u8,
        }
        #[derive(ts_rs::TS)]
        #[ts(rename = "Same")]
        struct C {
            _c: String,
        }
        let mut c = Collector { cfg: Config::new(), seen: HashSet::new(), decls: BTreeMap::new(), clashes: Vec::new() };
        c.visit::<A>();
        c.visit::<B>();
        assert!(c.clashes.is_empty(), "{:?}", c.clashes);
        c.visit::<C>();
        assert_eq!(c.clashes.len(), 1, "{:?}", c.clashes);
    }

    #[test]
    fn bindings_declare_every_wire_type_once() {
        let text = render();
        for name in ["Index", "FrameHeader", "TagEntry", "ModelInfo", "FindingsEvent", "Provenance", "WindowUsed", "Window", "LabelSet"] {
            let decl = format!("export type {name} = ");
            assert_eq!(text.matches(&decl).count(), 1, "{name} should be declared once in:\n{text}");
        }
    }
}
