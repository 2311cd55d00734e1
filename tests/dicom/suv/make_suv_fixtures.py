#!/usr/bin/env python3
"""Small PET images for SUV (crates/dicom/tests/suv.rs, tests/e2e/measure.e2e.mjs) and what
their SUVbw must be, computed here with pydicom from the tags it writes, never with Medlens
code.

    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/suv/make_suv_fixtures.py   # writes tests/dicom/suv/*.dcm, expected.json

SUVbw (QIBA FDG-PET/CT profile, vendor-neutral pseudo-code): for Units BQML with Corrected
Image holding ATTN and DECY, SUVbw = value × weight[kg] × 1000 / (dose[Bq] × decay); with Decay
Correction START, decay = 2^(−Δt/half-life) and Δt = scan (Series Date/Time) − injection
(Radiopharmaceutical Start DateTime, else Start Time on the scan's day, the day before if that
is after the scan); with ADMIN, decay = 1. Units GML is SUVbw already (factor 1). Otherwise
there is no SUV, and the reason is expected.
"""
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

HERE = Path(__file__).resolve().parent
ROOT = "1.2.826.0.1.3680043.10.1145.77"
PET = "1.2.840.10008.5.1.4.1.1.128"


def image():
    """A 64 x 64 'hot sphere' on a warm background, stored values up to 20000."""
    y, x = np.mgrid[0:64, 0:64]
    r2 = (x - 40.0) ** 2 + (y - 24.0) ** 2
    v = 2000 + 120 * x + 18000 * np.exp(-r2 / 60.0)
    return np.clip(v, 0, 65535).astype(np.uint16)


def pet(name, n, **tags):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = PET
    meta.MediaStorageSOPInstanceUID = f"{ROOT}.3.{n}"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = PET
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = f"{ROOT}.1"
    ds.SeriesInstanceUID = f"{ROOT}.2.{n}"
    ds.Modality = "PT"
    ds.PatientName = "SUV^Phantom"
    ds.PatientID = "SUV-1"
    ds.StudyDate = "20260101"
    ds.SeriesDescription = f"SUV {name}"
    ds.SeriesNumber = n
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [0, 0, 0]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [4, 4]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 64
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleSlope = "2.5"
    ds.RescaleIntercept = "0"
    ds.Units = "BQML"
    ds.CorrectedImage = ["ATTN", "DECY"]
    ds.DecayCorrection = "START"
    ds.PatientWeight = "72.5"
    ds.SeriesDate = "20260101"
    ds.SeriesTime = "110230"
    ds.AcquisitionDate = "20260101"
    ds.AcquisitionTime = "110500"
    item = Dataset()
    item.RadionuclideTotalDose = "370000000"
    item.RadionuclideHalfLife = "6586.2"
    item.RadiopharmaceuticalStartTime = "100000.00"
    ds.RadiopharmaceuticalInformationSequence = [item]
    for k, v in tags.items():
        if k.startswith("rp_"):
            k = k[3:]
            if v is None:
                delattr(item, k)
            else:
                setattr(item, k, v)
        elif v is None:
            delattr(ds, k)
        else:
            setattr(ds, k, v)
    ds.PixelData = image().tobytes()
    path = HERE / f"{name}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_dt(date, time):
    t = time.split(".")[0].ljust(6, "0")
    frac = float("0." + time.split(".")[1]) if "." in time else 0.0
    return datetime.strptime(date + t, "%Y%m%d%H%M%S") + timedelta(seconds=frac)


def suv_factor(ds):
    """(factor, None) or (None, reason) from the tags, QIBA's way."""
    units = str(ds.get("Units", "")).upper()
    if units == "GML":
        return 1.0, None
    if units != "BQML":
        return None, "units"
    if not {"ATTN", "DECY"} <= {str(c).upper() for c in ds.get("CorrectedImage", [])}:
        return None, "corrected"
    if "PatientWeight" not in ds:
        return None, "weight"
    weight = float(ds.PatientWeight)
    item = ds.RadiopharmaceuticalInformationSequence[0]
    dose, half = float(item.RadionuclideTotalDose), float(item.RadionuclideHalfLife)
    if ds.DecayCorrection == "ADMIN":
        return weight * 1000 / dose, None
    scan = dicom_dt(ds.SeriesDate, ds.SeriesTime)
    if "RadiopharmaceuticalStartDateTime" in item:
        v = str(item.RadiopharmaceuticalStartDateTime)
        start = dicom_dt(v[:8], v[8:])
    else:
        start = dicom_dt(ds.SeriesDate, str(item.RadiopharmaceuticalStartTime))
        if start > scan:
            start -= timedelta(days=1)
    dt = (scan - start).total_seconds()
    return weight * 1000 / (dose * 2 ** (-dt / half)), None


def main():
    files = {
        "pet_start": pet("pet_start", 1),
        # Injected before midnight, scanned after: the start date-time carries the day.
        "pet_datetime": pet("pet_datetime", 2, SeriesDate="20260102", SeriesTime="000730", rp_RadiopharmaceuticalStartTime=None,
                            rp_RadiopharmaceuticalStartDateTime="20260101235500"),
        # Only a start time, after the scan's time of day: the injection was the day before.
        "pet_overnight": pet("pet_overnight", 3, SeriesDate="20260102", SeriesTime="001500", rp_RadiopharmaceuticalStartTime="233000"),
        "pet_admin": pet("pet_admin", 4, DecayCorrection="ADMIN"),
        "pet_gml": pet("pet_gml", 5, Units="GML", RescaleSlope="0.0005"),
        "pet_noweight": pet("pet_noweight", 6, PatientWeight=None),
        "pet_cnts": pet("pet_cnts", 7, Units="CNTS"),
        "pet_nodecy": pet("pet_nodecy", 8, CorrectedImage=["ATTN"]),
    }
    out = {"generator": "tests/dicom/suv/make_suv_fixtures.py (pydicom %s)" % pydicom.__version__, "files": {}}
    for name, path in files.items():
        ds = pydicom.dcmread(path)
        factor, reason = suv_factor(ds)
        values = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
        entry = {"factor": factor, "reason": reason}
        if factor is not None:
            # Two probes: the sphere's peak and a background pixel.
            entry["probes"] = [{"col": c, "row": r, "value": float(values[r, c]), "suv": float(values[r, c] * factor)} for c, r in ((40, 24), (5, 50))]
        out["files"][f"{name}.dcm"] = entry
    (HERE / "expected.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
