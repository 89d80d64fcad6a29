#!/usr/bin/python3
"""Export DP-IQA models (Fu et al., 2024) to ONNX + a DpIqa.Cluster model manifest.

  student: the distilled EfficientNet-B7 student, from an official checkpoint
           (`<dataset>_student_model_{plcc,srcc}_best.pth`, the state_dict train_student.py saves).
  teacher: the Stable Diffusion 1.5 based teacher, from an official checkpoint
           (`<dataset>_model_plcc_best.pth`), its class embeddings and local SD1.5 weights, using the
           official code (a checkout of https://github.com/RomGai/DP-IQA) for the architecture.
           UNTESTED here: it needs diffusers, transformers and einops, which this project's machines lack.

Tested with Debian 12's python3-torch 1.13.1 and python3-torchvision 0.14.1 (student).
Both graphs take the official preprocessing's output: float32 [N,3,512,512] in [0,1] (PIL RGB, bilinear
resize to 512x512, ToTensor, no normalisation) and return `score` [N,1] (about MOS/100, higher is better).
With --uint8-input the graph takes uint8 [N,512,512,3] (HWC pixels) and casts and scales inside
(4x less host-to-device traffic). The batch axis is dynamic.

usage:
  export.py student --checkpoint koniq_student_model_plcc_best.pth --out DIR [--name N] [--version V]
                    [--uint8-input] [--fp16] [--random-weights --calibrate IMG...]
  export.py teacher --checkpoint koniq_model_plcc_best.pth --class-embeddings quality_embeddings.pth
                    --sd15 PATH/stable-diffusion-v1-5 --dpiqa-repo PATH/DP-IQA --out DIR [...]
"""
import argparse
import hashlib
import json
import os
import sys

PREPROCESSING_FLOAT = "pil-rgb-bilinear-512-totensor"
PREPROCESSING_UINT8 = "pil-rgb-bilinear-512-uint8-nhwc"


def fail(message, code=2):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def torch_modules():
    try:
        import torch
        import torchvision
    except ImportError as e:
        fail(f"PyTorch is needed ({e}); on Debian: apt-get install python3-torch python3-torchvision")
    return torch, torchvision


def build_student(torch, torchvision):
    """The student's architecture with the official attribute names, so official state_dicts load strictly."""
    nn = torch.nn

    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            trunk = torchvision.models.efficientnet_b7(weights=None)
            features = trunk.classifier[1].in_features  # 2560
            trunk.classifier = nn.Identity()
            trunk.avgpool = nn.Identity()
            self.base_model = trunk
            self.conv_transpose = nn.ConvTranspose2d(features, 8, kernel_size=3, stride=2, padding=1, output_padding=1)
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(8 * 64 * 64, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, 1)

        def forward(self, x):
            batch = x.shape[0]
            x = self.base_model(x).view(batch, 2560, 16, 16)
            x = torch.relu(self.conv_transpose(x))
            feature_map = torch.nn.functional.interpolate(x, size=(64, 64), mode="nearest")
            x = torch.relu(self.fc1(self.flatten(feature_map)))
            x = torch.relu(self.fc2(x))
            return self.fc3(x), feature_map

    return Student()


class ScoreOnly:
    """Wraps a DP-IQA module so the exported graph has one output, `score`, and the chosen input layout."""

    @staticmethod
    def wrap(torch, model, uint8_input, half):
        nn = torch.nn

        class Wrapped(nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, image):
                if uint8_input:
                    # HWC bytes -> CHW floats in [0,1], exactly ToTensor's v / 255 in float32.
                    image = image.permute(0, 3, 1, 2).float() / 255.0
                if half:
                    image = image.half()
                score = self.model(image)[0]
                return score.float()

        return Wrapped().eval()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export(torch, wrapped, args, description, example_device="cpu"):
    os.makedirs(args.out, exist_ok=True)
    onnx_name = f"{args.name}.onnx"
    onnx_path = os.path.join(args.out, onnx_name)
    if args.uint8_input:
        example = torch.zeros(1, 512, 512, 3, dtype=torch.uint8, device=example_device)
    else:
        example = torch.rand(1, 3, 512, 512, device=example_device)
    with torch.no_grad():
        torch.onnx.export(wrapped, example, onnx_path, input_names=["image"], output_names=["score"],
                          dynamic_axes={"image": {0: "batch"}, "score": {0: "batch"}},
                          opset_version=args.opset, do_constant_folding=True)
    manifest = {
        "name": args.name,
        "version": args.version,
        "description": description,
        "file": onnx_name,
        "sha256": sha256(onnx_path),
        "input": "image",
        "input_shape": [-1, 512, 512, 3] if args.uint8_input else [-1, 3, 512, 512],
        "input_dtype": "uint8" if args.uint8_input else "float32",
        "preprocessing": PREPROCESSING_UINT8 if args.uint8_input else PREPROCESSING_FLOAT,
        "output": "score",
        "score_range": [0, 1],
        "direction": "higher-is-better",
    }
    # Models over 2 GB keep their weights in external data files beside the graph: hash those too.
    external = sorted(f for f in os.listdir(args.out)
                      if f not in (onnx_name, f"{args.name}.json") and not f.endswith(".json") and not f.endswith(".onnx"))
    if external:
        manifest["external_data"] = {f: sha256(os.path.join(args.out, f)) for f in external}
    with open(os.path.join(args.out, f"{args.name}.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path) / 2**20:.1f} MiB) and {args.name}.json (sha256 {manifest['sha256'][:12]})")


def calibrate_batchnorm(torch, model, images, mirror=False, variance_floor=None):
    """Random weights give every image the same score unless BatchNorm statistics come from real images.

    variance_floor=F raises each BatchNorm channel's variance to at least F x the layer's median: a random
    network calibrated on a few photos has channels of near-zero variance, whose 1/sqrt(var) gains compound
    over EfficientNet-B7's 55 blocks and make it numerically chaotic (float32 and float64 then disagree by
    whole score units on some photos), which would hide what a parity test is meant to see.
    """
    from PIL import Image
    import numpy as np
    batch = []
    for p in images:
        im = Image.open(p).convert("RGB").resize((512, 512), Image.BILINEAR)
        batch.append(torch.from_numpy(np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0))
        if mirror:
            batch.append(torch.flip(batch[-1], dims=[2]))
    x = torch.stack(batch)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration passes
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), 8):
            model(x[i:i + 8])
    model.eval()
    if variance_floor is not None:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_var.clamp_(min=float(variance_floor * m.running_var.median()))


