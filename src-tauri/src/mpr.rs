//! MPR: the open series stacked into a volume (`medlens_dicom::volume`) and cut into axial,
//! coronal and sagittal images for the UI's three panes. The volume is kept while its
//! reformats are viewed (one at a time), and a reformat goes to the UI as the same binary
//! frame message as a stored frame (`frame::pack`), so the panes window, zoom, mark
//! orientation and measure it like any image.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use medlens_dicom::display::{Calibration, PixelGeometry};
use medlens_dicom::volume::{Plane, PlaneLayout, SliceGeometry, Volume, VolumeGeometry};
use medlens_dicom::{DicomFile, DisplayInfo};
use serde::{Deserialize, Serialize};
use tauri::ipc::Response;
use tauri::{AppHandle, Manager};

use crate::frame::{self, FrameHeader};
use crate::{blocking, check_known, lock, AppState};

/// One slice of the series, as the viewer lists it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize, ts_rs::TS)]
pub struct MprSlice {
    pub path: PathBuf,
    pub frame: usize,
}

/// `mpr_open`'s reply: where the volume is and how each plane cuts it.
#[derive(Clone, Debug, Serialize, ts_rs::TS)]
pub struct MprInfo {
    /// Columns, rows, slices of the stack.
    pub dims: [usize; 3],
    /// mm between voxels along the three axes (the third: the mean slice spacing).
    pub spacing: [f64; 3],
    /// The axes' directions in the patient (LPS).
    pub axes: [[f64; 3]; 3],
    /// Position (LPS, mm) of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Axial, coronal, sagittal.
    pub planes: Vec<PlaneLayout>,
}

struct Loaded {
    slices: Vec<MprSlice>,
    volume: Volume,
    /// The middle slice's display parameters (windows, presets, units) for every reformat.
    header: FrameHeader,
}

/// The volume being viewed.
#[derive(Default)]
pub struct MprState {
    current: Mutex<Option<Arc<Loaded>>>,
}

/// Modality values of a decoded grey frame.
fn modality_values(file: &DicomFile, frame: usize) -> Result<Vec<f32>, String> {
    let fr = file.frame(frame).map_err(|e| e.kind.to_string())?;
    if fr.samples != 1 || !fr.photometric.starts_with("MONOCHROME") {
        return Err(format!("{} is not a grey image; reformats are for grey images", fr.photometric));
    }
    let info = DisplayInfo::read(file.dataset()).map_err(|e| e.to_string())?;
    Ok((0..fr.pixels.len()).map(|i| info.modality_lut.apply(fr.pixels.get(i) as f64) as f32).collect())
}

