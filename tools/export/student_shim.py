#!/usr/bin/python3
"""The DP-IQA student under the official module path, without the official code.

The official demo loads `*_student_model_pack.pth`, a whole pickled model (`torch.save(model)`). A pickle names
the class it was made from, here `iqa_models.student.StudentEfficientNet` (the official repository's
iqa_models/student.py), and unpickling imports that path. `install()` registers this module's class under that
path, so such files load with no checkout of the official code. The class has the official attribute names
(`base_model`, `conv_transpose`, `flatten`, `fc1`..`fc3`), so its state_dict is the official one.
"""
import sys
import types

import torch
import torchvision
from torch import nn

OFFICIAL_MODULE = "iqa_models.student"
OFFICIAL_CLASS = "StudentEfficientNet"


class StudentEfficientNet(nn.Module):
    """torchvision EfficientNet-B7 trunk (2560x16x16 at 512x512), ConvTranspose2d 2560->8, nearest upsample to
    64x64, MLP 32768->512->512->1. Returns (score [N,1], feature map [N,8,64,64]) like the official model."""

    # Pickles of this class name the official path, and the official path unpickles into this class.
    __module__ = OFFICIAL_MODULE

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


def install():
    """Registers StudentEfficientNet as iqa_models.student.StudentEfficientNet, unless the real module is loaded."""
    if OFFICIAL_MODULE in sys.modules:
        return
    package = sys.modules.get("iqa_models")
    if package is None:
        package = types.ModuleType("iqa_models")
        package.__path__ = []  # a package, so `import iqa_models.student` resolves through sys.modules
        sys.modules["iqa_models"] = package
    module = types.ModuleType(OFFICIAL_MODULE)
    setattr(module, OFFICIAL_CLASS, StudentEfficientNet)
    package.student = module
    sys.modules[OFFICIAL_MODULE] = module
