using System.Diagnostics;
using System.Text.Json;
using DpIqa.Client;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// The DP-IQA student end to end: <c>dpiqa score</c>'s job path (in-process silo, default settings) against
/// bench/torch_baseline.py (PIL + torchvision + PyTorch in every sensible configuration) on the same JPEGs of
/// 1-2 K px (16 by default), same run; prints every torch configuration and dpiqa's ratio to the BEST one.
/// The torch script probes every configuration on a few images and runs only the best few on all of them (a full
/// sweep took over 15 minutes on 2 loaded cores); configurations probed only are marked so.
/// dpiqa runs before and after the torch script (interleaved: the machine is shared and noisy) and the mean counts.
/// Needs the parity student export (.cache/parity/KEY/models, made by the parity tests).
/// usage: student [IMAGES [PROBE [FULL]]] (16, 2, 2).
/// </summary>
internal static class StudentBench
{
    public static async Task Run(string root, string[] args)
    {
        int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
        int count = Arg(0, 16), probe = Arg(1, 2), full = Arg(2, 2);
        var models = ModelsDir(root);
        if (models is null)
        {
            Console.WriteLine("# student: SKIPPED (run the parity tests first: they export .cache/parity/KEY/models/student-random)");
            return;
        }
        var sw = Stopwatch.StartNew();
        var (folder, images) = ImageFolder(root, count);
        Console.WriteLine($"# student (EfficientNet-B7, the parity test's stable random weights), {images.Length} JPEGs of 1-2 K px, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
        double before = await Dpiqa(folder, models, []);
        var torch = Torch(root, images, probe, full);
        double after = await Dpiqa(folder, models, []);
        double ours = (before + after) / 2;
        double best = torch.GetProperty("best").GetProperty("images_per_s").GetDouble();
        Console.WriteLine($"PIL + torchvision + PyTorch (bench/torch_baseline.py: every configuration probed on max({probe}, batch) images, the {full} best of the probe run on all {images.Length})");
        Console.WriteLine("  configuration                          probe images/s   images/s   ratio to best");
        foreach (var c in torch.GetProperty("configurations").EnumerateArray())
        {
            var name = $"batch {c.GetProperty("batch").GetInt32()}, {c.GetProperty("threads").GetInt32()} torch threads, {c.GetProperty("workers").GetInt32()} workers";
            var stopped = c.TryGetProperty("probe_stopped", out var s) && s.GetBoolean();
            int probeImages = c.GetProperty("probe_images").GetInt32();
            var probed = stopped && probeImages == 0 // no batch done by the limit: the rate of one batch at the limit bounds it
                ? $"<{c.GetProperty("probe_images_per_s").GetDouble():F3} (stopped)"
                : $"{c.GetProperty("probe_images_per_s").GetDouble():F3} ({probeImages} img{(stopped ? ", stopped" : "")})";
            var all = c.TryGetProperty("images_per_s", out var rate)
                ? $"{rate.GetDouble(),8:F3}   {c.GetProperty("ratio_to_best").GetDouble():F2}"
                : "   (probed only)";
            Console.WriteLine($"  {name,-37} {probed,16}   {all}");
        }
        Console.WriteLine($"dpiqa score (default settings; warm job rate, before/after torch {before:F3}/{after:F3}): {ours:F3} images/s");
        Console.WriteLine($"dpiqa / best torch: {ours / best:F2}x (best torch {best:F3} images/s)");
        Console.WriteLine($"(the whole student bench took {sw.Elapsed.TotalMinutes:F1} min)");
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

    /// <summary><paramref name="count"/> of the pipeline bench's JPEGs whose long side is 1000-2100 px, copied into a fresh folder.</summary>
    public static (string Folder, string[] Images) ImageFolder(string root, int count = 16)
    {
        var images = PipelineBench.MakeImageSet(root, 240).Where(f =>
        {
            using var codec = SKCodec.Create(f);
            return Math.Max(codec.Info.Width, codec.Info.Height) is >= 1000 and <= 2100;
        }).Take(count).ToArray();
        var folder = Path.Combine(Path.GetTempPath(), "dpiqa-student-bench");
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(folder);
        foreach (var f in images) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        return (folder, Directory.GetFiles(folder).Order().ToArray());
    }

    private static JsonElement Torch(string root, string[] images, int probe, int full)
    {
        var json = Path.Combine(Path.GetTempPath(), "dpiqa-torch-baseline.json");
        // Its stderr (a line per probed configuration) goes straight to ours: a long sweep shows its progress.
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(root, "bench", "torch_baseline.py"), "--json", json, "--probe", $"{probe}", "--full", $"{full}" }.Concat(images))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"torch baseline failed (exit {p.ExitCode}): see its output above");
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
