#!/usr/bin/python3
"""Reference outputs for the student parity tests (tests/DpIqa.Tests/Models/StudentParityTests.cs).

usage: /usr/bin/python3 tools/export/parity_reference.py OUT_DIR IMAGE...

Builds the DP-IQA student architecture with random weights (seed 0), recalibrates its BatchNorm statistics
on the first 8 readable images (otherwise every image gets the same score) with each channel's variance
floored at its layer's median (otherwise the random network is numerically chaotic on some photos: float32
and float64 PyTorch disagree by whole score units, see export.calibrate_batchnorm), scales the last layer's
weights by 50 so scores spread over a few hundredths like real ones do, exports it with export.py as float32
(`student-random`) and uint8-input (`student-random-u8`) ONNX models into OUT_DIR/models/NAME/, then writes
OUT_DIR/reference.json with PyTorch's scores for
  - three fixed random input tensors (also saved, as OUT_DIR/tensors.npy), and
  - every image through the official pipeline: PIL open + convert('RGB'),
    torchvision.transforms.Resize((512, 512)) + ToTensor(), the model.
Needs python3-torch and python3-torchvision (Debian 12: torch 1.13.1, torchvision 0.14.1).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402


def stable_student(torch, torchvision, images):
    """The parity student (also bench/torch_baseline.py's): random weights (seed 0), BatchNorm recalibrated on the
    first 8 readable IMAGES with a variance floor, last layer x50; in eval mode. Returns (model, readable images)."""
    from PIL import Image

    torch.manual_seed(0)
    model = export.build_student(torch, torchvision)
    readable = []
    for path in images:
        try:
            Image.open(path).convert("RGB")
            readable.append(path)
        except Exception:
            pass
    export.calibrate_batchnorm(torch, model, readable[:8], variance_floor=1.0)
    with torch.no_grad():
        model.fc3.weight.mul_(50)
    model.eval()
    return model, readable


def main():
    out, images = sys.argv[1], sys.argv[2:]
    torch, torchvision = export.torch_modules()
    torch.set_num_threads(os.cpu_count() or 1)  # Debian's torch starts with one thread
    from PIL import Image
    from torchvision import transforms

    model, readable = stable_student(torch, torchvision, images)

    models_dir = os.path.join(out, "models")
    for name, uint8 in (("student-random", False), ("student-random-u8", True)):
        args = argparse.Namespace(out=models_dir, name=name, version="random-seed0", uint8_input=uint8, opset=17,
                                  score_range=None, direction="higher-is-better")
        wrapped = export.ScoreOnly.wrap(torch, model, uint8, False)
        export.export(torch, wrapped, args, "DP-IQA student architecture, RANDOM weights (parity tests only)")

    # Tensors in the range of real inputs: photos blended with uniform noise (pure noise is far outside what
    # the calibrated random network has seen, and its outputs there are meaningless).
    rng = np.random.default_rng(1)
    photos = [np.asarray(Image.open(p).convert("RGB").resize((512, 512), Image.BILINEAR), dtype=np.float32).transpose(2, 0, 1) / 255
              for p in readable[:3]]
    tensors = np.stack([0.8 * p + 0.2 * rng.random(p.shape, dtype=np.float32) for p in photos]).astype(np.float32)
    np.save(os.path.join(out, "tensors.npy"), tensors)
    with torch.no_grad():
        tensor_scores = model(torch.from_numpy(tensors))[0][:, 0].tolist()

    # The official in-the-wild pipeline (datasets_in_the_wild.py + koniq_demo.py).
    pipeline = transforms.Compose([transforms.Resize((512, 512)), transforms.ToTensor()])
    scores = {}
    with torch.no_grad():
        for path in images:
            try:
                x = pipeline(Image.open(path).convert("RGB")).unsqueeze(0)
            except Exception as e:  # PIL refuses it: the C# side must refuse it too (checked elsewhere)
                print(f"skipped {path}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            scores[os.path.abspath(path)] = model(x)[0].item()
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "tensor_scores": tensor_scores, "images": scores}, f, indent=1)
    print(f"reference scores for {len(scores)} images and {len(tensor_scores)} tensors in {out}")


if __name__ == "__main__":
    main()
