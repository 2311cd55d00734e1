#!/usr/bin/env python3
"""A large folder of real DICOM for the indexing benchmark (issue: 5,000 files): copies of
the bundled MR volume (samples/mr-volume, 20 slices) with new UIDs, so every copy is its own
series, five series to a study, a patient per study. Pixel data and geometry are the
originals'; only the identifying UIDs, names and numbers change.

    python3 -m pip install -r tests/dicom/requirements.txt
    python3 tests/dicom/make_big_folder.py /tmp/big 5000
    time medlens inspect --json /tmp/big > /dev/null
"""
import sys
import uuid
from pathlib import Path

import pydicom

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "samples" / "mr-volume"
SERIES_PER_STUDY = 5


def new_uid() -> str:
    return f"2.25.{uuid.uuid4().int}"


def main() -> None:
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    slices = [pydicom.dcmread(p) for p in sorted(SOURCE.glob("*.dcm"))]
    for ds in slices:
        # The sample files carry a stray command group (0000,eeee), which a file may not.
        for tag in [t for t in ds.keys() if t.group == 0]:
            del ds[tag]
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    series_index = 0
    while written < count:
        study = series_index // SERIES_PER_STUDY
        if series_index % SERIES_PER_STUDY == 0:
            study_uid, patient = new_uid(), f"BIG^STUDY{study:04d}"
        series_uid = new_uid()
        folder = out / f"study{study:04d}" / f"series{series_index:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        for k, ds in enumerate(slices):
            if written == count:
                break
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = new_uid()
            ds.PatientName, ds.PatientID = patient, f"BIG{study:04d}"
            ds.SeriesNumber = series_index % SERIES_PER_STUDY + 1
            ds.save_as(folder / f"img{k:03d}.dcm", enforce_file_format=True)
            written += 1
        series_index += 1
    print(f"{written} files, {series_index} series, {(series_index + SERIES_PER_STUDY - 1) // SERIES_PER_STUDY} studies in {out}")


if __name__ == "__main__":
    main()
