//! The viewer's measurements as a TID 1500 Comprehensive SR: DCMTK's dsrdump reads and
//! checks it as a structured report (value types and relationships allowed by the IOD), and
//! it carries each measurement's numbers, units, region and image.

mod common;

use medlens_dicom::measurement_sr::{measurement_report_file, MeasuredImage, Measurement, MeasurementReport, Shape, COMPREHENSIVE_SR};
use medlens_dicom::sr::new_uid;
use medlens_dicom::{open, tags};

fn image(path: &str) -> (medlens_dicom::object::DicomFile, MeasuredImage) {
    let f = open(common::repo().join(path)).unwrap();
    let ds = f.dataset();
    let i = MeasuredImage {
        sop_class_uid: ds.string(tags::SOP_CLASS_UID).unwrap(),
        sop_instance_uid: ds.string(tags::SOP_INSTANCE_UID).unwrap(),
        series_uid: ds.string(tags::SERIES_INSTANCE_UID).unwrap(),
        frame: None,
    };
    (f, i)
}

fn blank(image: &MeasuredImage, shape: Shape, points: Vec<[f64; 2]>) -> Measurement {
    Measurement {
        image: image.clone(),
        shape,
        points,
        calibrated: true,
        length: None,
        angle: None,
        area: None,
        mean: None,
        sd: None,
        min: None,
        max: None,
        value_unit: String::new(),
        suv: None,
    }
}

