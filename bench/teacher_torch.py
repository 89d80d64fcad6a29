#!/usr/bin/python3
"""PyTorch's own forward of the full-size random-weight teacher that `export.py teacher --random-weights --seed S`
exports (same weights: teacher_model.fill_perturbed, the same seeded class embeddings), for bench/teacher_full.sh.

usage: bench/teacher_torch.py OUT.json IMAGE... [--seed S] [--config-json FILE]

For each image (official pipeline: PIL RGB, bilinear 512x512, ToTensor) it times the forward (batch 1, all cores)
and records the score; then it times what folding the text context saves per image: the text adapter over the
[1485, 768] embeddings plus every cross-attention's K and V projections of that context (the work the exported
graph no longer does per image), against the forward's time. Weights are filled in place after to_empty (one copy).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import teacher_model  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("images", nargs="+")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    model = teacher_model.build(teacher_model.SD15, device="meta").to_empty(device="cpu")
    teacher_model.fill_perturbed(model, args.seed)
    dim = teacher_model.SD15["unet"]["cross_attention_dim"]
    model.set_class_embeddings(torch.randn(1485, dim, generator=torch.Generator().manual_seed(args.seed)))
    model.eval()
    build_s = time.perf_counter() - t0

    with torch.no_grad():
        t0 = time.perf_counter()
        model.fold_context()
        fold_s = time.perf_counter() - t0
        # What the official graph computes per image and the folded one does not: ctx, then K and V of it.
        t0 = time.perf_counter()
        ctx = model.context()
        for attn in model.cross_attentions():
            attn.to_k(ctx[None])
            attn.to_v(ctx[None])
        unfolded_extra_s = time.perf_counter() - t0
        scores, seconds = {}, []
        for path in args.images:
            im = Image.open(path).convert("RGB").resize((512, 512), Image.BILINEAR)
            x = torch.from_numpy(np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0)[None]
            t0 = time.perf_counter()
            score = model(x)[0].item()
            seconds.append(time.perf_counter() - t0)
            scores[os.path.basename(path)] = score
            print(f"pytorch {os.path.basename(path)}: score {score:.6f}, {seconds[-1]:.1f} s", flush=True)
    m = len(model.class_embeddings)
    kv_macs = sum(2 * m * a.to_k.in_features * a.to_k.out_features for a in model.cross_attentions())
    adapter_macs = 2 * m * dim * dim
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "build_s": build_s, "fold_s": fold_s,
              "seconds_per_image": seconds, "scores": scores, "unfolded_extra_s_per_image": unfolded_extra_s,
              "unfolded_extra_gmac_per_image": (kv_macs + adapter_macs) / 1e9}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "scores"}))


if __name__ == "__main__":
    main()
