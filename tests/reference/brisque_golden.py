#!/usr/bin/python3
"""OpenCV's own BRISQUE scores of the shipped photos and of generated degradations of them: the reference the
built-in model `brisque` is tested against (tests/DpIqa.Tests/Models/BrisqueGoldenTests.cs).

usage: /usr/bin/python3 tests/reference/brisque_golden.py [--generate]
  needs Debian's python3-opencv and opencv-data (apt-get install python3-opencv opencv-data); CI does not run it,
  the committed tests/reference/brisque-golden.json is enough for the test.
  --generate  first (re)writes the degraded images into tests/reference/brisque/ (deterministic: fixed seeds, PIL's
              resize and encoders, OpenCV's blur); without it the committed images are scored as they are.

Images: the 10 photos of samples/photos at their own size, and for each photo a small copy (longest side 128 to 236
px, one size per photo) with three ladders of degradation, each step worse than the one before:
  blur   Gaussian blur sigma 1, 2, 4 (cv2.GaussianBlur, reflected border), saved as PNG, or lossless WebP for every
         other photo;
  jpeg   JPEG quality 75, 40, 20, 10 (PIL, 4:2:0);
  noise  additive Gaussian noise sigma 5, 10, 20 (NumPy, seed per photo), saved as PNG, or lossless WebP.
The undegraded small copy (PNG) is step 0 of every ladder.

Scores: cv2.quality.QualityBRISQUE_compute(image, model, range) with Debian's model files
/usr/share/opencv4/quality/brisque_{model,range}_live.yml (the same bytes as Grains/Models/Brisque/). The image is
read with cv2.imread(path, IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION): BGR 8-bit, alpha dropped, no EXIF rotation,
which are the pixels the cluster's decoder gives. The output also records, per ladder, the steps where OpenCV's
score does NOT get worse (higher), so the behaviour test knows the exceptions OpenCV itself has.
"""
import json
import os
import sys

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTOS = os.path.join(ROOT, "samples", "photos")
IMAGES = os.path.join(ROOT, "tests", "reference", "brisque")
OUT = os.path.join(ROOT, "tests", "reference", "brisque-golden.json")
MODEL = "/usr/share/opencv4/quality/brisque_model_live.yml"
RANGE = "/usr/share/opencv4/quality/brisque_range_live.yml"

BLUR = [1.0, 2.0, 4.0]
JPEG = [75, 40, 20, 10]
NOISE = [5.0, 10.0, 20.0]


def photos():
    return sorted(f for f in os.listdir(PHOTOS) if f.lower().endswith((".jpg", ".png")))


def stem(photo):
    return os.path.splitext(photo)[0]


def generate():
    os.makedirs(IMAGES, exist_ok=True)
    for old in os.listdir(IMAGES):
        os.remove(os.path.join(IMAGES, old))
    for index, photo in enumerate(photos()):
        image = Image.open(os.path.join(PHOTOS, photo)).convert("RGB")
        side = 128 + 12 * index  # one size per photo: 128 .. 236
        scale = side / max(image.size)
        small = image.resize((max(2, round(image.width * scale)), max(2, round(image.height * scale))), Image.LANCZOS)
        name = stem(photo)
        small.save(os.path.join(IMAGES, f"{name}.base.png"), optimize=True)
        lossless = "webp" if index % 2 else "png"
        pixels = np.asarray(small)
        for i, sigma in enumerate(BLUR, 1):
            blurred = cv2.GaussianBlur(pixels, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
            save(Image.fromarray(blurred), f"{name}.blur{i}.{lossless}")
        for i, quality in enumerate(JPEG, 1):
            small.save(os.path.join(IMAGES, f"{name}.jpeg{i}.jpg"), quality=quality)
        rng = np.random.default_rng(1000 + index)
        for i, sigma in enumerate(NOISE, 1):
            noisy = np.clip(pixels.astype(np.float64) + rng.normal(0, sigma, pixels.shape), 0, 255).round().astype(np.uint8)
            save(Image.fromarray(noisy), f"{name}.noise{i}.{lossless}")


def save(image, file):
    path = os.path.join(IMAGES, file)
    if file.endswith(".webp"):
        image.save(path, lossless=True, quality=100, method=6)
    else:
        image.save(path, optimize=True)


def score(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None:
        sys.exit(f"error: OpenCV cannot read {path}")
    return float(cv2.quality.QualityBRISQUE_compute(bgr, MODEL, RANGE)[0]), bgr.shape[1], bgr.shape[0]


def main():
    for f in (MODEL, RANGE):
        if not os.path.exists(f):
            sys.exit(f"error: {f} is missing: apt-get install opencv-data")
    if "--generate" in sys.argv[1:]:
        generate()
    scores = {}
    for photo in photos():
        s, w, h = score(os.path.join(PHOTOS, photo))
        scores[f"photos/{photo}"] = {"score": s, "width": w, "height": h}
    for file in sorted(os.listdir(IMAGES)):
        s, w, h = score(os.path.join(IMAGES, file))
        scores[f"brisque/{file}"] = {"score": s, "width": w, "height": h}
    ladders, exceptions = {}, []
    for photo in photos():
        name = stem(photo)
        files = {f.split("/")[1].split(".")[1]: f for f in scores if f.startswith(f"brisque/{name}.")}
        for ladder, count in (("blur", len(BLUR)), ("jpeg", len(JPEG)), ("noise", len(NOISE))):
            steps = [files["base"]] + [files[f"{ladder}{i}"] for i in range(1, count + 1)]
            ladders[f"{name}/{ladder}"] = steps
            for a, b in zip(steps, steps[1:]):
                if scores[b]["score"] <= scores[a]["score"]:
                    exceptions.append(f"{a} -> {b}")
    out = {
        "model": "brisque",
        "reference": f"OpenCV {cv2.__version__} cv2.quality.QualityBRISQUE_compute, Debian opencv-data model files",
        "scores": scores,
        "ladders": ladders,
        "opencv_not_worse": exceptions,
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(IMAGES, f)) for f in os.listdir(IMAGES))
    print(f"{len(scores)} images ({len(os.listdir(IMAGES))} generated, {total / 1e6:.2f} MB), "
          f"{len(exceptions)} ladder steps OpenCV does not score worse: {exceptions}")


if __name__ == "__main__":
    main()
