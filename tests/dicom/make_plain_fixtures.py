#!/usr/bin/env python3
"""Plain-image fixtures for crates/dicom/tests/plain_images.rs and tests/e2e/plain.e2e.mjs.

Writes small PNG, JPEG, TIFF (8/16-bit grey, signed, RGB, RGBA, multi-page; uncompressed,
LZW, Deflate with and without predictor, PackBits; both byte orders), BMP (24/32-bit, 8-bit
grey, palette, 1-bit, RLE8) and WebP (lossless, lossy, with alpha) files with Pillow and
tifffile (and one RLE8 BMP by hand, below), then reads every one back with Pillow and saves
what Pillow reads as the reference: <name>.raw (little endian, frames after one another,
samples interleaved) and a row in manifest.json (frames, rows, columns, samples, dtype, the
largest difference allowed: 0 except for lossy codings). Alpha is dropped and palettes are
expanded in the reference, as Medlens reads them; a multi-page TIFF's reference holds the
pages the size of its first page.

Run from anywhere; made with numpy 2.4.6, Pillow 13.0.0 (libtiff, libwebp) and tifffile
2026.3.3 (pip install numpy==2.4.6 pillow==13.0.0 tifffile==2026.3.3):
    python3 tests/dicom/make_plain_fixtures.py
The outputs are committed (tests/dicom/plain/); re-running rewrites them identically
except for the lossy WebP/JPEG bytes if the libraries change.
"""
import json
import os
import struct

import numpy as np
import tifffile
from PIL import Image, ImageSequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plain")
rng = np.random.default_rng(17)


