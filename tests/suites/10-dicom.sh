#!/usr/bin/env bash
# DICOM core and the medlens CLI: corpus decoding vs pydicom's references, display
# pipeline, index/DICOMDIR, anonymization, robustness.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/apt.sh
# C toolchain bits for libjpeg-turbo (cmake, nasm), CharLS (cmake, g++) and OpenJPEG;
# dcmtk is an independent reader/decoder some tests call.
need_apt cmake nasm g++ pkg-config dcmtk
cargo test --locked -p medlens-dicom -p medlens-cli
