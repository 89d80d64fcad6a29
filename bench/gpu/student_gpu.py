#!/usr/bin/env python3
"""The DP-IQA student on a GPU: scores against the CPU, and images/s at batch 1, 8 and 32.

usage: python3 bench/gpu/student_gpu.py OUT.json [--quick]

Run on a machine with an NVIDIA GPU, PyTorch and torchvision (ONNX Runtime optional). There is no .NET
there, so this measures the model alone, not `dpiqa`: it is the figure for docs/benchmarks.md's "Sizing" section
(images per GPU-second, hence how many CPU cores must decode for one GPU).

The network is the student architecture of tools/export/export.py with random weights (seed 0), BatchNorm
calibrated on the shipped photos with the variance floor of the parity test and the last layer scaled by 50,
so it is numerically stable and its scores spread like real ones. It is exported to ONNX (float32, dynamic
batch) and scored on 32 inputs (the shipped photos resized to 512x512 and blends of them with noise) by:
  - ONNX Runtime on the CPU (the reference) and, if this ONNX Runtime has it, the CUDA provider;
  - PyTorch on the CPU and on the GPU in float32 (TF32 off), TF32 and float16 autocast.
For each GPU path: max |score - CPU score| and images/s at batch 1, 8, 32 (after warm-up, CUDA-synchronised).
"""
import glob
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
import export  # noqa: E402


def inputs(photos, count):
    from PIL import Image
    rng = np.random.default_rng(1)
    base = [np.asarray(Image.open(p).convert("RGB").resize((512, 512), Image.BILINEAR), dtype=np.float32)
            .transpose(2, 0, 1) / 255 for p in photos]
    out = []
    for i in range(count):
        p = base[i % len(base)]
        mix = 0.0 if i < len(base) else 0.2
        out.append((1 - mix) * p + mix * rng.random(p.shape, dtype=np.float32))
    return np.stack(out).astype(np.float32)


def export_onnx(torch, model, path):
    wrapped = export.ScoreOnly.wrap(torch, model, False, False)
    example = torch.rand(1, 3, 512, 512)
    kwargs = dict(input_names=["image"], output_names=["score"],
                  dynamic_axes={"image": {0: "batch"}, "score": {0: "batch"}}, opset_version=17,
                  do_constant_folding=True)
    with torch.no_grad():
        try:
            torch.onnx.export(wrapped, example, path, dynamo=False, **kwargs)
        except TypeError:  # torch < 2.5 has no dynamo argument and uses the TorchScript exporter
            torch.onnx.export(wrapped, example, path, **kwargs)


def rate(run, x, batch, seconds, sync):
    """Images/s of run(batch of `batch` inputs): 3 warm-ups, then repeated runs for about `seconds`."""
    xb = x[:batch]
    for _ in range(3):
        run(xb)
    sync()
    n, start = 0, time.perf_counter()
    while True:
        run(xb)
        n += 1
        if n >= 3 and time.perf_counter() - start >= seconds:
            break
    sync()
    return n * batch / (time.perf_counter() - start)


def main():
    out_path, quick = sys.argv[1], "--quick" in sys.argv
    seconds = 0.5 if quick else 3.0
    batches = [1, 8] if quick else [1, 8, 32]
    torch, torchvision = export.torch_modules()
    torch.set_num_threads(os.cpu_count() or 1)
    cuda = torch.cuda.is_available()
    result = {"torch": torch.__version__, "torchvision": torchvision.__version__, "cpu_threads": os.cpu_count(),
              "gpu": torch.cuda.get_device_name(0) if cuda else None, "paths": {}}
    try:
        import onnxruntime as ort
        result["onnxruntime"] = ort.__version__
        result["ort_providers"] = ort.get_available_providers()
    except ImportError:
        ort = None

    photos = sorted(glob.glob(os.path.join(ROOT, "samples", "photos", "*.jpg"))
                    + glob.glob(os.path.join(ROOT, "samples", "photos", "*.png")))
    torch.manual_seed(0)
    model = export.build_student(torch, torchvision)
    export.calibrate_batchnorm(torch, model, photos[:8], variance_floor=1.0)
    with torch.no_grad():
        model.fc3.weight.mul_(50)
    model.eval()
    x = inputs(photos, 8 if quick else 32)

    def scores_of(run, chunk=8):
        return np.concatenate([np.asarray(run(x[i:i + chunk]), dtype=np.float64).reshape(-1)
                               for i in range(0, len(x), chunk)])

    def record(name, scores, reference, rates):
        entry = {"max_abs_diff_vs_ort_cpu": float(np.max(np.abs(scores - reference))) if reference is not None else None,
                 "images_per_s": rates}
        result["paths"][name] = entry
        print(name, json.dumps(entry), flush=True)

    reference = None
    onnx_path = "/tmp/student-gpu-check.onnx"
    if ort is not None:
        try:
            export_onnx(torch, model, onnx_path)
        except Exception as e:  # recorded, and the PyTorch figures are still measured
            result["onnx_export_error"] = f"{type(e).__name__}: {e}"[:500]
            print("ONNX export failed:", result["onnx_export_error"], flush=True)
            ort = None
    if ort is not None:
        cpu = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        reference = scores_of(lambda b: cpu.run(None, {"image": b})[0])
        result["score_spread_ort_cpu"] = [float(reference.min()), float(reference.max())]
        record("ort-cpu", reference, reference, {"1": rate(lambda b: cpu.run(None, {"image": b}), x, 1, seconds, lambda: None)})
        if "CUDAExecutionProvider" in ort.get_available_providers():
            gpu = ort.InferenceSession(onnx_path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
            run = lambda b: gpu.run(None, {"image": b})[0]  # noqa: E731
            record("ort-cuda", scores_of(run), reference,
                   {str(b): rate(run, x, b, seconds, lambda: None) for b in batches})

    with torch.no_grad():
        torch_cpu = scores_of(lambda b: model(torch.from_numpy(b))[0].numpy())
    record("torch-cpu", torch_cpu, reference, {})
    if cuda:
        dev = torch.device("cuda")
        gpu_model = model.to(dev)
        xs = torch.from_numpy(np.concatenate([x] * (32 // len(x) + 1))[:32]).to(dev)

        def sync():
            torch.cuda.synchronize()

        for name, tf32, half in (("torch-cuda-fp32", False, False), ("torch-cuda-tf32", True, False),
                                 ("torch-cuda-fp16-autocast", True, True)):
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            torch.backends.cudnn.benchmark = True

            def run(b, half=half):
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=half):
                    return gpu_model(b)[0].float()

            scores = scores_of(lambda b: run(torch.from_numpy(b).to(dev)).cpu().numpy())
            record(name, scores, reference if reference is not None else torch_cpu,
                   {str(b): rate(run, xs, b, seconds, sync) for b in batches})
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
