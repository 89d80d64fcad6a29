#!/usr/bin/python3
"""Baseline for the student benchmark: the script a user would write with the official code's pieces —
a torch DataLoader over PIL + torchvision transforms (Resize((512, 512)), ToTensor()) feeding the DP-IQA
student architecture in PyTorch (eval, no_grad), batch 8, 2 loader workers, torch threads = cores, on the
same images.

usage: /usr/bin/python3 bench/torch_baseline.py IMAGE...
(random weights: the cost of a forward pass does not depend on their values)
Prints 'torch images=N seconds=S images_per_s=R'.
"""
import os
import sys
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
import export  # noqa: E402


class Images(Dataset):
    def __init__(self, paths):
        self.paths = paths
        self.transform = transforms.Compose([transforms.Resize((512, 512)), transforms.ToTensor()])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(Image.open(self.paths[i]).convert("RGB"))


def main():
    paths = sys.argv[1:]
    torch.set_num_threads(os.cpu_count() or 1)  # Debian's torch starts with one thread; a user would use all cores
    model = export.build_student(torch, torchvision)
    model.eval()
    loader = DataLoader(Images(paths), batch_size=8, num_workers=2)
    start = time.perf_counter()
    n = 0
    with torch.no_grad():
        for batch in loader:
            model(batch)
            n += len(batch)
    seconds = time.perf_counter() - start
    print(f"torch images={n} seconds={seconds:.1f} images_per_s={n / seconds:.2f}")


if __name__ == "__main__":
    main()
