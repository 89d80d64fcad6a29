#!/usr/bin/python3
"""Camera-size JPEGs for the fast-preprocessing fidelity test and the preprocess benchmark.

usage: /usr/bin/python3 tests/reference/camera_jpegs.py [--seed N] OUT_DIR COUNT PHOTO...
Writes OUT_DIR/camera-NN.jpg: each a different crop of one of the photos, enlarged to a camera size (3000-6000 px
on the long side, 4:3, 3:2, 16:9 or portrait), with its own blur, exposure and sensor noise so the images span a
range of quality, saved at quality 60-97 with 4:4:4, 4:2:2 or 4:2:0 subsampling, some progressive. Deterministic
(seeded), so the same arguments give the same files. Another --seed (default 11, the set the tests and the
compensation were tuned on) gives other crops, sizes, blur, exposure and noise: a held-out set.
"""
import os
import random
import sys

import numpy as np
from PIL import Image, ImageFilter

ASPECTS = [(4, 3), (3, 2), (16, 9), (3, 4), (2, 3)]
QUALITIES = [60, 75, 85, 92, 97]
SUBSAMPLING = [0, 1, 2]  # PIL: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0
DEFAULT_SEED = 11


def main():
    args = sys.argv[1:]
    seed = DEFAULT_SEED
    if args[:1] == ["--seed"]:
        seed, args = int(args[1]), args[2:]
    out, count, photos = args[0], int(args[1]), sorted(args[2:])
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    sources = [Image.open(p).convert("RGB") for p in photos]
    for i in range(count):
        src = sources[i % len(sources)]
        aw, ah = ASPECTS[i % len(ASPECTS)]
        long_side = rng.randint(3000, 6000)
        w, h = (long_side, long_side * ah // aw) if aw >= ah else (long_side * aw // ah, long_side)
        # A crop of the source with the target's aspect ratio, between 50% and 100% of the largest one.
        f = rng.uniform(0.5, 1.0)
        cw = min(src.width, int(src.height * w / h)) * f
        ch = cw * h / w
        x0, y0 = rng.uniform(0, src.width - cw), rng.uniform(0, src.height - ch)
        im = src.resize((w, h), Image.BICUBIC, box=(x0, y0, x0 + cw, y0 + ch))
        blur = rng.choice([0, 0, 1, 2, 4, 8])
        if blur:
            im = im.filter(ImageFilter.GaussianBlur(blur))
        a = np.asarray(im, dtype=np.float32) * rng.uniform(0.6, 1.3)
        noise = rng.choice([0, 0, 3, 8])
        if noise:
            a += np.random.default_rng(i if seed == DEFAULT_SEED else [seed, i]).normal(0, noise, a.shape).astype(np.float32)
        im = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))
        im.save(os.path.join(out, f"camera-{i:02d}.jpg"), quality=QUALITIES[i % len(QUALITIES)],
                subsampling=SUBSAMPLING[(i // len(QUALITIES)) % len(SUBSAMPLING)], progressive=(i % 4 == 3))
    print(f"wrote {count} JPEGs to {out}")


if __name__ == "__main__":
    main()
