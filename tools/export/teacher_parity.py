#!/usr/bin/python3
"""The small-configuration teacher the tests export and score (tests/DpIqa.Tests/Models/TeacherParityTests.cs).

usage: /usr/bin/python3 tools/export/teacher_parity.py OUT_DIR IMAGE...

Writes into OUT_DIR:
  small_config.json              the SMALL configuration of teacher_reference.py (SD1.5's layout, narrow widths)
  koniq_model_plcc_best.pth      a checkpoint laid out as the official one (model.state_dict(), with the unused
                                 VAE-decoder / conv_out / bnc1 / classifier_dist keys the export must drop), its
                                 weights teacher_model.perturbed_weight's and fc3's bias 0.5 (scores near 0.5); the
                                 official file name makes the export record the KonIQ score range 0..1
  small_embeddings.pth           class embeddings [45, 32]
  models/teacher-small/          export.py teacher of that checkpoint (float32, external data in one file)
  tensors.npy                    two fixed inputs [2,3,512,512] (photos blended with noise)
  reference.json                 PyTorch's scores for the tensors and for every image through the official
                                 pipeline (PIL RGB, Resize((512,512)), ToTensor), written last
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import teacher_model  # noqa: E402
from teacher_reference import SMALL, SMALL_EMBEDDINGS  # noqa: E402


def small_checkpoint(torch):
    """(state_dict as the official code saves it, our model with the same weights)."""
    model = teacher_model.build(SMALL)
    state = {k: teacher_model.perturbed_weight(k, v.shape) for k, v in model.state_dict().items()}
    state["QFD.fc3.bias"] = torch.tensor([0.5])
    model.load_state_dict(state, strict=True)
    official = dict(state)
    # Keys of the modules an official checkpoint has but the score does not use (a few of each kind).
    c = SMALL["unet"]["block_out_channels"][0]
    official.update({
        "vae.decoder.conv_in.weight": torch.zeros(64, 4, 3, 3), "vae.post_quant_conv.weight": torch.zeros(4, 4, 1, 1),
        "unet.conv_norm_out.weight": torch.ones(c), "unet.conv_out.weight": torch.zeros(4, c, 3, 3),
        "QFD.bnc1.running_mean": torch.zeros(32), "QFD.bnc1.num_batches_tracked": torch.tensor(0),
        "QFD.classifier_dist.weight": torch.zeros(24, 32),
    })
    return official, model.eval()


def main():
    out, images = sys.argv[1], sys.argv[2:]
    import torch
    from PIL import Image
    from torchvision import transforms
    torch.set_num_threads(os.cpu_count() or 1)
    os.makedirs(out, exist_ok=True)

    config_path = os.path.join(out, "small_config.json")
    with open(config_path, "w") as f:
        json.dump(SMALL, f, indent=1)
    state, model = small_checkpoint(torch)
    checkpoint = os.path.join(out, "koniq_model_plcc_best.pth")
    torch.save(state, checkpoint)
    embeddings = torch.randn(SMALL_EMBEDDINGS, SMALL["unet"]["cross_attention_dim"], generator=torch.Generator().manual_seed(7))
    embeddings_path = os.path.join(out, "small_embeddings.pth")
    torch.save(embeddings, embeddings_path)
    model.set_class_embeddings(embeddings)

    made = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "teacher", "--checkpoint", checkpoint,
                           "--class-embeddings", embeddings_path, "--config", config_path,
                           "--out", os.path.join(out, "models"), "--name", "teacher-small", "--version", "small-perturbed"])
    if made.returncode != 0:
        sys.exit(f"error: export.py teacher failed ({made.returncode})")

    photos = [np.asarray(Image.open(p).convert("RGB").resize((512, 512), Image.BILINEAR), dtype=np.float32).transpose(2, 0, 1) / 255
              for p in images if not p.endswith(".md")][:2]
    rng = np.random.default_rng(1)
    tensors = np.stack([0.8 * p + 0.2 * rng.random(p.shape, dtype=np.float32) for p in photos]).astype(np.float32)
    np.save(os.path.join(out, "tensors.npy"), tensors)
    pipeline = transforms.Compose([transforms.Resize((512, 512)), transforms.ToTensor()])
    scores = {}
    with torch.no_grad():
        tensor_scores = model(torch.from_numpy(tensors))[0][:, 0].tolist()
        for path in images:
            try:
                x = pipeline(Image.open(path).convert("RGB")).unsqueeze(0)
            except Exception as e:  # noqa: BLE001 - PIL refuses it: not a reference image
                print(f"skipped {path}: {type(e).__name__}", file=sys.stderr)
                continue
            scores[os.path.abspath(path)] = model(x)[0].item()
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"torch": torch.__version__, "tensor_scores": tensor_scores, "images": scores}, f, indent=1)
    print(f"teacher-small: reference scores for {len(scores)} images and {len(tensor_scores)} tensors in {out}")


if __name__ == "__main__":
    main()
