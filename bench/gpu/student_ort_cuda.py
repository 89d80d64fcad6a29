#!/usr/bin/env python3
"""The silo's own ONNX Runtime (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux) on a GPU: does its CUDA provider load,
do its scores match the CPU's, and how many images/s at batch 1, 8 and 32.

usage: python3 bench/gpu/student_ort_cuda.py OUT.json --ort-lib DIR --program PATH [--seconds S] [--count N]
                                            [--batches 1,8,32] [--providers cpu,cuda] [--reuse DIR]
       python3 bench/gpu/student_ort_cuda.py --export-only DIR [--count N]

  --ort-lib DIR   the NuGet package's runtimes/linux-x64/native folder (libonnxruntime.so,
                  libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so), copied to the GPU machine.
  --program PATH  bench/gpu/ort_student.c built against that library (see its header); run once with the CPU
                  provider and once with the CUDA provider.
  --export-only   only export the graph and write the inputs (DIR/student.onnx, DIR/inputs.f32).
  --providers L   what to run, in order (default cpu,cuda): cpu, cuda (the silo's CUDA configuration: ONNX
                  Runtime's defaults) or cuda:KEY=VALUE[:KEY=VALUE] (other CUDA provider options, e.g. cuda:use_tf32=0).
  --reuse DIR     use DIR/student.onnx and DIR/inputs.f32 from an earlier --export-only instead of exporting.

There is no .NET on the lent GPU machines and their Python has only a CPU onnxruntime, so the shipped library is
run through its C API by ort_student. The graph is student_gpu.py's: the student architecture with random weights
(seed 0), BatchNorm calibrated on the shipped photos with a variance floor, the last layer x50, exported to ONNX
(float32, dynamic batch), and the same 32 inputs (shipped photos at 512x512 and blends of them with noise),
written as raw float32 NCHW. The CUDA libraries the provider needs (cuBLAS, cuBLASLt, cuRAND, the CUDA runtime;
cuDNN 9 is loaded at run time) are found in the pip packages nvidia-* of this Python (site-packages/nvidia/*/lib)
and put on LD_LIBRARY_PATH; the machine's libcuda.so.1 is the driver's. The result records both providers' scores,
max |CUDA score - CPU score|, the CPU provider's agreement with this Python's onnxruntime, and images/s.

The lent machines can fetch nothing, so for the run in docs/benchmarks.md (2026-11-27) the three .so files (317 MB) travelled as
one tar compressed with `zstd -9 --long=27` (199 MB; the CUDA kernels inside barely compress) in five pieces of
< 40 MB, one per device call, reassembled in /tmp and checked against the tar's SHA-256 before use.
"""
import glob
import importlib.metadata
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import student_gpu  # noqa: E402  (its ROOT, inputs(), export_onnx() and the export module it loads)


def export(out_dir, count):
    """Writes out_dir/student.onnx and out_dir/inputs.f32; returns (inputs, seconds taken, torch version)."""
    torch, torchvision = student_gpu.export.torch_modules()
    torch.set_num_threads(os.cpu_count() or 1)
    root = student_gpu.ROOT
    photos = sorted(glob.glob(os.path.join(root, "samples", "photos", "*.jpg"))
                    + glob.glob(os.path.join(root, "samples", "photos", "*.png")))
    start = time.perf_counter()
    torch.manual_seed(0)
    model = student_gpu.export.build_student(torch, torchvision)
    student_gpu.export.calibrate_batchnorm(torch, model, photos[:8], variance_floor=1.0)
    with torch.no_grad():
        model.fc3.weight.mul_(50)
    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    student_gpu.export_onnx(torch, model, os.path.join(out_dir, "student.onnx"))
    x = student_gpu.inputs(photos, count)
    x.astype("<f4").tofile(os.path.join(out_dir, "inputs.f32"))
    return x, time.perf_counter() - start, torch.__version__


def cuda_library_dirs():
    """The lib folders of this Python's nvidia-* pip packages (CUDA runtime, cuBLAS, cuRAND, cuDNN, ...)."""
    dirs = set()
    for site in sys.path:
        for pattern in ("nvidia/*/lib", "nvidia/*/*/lib"):
            dirs.update(d for d in glob.glob(os.path.join(site, pattern)) if os.path.isdir(d))
    return sorted(dirs)