fn build(state: &AppState, slices: Vec<MprSlice>) -> Result<Loaded, String> {
    for s in &slices {
        check_known(state, &s.path)?;
    }
    // Pass 1: headers only, so a series that is not a volume is refused before any pixel is
    // decoded or any voxel allocated.
    let mut headers: HashMap<PathBuf, DicomFile> = HashMap::new();
    let mut geometry = Vec::with_capacity(slices.len());
    for s in &slices {
        if !headers.contains_key(&s.path) {
            let f = medlens_dicom::open_header(&s.path).map_err(|e| e.to_string())?;
            headers.insert(s.path.clone(), f);
        }
        geometry.push(SliceGeometry::read(headers[&s.path].dataset(), s.frame));
    }
    drop(headers);
    let checked = VolumeGeometry::check(&geometry).map_err(|e| format!("Not a volume: {e}"))?;
    // Pass 2: decode in volume order, one file open at a time (a multi-frame file's frames
    // are consecutive in that order, so it is read once).
    let mut open: Option<Arc<DicomFile>> = None;
    let mut file_of = |path: &PathBuf| -> Result<Arc<DicomFile>, String> {
        if let Some(f) = open.as_ref().filter(|f| &f.path == path) {
            return Ok(f.clone());
        }
        let f = Arc::new(medlens_dicom::open(path).map_err(|e| e.to_string())?);
        open = Some(f.clone());
        Ok(f)
    };
    let middle = &slices[checked.order[checked.order.len() / 2]];
    let template = {
        let f = file_of(&middle.path)?;
        let photometric = f.dataset().string(medlens_dicom::tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
        frame::header_for(&f, middle.frame, 0, 0, 1, "f32", photometric.trim()).map_err(|e| e.to_string())?
    };
    let volume = Volume::assemble(checked, |n| {
        let s = &slices[n];
        let f = file_of(&s.path)?;
        modality_values(&f, s.frame).map_err(|e| format!("{} (frame {}): {e}", s.path.display(), s.frame + 1))
    })?;
    let header = FrameHeader { slope: 1.0, intercept: 0.0, modality_lut: None, palette: None, ..template };
    Ok(Loaded { slices, volume, header })
}

fn info(v: &Volume) -> MprInfo {
    let g = &v.geometry;
    MprInfo { dims: g.dims, spacing: g.spacing, axes: g.axes, origin: g.origin, planes: Plane::ALL.iter().map(|&p| g.layout(p)).collect() }
}

/// Stack `slices` (the open series, in any order) into a volume, or say why they are not one.
#[tauri::command]
pub async fn mpr_open(app: AppHandle, slices: Vec<MprSlice>) -> Result<MprInfo, String> {
    blocking("building the volume", move || {
        let mpr = app.state::<MprState>();
        if let Some(l) = lock(&mpr.current).as_ref().filter(|l| l.slices == slices) {
            return Ok(info(&l.volume));
        }
        // Free the previous volume before building the next.
        *lock(&mpr.current) = None;
        let loaded = build(&app.state::<AppState>(), slices)?;
        let reply = info(&loaded.volume);
        *lock(&mpr.current) = Some(Arc::new(loaded));
        Ok(reply)
    })
    .await
}

/// Slice `index` of `plane`, a maximum intensity projection over `slab` slices (1: thin), as a
/// frame message.
#[tauri::command]
pub async fn mpr_plane(app: AppHandle, plane: Plane, index: usize, slab: usize) -> Result<Response, String> {
    blocking("reformatting", move || {
        let loaded = lock(&app.state::<MprState>().current).clone().ok_or("no volume is open (MPR was closed)")?;
        plane_message(&loaded, plane, index, slab).map(Response::new)
    })
    .await
}

/// Drop the volume (MPR closed).
#[tauri::command]
pub fn mpr_close(app: AppHandle) {
    *lock(&app.state::<MprState>().current) = None;
}

fn plane_message(loaded: &Loaded, plane: Plane, index: usize, slab: usize) -> Result<Vec<u8>, String> {
    let r = loaded.volume.reformat(plane, index, slab).ok_or_else(|| format!("{} slice {} is out of range", plane.name(), index + 1))?;
    let l = &r.layout;
    let header = FrameHeader {
        rows: l.height as u32,
        columns: l.width as u32,
        pixel_spacing: Some(l.pixel_spacing),
        geometry: PixelGeometry {
            spacing: Some(l.pixel_spacing),
            aspect: l.pixel_spacing,
            calibration: Calibration::PixelSpacing,
            magnification: None,
            orientation: Some(l.orientation),
            patient_orientation: None,
        },
        ..loaded.header.clone()
    };
    let bytes: Vec<u8> = r.values.iter().flat_map(|v| v.to_le_bytes()).collect();
    frame::pack(&header, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<MprSlice> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/mr-volume");
        let mut v: Vec<MprSlice> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "dcm")).map(|path| MprSlice { path, frame: 0 }).collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    fn state_knowing(slices: &[MprSlice]) -> AppState {
        let state = AppState::default();
        lock(&state.known).extend(slices.iter().map(|s| s.path.clone()));
        state
    }

    #[test]
    fn the_sample_is_a_volume_and_its_axial_plane_is_the_stored_slice() {
        let mut slices = sample();
        slices.reverse();
        let state = state_knowing(&slices);
        let loaded = build(&state, slices.clone()).unwrap();
        let i = info(&loaded.volume);
        assert_eq!(i.dims, [256, 256, 20]);
        assert!((i.spacing[2] - 7.0005).abs() < 1e-3, "{:?}", i.spacing);
        // Axial slice 0 is the top of the head: the last file by position.
        let msg = plane_message(&loaded, Plane::Axial, 0, 1).unwrap();
        let file = medlens_dicom::open(&slices[0].path).unwrap();
        let stored = modality_values(&file, 0).unwrap();
        let offset = msg.len() - stored.len() * 4;
        let got: Vec<f32> = msg[offset..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(got, stored);
        let coronal = &i.planes[1];
        assert_eq!((coronal.width, coronal.height, coronal.count), (256, 20, 256));
    }

    #[test]
    fn files_not_opened_and_too_few_slices_are_refused() {
        let slices = sample();
        let state = state_knowing(&slices[..2]);
        let e = build(&state, slices.clone()).err().unwrap();
        assert!(e.contains("not an opened file"), "{e}");
        let e = build(&state, slices[..2].to_vec()).err().unwrap();
        assert_eq!(e, "Not a volume: a volume needs at least 3 slices; this series has 2");
    }
}
