#!/usr/bin/python3
"""The DP-IQA student on a GPU with ONNX Runtime's CUDA provider: scores against the CPU provider, images/s.

usage: python3 bench/gpu_student_ort.py OUT_DIR

Exports the student architecture with random weights (BatchNorm calibrated on the shipped photos, as the parity
test does; the scores mean nothing, the comparison does) with tools/export/export.py, scores the shipped photos
(PIL RGB, bilinear 512x512, ToTensor) with the CPU and the CUDA provider and reports max |score difference|, then
measures images/s of the CUDA session at batch 1, 8 and 32 (the preprocessed tensors fed from host memory, so
host-to-device copies are counted, decoding is not). Writes OUT_DIR/gpu.json. Needs torch, torchvision, PIL,
numpy and onnxruntime-gpu; says which are missing otherwise.
"""
import glob
import json
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools", "export"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    report = {"python": sys.version.split()[0]}
    missing = []
    for name in ("numpy", "PIL", "torch", "torchvision", "onnxruntime"):
        try:
            module = __import__(name)
            report[name] = getattr(module, "__version__", "?")
        except Exception as e:  # noqa: BLE001
            missing.append(f"{name} ({type(e).__name__})")
    if missing:
        report["missing"] = missing
        print(json.dumps(report))
        with open(os.path.join(out, "gpu.json"), "w") as f:
            json.dump(report, f, indent=1)
        sys.exit(3)
    import numpy as np
    import onnxruntime as ort
    import torch
    from PIL import Image
    import export
    report["providers"] = ort.get_available_providers()
    report["torch_cuda"] = torch.cuda.is_available()
    torch.set_num_threads(os.cpu_count() or 1)

    photos = sorted(p for p in glob.glob(os.path.join(here, "..", "samples", "photos", "*")) if not p.endswith(".md"))
    torch.manual_seed(0)
    model = export.build_student(torch, __import__("torchvision"))
    export.calibrate_batchnorm(torch, model, photos[:8], variance_floor=1.0)
    with torch.no_grad():
        model.fc3.weight.mul_(50)
    model.eval()
    import argparse
    args = argparse.Namespace(out=out, name="student-random", version="random", uint8_input=False, opset=17,
                              score_range=None, direction="higher-is-better")
    t = time.time()
    export.export(torch, export.ScoreOnly.wrap(torch, model, False, False), args, "random student (GPU check)")
    report["export_s"] = round(time.time() - t, 1)
    onnx = os.path.join(out, "student-random", "student-random.onnx")

    x = np.stack([np.asarray(Image.open(p).convert("RGB").resize((512, 512), Image.BILINEAR), dtype=np.float32).transpose(2, 0, 1) / 255.0
                  for p in photos]).astype(np.float32)
    cpu = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    gpu = ort.InferenceSession(onnx, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    report["gpu_session_providers"] = gpu.get_providers()
    report["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "?"
    s_cpu = np.concatenate([cpu.run(["score"], {"image": x[i:i + 1]})[0] for i in range(len(x))])[:, 0]
    s_gpu = np.concatenate([gpu.run(["score"], {"image": x[i:i + 1]})[0] for i in range(len(x))])[:, 0]
    report["images"] = len(x)
    report["scores_cpu"] = s_cpu.tolist()
    report["scores_cuda"] = s_gpu.tolist()
    report["max_abs_diff"] = float(np.max(np.abs(s_cpu - s_gpu)))
    del cpu

    throughput = {}
    for batch in (1, 8, 32):
        feed = np.ascontiguousarray(np.concatenate([x] * (batch // len(x) + 1))[:batch])
        for _ in range(3):
            gpu.run(["score"], {"image": feed})
        runs, t = 0, time.time()
        while time.time() - t < 8 or runs < 5:
            gpu.run(["score"], {"image": feed})
            runs += 1
        elapsed = time.time() - t
        throughput[str(batch)] = {"runs": runs, "seconds": round(elapsed, 2), "images_per_s": round(runs * batch / elapsed, 1)}
        print(f"batch {batch}: {throughput[str(batch)]}", flush=True)
    report["cuda_images_per_s"] = throughput
    with open(os.path.join(out, "gpu.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
