using System.Diagnostics;
using System.Text.Json;
using DpIqa.Client;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// The DP-IQA student end to end: <c>dpiqa score</c>'s job path (in-process silo, default settings) against
/// bench/torch_baseline.py (PIL + torchvision + PyTorch in every sensible configuration) on the same 16 JPEGs of
/// 1-2 K px, same run; prints every torch configuration and dpiqa's ratio to the BEST one.
/// dpiqa runs before and after the torch script (interleaved: the machine is shared and noisy) and the mean counts.
/// Needs the parity student export (.cache/parity/KEY/models, made by the parity tests).
/// </summary>
internal static class StudentBench
{
    public static async Task Run(string root)
    {
        var models = ModelsDir(root);
        if (models is null)
        {
            Console.WriteLine("# student: SKIPPED (run the parity tests first: they export .cache/parity/KEY/models/student-random)");
            return;
        }
        var (folder, images) = ImageFolder(root);
        Console.WriteLine($"# student (EfficientNet-B7, the parity test's stable random weights), {images.Length} JPEGs of 1-2 K px, {Environment.ProcessorCount} cores");
        double before = await Dpiqa(folder, models, []);
        var torch = Torch(root, images);
        double after = await Dpiqa(folder, models, []);
        double ours = (before + after) / 2;
        double best = torch.GetProperty("best").GetProperty("images_per_s").GetDouble();
        Console.WriteLine("PIL + torchvision + PyTorch (bench/torch_baseline.py)   images/s   ratio to best");
        foreach (var c in torch.GetProperty("configurations").EnumerateArray())
            Console.WriteLine($"  batch {c.GetProperty("batch").GetInt32()}, {c.GetProperty("threads").GetInt32()} torch threads, {c.GetProperty("workers").GetInt32()} workers {c.GetProperty("images_per_s").GetDouble(),20:F3}   {c.GetProperty("ratio_to_best").GetDouble():F2}");
        Console.WriteLine($"dpiqa score (default settings; warm job rate, before/after torch {before:F3}/{after:F3}): {ours:F3} images/s = {ours / best:F2}x the best torch configuration");
        Console.WriteLine();
        Directory.Delete(folder, true);
    }

    /// <summary>The parity student's export: .cache/parity/*/models holding student-random (newest first), or null.</summary>
    public static string? ModelsDir(string root)
    {
        var parity = Path.Combine(root, ".cache", "parity");
        if (!Directory.Exists(parity)) return null;
        return Directory.GetDirectories(parity)
            .Select(d => Path.Combine(d, "models"))
            .Where(m => File.Exists(Path.Combine(m, "student-random", "student-random.json")))
            .OrderByDescending(Directory.GetLastWriteTimeUtc)
            .FirstOrDefault();
    }

    /// <summary>16 of the pipeline bench's JPEGs whose long side is 1000-2100 px, copied into a fresh folder.</summary>
    public static (string Folder, string[] Images) ImageFolder(string root)
    {
        var images = PipelineBench.MakeImageSet(root, 240).Where(f =>
        {
            using var codec = SKCodec.Create(f);
            return Math.Max(codec.Info.Width, codec.Info.Height) is >= 1000 and <= 2100;
        }).Take(16).ToArray();
        var folder = Path.Combine(Path.GetTempPath(), "dpiqa-student-bench");
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(folder);
        foreach (var f in images) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        return (folder, Directory.GetFiles(folder).Order().ToArray());
    }

    private static JsonElement Torch(string root, string[] images)
    {
        var json = Path.Combine(Path.GetTempPath(), "dpiqa-torch-baseline.json");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(root, "bench", "torch_baseline.py"));
        psi.ArgumentList.Add("--json");
        psi.ArgumentList.Add(json);
        foreach (var i in images) psi.ArgumentList.Add(i);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("torch baseline failed: " + err.Result);
        return JsonDocument.Parse(File.ReadAllText(json)).RootElement.Clone();
    }

    /// <summary>
    /// dpiqa's job rate (first lease to last completion) on <paramref name="folder"/> with the student, on a silo
    /// whose model session is already loaded: a first job on two of the images loads it (optimising the 300 MB graph
    /// takes seconds, once per silo; the torch script's model building is not timed either).
    /// </summary>
    public static async Task<double> Dpiqa(string folder, string models, List<KeyValuePair<string, string?>> settings, int shardSize = 8)
    {
        settings.Add(new("Models:Path", models));
        await using var silo = await LocalSilo.Start(settings, verbose: false);
        var warmUp = Path.Combine(Path.GetTempPath(), "dpiqa-student-warm-up");
        if (Directory.Exists(warmUp)) Directory.Delete(warmUp, true);
        Directory.CreateDirectory(warmUp);
        foreach (var f in Directory.GetFiles(folder).Order().Take(2)) File.Copy(f, Path.Combine(warmUp, Path.GetFileName(f)));
        await Job(silo, warmUp, shardSize);
        Directory.Delete(warmUp, true);
        return await Job(silo, folder, shardSize);
    }

    private static async Task<double> Job(LocalSilo silo, string folder, int shardSize)
    {
        var job = silo.Grains.GetGrain<IJobGrain>("student-" + Guid.NewGuid().ToString("N")[..8]);
        var output = Path.Combine(Path.GetTempPath(), "dpiqa-student-out-" + Guid.NewGuid().ToString("N")[..8]);
        var status = await job.Start(new JobSpec { Sources = [folder], Model = "student-random", Output = output, ShardSize = shardSize });
        while (!status.IsFinished)
        {
            await Task.Delay(100);
            status = await job.GetStatus();
        }
        Directory.Delete(output, true);
        if (status.Scored == 0) throw new InvalidOperationException("nothing scored");
        return status.ImagesPerSecond;
    }
}
