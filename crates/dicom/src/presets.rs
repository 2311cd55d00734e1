//! Window presets per modality, in the order of the viewer's keys 1–9.

use serde::Serialize;

use crate::display::Window;

/// A named window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Preset {
    pub name: &'static str,
    pub center: f64,
    pub width: f64,
}

impl Preset {
    pub fn window(&self) -> Window {
        Window { center: self.center, width: self.width }
    }
}

const fn p(name: &'static str, center: f64, width: f64) -> Preset {
    Preset { name, center, width }
}

/// CT windows in Hounsfield units (common radiology practice).
pub const CT: &[Preset] = &[
    p("brain", 40.0, 80.0),
    p("subdural", 75.0, 215.0),
    p("stroke", 40.0, 40.0),
    p("lung", -600.0, 1500.0),
    p("mediastinum", 50.0, 350.0),
    p("abdomen", 50.0, 400.0),
    p("liver", 30.0, 150.0),
    p("bone", 400.0, 1800.0),
    p("temporal-bone", 600.0, 2800.0),
];

/// PET (SUV-scaled images): a few fixed upper bounds.
pub const PT: &[Preset] = &[p("suv-0-5", 2.5, 5.0), p("suv-0-10", 5.0, 10.0), p("suv-0-20", 10.0, 20.0)];

/// Presets for a modality; modalities without fixed units (MR, CR, DX, MG, US …) have
/// none: their file windows and the auto window serve instead.
pub fn presets_for(modality: &str) -> &'static [Preset] {
    match modality {
        "CT" => CT,
        "PT" => PT,
        _ => &[],
    }
}

/// Looks a preset up by name in every modality's list (`lung`, `bone` …).
pub fn preset(name: &str) -> Option<Preset> {
    CT.iter().chain(PT).find(|p| p.name.eq_ignore_ascii_case(name)).copied()
}

/// All preset names, for help texts.
pub fn names() -> Vec<&'static str> {
    CT.iter().chain(PT).map(|p| p.name).collect()
}
