#!/usr/bin/python3
"""Reference tensors for the plain-PyTorch DP-IQA teacher (teacher_model.py), made by the OFFICIAL code.

Runs the official DPIQA model (iqa_models/dpiqa.py of https://github.com/RomGai/DP-IQA at commit
fa7246c8960e95d9c445709ac6d83d787ab257ac) on diffusers v0.24.0's own sources (the official pin; tag v0.24.0 =
commit 76c645d3a641c879384afcb43496f0b7db8cc5cb of https://github.com/huggingface/diffusers), with Debian's
torch 1.13 and small stub modules for the packages that path imports but never uses to compute (transformers,
einops, huggingface_hub, packaging, requests, safetensors, ...). Nothing of those sources is in this repository;
this script only runs them. It writes, for tests/DpIqa.Tests/Models/TeacherParityTests.cs:

  teacher_reference.pt    at a SMALL configuration (SMALL below: the SD1.5 layout with narrow widths), with
                          weights from teacher_model.perturbed_weight (seeded by parameter name, so our model gets
                          the very same weights), for two fixed 128x128 inputs (the architecture takes any size
                          divisible by 64; the QFD resizes every tap to its fixed 64x64 map): the inputs, the
                          class embeddings, the latent (the distribution's MEAN * 0.18215: the official code
                          samples, so sample() is replaced by the mean here, as in the export), the four adapter
                          features, the four up-block taps, the score and the 8-channel map;
  teacher_sd15_keys.txt   every key and shape of the full-size (SD1.5) official state_dict, built without
                          allocating its 4 GB (parameters stay uninitialised and untouched), each marked `used` or
                          `unused` (teacher_model.UNUSED_PREFIXES).

Rerun (about a minute; needs git and the two repositories' history, e.g. from GitHub):
  git clone https://github.com/huggingface/diffusers && git -C diffusers archive v0.24.0 src/diffusers | tar x -C SRC
  git clone https://github.com/RomGai/DP-IQA && git -C DP-IQA show fa7246c:iqa_models/dpiqa.py > SRC/dpiqa.py
  /usr/bin/python3 tools/export/teacher_reference.py --sources SRC --out tests/DpIqa.Tests/Models
"""
import argparse
import functools
import importlib.abc
import importlib.machinery
import os
import re
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The small configuration the tests build: SD1.5's layout (same key names) with narrow widths.
SMALL = {
    "unet": {"in_channels": 4, "block_out_channels": [32, 64, 128, 128], "layers_per_block": 2, "attention_head_dim": 2,
             "cross_attention_dim": 32, "norm_num_groups": 8, "norm_eps": 1e-5, "flip_sin_to_cos": True, "freq_shift": 0},
    "vae": {"in_channels": 3, "block_out_channels": [16, 32, 64, 64], "layers_per_block": 2, "latent_channels": 4,
            "norm_num_groups": 8, "scaling_factor": 0.18215},
    "qfd": {"width": 32, "score_channels": [16, 8, 8], "map_size": 64, "fc_width": 32, "se_reduction": 16},
}
SMALL_EMBEDDINGS = 45  # rows of the small class-embedding matrix (the official one has 1485 = 5 x 9 x 33)
REFERENCE_SIZE = 128


# --------------------------------------------------------------------------------------------------------- stubs

class _Anything:
    """Stands for any class or function of a stubbed package: constructible, callable, subscriptable."""

    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        return _Anything()

    def __getattr__(self, name):
        return _Anything()

    def __getitem__(self, key):
        return _Anything()

    def __class_getitem__(cls, key):
        return cls

    def __bool__(self):
        return False

    def __iter__(self):
        return iter(())

    @classmethod
    def from_pretrained(cls, *a, **k):
        return None


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (_Anything,), {})


class _Version:
    """packaging.version.Version, enough for diffusers' `version.parse(x) >= version.parse("1.12")` checks."""

    def __init__(self, text):
        self.text = str(text)
        self.release = tuple(int(p) for p in re.findall(r"\d+", self.text.split("+")[0])[:3])
        self.base_version = ".".join(str(p) for p in self.release)
        self.major, self.minor = (self.release + (0, 0))[:2]

    def _key(self, other):
        return other.release if isinstance(other, _Version) else _Version(other).release

    def __lt__(self, o): return self.release < self._key(o)
    def __le__(self, o): return self.release <= self._key(o)
    def __gt__(self, o): return self.release > self._key(o)
    def __ge__(self, o): return self.release >= self._key(o)
    def __eq__(self, o): return self.release == self._key(o)
    def __hash__(self): return hash(self.release)
    def __str__(self): return self.text