def package_versions():
    names = ("nvidia-cudnn-cu13", "nvidia-cublas", "nvidia-cuda-runtime", "nvidia-curand", "nvidia-cufft",
             "onnxruntime", "torch")
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def run_program(program, onnx_path, inputs_path, provider, batches, seconds, env):
    """Runs ort_student; returns its JSON answer (with its stderr's last lines) or the failure as text."""
    start = time.perf_counter()
    p = subprocess.run([program, onnx_path, inputs_path, provider, batches, str(seconds)], env=env,
                       capture_output=True, text=True)
    answer = None
    for line in reversed(p.stdout.splitlines()):
        try:
            answer = json.loads(line)
            break
        except ValueError:
            continue
    if answer is None:
        answer = {"error": f"exit {p.returncode}, no JSON answer: {p.stdout[-800:]}"}
    answer["exit_code"] = p.returncode
    answer["wall_s"] = round(time.perf_counter() - start, 1)
    answer["stderr_tail"] = p.stderr.splitlines()[-15:]
    print(provider, json.dumps({k: v for k, v in answer.items() if k != "scores"}), flush=True)
    return answer


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def main():
    args = sys.argv[1:]

    def option(name, default=None):
        return args[args.index(name) + 1] if name in args else default

    count = int(option("--count", "32"))
    if "--export-only" in args:
        export(option("--export-only"), count)
        return
    out_path, ort_lib, program = args[0], option("--ort-lib"), os.path.abspath(option("--program"))
    seconds = float(option("--seconds", "3"))
    work = option("--reuse", "/tmp/student-ort-cuda")
    if "--reuse" in args:
        x, export_s, torch_version = np.fromfile(os.path.join(work, "inputs.f32"), dtype="<f4"), 0.0, None
        x = x.reshape(-1, 3, 512, 512)
        count = len(x)
    else:
        x, export_s, torch_version = export(work, count)
    onnx_path, inputs_path = os.path.join(work, "student.onnx"), os.path.join(work, "inputs.f32")
    print(f"exported in {export_s:.1f} s", flush=True)

    result = {"packages": package_versions(), "torch_for_export": torch_version, "cpu_threads": os.cpu_count(),
              "inputs": count, "export_s": round(export_s, 1)}
    try:
        result["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                        "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    except OSError as e:
        result["gpu"] = f"nvidia-smi: {e}"
    # Reference 1: this Python's onnxruntime (a different build, CPU only) on the same graph and inputs.
    try:
        import onnxruntime as ort
        session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        python_cpu = np.concatenate([session.run(None, {"image": x[i:i + 8]})[0].reshape(-1)
                                     for i in range(0, count, 8)])
        result["python_onnxruntime_cpu_scores"] = [float(s) for s in python_cpu]
    except ImportError:
        python_cpu = None

    lib_dirs = cuda_library_dirs()
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ":".join([os.path.abspath(ort_lib)] + lib_dirs
                                      + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p])
    result["ld_library_path"] = env["LD_LIBRARY_PATH"]
    batches = ",".join(b for b in option("--batches", "1,8,32").split(",") if int(b) <= count)
    runs = {}
    for spec in option("--providers", "cpu,cuda").split(","):
        name = "shipped_ort_" + spec.replace(":", "_")
        while name in runs:  # the same configuration twice: a second timing of it
            name += "_again"
        runs[name] = run_program(program, onnx_path, inputs_path, spec, batches, seconds, env)
        result[name] = runs[name]
    cpu = runs.get("shipped_ort_cpu", {})
    cuda = runs.get("shipped_ort_cuda", {})
    if "scores" in cpu:
        result["score_spread_cpu"] = [min(cpu["scores"]), max(cpu["scores"])]
        if python_cpu is not None:
            result["max_abs_diff_shipped_cpu_vs_python_cpu"] = max_diff(cpu["scores"], python_cpu)
        if "scores" in cuda:
            result["max_abs_diff_cuda_vs_cpu"] = max_diff(cuda["scores"], cpu["scores"])
    for name, run in runs.items():
        if "scores" in run:
            if "scores" in cpu:
                run["max_abs_diff_vs_shipped_cpu"] = max_diff(run["scores"], cpu["scores"])
            if python_cpu is not None:
                run["max_abs_diff_vs_python_cpu"] = max_diff(run["scores"], python_cpu)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    summary = {k: result.get(k) for k in ("gpu", "max_abs_diff_cuda_vs_cpu", "max_abs_diff_shipped_cpu_vs_python_cpu",
                                          "score_spread_cpu")}
    for name, run in runs.items():
        summary[name] = {k: run.get(k) for k in ("images_per_s", "max_abs_diff_vs_python_cpu", "error")}
    print("SUMMARY", json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
