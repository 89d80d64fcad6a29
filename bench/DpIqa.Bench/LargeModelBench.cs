using System.Diagnostics;
using System.Globalization;
using DpIqa.Imaging;
using DpIqa.Models;
using DpIqa.Tests;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Bench;

/// <summary>
/// Serving a teacher-sized model: a generated ~4 GiB float32 graph whose weights sit in one external-data file (64
/// matrices of 4096 x 4096, every one used by every run, see tests/DpIqa.Tests/LargeModels.cs), written once under
/// <c>FOLDER</c> (default /tmp/dpiqa-large-model). Each measurement runs in a child process of its own, so its RSS is
/// its own: <c>dpiqa models import</c> into a local catalog (time, MB/s, managed bytes allocated, peak RSS), the
/// sha256 check a silo makes before a load, then ONNX Runtime session loads with the silo's settings and with the
/// variants that change memory (weights at 4 KiB-aligned offsets, which ONNX Runtime maps from the file, against
/// packed ones, which it copies; pre-packing off; the CPU arena off): load seconds, RSS after the load (anonymous /
/// file-backed), peak RSS, and RSS and seconds after one image. Run it under a memory cap, e.g.
/// <c>nice -n 10 prlimit --as=$((16&lt;&lt;30)) -- dotnet run -c Release --project bench/DpIqa.Bench -- large-model</c>.
/// </summary>
internal static class LargeModelBench
{
    private const int Tensors = 64, Side = 4096; // 64 x 64 MiB = 4 GiB, the teacher's float32 size

    public static async Task Run(string[] args)
    {
        var root = args.FirstOrDefault() ?? Path.Combine(Path.GetTempPath(), "dpiqa-large-model");
        Console.WriteLine($"# large-model: {Tensors} x {Side}x{Side} float32 external weights ({Tensors * (long)Side * Side * 4 / 1e9:F2} GB), {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
        foreach (var (name, align) in new[] { ("big-aligned", 4096), ("big-packed", 1) })
        {
            var folder = Path.Combine(root, "exports", name);
            if (File.Exists(Path.Combine(folder, name + ".json"))) continue;
            var watch = Stopwatch.StartNew();
            long size = LargeModels.Write(folder, name, Tensors, Side, align: align);
            Console.WriteLine($"wrote {name}: {size / 1e9:F2} GB in {watch.Elapsed.TotalSeconds:F1} s");
        }
        await Child(root, "import", "big-aligned");
        await Child(root, "hash", "big-aligned");
        await Child(root, "load", "big-aligned", "silo");
        await Child(root, "load", "big-aligned", "no-prepacking");
        await Child(root, "load", "big-aligned", "no-arena");
        await Child(root, "load", "big-packed", "silo");
    }

    /// <summary>Runs one measurement in a fresh process and prints its line.</summary>
    private static async Task Child(string root, params string[] what)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Under "dotnet DpIqa.Bench.dll" the child needs the assembly; the apphost needs nothing more.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(typeof(LargeModelBench).Assembly.Location);
        psi.ArgumentList.Add("large-model-one");
        psi.ArgumentList.Add(root);
        foreach (var a in what) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Console.Write(await stdout);
        if (p.ExitCode != 0) Console.WriteLine($"{string.Join(' ', what)}: FAILED (exit {p.ExitCode}): {(await stderr).Split('\n').FirstOrDefault(l => l.Length > 0)}");
    }

    /// <summary>One measurement, in this process (see <see cref="Run"/>).</summary>
    public static int One(string[] args)
    {
        var (root, what, name) = (args[0], args[1], args[2]);
        var folder = Path.Combine(root, "exports", name);
        long size = new FileInfo(Path.Combine(folder, name + ".onnx.data")).Length;
        var watch = Stopwatch.StartNew();
        switch (what)
        {
            case "import":
            {
                var catalogFolder = Path.Combine(root, "catalog");
                if (Directory.Exists(catalogFolder)) Directory.Delete(catalogFolder, recursive: true);
                var catalog = new ModelCatalog(Options.Create(new ModelOptions { Path = catalogFolder }));
                long allocated = GC.GetTotalAllocatedBytes(precise: true);
                catalog.Import(new ModelImport(folder));
                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                var seconds = watch.Elapsed.TotalSeconds;
                Console.WriteLine($"import {name}: {seconds:F1} s, {size / 1e6 / seconds:F0} MB/s, managed allocated {allocated / 1048576.0:F1} MiB, peak RSS {Rss("VmHWM")}, {Rss()}");
                Directory.Delete(catalogFolder, recursive: true);
                break;
            }
            case "hash":
            {
                Hashes.Sha256OfFile(Path.Combine(folder, name + ".onnx.data"));
                var seconds = watch.Elapsed.TotalSeconds;
                Console.WriteLine($"sha256 of {name}.onnx.data (the check before every load): {seconds:F1} s, {size / 1e6 / seconds:F0} MB/s, peak RSS {Rss("VmHWM")}");
                break;
            }
            case "load":
            {
                var variant = args[3];
                using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
                options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                if (variant == "no-prepacking") options.AddSessionConfigEntry("session.disable_prepacking", "1");
                if (variant == "no-arena") options.EnableCpuMemArena = false;
                using var session = new InferenceSession(Path.Combine(folder, name + ".onnx"), options);
                var load = watch.Elapsed.TotalSeconds;
                var afterLoad = Rss();
                var peakLoad = Rss("VmHWM");
                const int imageFloats = 3 * Preprocessor.Size * Preprocessor.Size;
                var input = new float[imageFloats];
                using (var image = Preprocessor.Run(File.ReadAllBytes(Path.Combine(Repo.Root, "samples", "photos", "skimage-chelsea.png")), new ImageLimits()))
                    ModelInput.ToTensor(image.Rgb, input);
                using var tensor = OrtValue.CreateTensorValueFromMemory(input, [1, 3, Preprocessor.Size, Preprocessor.Size]);
                watch.Restart();
                using var outputs = session.Run(new RunOptions(), ["image"], [tensor], ["score"]);
                var run = watch.Elapsed.TotalSeconds;
                Console.WriteLine($"load {name} ({variant}): {load:F1} s, after load {afterLoad}, peak {peakLoad}; one image {run:F2} s, after it {Rss()}, peak {Rss("VmHWM")}");
                break;
            }
            default:
                throw new ArgumentException($"large-model-one: unknown measurement '{what}'");
        }
        return 0;
    }

    /// <summary>RSS as "N MiB (anon A, file F)", or one /proc/self/status field (VmHWM: the peak) in MiB.</summary>
    private static string Rss(string? field = null)
    {
        var status = File.ReadAllLines("/proc/self/status").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[1].TrimEnd().EndsWith(" kB", StringComparison.Ordinal))
            .ToDictionary(p => p[0], p => long.Parse(p[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0);
        return field is not null
            ? $"{status[field]:F0} MiB"
            : $"RSS {status["VmRSS"]:F0} MiB (anon {status["RssAnon"]:F0}, file {status["RssFile"]:F0})";
    }
}