def _repeat(tensor, pattern, **sizes):
    """einops.repeat for the one pattern the official TextAdapter uses: 'n c -> b n c'."""
    if pattern.replace(" ", "") != "nc->bnc":
        raise NotImplementedError(pattern)
    return tensor.unsqueeze(0).expand(sizes["b"], -1, -1)


STUBBED = ("transformers", "einops", "huggingface_hub", "packaging", "requests", "safetensors",
           "filelock", "regex", "importlib_metadata", "tqdm")


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StubModule(spec.name)
        module.__path__ = []
        if spec.name == "packaging.version":
            module.Version = module.parse = _Version
            module.InvalidVersion = ValueError
        if spec.name == "einops":
            module.repeat = _repeat
        if spec.name == "huggingface_hub.constants":
            module.hf_cache_home = os.path.join(os.path.expanduser("~"), ".cache", "stub")
            module.HUGGINGFACE_HUB_CACHE = module.HF_HUB_CACHE = module.hf_cache_home
        return module

    def exec_module(self, module):
        if module.__name__ == "packaging":
            import importlib
            module.version = importlib.import_module("packaging.version")


def install_sources(sources):
    sys.meta_path.insert(0, _StubFinder())
    # diffusers' import checks ask importlib.metadata for versions of packages that are stubs here.
    import importlib.metadata as md
    real = md.version
    # High enough for diffusers' requirements; peft's low, so diffusers keeps its own (non-PEFT) layers.
    md.version = lambda name: ("0.0.1" if name == "peft" else "999.0.0") if name.split(".")[0].replace("-", "_") in STUBBED else real(name)
    sys.path.insert(0, os.path.join(sources, "src"))
    sys.path.insert(0, sources)


# ---------------------------------------------------------------------------------------------------- official model

