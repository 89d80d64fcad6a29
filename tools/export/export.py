#!/usr/bin/python3
"""Export DP-IQA models (Fu et al., 2024) to ONNX + a DpIqa.Cluster model manifest.

  student: the distilled EfficientNet-B7 student, from an official checkpoint: the state_dict train_student.py
           saves (`<dataset>_student_model_{plcc,srcc}_best.pth`; also `module.`-prefixed from nn.DataParallel,
           or wrapped as {"state_dict": ...}), or the whole pickled model the official demo loads
           (`<dataset>_student_model_pack.pth`, torch.save(model)), read through student_shim.py.
  teacher: the Stable Diffusion 1.5 based teacher, from an official checkpoint (`<dataset>_model_{plcc,srcc}_best.pth`,
           model.state_dict()) and the official class embeddings (quality_embeddings.pth), built by teacher_model.py
           in plain PyTorch (no diffusers, transformers or the official repository; SD1.5's widths built in, or
           --config-from a local SD1.5 folder). The VAE latent is the distribution's MEAN (the official code samples
           it); the text side (class embeddings through the text adapter) is folded into constant cross-attention
           keys/values. The weights go to ONE external-data file NAME.onnx.data beside the graph (onnx_external.py;
           needs python3-onnx).

Tested with Debian 12's python3-torch 1.13.1, python3-torchvision 0.14.1 and python3-onnx 1.12 (teacher).
Both graphs take the official preprocessing's output: float32 [N,3,512,512] in [0,1] (PIL RGB, bilinear
resize to 512x512, ToTensor, no normalisation) and return `score` [N,1] (about MOS/100, higher is better).
With --uint8-input the graph takes uint8 [N,512,512,3] (HWC pixels) and casts and scales inside
(4x less host-to-device traffic). The batch axis is dynamic.

Each export is a folder OUT/NAME/ holding NAME.onnx, its external-data files (models over 2 GB) and NAME.json,
the manifest `dpiqa models import OUT/NAME` takes. The manifest records the score range the checkpoint was
trained for: the official code trains every in-the-wild dataset on MOS/100 (KonIQ-10k, LIVE Challenge, LIVE-FB,
SPAQ: MOS on 0..100, so scores about 0..1, higher is better), recognised from the checkpoint's file name
(koniq_*, clive_*/livec_*, livefb_*, spaq_*); otherwise give --score-range LOW,HIGH, or none is recorded.

usage:
  export.py student --checkpoint koniq_student_model_plcc_best.pth --out DIR [--name N] [--version V]
                    [--score-range LOW,HIGH] [--direction higher-is-better|lower-is-better]
                    [--uint8-input] [--fp16] [--random-weights --calibrate IMG...]
  export.py teacher --checkpoint koniq_model_plcc_best.pth --class-embeddings quality_embeddings.pth --out DIR
                    [--config-from PATH/stable-diffusion-v1-5] [--name N] [--version V] [--score-range LOW,HIGH]
                    [--uint8-input] [--random-weights [--seed S]]
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
    import student_shim
    return student_shim.StudentEfficientNet()


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


def model_folder(args):
    """OUT/NAME: one folder per model, so the external-data files hashed below are this model's only."""
    return os.path.join(args.out, args.name)


