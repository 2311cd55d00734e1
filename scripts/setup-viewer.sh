#!/usr/bin/env bash
# Idempotent prerequisites of the desktop viewer: Debian packages (WebKitGTK, GTK, Xvfb,
# WebKitWebDriver, ImageMagick for screenshots, the C codec toolchain of crates/dicom, DCMTK
# to read the exported SRs, a CJK font so names in Chinese, Japanese and Korean are drawn in
# the screenshots, not as boxes),
# npm packages (from package-lock.json) and tauri-driver.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${MEDLENS_CACHE:-$HOME/.cache/medlens}
pkgs=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev webkit2gtk-driver xvfb xauth imagemagick pkg-config build-essential
  cmake nasm g++ dcmtk fonts-wqy-microhei)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "--- apt: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "Rust (cargo) is required: https://rustup.rs"; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20+ and npm are required"; exit 1; }
stamp=node_modules/.medlens-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "--- npm ci"
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi
if [ ! -x "$cache/tools/bin/tauri-driver" ]; then
  echo "--- cargo install tauri-driver"
  cargo install tauri-driver --locked --root "$cache/tools"
fi
