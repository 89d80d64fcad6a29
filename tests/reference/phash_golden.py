#!/usr/bin/python3
"""Golden perceptual hashes (pHash) of the shipped photos and the reference inputs, computed with PIL, NumPy and SciPy.

usage: /usr/bin/python3 tests/reference/phash_golden.py   (writes tests/reference/phash-golden.json)

The hash is `imagehash.phash(Image.open(p))` with its defaults (hash_size 8, highfreq_factor 4). imagehash itself is
not installable here (no PyPI), so this file restates its definition (imagehash 4.x, phash()) in a few lines that
share no code with the C# one (Grains/Imaging/PerceptualHash.cs):
    image  = Image.open(p).convert("L").resize((32, 32), Image.LANCZOS)   # imagehash's ANTIALIAS is LANCZOS
    pixels = numpy.asarray(image)                                         # uint8 32 x 32
    dct    = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1) # type II, unnormalised, rows then columns
    low    = dct[:8, :8];  bits = low > numpy.median(low)
and the hash is written as imagehash's str() does: the 64 bits row by row, the first one the most significant, as
16 lowercase hex digits. tests/DpIqa.Tests/Imaging/PerceptualHashTests.cs compares ours with these bit for bit.

Each entry also records `margin`: the gap between the 33rd and the 32nd smallest of the 64 coefficients, relative to
the largest magnitude among them. Only a coefficient within floating-point noise of the median could come out
differently in another DCT implementation; the test reports the margins so a failure on a tiny one is told apart.
Files PIL cannot open are left out with the reason.
"""
import json
import os

import numpy as np
import scipy.fftpack
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDERS = [os.path.join(ROOT, "samples", "photos"), os.path.join(ROOT, "tests", "reference", "inputs")]
OUT = os.path.join(ROOT, "tests", "reference", "phash-golden.json")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")

# imagehash converts the opened image straight to "L"; the cluster hashes the pixels it scored, PIL's convert("RGB"),
# converted to "L". For every input here the two give the same grey pixels (checked with Pillow 9.4), so no input is
# left out for that; files PIL cannot open are (the cluster gives them an error record and no hash).


def phash(image):
    """(hex, margin) of imagehash.phash(image)."""
    pixels = np.asarray(image.convert("L").resize((32, 32), Image.LANCZOS))
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:8, :8]
    bits = (low > np.median(low)).flatten()
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    ordered = np.sort(low.flatten())
    margin = float((ordered[32] - ordered[31]) / max(np.abs(ordered).max(), 1e-300))
    return f"{value:016x}", margin


def main():
    golden, skipped = {}, {}
    for folder in FOLDERS:
        for name in sorted(os.listdir(folder)):
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            rel = os.path.relpath(os.path.join(folder, name), ROOT)
            try:
                with Image.open(os.path.join(folder, name)) as image:
                    image.load()
                    value, margin = phash(image)
            except Exception as e:  # truncated, empty, not an image: the cluster gives an error record, no hash
                skipped[rel] = f"PIL cannot open it: {type(e).__name__}: {e}"
                continue
            golden[rel] = {"phash": value, "margin": margin}
    with open(OUT, "w") as f:
        json.dump({"definition": "imagehash.phash: L, LANCZOS 32x32, scipy.fftpack.dct II rows+cols, low 8x8 > median",
                   "pillow": Image.__version__ if hasattr(Image, "__version__") else __import__("PIL").__version__,
                   "scipy": scipy.__version__, "numpy": np.__version__,
                   "hashes": golden, "skipped": skipped}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(golden)} hashes, {len(skipped)} skipped -> {OUT}")


if __name__ == "__main__":
    main()
