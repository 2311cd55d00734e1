//! SUVbw scales of the PET fixtures against tests/dicom/suv/expected.json, computed with
//! pydicom from the same tags by tests/dicom/suv/make_suv_fixtures.py (QIBA's calculation):
//! decay to the series start, a start date-time over midnight, a start time from the day
//! before, decay to administration, Units GML; and the files with no SUV, for their reason.

use std::path::PathBuf;

use medlens_dicom::suv::Suv;

#[test]
fn suv_scales_equal_the_pydicom_reference() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/dicom/suv");
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let files = expected["files"].as_object().unwrap();
    assert_eq!(files.len(), 8);
    for (name, want) in files {
        let file = medlens_dicom::open(dir.join(name)).unwrap();
        let got = Suv::read(file.dataset());
        match want["factor"].as_f64() {
            Some(f) => {
                let s = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!((s.factor / f - 1.0).abs() < 1e-12, "{name}: {} vs {f}", s.factor);
            }
            None => {
                let e = got.err().unwrap_or_else(|| panic!("{name} has no SUV"));
                let says = match want["reason"].as_str().unwrap() {
                    "units" => "Units CNTS, not BQML",
                    "corrected" => "Corrected Image (0028,0051) lacks DECY",
                    "weight" => "no Patient's Weight (0010,1030)",
                    other => panic!("unknown reason {other}"),
                };
                assert_eq!(e, says, "{name}");
            }
        }
    }
}