def export(torch, wrapped, args, description, example_device="cpu", single_external_file=False):
    folder = model_folder(args)
    os.makedirs(folder, exist_ok=True)
    onnx_name = f"{args.name}.onnx"
    onnx_path = os.path.join(folder, onnx_name)
    manifest_name = f"{args.name}.json"
    # A re-export into the same folder must not leave the previous export's external-data files behind.
    for stale in os.listdir(folder):
        if stale != manifest_name and os.path.isfile(os.path.join(folder, stale)):
            os.remove(os.path.join(folder, stale))
    if args.uint8_input:
        example = torch.zeros(1, 512, 512, 3, dtype=torch.uint8, device=example_device)
    else:
        example = torch.rand(1, 3, 512, 512, device=example_device)
    with torch.no_grad():
        torch.onnx.export(wrapped, example, onnx_path, input_names=["image"], output_names=["score"],
                          dynamic_axes={"image": {0: "batch"}, "score": {0: "batch"}},
                          opset_version=args.opset, do_constant_folding=True)
    if single_external_file:
        import onnx_external
        onnx_external.gather(onnx_path, f"{onnx_name}.data")
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
        "direction": args.direction,
    }
    if args.score_range is not None:
        manifest["score_range"] = list(args.score_range)
    # DP-IQA's official weights are CC BY-NC-SA 4.0: the manifest says so, and `dpiqa models import` repeats it.
    if getattr(args, "checkpoint", None) and official_dataset(args.checkpoint):
        manifest["licence"] = "CC-BY-NC-SA-4.0"
    # Models over 2 GB keep their weights in external data files beside the graph: hash those too. The folder
    # holds this model only, so every other file in it is this model's external data.
    external = sorted(f for f in os.listdir(folder) if f not in (onnx_name, manifest_name))
    if external:
        manifest["external_data"] = {f: sha256(os.path.join(folder, f)) for f in external}
    with open(os.path.join(folder, manifest_name), "w") as f:
        json.dump(manifest, f, indent=2)
    shown = "score range " + (f"{args.score_range[0]:g}..{args.score_range[1]:g}" if args.score_range else "unknown (set --score-range)")
    print(f"wrote {folder}/: {onnx_name} ({os.path.getsize(onnx_path) / 2**20:.1f} MiB), {len(external)} external-data "
          f"file(s), {manifest_name} (sha256 {manifest['sha256'][:12]}, {shown}, {args.direction}); "
          f"import it with: dpiqa models import {folder}")


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


# The label scale of each dataset the official code trains on (datasets_in_the_wild.py divides every MOS by 100;
# each dataset's MOS is on 0..100), by the prefix of the official checkpoint names (`koniq_student_model_...`).
OFFICIAL_DATASETS = {
    "koniq": ("KonIQ-10k", (0.0, 1.0)),
    "clive": ("LIVE Challenge", (0.0, 1.0)),
    "livec": ("LIVE Challenge", (0.0, 1.0)),
    "livefb": ("LIVE-FB (PaQ-2-PiQ)", (0.0, 1.0)),
    "spaq": ("SPAQ", (0.0, 1.0)),
}


def official_dataset(checkpoint):
    """(dataset, score range) the official checkpoint named `checkpoint` was trained for, or None."""
    prefix = os.path.basename(checkpoint).split("_")[0].lower()
    return OFFICIAL_DATASETS.get(prefix)


def settle_score_range(args, checkpoint):
    """--score-range wins; else the official dataset's label scale; else unknown (None). Returns a description."""
    dataset = official_dataset(checkpoint) if checkpoint else None
    if args.score_range is None and dataset is not None:
        args.score_range = dataset[1]
    return f"; trained on {dataset[0]} (MOS/100)" if dataset else ""


def describe(obj):
    """What a checkpoint holds, for a message: its type and, for a dict, its first keys."""
    kind = type(obj).__qualname__ if type(obj).__module__ == "builtins" else f"{type(obj).__module__}.{type(obj).__qualname__}"
    if isinstance(obj, dict):
        keys = list(obj.keys())
        shown = ", ".join(repr(k) for k in keys[:12]) + (f", ... ({len(keys)} keys)" if len(keys) > 12 else "")
        return f"a {kind} with keys {shown or '(none)'}"
    return f"a {kind}"


