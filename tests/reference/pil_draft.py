#!/usr/bin/python3
"""PIL's own fast JPEG path, as a reference for dpiqa's --preprocess fast.

usage: /usr/bin/python3 tests/reference/pil_draft.py OUT_DIR BOUND COMPENSATION FILE...
For each FILE, Image.open and draft('RGB', (BOUND, BOUND)) (libjpeg-turbo DCT scaling by 1/2, 1/4 or 1/8, the largest
that keeps both sides >= BOUND, as dpiqa's fast path), convert('RGB'), then two resizes to 512x512 of the box the
image covers at that scale (size / s; the decoded size is rounded up, its last pixel partly padding), as raw RGB bytes:
  OUT_DIR/NAME.draft.rgb        PIL's resize((512, 512), BILINEAR, box=...)
  OUT_DIR/NAME.compensated.rgb  the same bilinear resample in NumPy with the filter narrowed as dpiqa's fast path does
                                after a reduction: width sqrt(scale^2 - COMPENSATION) decoded pixels, at least 1
                                (Preprocessor.CompensatedFilterScale); PIL's coefficients, rounding and pass order.
and OUT_DIR/draft.json mapping NAME to the size the draft decoded. The NumPy resample is checked against PIL's own
resize with PIL's filter width on every file first (bit for bit), so it is PIL's code but for the width.
"""
import json
import math
import os
import sys

import numpy as np
from PIL import Image

PRECISION_BITS = 32 - 8 - 2


def coefficients(in_size, out_size, extent, filter_scale=0.0):
    """Pillow's precompute_coeffs + normalize_coeffs_8bpc (Resample.c) for the bilinear filter; filter_scale > 0
    replaces its width. Returns (start[out], weights[out, ksize]) with integer 22-bit weights, 0 past each count."""
    scale = float(np.float32(extent)) / out_size  # Pillow's box is float
    if filter_scale <= 0:
        filter_scale = max(scale, 1.0)
    support = 1.0 * filter_scale
    ksize = int(math.ceil(support)) * 2 + 1
    start = np.zeros(out_size, dtype=np.int64)
    weights = np.zeros((out_size, ksize), dtype=np.int64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        ss = 1.0 / filter_scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size) - xmin
        k = [max(0.0, 1.0 - abs((x + xmin - center + 0.5) * ss)) for x in range(xmax)]
        ww = sum(k)
        for x in range(xmax):
            w = k[x] / ww if ww != 0.0 else k[x]
            weights[xx, x] = int(-0.5 + w * (1 << PRECISION_BITS)) if w < 0 else int(0.5 + w * (1 << PRECISION_BITS))
        start[xx] = xmin
    return start, weights


def apply(pixels, start, weights, axis):
    """One pass along axis 1 (horizontal) or 0 (vertical) of uint8 HxWxC pixels, rounded and clipped to 8 bits."""
    src = np.moveaxis(pixels, axis, 0).astype(np.int64)
    n = src.shape[0]
    index = np.minimum(start[:, None] + np.arange(weights.shape[1])[None, :], n - 1)  # past the count the weight is 0
    acc = np.full((len(start),) + src.shape[1:], 1 << (PRECISION_BITS - 1), dtype=np.int64)
    for k in range(weights.shape[1]):
        acc += src[index[:, k]] * weights[:, k].reshape((-1,) + (1,) * (src.ndim - 1))
    out = np.clip(acc >> PRECISION_BITS, 0, 255).astype(np.uint8)
    return np.moveaxis(out, 0, axis)


def resize(rgb, extent_x, extent_y, filter_x=0.0, filter_y=0.0):
    """PIL's bilinear resize of the box (0, 0, extent_x, extent_y) to 512x512: horizontal pass first (every row; PIL
    skips the rows the vertical pass does not read, which changes nothing), then the vertical pass."""
    height, width = rgb.shape[:2]
    hs, hw = coefficients(width, 512, extent_x, filter_x)
    vs, vw = coefficients(height, 512, extent_y, filter_y)
    return apply(apply(rgb, hs, hw, 1), vs, vw, 0)


def compensated_filter_scale(extent, compensation):
    scale = float(np.float32(extent)) / 512
    return max(1.0, math.sqrt(max(0.0, scale * scale - compensation)))


def main():
    out, bound, compensation, files = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    os.makedirs(out, exist_ok=True)
    sizes = {}
    for path in files:
        name = os.path.basename(path)
        with Image.open(path) as im:
            width, height = im.size
            im.draft("RGB", (bound, bound))
            sizes[name] = list(im.size)
            s = round(width / im.size[0])  # the draft's reduction: 1, 2, 4 or 8
            decoded = im.convert("RGB")
        box = (width / s, height / s)
        pil = decoded.resize((512, 512), Image.BILINEAR, box=(0, 0) + box)
        pixels = np.asarray(decoded)
        ours = resize(pixels, *box)
        if not np.array_equal(ours, np.asarray(pil)):
            sys.exit(f"{name}: the NumPy resample differs from PIL's resize with PIL's filter width")
        compensated = ours if s == 1 else resize(pixels, *box, compensated_filter_scale(box[0], compensation),
                                                  compensated_filter_scale(box[1], compensation))
        with open(os.path.join(out, name + ".draft.rgb"), "wb") as f:
            f.write(pil.tobytes())
        with open(os.path.join(out, name + ".compensated.rgb"), "wb") as f:
            f.write(compensated.tobytes())
    with open(os.path.join(out, "draft.json"), "w") as f:
        json.dump(sizes, f, indent=1)


if __name__ == "__main__":
    main()