def official_model(config, embeddings_path, allocate=True):
    """The official DPIQA built from `config` instead of the hub's SD1.5 (its own __init__ and forward)."""
    import torch
    import torch.nn as nn
    import dpiqa
    from diffusers import AutoencoderKL
    from diffusers.models.adapter import FullAdapter

    u, v, q = config["unet"], config["vae"], config["qfd"]
    unet_kwargs = dict(sample_size=64, in_channels=u["in_channels"], out_channels=u["in_channels"],
                       block_out_channels=tuple(u["block_out_channels"]), layers_per_block=u["layers_per_block"],
                       attention_head_dim=u["attention_head_dim"], cross_attention_dim=u["cross_attention_dim"],
                       norm_num_groups=u["norm_num_groups"], norm_eps=u["norm_eps"],
                       flip_sin_to_cos=u["flip_sin_to_cos"], freq_shift=u["freq_shift"])
    vae_kwargs = dict(in_channels=v["in_channels"], out_channels=v["in_channels"], latent_channels=v["latent_channels"],
                      block_out_channels=tuple(v["block_out_channels"]), layers_per_block=v["layers_per_block"],
                      norm_num_groups=v["norm_num_groups"], scaling_factor=v["scaling_factor"],
                      down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    dpiqa.UNet.from_pretrained = classmethod(lambda cls, *a, **k: cls(**unet_kwargs))
    dpiqa.AutoencoderKL.from_pretrained = classmethod(lambda cls, *a, **k: AutoencoderKL(**vae_kwargs))
    dpiqa.FullAdapter = functools.partial(FullAdapter, channels=list(u["block_out_channels"]))
    def resize_qfd(m):
        # The official decoder with its widths set from `config` (its forward, with the fixed 64x64 map, unchanged).
        if q != SMALL_QFD_FULL:
            w, (s1, s2, s3), f = q["width"], q["score_channels"], q["fc_width"]
            for i, c in enumerate(u["block_out_channels"], start=1):  # conv1 takes the finest tap (320 in SD1.5)
                setattr(m, f"conv{i}", nn.Conv2d(c, w, kernel_size=3, padding=1))
                setattr(m, f"se{i}", dpiqa.SELayer(w, q["se_reduction"]))
            m.fuse_conv = nn.Conv2d(4 * w, w, kernel_size=3, padding=1)
            m.se_fuse = dpiqa.SELayer(w, q["se_reduction"])
            m.bnc1 = nn.BatchNorm2d(w)
            m.conv_score1, m.conv_score2, m.conv_score3 = nn.Conv2d(w, s1, 1), nn.Conv2d(s1, s2, 1), nn.Conv2d(s2, s3, 1)
            m.fc1, m.fc2, m.fc3 = nn.Linear(s3 * q["map_size"] ** 2, f), nn.Linear(f, f), nn.Linear(f, 1)
            m.classifier_dist = nn.Linear(f, 24)

    if not allocate:
        # Full size for the key list only: parameters stay uninitialised (untouched pages, no 4 GB resident).
        for fn in [f for f in dir(nn.init) if f.endswith("_") and not f.startswith("_")]:
            setattr(nn.init, fn, lambda t, *a, **k: t)
        empty = torch.empty
        torch_rand = torch.randn

        def lazy_randn(*a, **k):
            return empty(*a, **k)
        torch.randn = lazy_randn
    model = dpiqa.DPIQA(class_embedding_path=embeddings_path)
    if not allocate:
        torch.randn = torch_rand
    resize_qfd(model.QFD)
    # The official code samples the latent; like the export, take the distribution's mean (deterministic).
    from diffusers.models.vae import DiagonalGaussianDistribution
    DiagonalGaussianDistribution.sample = lambda self, generator=None: self.mean
    return model.eval()


SMALL_QFD_FULL = {"width": 512, "score_channels": [128, 32, 8], "map_size": 64, "fc_width": 512, "se_reduction": 16}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", default="/work/wt/_teacher_ref",
                        help="folder with src/diffusers (v0.24.0) and dpiqa.py (the official iqa_models/dpiqa.py)")
    parser.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "DpIqa.Tests", "Models"))
    parser.add_argument("--images", nargs=2, default=[os.path.join(HERE, "..", "..", "samples", "photos", p)
                                                      for p in ("lomiri-friends.jpg", "skimage-coffee.png")])
    args = parser.parse_args()
    for needed in ("src/diffusers/models/unet_2d_condition.py", "dpiqa.py"):
        if not os.path.isfile(os.path.join(args.sources, needed)):
            sys.exit(f"error: {args.sources}/{needed} is missing; see this script's docstring for how to fetch the sources")
    install_sources(args.sources)
    import numpy as np
    import torch
    from PIL import Image
    import teacher_model as ours

    torch.manual_seed(0)
    embeddings = torch.randn(SMALL_EMBEDDINGS, SMALL["unet"]["cross_attention_dim"], generator=torch.Generator().manual_seed(7))
    embeddings_path = os.path.join(args.sources, "small_embeddings.pth")
    torch.save(embeddings, embeddings_path)

    model = official_model(SMALL, embeddings_path)
    state = model.state_dict()
    model.load_state_dict({k: ours.perturbed_weight(k, v.shape) for k, v in state.items()}, strict=True)

    images = []
    for p in args.images:
        im = Image.open(p).convert("RGB").resize((REFERENCE_SIZE, REFERENCE_SIZE), Image.BILINEAR)
        images.append(torch.from_numpy(np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0))
    x = torch.stack(images)

    captured = {}
    model.unet.register_forward_pre_hook(lambda m, inputs: captured.__setitem__("latent", inputs[0].clone()))
    model.img_adapter.register_forward_hook(lambda m, i, out: captured.__setitem__("adapter", [t.clone() for t in out]))
    model.unet.register_forward_hook(lambda m, i, out: captured.__setitem__("taps", [t.clone() for t in out]))
    with torch.no_grad():
        score, feature_map = model(x)
    import diffusers
    reference = {
        "config": SMALL, "image": x, "class_embeddings": embeddings, "latent": captured["latent"],
        "adapter": captured["adapter"], "taps": captured["taps"], "score": score, "feature_map": feature_map,
        "sources": f"diffusers {diffusers.__version__} (v0.24.0, 76c645d3a641), RomGai/DP-IQA fa7246c8960e iqa_models/dpiqa.py",
    }
    os.makedirs(args.out, exist_ok=True)
    torch.save(reference, os.path.join(args.out, "teacher_reference.pt"))
    print(f"score {score.flatten().tolist()}; latent {list(reference['latent'].shape)}; taps {[list(t.shape) for t in reference['taps']]}")

    full_embeddings = os.path.join(args.sources, "full_embeddings.pth")
    torch.save(torch.zeros(1485, 768), full_embeddings)
    full = official_model(ours.SD15, full_embeddings, allocate=False)
    lines = [f"{k}\t{'x'.join(str(d) for d in v.shape)}\t{'unused' if k.startswith(ours.UNUSED_PREFIXES) else 'used'}"
             for k, v in full.state_dict().items()]
    with open(os.path.join(args.out, "teacher_sd15_keys.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    params = sum(v.numel() for k, v in full.state_dict().items() if not k.startswith(ours.UNUSED_PREFIXES) and v.dtype.is_floating_point)
    print(f"full size: {len(lines)} keys, {params / 1e6:.1f} M parameters used")


if __name__ == "__main__":
    main()