def load_checkpoint(torch, path):
    """The object in `path`. Tensors-only files (state_dicts) load with weights_only=True, which runs no code; a
    whole pickled model needs the full unpickler, with the official student's module path provided by the shim."""
    if not os.path.isfile(path):
        fail(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not a tensors-only file: a pickled model, or not a checkpoint at all
        pass
    import student_shim
    student_shim.install()
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any failure here means the file is not one we can read
        fail(f"{path} is not a PyTorch checkpoint this exporter can read ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
             "expected a DP-IQA student state_dict or a pickled StudentEfficientNet (*_student_model_pack.pth)")


def student_state_dict(torch, obj, path):
    """The student's state_dict from any layout users have: a pickled model (also inside nn.DataParallel), a
    state_dict (also `module.`-prefixed), or either under a "state_dict" / "model" key."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and (isinstance(obj[key], dict) or isinstance(obj[key], torch.nn.Module)):
                return student_state_dict(torch, obj[key], path)
    if isinstance(obj, torch.nn.DataParallel):
        obj = obj.module
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        fail(f"{path} is not a DP-IQA student checkpoint: it holds {describe(obj)}; expected a state_dict "
             "(keys base_model.*, conv_transpose.*, fc1.*, fc2.*, fc3.*) or a pickled StudentEfficientNet")
    return {k[len("module."):] if isinstance(k, str) and k.startswith("module.") else k: v for k, v in obj.items()}


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
        state = student_state_dict(torch, load_checkpoint(torch, args.checkpoint), args.checkpoint)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            found = ", ".join(list(state.keys())[:8]) + (", ..." if len(state) > 8 else "")
            fail(f"{args.checkpoint} is not a DP-IQA student checkpoint: {len(missing)} of the student's weights missing "
                 f"(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]}); it has keys {found}")
        description = f"DP-IQA student (EfficientNet-B7) from {os.path.basename(args.checkpoint)}"
        description += settle_score_range(args, args.checkpoint)
    model.eval()
    device = "cpu"
    if args.fp16:
        if not torch.cuda.is_available():
            fail("--fp16 traces the model in half precision, which PyTorch 1.13 can only do on a CUDA device")
        device = "cuda"
        model = model.half().to(device)
    wrapped = ScoreOnly.wrap(torch, model, args.uint8_input, args.fp16).to(device)
    export(torch, wrapped, args, description + (" [fp16]" if args.fp16 else ""), device)


def teacher_config(args):
    """SD1.5's widths and depths, those of a local SD1.5 folder (--config-from), or a teacher config JSON (--config)."""
    import teacher_model
    if args.config and args.config_from:
        fail("give --config or --config-from, not both")
    try:
        if args.config_from:
            return teacher_model.config_from(args.config_from)
        if args.config:
            with open(args.config) as f:
                return json.load(f)
    except (OSError, ValueError, KeyError) as e:
        fail(f"cannot read the teacher configuration: {e}")
    return teacher_model.SD15


def teacher_state_dict(torch, obj, path):
    """The teacher's state_dict from an official checkpoint (model.state_dict(), also `module.`-prefixed or under a
    "state_dict" / "model" key)."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                return teacher_state_dict(torch, obj[key], path)
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        fail(f"{path} is not a DP-IQA teacher checkpoint: it holds {describe(obj)}; expected the official state_dict "
             "(keys vae.*, unet.*, img_adapter.*, text_adapter.*, gamma, QFD.*)")
    return obj


def class_embeddings(torch, path, dim):
    """The official quality_embeddings.pth: a [M, text_dim] tensor (CLIP text features of the quality prompts)."""
    if not path:
        fail("--class-embeddings is required (the official quality_embeddings.pth made by gene_text_embedding.py)")
    if not os.path.isfile(path):
        fail(f"class embeddings {path} do not exist")
    try:
        e = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as ex:  # noqa: BLE001 - any failure means the file is not a tensor file
        fail(f"{path} is not a PyTorch tensor file ({type(ex).__name__})")
    if isinstance(e, dict) and len(e) == 1:
        e = next(iter(e.values()))
    if not isinstance(e, torch.Tensor) or e.dim() != 2 or e.shape[1] != dim:
        fail(f"{path} holds {describe(e) if not isinstance(e, torch.Tensor) else 'a tensor of shape ' + str(list(e.shape))}; "
             f"expected the class embeddings [M, {dim}]")
    return e.float()


def teacher(args):
    torch, _ = torch_modules()
    import teacher_model
    config = teacher_config(args)
    dim = config["unet"]["cross_attention_dim"]
    # Built on the meta device: no memory until the weights are assigned (a full-size teacher is 4 GB in float32).
    model = teacher_model.build(config, device="meta")
    if args.random_weights:
        model = model.to_empty(device="cpu")
        teacher_model.fill_perturbed(model, args.seed)
        embeddings = (class_embeddings(torch, args.class_embeddings, dim) if args.class_embeddings
                      else torch.randn(1485, dim, generator=torch.Generator().manual_seed(args.seed)))
        description = "DP-IQA teacher ARCHITECTURE with RANDOM weights (parity testing only; scores mean nothing)"
    else:
        if not args.checkpoint:
            fail("--checkpoint is required (an official <dataset>_model_{plcc,srcc}_best.pth), or --random-weights for testing")
        if not args.class_embeddings:
            class_embeddings(torch, None, dim)
        state = teacher_state_dict(torch, load_checkpoint(torch, args.checkpoint), args.checkpoint)
        used, unused = teacher_model.split_checkpoint(state)
        del state
        missing, unexpected, wrong = teacher_model.mismatch(model, used)
        if missing or unexpected or wrong:
            fail(f"{args.checkpoint} does not match the DP-IQA teacher{' of ' + (args.config_from or args.config) if (args.config_from or args.config) else ' (SD1.5 widths)'}: "
                 f"{len(missing)} weights missing (e.g. {', '.join(missing[:3]) or '-'}), {len(unexpected)} unexpected "
                 f"(e.g. {', '.join(unexpected[:3]) or '-'}), {len(wrong)} of another shape (e.g. {'; '.join(wrong[:2]) or '-'}); a checkpoint of other widths needs --config-from its SD folder")
        teacher_model.assign_weights(model, used)
        del used, unused
        embeddings = class_embeddings(torch, args.class_embeddings, dim)
        description = f"DP-IQA teacher (Stable Diffusion 1.5 VAE encoder + UNet, adapters, QFD) from {os.path.basename(args.checkpoint)}"
        description += settle_score_range(args, args.checkpoint)
    model.set_class_embeddings(embeddings)
    model.eval()
    with torch.no_grad():
        model.fold_context()
    description += ("; latent = the VAE distribution's MEAN x 0.18215 (the official code samples it); the class-embedding"
                    f" context ({embeddings.shape[0]} prompts) folded into constant cross-attention keys/values")
    wrapped = ScoreOnly.wrap(torch, model, args.uint8_input, False)
    export(torch, wrapped, args, description, single_external_file=True)


def score_range(text):
    """--score-range LOW,HIGH with LOW < HIGH."""
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not LOW,HIGH (e.g. 0,1 or 1,100)")
    if not (low < high) or any(v != v or v in (float("inf"), float("-inf")) for v in (low, high)):
        raise argparse.ArgumentTypeError(f"'{text}': LOW must be below HIGH, both finite")
    return (low, high)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="which", required=True)
    for name in ("student", "teacher"):
        p = sub.add_parser(name)
        p.add_argument("--checkpoint")
        p.add_argument("--out", required=True, help="the model goes to OUT/NAME/ (NAME.onnx, external data, NAME.json)")
        p.add_argument("--name", default=f"dpiqa-{name}")
        p.add_argument("--version", default="1")
        p.add_argument("--uint8-input", action="store_true", help="uint8 NHWC input, cast and scaled in the graph")
        p.add_argument("--opset", type=int, default=17)
        p.add_argument("--score-range", type=score_range, help="LOW,HIGH of the scores the checkpoint was trained for "
                       "(default: the official dataset's scale, recognised from the file name; else unknown)")
        p.add_argument("--direction", choices=("higher-is-better", "lower-is-better"), default="higher-is-better")
        if name == "student":
            p.add_argument("--fp16", action="store_true", help="half-precision weights (needs CUDA to trace)")
            p.add_argument("--random-weights", action="store_true", help="no checkpoint: random weights, for parity tests")
            p.add_argument("--calibrate", nargs="*", default=[], help="photos to recalibrate BatchNorm with (random weights)")
            p.add_argument("--seed", type=int, default=0)
        else:
            p.add_argument("--class-embeddings", help="the official quality_embeddings.pth ([1485, 768] CLIP text features)")
            p.add_argument("--config-from", help="a local Stable Diffusion 1.5 folder: widths/depths from its unet/ and vae/ config.json "
                           "(default: SD1.5's, built in)")
            p.add_argument("--config", help="a teacher configuration JSON (unet/vae/qfd widths; tests use a small one)")
            p.add_argument("--random-weights", action="store_true", help="no checkpoint: random weights, for parity tests and benches")
            p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    student(args) if args.which == "student" else teacher(args)


if __name__ == "__main__":
    main()