#[test]
fn measurement_report_is_a_valid_structured_report_with_every_number_region_and_image() {
    let (src, a) = image("samples/mr-volume/brain_010.dcm");
    let (_, b) = image("samples/mr-volume/brain_011.dcm");
    let measurements = vec![
        Measurement { length: Some(29.581748258816617), ..blank(&a, Shape::Length, vec![[80.5, 100.5], [120.5, 80.5]]) },
        Measurement { angle: Some(111.0923395058275), ..blank(&a, Shape::Angle, vec![[30.5, 40.5], [64.5, 64.5], [100.5, 40.5]]) },
        Measurement {
            area: Some(210.01915921152),
            mean: Some(148.9),
            sd: Some(195.40907519014226),
            min: Some(-98.0),
            max: Some(886.0),
            value_unit: "HU".into(),
            ..blank(&b, Shape::Rectangle, vec![[84.0, 40.0], [60.0, 60.0]])
        },
        // A PET-like ROI: its values also in SUVbw.
        Measurement { area: Some(274.9144365383401), mean: Some(12.5), suv: Some([2.5, 0.25, 1.5, 3.75]), ..blank(&b, Shape::Ellipse, vec![[30.0, 84.0], [70.0, 104.0]]) },
        Measurement { area: Some(120.0), calibrated: false, ..blank(&b, Shape::Freehand, vec![[11.0, 40.0], [30.0, 50.0], [20.0, 70.0]]) },
    ];
    let (series, instance) = (new_uid(), new_uid());
    let report = MeasurementReport { measurements: &measurements, date: "20261207", time: "101500", series_uid: &series, instance_uid: &instance };
    let bytes = measurement_report_file(&src, &report).unwrap();
    let path = std::env::temp_dir().join(format!("medlens-measurement-sr-{}.dcm", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();

    // Our reader: the class, and the source's study.
    let sr = open(&path).unwrap();
    assert_eq!(sr.dataset().string(tags::SOP_CLASS_UID).as_deref(), Some(COMPREHENSIVE_SR));
    assert_eq!(sr.dataset().string(tags::STUDY_INSTANCE_UID), src.dataset().string(tags::STUDY_INSTANCE_UID));

    // DCMTK reads it as a Comprehensive SR and checks its content tree against the IOD.
    let out = std::process::Command::new("dsrdump").args(["+Pl", "+Pu", "+Pt"]).arg(&path).output().expect("dsrdump (Debian dcmtk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    // Its one warning is about itself: DCMTK's VR checker does not know ISO_IR 192 (UTF-8).
    let complaints: Vec<&str> = err.lines().filter(|l| !l.contains("VR checker does not support this Specific Character Set: ISO_IR 192")).collect();
    assert!(out.status.success() && complaints.is_empty(), "dsrdump: {text}{err}");
    assert!(text.contains("Comprehensive SR") && text.contains("Imaging Measurement Report"), "{text}");
    assert!(text.contains("# TID 1500 (DCMR)"), "the template is named: {text}");
    assert_eq!(text.matches("\"Measurement Group\"").count(), 5, "{text}");
    // Each number with its unit; each region with its graphic type; each image referenced.
    for want in [
        // 16 characters at most (DS): 15 significant digits of the 17 the viewer had.
        "NUM:(,,\"Length\")=\"29.5817482588166\" (mm,UCUM,\"millimeter\")",
        "NUM:(,,\"Angle\")=\"111.092339505827\" (deg,UCUM,\"degree\")",
        "NUM:(,,\"Area\")=\"210.01915921152\" (mm2,UCUM,\"square millimeter\")",
        "NUM:(,,\"Mean\")=\"148.9\" ([hnsf'U],UCUM,\"Hounsfield unit\")",
        "NUM:(,,\"Minimum\")=\"-98\" ([hnsf'U],UCUM,\"Hounsfield unit\")",
        "NUM:(,,\"Maximum\")=\"886\" ([hnsf'U],UCUM,\"Hounsfield unit\")",
        "NUM:(,,\"Standard Deviation\")=\"195.409075190142\" ([hnsf'U],UCUM,\"Hounsfield unit\")",
        "NUM:(,,\"Area\")=\"274.91443653834\" (mm2,UCUM,\"square millimeter\")",
        "NUM:(,,\"Area\")=\"120\" ({pixel^2},UCUM,\"square pixel\")",
        "NUM:(,,\"Mean\")=\"12.5\" (1,UCUM,\"no units\")",
        "NUM:(,,\"Mean\")=\"2.5\" ({SUVbw}g/ml,UCUM,\"Standardized Uptake Value body weight\")",
        "NUM:(,,\"Standard Deviation\")=\"0.25\" ({SUVbw}g/ml,UCUM,\"Standardized Uptake Value body weight\")",
        "NUM:(,,\"Minimum\")=\"1.5\" ({SUVbw}g/ml,UCUM,\"Standardized Uptake Value body weight\")",
        "NUM:(,,\"Maximum\")=\"3.75\" ({SUVbw}g/ml,UCUM,\"Standardized Uptake Value body weight\")",
        // Regions: the ellipse's axes (the longer first) and the outline closed.
        "(ELLIPSE,30/94,70/94,50/84,50/104)",
        "(POLYLINE,11/40,30/50,20/70,11/40)",
        "(POLYLINE,30.5/40.5,64.5/64.5,100.5/40.5)",
    ] {
        assert!(text.contains(want), "dsrdump shows {want}: {text}");
    }
    for i in [&a, &b] {
        assert!(text.contains(&i.sop_instance_uid), "references {}", i.sop_instance_uid);
    }
    // The rectangle as a closed polyline through its corners, in image coordinates.
    assert!(text.contains("SCOORD:(,,\"Image Region\")=(POLYLINE,60/40,84/40,84/60,60/60,60/40)"), "{text}");
    // Every number is inferred from its region, selected from its image.
    assert_eq!(text.matches("<inferred from SCOORD:(,,\"Image Region\")").count(), 14, "{text}");
    assert_eq!(text.matches("<selected from IMAGE:").count(), 14, "{text}");
    std::fs::remove_file(path).ok();
}

#[test]
fn a_report_needs_a_measurement_and_well_formed_regions() {
    let (src, a) = image("samples/mr-volume/brain_010.dcm");
    let (series, instance) = (new_uid(), new_uid());
    let write = |m: &[Measurement]| {
        let report = MeasurementReport { measurements: m, date: "20261207", time: "101500", series_uid: &series, instance_uid: &instance };
        measurement_report_file(&src, &report)
    };
    let e = write(&[]).unwrap_err();
    assert!(e.to_string().contains("at least one measurement"), "{e}");
    let bad = [blank(&a, Shape::Angle, vec![[0.0, 0.0], [1.0, 1.0]]), blank(&a, Shape::Length, vec![[0.0, f64::NAN], [1.0, 1.0]])];
    for m in bad {
        assert!(write(std::slice::from_ref(&m)).is_err(), "{m:?}");
    }
}
