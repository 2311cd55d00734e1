#!/usr/bin/env bash
# DICOM core and the medlens CLI: corpus decoding vs pydicom's references, display
# pipeline, index/DICOMDIR, anonymization, robustness.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/apt.sh
source tests/lib/rust.sh
# C toolchain bits for libjpeg-turbo (cmake, nasm), CharLS (cmake, g++) and OpenJPEG;
# dcmtk is an independent reader/decoder some tests call. Vulkan loader: the medlens binary
# links wgpu (the engine), which loads it at run time.
need_apt cmake nasm g++ pkg-config dcmtk libvulkan1 mesa-vulkan-drivers
rust_build
rust_test_package medlens-dicom
rust_test_package medlens-cli
