#!/usr/bin/python3
"""Fair PyTorch baseline for the `student` benchmark: the script a user would write with the official code's
pieces (PIL open + convert('RGB'), torchvision Resize((512, 512)) + ToTensor(), a DataLoader, the DP-IQA student
in eval mode under no_grad), tried in every configuration that makes sense on this machine, on the same images.

The weights are the parity test's numerically stable random student (tools/export/parity_reference.py,
stable_student: seed 0, BatchNorm recalibrated on the parity images with a variance floor), built here, not
downloaded: the cost of a forward pass does not depend on the values, but a chaotic network could hit slow
(denormal) paths that the stable one, which dpiqa's bench runs as ONNX, does not.

usage: /usr/bin/python3 bench/torch_baseline.py [--json OUT.json] [--probe K] [--full F] [--probe-seconds S] IMAGE...

Configurations: batch 1 and 8 x torch threads 1/2 x DataLoader workers 0/1/2, skipping on a 2-core machine
  - 1 thread, 0 workers (one core idle: no user would stop there), and
  - 2 threads with 2 workers (4 busy threads on 2 cores: the workers' decoding fights the forward pass).
A full sweep over 16 images took over 15 minutes on 2 loaded cores (the slowest configurations run at 0.06 images/s),
so the sweep is in two steps:
  1. probe: every configuration on the first max(K, batch) images (K = 2 by default; a batch-8 configuration needs
     8 images to run one real batch of 8), and
     A probe stops after S seconds (60 by default) even inside its first batch: some configurations with DataLoader
     workers ran at 0.04 images/s on 2 cores (a batch of 8 in over 3 minutes). Such a probe is printed with
     probe_stopped=True and its rate counts the images done, or one whole batch if none was (an upper bound).
  2. full: the F best configurations of the probe (F = 2 by default) on every IMAGE; the best of these is "best".
Each timing runs from creating the DataLoader's iterator (workers start there) to the last forward pass, after one
warm-up forward pass at each batch size. Prints one line per configuration
('torch batch=B threads=T workers=W probe_images=N probe_images_per_s=P [images=N seconds=S images_per_s=R
ratio_to_best=X]': configurations probed only have no full figures) and the best one ('torch best ...');
--json writes the same as JSON.
"""
import json
import os
import signal
import sys
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(REPO, "tools", "export"))
import parity_reference  # noqa: E402


class Images(Dataset):
    def __init__(self, paths):
        self.paths = paths
        self.transform = transforms.Compose([transforms.Resize((512, 512)), transforms.ToTensor()])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(Image.open(self.paths[i]).convert("RGB"))


def parity_images():
    """The images the parity test calibrates on (StudentParityFixture.Images: the shipped photos and the reference
    inputs, ordinal order); the first 8 readable ones set the BatchNorm statistics."""
    photos = os.path.join(REPO, "samples", "photos")
    inputs = os.path.join(REPO, "tests", "reference", "inputs")
    files = [os.path.abspath(os.path.join(photos, f)) for f in os.listdir(photos) if not f.endswith(".md")]
    files += [os.path.abspath(os.path.join(inputs, f)) for f in os.listdir(inputs)]
    return sorted(files, key=lambda p: p.encode("utf-8"))


def configurations(cores):
    for batch in (1, 8):
        for threads in (1, 2):
            for workers in (0, 1, 2):
                if cores == 2 and threads == 1 and workers == 0:
                    continue  # leaves a core idle
                if cores == 2 and threads == 2 and workers == 2:
                    continue  # 4 busy threads on 2 cores
                yield batch, threads, workers


class Stopped(Exception):
    pass


def stop(signum, frame):
    raise Stopped()


def run(model, paths, batch, threads, workers, limit=None):
    """Images scored and seconds taken; with a limit (seconds), also whether the run was stopped at it."""
    torch.set_num_threads(threads)
    loader = DataLoader(Images(paths), batch_size=batch, num_workers=workers)
    n, stopped = 0, False
    with torch.no_grad():
        start = time.perf_counter()
        if limit:
            signal.signal(signal.SIGALRM, stop)
            signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            for x in loader:
                model(x)
                n += len(x)
        except Stopped:
            stopped = True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        seconds = time.perf_counter() - start
    del loader  # its workers end here
    return n, seconds, stopped


def main():
    args = sys.argv[1:]
    out, probe, full, probe_seconds = None, 2, 2, 60.0
    while args[:1] and args[0].startswith("--"):
        flag, value, args = args[0], args[1], args[2:]
        if flag == "--json":
            out = value
        elif flag == "--probe":
            probe = int(value)
        elif flag == "--full":
            full = int(value)
        elif flag == "--probe-seconds":
            probe_seconds = float(value)
        else:
            sys.exit(f"unknown option {flag}")
    paths = args
    torch.set_num_threads(os.cpu_count() or 1)  # Debian's torch starts with one thread
    model, _ = parity_reference.stable_student(torch, torchvision, parity_images())
    with torch.no_grad():
        for batch in (1, 8):
            model(torch.rand(batch, 3, 512, 512))  # warm-up: first-call allocations and kernel selection
    results = []
    for batch, threads, workers in configurations(os.cpu_count() or 1):
        subset = paths[:max(probe, batch)]
        n, seconds, stopped = run(model, subset, batch, threads, workers, probe_seconds)
        r = {"batch": batch, "threads": threads, "workers": workers, "probe_images": n,
             "probe_images_per_s": round(max(n, batch if stopped else 0) / seconds, 3), "probe_stopped": stopped}
        results.append(r)
        print("probe " + " ".join(f"{k}={v}" for k, v in r.items()), file=sys.stderr, flush=True)
    # A stopped probe's rate may be an upper bound (one batch at the limit): rank the configurations that finished first.
    for r in sorted(results, key=lambda r: (r["probe_stopped"], -r["probe_images_per_s"]))[:full]:
        n, seconds, _ = run(model, paths, r["batch"], r["threads"], r["workers"])
        r.update({"images": n, "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 3)})
    best = max((r for r in results if "images_per_s" in r), key=lambda r: r["images_per_s"])
    for r in results:
        if "images_per_s" in r:
            r["ratio_to_best"] = round(r["images_per_s"] / best["images_per_s"], 3)
        print("torch " + " ".join(f"{k}={v}" for k, v in r.items()))
    print("torch best " + " ".join(f"{k}={v}" for k, v in best.items()))
    if out:
        with open(out, "w") as f:
            json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "cores": os.cpu_count(),
                       "probe": probe, "probe_seconds": probe_seconds, "full": full, "configurations": results, "best": best}, f, indent=1)


if __name__ == "__main__":
    main()
