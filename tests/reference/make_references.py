#!/usr/bin/python3
"""Generate PIL reference data for DpIqa.Cluster's image preprocessing.

What it does
------------
1. Builds edge-case INPUT images in tests/reference/inputs/, all derived from
   the CC0-1.0 photos samples/photos/lomiri-seeding.jpg (Clemens Engelhardt),
   skimage-coffee.png (Rachel Michetti) and skimage-chelsea.png (Stefan van der
   Walt), so the derived inputs carry no attribution/share-alike obligations.
   (samples/photos/SOURCES.md lists the origin and licence of every photo.)
   Colour types/bit depths/encoders covered: 8-bit L JPEG and PNG, P (256
   colours), P + tRNS, RGBA, LA, 48-bit RGB PNG (written by the small PNG
   writer below because Pillow cannot write 16-bit RGB), 16-bit grey PNG,
   Adobe CMYK JPEG, progressive JPEG, 4:4:4 JPEG, lossless/lossy WebP, BMP
   (odd width, padded rows), GIF, LZW TIFF, 7x5 and 1x1 PNGs, a 1200x150 JPEG,
   a JPEG whose EXIF Orientation is 6 (PIL does NOT rotate it), and error
   cases: JPEGs cut at 60 % of their bytes (baseline and progressive), text
   bytes named .jpg, a 0-byte .png, and two "decompression bomb" PNGs whose
   IHDR declares 20000x20000 (> 2 x Image.MAX_IMAGE_PIXELS: error on open) and
   10000x10000 (> 1 x, < 2 x: DecompressionBombWarning on open, then the empty
   IDAT makes load() fail).
2. For every file in samples/photos/ and tests/reference/inputs/ computes what
   DP-IQA's preprocessing sees:
       Image.open(p).convert('RGB').resize((512, 512), Image.BILINEAR)
   (= torchvision.transforms.Resize((512, 512)) on a PIL image) and saves the
   uint8 512x512 RGB result losslessly to tests/reference/expected/
   <dir>__<file>.png, e.g. photos__skimage-coffee.png.png, inputs__gray.jpg.png.
   When PIL raises (open, convert, load or resize) the exception is recorded.
3. Writes tests/reference/expected/manifest.json: a list of
   {"input", "expected" (null on error), "format", "mode" (before convert),
    "width", "height", "error": null | {"type", "message"},
    "warnings": [{"type", "message"}], "sha256" (of the input file)}.
   Paths are relative to the repository root; the script chdirs there, so
   PIL's messages contain repo-relative paths too.
   Default PIL settings are used throughout: Image.MAX_IMAGE_PIXELS =
   89,478,485 (warning above it, DecompressionBombError above 2x =
   178,956,970) and ImageFile.LOAD_TRUNCATED_IMAGES = False (truncated data
   raises OSError on load).
4. Writes tests/reference/expected/tensor-coffee.npy: float32 [3, 512, 512]
   exactly as torchvision's ToTensor gives for the resized
   samples/photos/skimage-coffee.png (uint8 HWC -> CHW, float32 / 255).

Deterministic: fixed seed, fixed encoder settings, sorted traversal.  The
encoded inputs depend on the codec libraries, so they are committed rather
than regenerated in CI; rerunning with the same stack reproduces them
byte-for-byte.

Generated with (Debian 12 "bookworm" system Python):
    Pillow 9.4.0 (python3-pil 9.4.0-1.1+deb12u1), numpy 1.24.2,
    libjpeg-turbo 2.1.5, libwebp 1.2.4, libtiff 4.5.0, zlib 1.2.13

How to rerun (from anywhere; needs python3-pil and python3-numpy):
    /usr/bin/python3 tests/reference/make_references.py
The script prints the versions it ran with and refuses nothing, but if the
Pillow version differs from 9.4.0 the expected outputs may change; review the
diff before committing.
"""

import hashlib
import json
import os
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageFile, features

REPO = Path(__file__).resolve().parents[2]
PHOTOS = Path("samples/photos")
REF = Path("tests/reference")
INPUTS = REF / "inputs"
EXPECTED = REF / "expected"
SEED = 20240611
SIZE = (512, 512)


# --------------------------------------------------------------------------
# Minimal PNG writer (Pillow 9.4 cannot write 48-bit RGB; also used for the
# bomb files, whose IHDR must lie about the amount of data).
# --------------------------------------------------------------------------
def _chunk(ctype: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + ctype + data
            + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF))


def png_bytes(width, height, bit_depth, colour_type, raw_scanlines: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(raw_scanlines, 9)) + _chunk(b"IEND", b""))