def student(args):
    torch, torchvision = torch_modules()
    torch.manual_seed(args.seed)
    model = build_student(torch, torchvision)
    if args.random_weights:
        if not args.calibrate:
            fail("--random-weights needs --calibrate IMAGE... (BatchNorm statistics from real photos)")
        calibrate_batchnorm(torch, model, args.calibrate, variance_floor=1.0)
        description = "DP-IQA student ARCHITECTURE with RANDOM weights (parity testing only; scores mean nothing)"
    else:
        if not args.checkpoint:
            fail("--checkpoint is required (an official *_student_model_*.pth), or --random-weights for testing")
        state = torch.load(args.checkpoint, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            fail(f"{args.checkpoint} is not a DP-IQA student state_dict: missing {missing[:5]}, unexpected {unexpected[:5]}")
        description = f"DP-IQA student (EfficientNet-B7) from {os.path.basename(args.checkpoint)}"
    model.eval()
    device = "cpu"
    if args.fp16:
        if not torch.cuda.is_available():
            fail("--fp16 traces the model in half precision, which PyTorch 1.13 can only do on a CUDA device")
        device = "cuda"
        model = model.half().to(device)
    wrapped = ScoreOnly.wrap(torch, model, args.uint8_input, args.fp16).to(device)
    export(torch, wrapped, args, description + (" [fp16]" if args.fp16 else ""), device)


def teacher(args):
    torch, _ = torch_modules()
    for module in ("diffusers", "transformers", "einops"):
        try:
            __import__(module)
        except ImportError:
            fail(f"the teacher export needs the '{module}' package (pip install diffusers transformers einops), "
                 "which this project's machines cannot install; run it where PyPI is reachable")
    if not os.path.isdir(os.path.join(args.dpiqa_repo, "iqa_models")):
        fail(f"--dpiqa-repo {args.dpiqa_repo} is not a checkout of https://github.com/RomGai/DP-IQA (no iqa_models/)")
    sys.path.insert(0, args.dpiqa_repo)
    import diffusers
    from diffusers.models.autoencoders import vae as vae_module  # DiagonalGaussianDistribution lives here (diffusers >= 0.21)
    from iqa_models import dpiqa

    # The official DPIQA() loads SD1.5 from the hub id; point it at the user's local copy.
    for cls in (dpiqa.AutoencoderKL, dpiqa.UNet, dpiqa.CLIPTokenizer):
        original = cls.from_pretrained.__func__

        def local(klass, _name, *a, _original=original, **kw):
            return _original(klass, args.sd15, *a, **kw)
        cls.from_pretrained = classmethod(local)
    # The official code SAMPLES the VAE latent (latent_dist.sample()): not deterministic. Use the mean.
    vae_module.DiagonalGaussianDistribution.sample = lambda self, generator=None: self.mean

    model = dpiqa.DPIQA(class_embedding_path=args.class_embeddings)
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    model.eval()
    wrapped = ScoreOnly.wrap(torch, model, args.uint8_input, False)
    export(torch, wrapped, args, f"DP-IQA teacher (SD1.5, VAE latent mean) from {os.path.basename(args.checkpoint)}; diffusers {diffusers.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="which", required=True)
    for name in ("student", "teacher"):
        p = sub.add_parser(name)
        p.add_argument("--checkpoint")
        p.add_argument("--out", required=True, help="folder for NAME.onnx and NAME.json")
        p.add_argument("--name", default=f"dpiqa-{name}")
        p.add_argument("--version", default="1")
        p.add_argument("--uint8-input", action="store_true", help="uint8 NHWC input, cast and scaled in the graph")
        p.add_argument("--opset", type=int, default=17)
        if name == "student":
            p.add_argument("--fp16", action="store_true", help="half-precision weights (needs CUDA to trace)")
            p.add_argument("--random-weights", action="store_true", help="no checkpoint: random weights, for parity tests")
            p.add_argument("--calibrate", nargs="*", default=[], help="photos to recalibrate BatchNorm with (random weights)")
            p.add_argument("--seed", type=int, default=0)
        else:
            p.add_argument("--class-embeddings", required=True, help="the official quality_embeddings.pth")
            p.add_argument("--sd15", required=True, help="local Stable Diffusion 1.5 folder (vae/, unet/, tokenizer/)")
            p.add_argument("--dpiqa-repo", required=True, help="checkout of https://github.com/RomGai/DP-IQA")
    args = parser.parse_args()
    student(args) if args.which == "student" else teacher(args)


if __name__ == "__main__":
    main()
