using System.Diagnostics;
using System.Globalization;
using DpIqa.Client;

namespace DpIqa.Bench;

/// <summary>
/// The DP-IQA student architecture end to end: <c>dpiqa score</c>'s job path (in-process silo) against
/// bench/torch_baseline.py (PIL + torchvision transforms + a PyTorch DataLoader, the script a user would write)
/// on the same images in the same run; then dynamic batching on vs off with 8 concurrent shards.
/// Needs the random-weight student export in .cache/parity/models (made by the parity tests).
/// </summary>
internal static class StudentBench
{
    public static async Task Run(string root, int count = 48)
    {
        var models = Path.Combine(root, ".cache", "parity", "models");
        if (!File.Exists(Path.Combine(models, "student-random.json")))
        {
            Console.WriteLine("# student: SKIPPED (run the parity tests first: they export .cache/parity/models/student-random.onnx)");
            return;
        }
        var images = PipelineBench.MakeImageSet(root, 240).Take(count).ToArray();
        var folder = Path.Combine(Path.GetTempPath(), "dpiqa-student-bench");
        if (Directory.Exists(folder)) Directory.Delete(folder, true);
        Directory.CreateDirectory(folder);
        foreach (var f in images) File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));

        Console.WriteLine($"# student (EfficientNet-B7, random weights), {images.Length} JPEGs, {Environment.ProcessorCount} cores");
        double torch = Torch(root, images);
        double ours = await Score(folder, models, [], shardSize: 8);
        Console.WriteLine($"PIL + PyTorch DataLoader (batch 8, 2 workers): {torch:F2} images/s");
        Console.WriteLine($"dpiqa score (default settings):                {ours:F2} images/s   ({ours / torch:F2}x)");
        double on = await Score(folder, models, [new("Scoring:ConcurrentShards", "8"), new("Inference:MaxBatch", "8"), new("Inference:MaxWaitMs", "20")], shardSize: 6);
        double off = await Score(folder, models, [new("Scoring:ConcurrentShards", "8"), new("Inference:MaxBatch", "1")], shardSize: 6);
        Console.WriteLine($"8 concurrent shards, batching on (max 8):       {on:F2} images/s");
        Console.WriteLine($"8 concurrent shards, batching off (max 1):      {off:F2} images/s   (on/off {on / off:F2})");
        Console.WriteLine();
        Directory.Delete(folder, true);
    }

    private static double Torch(string root, string[] images)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(root, "bench", "torch_baseline.py"));
        foreach (var i in images) psi.ArgumentList.Add(i);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("torch baseline failed: " + err.Result);
        return double.Parse(output.Split(' ').Single(f => f.StartsWith("images_per_s=")).Split('=')[1], CultureInfo.InvariantCulture);
    }

    private static async Task<double> Score(string folder, string models, List<KeyValuePair<string, string?>> settings, int shardSize)
    {
        settings.Add(new("Models:Path", models));
        await using var silo = await LocalSilo.Start(settings, verbose: false);
        var job = silo.Grains.GetGrain<IJobGrain>("student-" + Guid.NewGuid().ToString("N")[..8]);
        var output = Path.Combine(Path.GetTempPath(), "dpiqa-student-out-" + Guid.NewGuid().ToString("N")[..8]);
        var status = await job.Start(new JobSpec { Sources = [folder], Model = "student-random", Output = output, ShardSize = shardSize });
        while (!status.IsFinished)
        {
            await Task.Delay(200);
            status = await job.GetStatus();
        }
        Directory.Delete(output, true);
        if (status.Scored == 0) throw new InvalidOperationException("nothing scored");
        return status.ImagesPerSecond;
    }
}