def grey16(h, w, lo=1000, hi=60000):
    """A 16-bit image with structure: a diagonal ramp, a bright square, noise."""
    y, x = np.mgrid[0:h, 0:w]
    v = lo + (hi - lo) * (x + y) / (w + h - 2)
    v[h // 4 : h // 2, w // 4 : w // 2] = hi
    v += rng.integers(-300, 300, size=(h, w))
    return np.clip(v, 0, 65535).astype(np.uint16)


def grey8(h, w):
    y, x = np.mgrid[0:h, 0:w]
    v = (x * 255 // max(w - 1, 1) + rng.integers(0, 20, size=(h, w))) % 256
    v[h // 3 : h // 2, :] = 250
    return v.astype(np.uint8)


def rgb8(h, w):
    y, x = np.mgrid[0:h, 0:w]
    r = x * 255 // max(w - 1, 1)
    g = y * 255 // max(h - 1, 1)
    b = (x * y) % 256
    a = np.stack([r, g, b], axis=-1).astype(np.int32) + rng.integers(0, 8, size=(h, w, 3))
    return np.clip(a, 0, 255).astype(np.uint8)


def rle8_bmp(path, idx, palette):
    """An 8-bit BI_RLE8 BMP (bottom-up), encoded here: runs of equal indices as (count,
    index) pairs, others as absolute runs, each row ended by 00 00, the bitmap by 00 01."""
    h, w = idx.shape
    data = bytearray()
    for row in idx[::-1]:
        i = 0
        while i < w:
            j = i
            while j < w and j - i < 255 and row[j] == row[i]:
                j += 1
            if j - i >= 3 or w - i < 3:
                data += bytes([j - i, row[i]])
                i = j
            else:
                j = i
                while j < w and j - i < 255 and not (j + 2 < w and row[j] == row[j + 1] == row[j + 2]):
                    j += 1
                n = j - i
                if n < 3:
                    for k in range(i, j):
                        data += bytes([1, row[k]])
                else:
                    data += bytes([0, n]) + bytes(row[i:j].tolist())
                    if n % 2:
                        data += b"\0"
                i = j
        data += b"\0\0"
    data += b"\0\1"
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    off = 14 + 40 + len(pal)
    head = b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(data), 2835, 2835, len(palette), 0)
    with open(path, "wb") as f:
        f.write(head + info + pal + data)


def reference(path, first_size_only=False):
    """What Pillow reads: a list of frames as arrays, alpha dropped, palettes expanded."""
    frames = []
    with Image.open(path) as im:
        size = im.size
        for page in ImageSequence.Iterator(im):
            if first_size_only and page.size != size:
                continue
            mode = page.mode
            if mode in ("P", "PA"):
                a = np.asarray(page.convert("RGBA" if "transparency" in page.info or mode == "PA" else "RGB"))
            elif mode == "1":
                a = np.asarray(page.convert("L"))
            else:
                a = np.asarray(page)
            if a.ndim == 3:
                a = a[..., :3] if a.shape[2] >= 3 else a[..., 0]
            frames.append(a.copy())
    return frames


def main():
    os.makedirs(OUT, exist_ok=True)
    made = []  # (file, max_diff, note)

    g16 = grey16(48, 64)
    g8 = grey8(40, 52)
    c8 = rgb8(40, 52)

    # TIFF through Pillow (libtiff for the compressed ones).
    Image.fromarray(g8).save(os.path.join(OUT, "tiff_grey8.tif"))
    made.append(("tiff_grey8.tif", 0, "8-bit grey, uncompressed"))
    Image.fromarray(g8).save(os.path.join(OUT, "tiff_grey8_lzw.tif"), compression="tiff_lzw")
    made.append(("tiff_grey8_lzw.tif", 0, "8-bit grey, LZW"))
    Image.fromarray(g16).save(os.path.join(OUT, "tiff_grey16.tif"))
    made.append(("tiff_grey16.tif", 0, "16-bit grey, uncompressed"))
    Image.fromarray(g16).save(os.path.join(OUT, "tiff_grey16_deflate.tif"), compression="tiff_adobe_deflate")
    made.append(("tiff_grey16_deflate.tif", 0, "16-bit grey, Deflate"))
    Image.fromarray(g16).save(os.path.join(OUT, "tiff_grey16_packbits.tif"), compression="packbits")
    made.append(("tiff_grey16_packbits.tif", 0, "16-bit grey, PackBits"))
    Image.fromarray(c8).save(os.path.join(OUT, "tiff_rgb8_lzw.tif"), compression="tiff_lzw")
    made.append(("tiff_rgb8_lzw.tif", 0, "RGB, LZW"))
    rgba = np.concatenate([c8, rng.integers(0, 256, size=(40, 52, 1), dtype=np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(os.path.join(OUT, "tiff_rgba8_packbits.tif"), compression="packbits")
    made.append(("tiff_rgba8_packbits.tif", 0, "RGBA, PackBits (alpha dropped)"))
    pages = [Image.fromarray(grey16(32, 40, 500 * k, 20000 + 10000 * k)) for k in range(4)]
    pages[0].save(os.path.join(OUT, "tiff_multipage_grey16_lzw.tif"), save_all=True, append_images=pages[1:], compression="tiff_lzw")
    made.append(("tiff_multipage_grey16_lzw.tif", 0, "4 pages of 16-bit grey, LZW"))

    # TIFF through tifffile: big endian with the horizontal predictor, signed, and a stack
    # with a thumbnail page of another size.
    tifffile.imwrite(os.path.join(OUT, "tiff_grey16_be_predictor.tif"), grey16(30, 34), byteorder=">", compression="zlib", predictor=True)
    made.append(("tiff_grey16_be_predictor.tif", 0, "16-bit grey, big endian, Deflate with horizontal predictor"))
    signed = (grey16(20, 24).astype(np.int32) - 30000).astype(np.int16)
    tifffile.imwrite(os.path.join(OUT, "tiff_int16.tif"), signed)
    made.append(("tiff_int16.tif", 0, "signed 16-bit grey, uncompressed"))
    with tifffile.TiffWriter(os.path.join(OUT, "tiff_stack_with_thumbnail.tif")) as tw:
        for k in range(3):
            tw.write(grey16(24, 28, 2000 * k, 30000 + 5000 * k), compression="zlib")
        tw.write(grey16(6, 7), compression="zlib")
    made.append(("tiff_stack_with_thumbnail.tif", 0, "3 pages 28 x 24 and a 7 x 6 page (left out)"))

    # BMP through Pillow (it writes uncompressed files), and one RLE8 written above.
    Image.fromarray(rgb8(21, 37)).save(os.path.join(OUT, "bmp_rgb24.bmp"))
    made.append(("bmp_rgb24.bmp", 0, "24-bit, 37 pixels a row (row padding)"))
    Image.fromarray(grey8(21, 37)).save(os.path.join(OUT, "bmp_grey8.bmp"))
    made.append(("bmp_grey8.bmp", 0, "8-bit, grey palette"))
    Image.fromarray(rgb8(21, 37)).quantize(colors=16).save(os.path.join(OUT, "bmp_pal8.bmp"))
    made.append(("bmp_pal8.bmp", 0, "8-bit, colour palette"))
    Image.fromarray((grey8(21, 37) > 128).astype(np.uint8) * 255).convert("1").save(os.path.join(OUT, "bmp_1bit.bmp"))
    made.append(("bmp_1bit.bmp", 0, "1-bit"))
    Image.fromarray(np.concatenate([rgb8(21, 37), np.full((21, 37, 1), 200, np.uint8)], axis=-1), "RGBA").save(os.path.join(OUT, "bmp_rgba32.bmp"))
    made.append(("bmp_rgba32.bmp", 0, "32-bit with alpha (dropped)"))
    idx = (np.mgrid[0:19, 0:33][1] // 5 + np.mgrid[0:19, 0:33][0] // 7).astype(np.uint8) % 6
    idx[5, 3:9] = rng.integers(0, 6, size=6)
    rle8_bmp(os.path.join(OUT, "bmp_rle8.bmp"), idx, [(255, 0, 0), (0, 128, 0), (0, 0, 255), (10, 20, 30), (200, 200, 0), (255, 255, 255)])
    made.append(("bmp_rle8.bmp", 0, "8-bit RLE8, colour palette"))

    # WebP through Pillow (libwebp).
    Image.fromarray(c8).save(os.path.join(OUT, "webp_lossless.webp"), lossless=True)
    made.append(("webp_lossless.webp", 0, "lossless"))
    Image.fromarray(np.concatenate([c8, np.full((40, 52, 1), 128, np.uint8)], axis=-1), "RGBA").save(os.path.join(OUT, "webp_rgba_lossless.webp"), lossless=True)
    made.append(("webp_rgba_lossless.webp", 0, "lossless with alpha (dropped)"))
    Image.fromarray(c8).save(os.path.join(OUT, "webp_lossy.webp"), quality=85)
    # Lossy VP8: image-webp and libwebp may round chroma upsampling differently.
    made.append(("webp_lossy.webp", 3, "lossy"))

    # PNG and JPEG.
    Image.fromarray(g16).save(os.path.join(OUT, "png_grey16.png"))
    made.append(("png_grey16.png", 0, "16-bit grey"))
    Image.fromarray(c8).quantize(colors=32).save(os.path.join(OUT, "png_palette.png"))
    made.append(("png_palette.png", 0, "palette"))
    Image.fromarray(c8).save(os.path.join(OUT, "jpeg_rgb.jpg"), quality=90)
    made.append(("jpeg_rgb.jpg", 1, "baseline, 4:2:0"))
    Image.fromarray(g8).save(os.path.join(OUT, "jpeg_grey.jpg"), quality=90)
    made.append(("jpeg_grey.jpg", 1, "baseline grey"))

    manifest = []
    for name, max_diff, note in made:
        frames = reference(os.path.join(OUT, name), first_size_only=True)
        a = np.stack(frames)
        kind = {np.dtype("uint8"): "u8", np.dtype("uint16"): "u16", np.dtype("int16"): "i16", np.dtype("int32"): "i32"}[a.dtype.newbyteorder("=") if a.dtype.byteorder == ">" else a.dtype]
        raw = name.rsplit(".", 1)[0] + ".raw"
        a.astype(a.dtype.newbyteorder("<")).tofile(os.path.join(OUT, raw))
        manifest.append(
            {
                "file": name,
                "note": note,
                "frames": int(a.shape[0]),
                "rows": int(a.shape[1]),
                "columns": int(a.shape[2]),
                "samples": int(a.shape[3]) if a.ndim == 4 else 1,
                "dtype": kind,
                "raw": raw,
                "max_diff": max_diff,
                "min": int(a.min()),
                "max": int(a.max()),
            }
        )
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(manifest)} fixtures, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
