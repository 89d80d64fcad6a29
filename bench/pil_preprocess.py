#!/usr/bin/python3
"""Baseline for the preprocessing benchmark: DP-IQA's official input pipeline up to the 8-bit image,
PIL decode + convert('RGB') + resize((512, 512), BILINEAR) (what torchvision's Resize does on a PIL image).

usage: /usr/bin/python3 bench/pil_preprocess.py WORKERS REPEATS [--draft[=SIDE]] FILE...
Prints one line: 'pil workers=W images=N best_ms_per_image=X' (best of REPEATS passes over all files;
with W > 1 the files are split over W processes, as a DataLoader with workers does).
--draft: PIL's own fast JPEG path first, Image.draft('RGB', (512, 512)) (libjpeg-turbo DCT scaling by 1/2, 1/4
or 1/8 keeping both sides >= 512), the fair peer of dpiqa's --preprocess fast; --draft=1024 keeps both sides >= 1024,
the bound dpiqa's fast path uses.
"""
import sys
import time
from multiprocessing import Pool

from PIL import Image


DRAFT = 0  # the draft's minimum side, 0 for none


def preprocess(path):
    with Image.open(path) as im:
        if DRAFT:
            im.draft("RGB", (DRAFT, DRAFT))
        im.convert("RGB").resize((512, 512), Image.BILINEAR)
    return 0


def init(draft):
    global DRAFT
    DRAFT = draft


def main():
    workers, repeats, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    draft = 0
    if files and files[0].startswith("--draft"):
        draft = int(files[0].partition("=")[2] or 512)
        files = files[1:]
    init(draft)
    best = float("inf")
    pool = Pool(workers, initializer=init, initargs=(draft,)) if workers > 1 else None
    for _ in range(repeats):
        start = time.perf_counter()
        if pool:
            pool.map(preprocess, files, chunksize=1)
        else:
            for f in files:
                preprocess(f)
        best = min(best, time.perf_counter() - start)
    if pool:
        pool.close()
    print(f"pil workers={workers} images={len(files)} best_ms_per_image={best * 1000 / len(files):.2f}")


if __name__ == "__main__":
    main()
