#!/usr/bin/python3
"""Writes checkpoints in the layouts users have, for ExporterCheckpointTests.cs.

usage: /usr/bin/python3 pack_checkpoint.py OUT_DIR

- OUT_DIR/koniq_student_model_pack.pth: a whole pickled student (torch.save(model)), the official demo's
  *_pack.pth style. It is pickled from a class defined in OUT_DIR/official/iqa_models/student.py, a stand-in for
  the official repository's module, written here from the paper's description, so the file names
  iqa_models.student.StudentEfficientNet as the official files do and the exporter must load it through its shim.
  Weights are random (seed 7) with random BatchNorm statistics, so scores depend on the weights.
- OUT_DIR/inputs.npy and OUT_DIR/pack-reference.json: two fixed input tensors and the pickled model's scores.
- OUT_DIR/training-state.pth: a layout the exporter does not know ({"epoch", "optimizer"}).
"""
import json
import os
import sys

import numpy as np
import torch

OFFICIAL_STANDIN = '''
import torch
from torch import nn
from torchvision import models


class StudentEfficientNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.base_model = models.efficientnet_b7(weights=None)
        width = self.base_model.classifier[1].in_features
        self.base_model.classifier = nn.Identity()
        self.base_model.avgpool = nn.Identity()
        self.conv_transpose = nn.ConvTranspose2d(width, 8, 3, stride=2, padding=1, output_padding=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32768, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 1)

    def forward(self, x):
        n = x.shape[0]
        maps = torch.relu(self.conv_transpose(self.base_model(x).view(n, 2560, 16, 16)))
        maps = torch.nn.functional.interpolate(maps, size=(64, 64), mode="nearest")
        h = torch.relu(self.fc2(torch.relu(self.fc1(self.flatten(maps)))))
        return self.fc3(h), maps
'''


def main():
    out = sys.argv[1]
    package = os.path.join(out, "official", "iqa_models")
    os.makedirs(package, exist_ok=True)
    open(os.path.join(package, "__init__.py"), "w").close()
    with open(os.path.join(package, "student.py"), "w") as f:
        f.write(OFFICIAL_STANDIN)
    sys.path.insert(0, os.path.join(out, "official"))
    from iqa_models.student import StudentEfficientNet

    torch.manual_seed(7)
    model = StudentEfficientNet()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)
        model.fc3.weight.mul_(50)  # spread the scores so that a wrong weight would show
    model.eval()
    torch.save(model, os.path.join(out, "koniq_student_model_pack.pth"))

    rng = np.random.default_rng(3)
    inputs = rng.random((2, 3, 512, 512), dtype=np.float32)
    np.save(os.path.join(out, "inputs.npy"), inputs)
    with torch.no_grad():
        scores = model(torch.from_numpy(inputs))[0][:, 0].tolist()
    with open(os.path.join(out, "pack-reference.json"), "w") as f:
        json.dump({"scores": scores}, f)

    torch.save({"epoch": 3, "optimizer": {"lr": 0.001}}, os.path.join(out, "training-state.pth"))


if __name__ == "__main__":
    main()