def write_png_rgb16(path: Path, arr: np.ndarray) -> None:
    """arr: uint16 HxWx3 -> 16-bit RGB PNG (colour type 2), filter 0 rows."""
    h, w, c = arr.shape
    assert c == 3 and arr.dtype == np.uint16
    be = arr.astype(">u2")
    raw = b"".join(b"\x00" + be[y].tobytes() for y in range(h))
    path.write_bytes(png_bytes(w, h, 16, 2, raw))


# --------------------------------------------------------------------------
# 1. Inputs
# --------------------------------------------------------------------------
def jpeg_bytes(im, **kw) -> bytes:
    import io
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def build_inputs() -> None:
    INPUTS.mkdir(parents=True, exist_ok=True)
    for old in INPUTS.iterdir():
        old.unlink()
    rng = np.random.default_rng(SEED)

    seeding = Image.open(PHOTOS / "lomiri-seeding.jpg").convert("RGB")   # 5312x2988
    base = seeding.resize((640, 360), Image.Resampling.LANCZOS)          # JPEG/WebP base
    small = base.resize((400, 225), Image.Resampling.LANCZOS)            # lossless base
    coffee = Image.open(PHOTOS / "skimage-coffee.png").convert("RGB")    # 600x400
    chelsea = Image.open(PHOTOS / "skimage-chelsea.png").convert("RGB")  # 451x300

    # 8-bit grey
    base.convert("L").save(INPUTS / "gray.jpg", quality=85)
    small.convert("L").save(INPUTS / "gray.png", optimize=True)

    # palette, 256 colours (median cut + Floyd-Steinberg, Pillow defaults)
    pal = small.quantize(256)
    assert len(pal.getcolors(256)) == 256, "expected all 256 palette entries used"
    pal.save(INPUTS / "palette.png", optimize=False)

    # palette with a tRNS table (per-entry alpha); convert('RGB') ignores it
    pt = chelsea.resize((300, 200), Image.Resampling.LANCZOS).quantize(64)
    trns = bytes(int(a) for a in rng.integers(0, 256, 64))
    pt.save(INPUTS / "palette-trns.png", transparency=trns)

    # RGBA: alpha = radial ramp with a fully transparent disc and noise;
    # RGB under alpha 0 is still photo data (PIL drops alpha, no compositing)
    h, w = small.height, small.width
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((xx - w * 0.35) / w, (yy - h * 0.5) / h)
    alpha = np.clip(r * 600 - 60 + rng.normal(0, 12, (h, w)), 0, 255).astype(np.uint8)
    rgba = small.copy()
    rgba.putalpha(Image.fromarray(alpha, "L"))
    rgba.save(INPUTS / "rgba.png")

    # LA
    la = small.convert("L").resize((320, 180), Image.Resampling.LANCZOS)
    la = Image.merge("LA", (la, Image.fromarray(alpha, "L").resize((320, 180))))
    la.save(INPUTS / "la.png")

    # 48-bit RGB: high byte = photo, low byte random -> shows whether a reader
    # takes the high byte (PIL) or rounds v/257
    b16 = np.asarray(base.resize((288, 162), Image.Resampling.LANCZOS), dtype=np.uint16)
    low = rng.integers(0, 256, b16.shape, dtype=np.uint16)
    write_png_rgb16(INPUTS / "rgb16.png", (b16 << 8) | low)

    # 16-bit grey: left half full range (v8*257 + noise, clipped), right half
    # only 0..255 (v8) -> distinguishes "clip to 255" from ">> 8"
    g8 = np.asarray(base.convert("L").resize((320, 180), Image.Resampling.LANCZOS), dtype=np.int32)
    g16 = g8 * 257 + rng.integers(-128, 128, g8.shape)
    g16[:, 160:] = g8[:, 160:]
    g16 = np.clip(g16, 0, 65535).astype(np.uint16)
    Image.fromarray(g16).save(INPUTS / "gray16.png")  # fromarray(uint16) -> mode I;16

    # CMYK with real black generation (PIL's own RGB->CMYK always has K=0)
    a = np.asarray(base, dtype=np.float64) / 255.0
    k = 1.0 - a.max(axis=2)
    denom = np.where(k < 1.0, 1.0 - k, 1.0)
    cmy = (1.0 - a - k[..., None]) / denom[..., None]
    cmyk = np.dstack([cmy, k]) * 255.0
    cmyk_im = Image.fromarray(np.round(cmyk).astype(np.uint8), "CMYK")
    cmyk_im.save(INPUTS / "cmyk.jpg", quality=90)

    base.save(INPUTS / "progressive.jpg", quality=85, progressive=True)
    base.save(INPUTS / "q444.jpg", quality=90, subsampling=0)
    small.save(INPUTS / "webp-lossless.webp", lossless=True)
    base.save(INPUTS / "webp-lossy.webp", quality=80)

    # BMP with odd width (903-byte rows padded to 904)
    coffee.resize((301, 201), Image.Resampling.LANCZOS).save(INPUTS / "photo.bmp")
    chelsea.save(INPUTS / "photo.gif")                  # Pillow quantizes to P
    small.save(INPUTS / "photo.tiff", compression="tiff_lzw")

    tiny = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(tiny, "RGB").save(INPUTS / "tiny.png")
    Image.new("RGB", (1, 1), (200, 120, 40)).save(INPUTS / "one-pixel.png")

    # very non-square: 1200x150 (x shrinks 1200->512, y grows 150->512)
    band = seeding.crop((0, 1944, 5312, 2608)).resize((1200, 150), Image.Resampling.LANCZOS)
    band.save(INPUTS / "wide.jpg", quality=90)

    # EXIF Orientation = 6 (rotate 90 CW to display). PIL/torchvision ignore it.
    exif = Image.Exif()
    exif[0x0112] = 6
    base.save(INPUTS / "orientation6.jpg", quality=85, exif=exif.tobytes())

    # ---- error cases ----
    bj = jpeg_bytes(base, quality=90)
    (INPUTS / "truncated-baseline.jpg").write_bytes(bj[: len(bj) * 6 // 10])
    pj = jpeg_bytes(base, quality=90, progressive=True)
    (INPUTS / "truncated-progressive.jpg").write_bytes(pj[: len(pj) * 6 // 10])
    (INPUTS / "not-an-image.jpg").write_bytes(
        b"This is plain text, not a JPEG.\nDpIqa must reject it cleanly.\n")
    (INPUTS / "empty.png").write_bytes(b"")
    # valid IHDR, IDAT holding zero scanlines
    (INPUTS / "bomb.png").write_bytes(png_bytes(20000, 20000, 8, 2, b""))
    (INPUTS / "bomb-warn.png").write_bytes(png_bytes(10000, 10000, 8, 0, b""))


# --------------------------------------------------------------------------
# 2./3. Expected outputs + manifest
# --------------------------------------------------------------------------
def process(path: Path, out_name: str) -> dict:
    entry = {"input": path.as_posix(), "expected": None, "format": None, "mode": None,
             "width": None, "height": None, "error": None, "warnings": [],
             "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(str(path)) as im:  # str: PIL would resolve() a Path
                entry.update(format=im.format, mode=im.mode, width=im.width, height=im.height)
                rgb = im.convert("RGB")
            out = rgb.resize(SIZE, Image.Resampling.BILINEAR)
            assert out.mode == "RGB" and out.size == SIZE
            dst = EXPECTED / out_name
            out.save(dst, optimize=True)
            entry["expected"] = dst.as_posix()
        except Exception as e:  # record whatever PIL raises
            entry["error"] = {"type": type(e).__name__, "message": str(e)}
        entry["warnings"] = [{"type": w.category.__name__, "message": str(w.message)}
                             for w in caught]
    return entry


def main() -> None:
    os.chdir(REPO)
    print(f"Pillow {PIL.__version__}, numpy {np.__version__}, libjpeg {features.version('jpg')}"
          f" (turbo={features.check('libjpeg_turbo')}), webp {features.version('webp')},"
          f" libtiff {features.version('libtiff')}, zlib {features.version('zlib')}")
    if PIL.__version__ != "9.4.0":
        print("WARNING: references were generated with Pillow 9.4.0", file=sys.stderr)
    assert Image.MAX_IMAGE_PIXELS == 89478485 and not ImageFile.LOAD_TRUNCATED_IMAGES

    build_inputs()
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for old in EXPECTED.iterdir():
        old.unlink()

    manifest = []
    for folder, prefix in ((PHOTOS, "photos"), (INPUTS, "inputs")):
        for p in sorted(folder.iterdir()):
            if p.name == "SOURCES.md" or not p.is_file():
                continue
            e = process(p, f"{prefix}__{p.name}.png")
            manifest.append(e)
            err = f"  ERROR {e['error']['type']}: {e['error']['message']}" if e["error"] else ""
            wrn = f"  WARN {[w['type'] for w in e['warnings']]}" if e["warnings"] else ""
            print(f"{e['input']:48} {e['format']} {e['mode']} {e['width']}x{e['height']}{err}{wrn}")

    (EXPECTED / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    # 4. ToTensor of one PNG photo: float32 CHW, uint8 / 255
    with Image.open(PHOTOS / "skimage-coffee.png") as im:
        img = im.convert("RGB").resize(SIZE, Image.Resampling.BILINEAR)
    t = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / np.float32(255)
    t = np.ascontiguousarray(t, dtype=np.float32)
    assert t.shape == (3, 512, 512) and t.dtype == np.float32
    np.save(EXPECTED / "tensor-coffee.npy", t)
    print(f"{len(manifest)} entries, tensor-coffee.npy {t.shape} {t.dtype}")


if __name__ == "__main__":
    main()
