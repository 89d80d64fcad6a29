#!/usr/bin/python3
"""Golden scores of the built-in model `proxy-sharpness` on the shipped photos, computed with NumPy.

usage: /usr/bin/python3 tests/reference/proxy_golden.py   (writes tests/reference/proxy-golden.json)

An implementation of the proxy's formula that shares no code with the C# one (Grains/Models/ProxyModel.cs
builds an ONNX graph; this reads only the formula), so a change in what the built-in model outputs is caught by
tests/DpIqa.Tests/Models/ProxyGoldenTests.cs. It starts from the pixels the DP-IQA preprocessing produces:
    Image.open(p).convert('RGB').resize((512, 512), Image.BILINEAR), then / 255
and computes in float64 on the luma plane Y = 0.299 R + 0.587 G + 0.114 B:
    var       = max(mean(Y^2) - mean(Y)^2, 1e-6)      (population variance)
    laplacian = 4-neighbour Laplacian [0 1 0; 1 -4 1; 0 1 0] on the interior only (no padding: 510 x 510)
    r         = mean(laplacian^2) / var;           sharpness = r / (r + 0.05)
    contrast  = sqrt(var) / (sqrt(var) + 0.05)
    exposure  = exp(-(mean(Y) - 0.45)^2 / (2 * 0.2^2))
    clipping  = (1 - mean(clip((Y - 0.9) * 10, 0, 1))) * (1 - mean(clip((0.1 - Y) * 10, 0, 1)))
    score     = sharpness * contrast * exposure * clipping
Float64 throughout, so the golden values carry no float32 rounding.

Each photo also gets the relative tolerance the C# test allows. The ONNX graph computes in float32, and its six
means over 262,144 (or 260,100) values round differently depending on the order ONNX Runtime adds them in: its
x64 CPU kernel keeps 8 SIMD partial sums, and that order alone moves lomiri-free.jpg's score by 1.1e-3 relative
from the float64 value (reproduced to 3 digits by `float32_score(x, lanes(8))` below), while pairwise summation
moves no score by more than 1.3e-6. So the tolerance of a photo is twice the largest deviation over the plausible
orders (one running sum, 4, 8 and 16 partial sums, pairwise), and at least 1e-4: from 1e-4 (the astronaut) to
5.7e-3 (lomiri-free). A 1 % change of any constant of the formula moves some photo's score by more than its
tolerance.
"""
import json
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PHOTOS = os.path.join(ROOT, "samples", "photos")
OUT = os.path.join(ROOT, "tests", "reference", "proxy-golden.json")
R0, C0, M0, S0 = 0.05, 0.05, 0.45, 0.2


def pixels(path):
    """The model's input: float64 HxWx3 in [0, 1]."""
    rgb = Image.open(path).convert("RGB").resize((512, 512), Image.BILINEAR)
    return np.asarray(rgb, dtype=np.float64) / 255.0


def score(x):
    y = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    mean = y.mean()
    var = max((y * y).mean() - mean * mean, 1e-6)
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4.0 * y[1:-1, 1:-1]
    r = (lap * lap).mean() / var
    sharpness = r / (r + R0)
    std = np.sqrt(var)
    contrast = std / (std + C0)
    exposure = np.exp(-((mean - M0) ** 2) / (2 * S0 * S0))
    highlights = 1.0 - np.clip((y - 0.9) * 10.0, 0.0, 1.0).mean()
    shadows = 1.0 - np.clip((0.1 - y) * 10.0, 0.0, 1.0).mean()
    return float(sharpness * contrast * exposure * highlights * shadows)


def float32_score(x, mean):
    """The same formula in float32 with the means summed by `mean`: a model of the graph's rounding, not a reference."""
    f = np.float32
    x = x.astype(f)
    y = f(0.299) * x[..., 0] + f(0.587) * x[..., 1] + f(0.114) * x[..., 2]
    m = mean(y)
    var = max(mean(y * y) - m * m, f(1e-6))
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - f(4) * y[1:-1, 1:-1]
    r = mean(lap * lap) / var
    std = np.sqrt(var)
    exposure = np.exp(-((m - f(M0)) ** 2) / f(2 * S0 * S0))
    highlights = f(1) - mean(np.clip((y - f(0.9)) * f(10), f(0), f(1)))
    shadows = f(1) - mean(np.clip((f(0.1) - y) * f(10), f(0), f(1)))
    return float(r / (r + f(R0)) * (std / (std + f(C0))) * exposure * highlights * shadows)


def lanes(k):
    """A float32 mean that keeps k running partial sums (as a k-wide SIMD loop does), then adds them up."""
    def mean(a):
        a = a.ravel()
        n = a.size // k * k
        partial = np.cumsum(a[:n].reshape(-1, k), axis=0, dtype=np.float32)[-1]
        return (partial.sum(dtype=np.float32) + a[n:].sum(dtype=np.float32)) / np.float32(a.size)
    return mean


def pairwise(a):
    return a.ravel().mean(dtype=np.float32)  # NumPy sums float32 pairwise


def tolerance(x, golden):
    worst = max(abs(float32_score(x, m) - golden) / golden for m in (lanes(1), lanes(4), lanes(8), lanes(16), pairwise))
    return max(2 * worst, 1e-4)


def main():
    names = sorted(n for n in os.listdir(PHOTOS) if os.path.splitext(n)[1].lower() in (".jpg", ".jpeg", ".png", ".webp"))
    golden = {}
    for name in names:
        x = pixels(os.path.join(PHOTOS, name))
        s = score(x)
        golden[name] = {"score": s, "relative_tolerance": float(f"{tolerance(x, s):.2g}")}
        print(f"{s:.9f} +- {golden[name]['relative_tolerance']:.1e} relative  {name}")
    with open(OUT, "w") as f:
        json.dump({"model": "proxy-sharpness", "version": "1", "numpy": np.__version__,
                   "pillow": Image.__version__, "scores": golden}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
