#!/usr/bin/python3
"""OpenCV's own BRISQUE on image files, decode included: the baseline of `DpIqa.Bench brisque`.

usage: /usr/bin/python3 bench/opencv_brisque.py WORKERS REPEATS FILE...
WORKERS processes (each cv2.setNumThreads(1), so WORKERS cores), each image read with
cv2.imread(IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION) and scored with cv2.quality.QualityBRISQUE (Debian's
python3-opencv and opencv-data, model loaded once per worker). Prints the best of REPEATS passes:
`images=N seconds=S images_per_second=R`.
"""
import multiprocessing
import sys
import time

import cv2

MODEL = "/usr/share/opencv4/quality/brisque_model_live.yml"
RANGE = "/usr/share/opencv4/quality/brisque_range_live.yml"
_brisque = None


def init():
    global _brisque
    cv2.setNumThreads(1)
    _brisque = cv2.quality.QualityBRISQUE_create(MODEL, RANGE)


def score(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    return float(_brisque.compute(image)[0])


def main():
    workers, repeats, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    best = None
    with multiprocessing.Pool(workers, initializer=init) as pool:
        for _ in range(repeats):
            started = time.perf_counter()
            pool.map(score, files, chunksize=1)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
    print(f"images={len(files)} seconds={best:.3f} images_per_second={len(files) / best:.4f}")


if __name__ == "__main__":
    main()
