#!/usr/bin/python3
"""Our teacher (tools/export/teacher_model.py) against the official code's reference (TeacherParityTests.cs).

usage: teacher_check.py tensors|keys

  tensors  builds the small configuration of teacher_reference.pt, loads teacher_model.perturbed_weight's weights
           (the ones the official model had), runs the reference inputs with and without the folded text context,
           and prints {"NAME": max|ours - official| / max|official|, ...} for the latent, the four adapter features,
           the four taps, the score and the 8-channel map
  keys     builds the SD1.5-size model on the meta device (no memory) and prints {"missing", "extra", "shape"}:
           the differences between its state_dict and the `used` keys of teacher_sd15_keys.txt, and "unused": the
           reference keys our model leaves out (what an official checkpoint may carry and the export drops)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "export"))
import torch  # noqa: E402

import teacher_model  # noqa: E402


def tensors():
    ref = torch.load(os.path.join(HERE, "teacher_reference.pt"))
    model = teacher_model.build(ref["config"])
    model.load_state_dict({k: teacher_model.perturbed_weight(k, v.shape) for k, v in model.state_dict().items()}, strict=True)
    model.set_class_embeddings(ref["class_embeddings"])

    def rel(ours, official):
        return float((ours - official).abs().max() / official.abs().max())
    out = {}
    with torch.no_grad():
        for folded in (False, True):
            if folded:
                model.fold_context()
            tag = "folded." if folded else ""
            latent, adapter, taps = model.features(ref["image"])
            score, feature_map = model(ref["image"])
            out[tag + "latent"] = rel(latent, ref["latent"])
            for i, (a, b) in enumerate(zip(adapter, ref["adapter"])):
                out[f"{tag}adapter{i}"] = rel(a, b)
            for i, (a, b) in enumerate(zip(taps, ref["taps"])):
                out[f"{tag}tap{i}"] = rel(a, b)
            out[tag + "score"] = rel(score, ref["score"])
            out[tag + "feature_map"] = rel(feature_map, ref["feature_map"])
    out["count"] = len(out)
    out["sources"] = ref["sources"]
    return out


def keys():
    rows = [line.split("\t") for line in open(os.path.join(HERE, "teacher_sd15_keys.txt")).read().splitlines()]
    used = {k: shape for k, shape, kind in rows if kind == "used"}
    unused = [k for k, _, kind in rows if kind == "unused"]
    ours = {k: "x".join(str(d) for d in v.shape) for k, v in teacher_model.build(device="meta").state_dict().items()}
    return {"reference_keys": len(rows), "used": len(used), "ours": len(ours),
            "missing": sorted(set(used) - set(ours)), "extra": sorted(set(ours) - set(used)),
            "shape": sorted(f"{k}: {ours[k]} vs {used[k]}" for k in set(ours) & set(used) if ours[k] != used[k]),
            "unused_dropped_by_prefix": all(k.startswith(teacher_model.UNUSED_PREFIXES) for k in unused),
            "parameters": sum(v.numel() for v in teacher_model.build(device="meta").state_dict().values())}


if __name__ == "__main__":
    print(json.dumps(tensors() if sys.argv[1] == "tensors" else keys()))
