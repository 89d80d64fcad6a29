#!/usr/bin/python3
"""Multiply-accumulates per 512x512 image of the full-size DP-IQA teacher (tools/export/teacher_model.py), counted
from the layers' shapes (convolutions, linear layers, the attention products), with the text context folded (what
the export runs) and computed per image (what the official code runs), and the parameters in the graph.

usage: bench/teacher_flops.py   (no weights: the model is built on the meta device; prints one JSON line)
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
import torch  # noqa: E402
import teacher_model as tm  # noqa: E402


def count(folded, size=512, prompts=1485):
    model = tm.build(tm.SD15, device="meta")
    model.set_class_embeddings(torch.zeros(prompts, tm.SD15["unet"]["cross_attention_dim"], device="meta"))
    macs = {"conv": 0, "linear": 0, "attention": 0}

    def conv(m, i, o):
        macs["conv"] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, i, o):
        macs["linear"] += o.numel() * m.in_features

    def attention(m, i, o):
        b, n, c = i[0].shape
        keys = m.key_const.shape[2] if m.folded else (i[1].shape[1] if len(i) > 1 and i[1] is not None else n)
        macs["attention"] += 2 * b * n * keys * c  # Q K^T and weights V

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(conv)
        elif isinstance(m, torch.nn.Linear):
            m.register_forward_hook(linear)
        elif isinstance(m, tm.Attention):
            m.register_forward_hook(attention)
    with torch.no_grad():
        if folded:
            model.fold_context()
            for k in macs:
                macs[k] = 0  # folding happens once per export, not per image
        model(torch.zeros(1, 3, size, size, device="meta"))
    return macs


def main():
    folded, unfolded = count(True), count(False)
    model = tm.build(tm.SD15, device="meta")
    params = {name: sum(p.numel() for p in getattr(model, name).parameters()) for name in ("vae", "unet", "img_adapter", "QFD", "text_adapter")}
    f, u = sum(folded.values()), sum(unfolded.values())
    print(json.dumps({"folded_gmac": f / 1e9, "unfolded_gmac": u / 1e9, "saved_gmac": (u - f) / 1e9,
                      "saved_share": (u - f) / u, "folded_by_kind_gmac": {k: v / 1e9 for k, v in folded.items()},
                      "parameters_m": {k: v / 1e6 for k, v in params.items()}}))


if __name__ == "__main__":
    main()
