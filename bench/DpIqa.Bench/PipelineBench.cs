using System.Diagnostics;
using DpIqa.Client;
using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// <c>dpiqa score</c>'s throughput (the job grain, shards, scoring workers, batcher, ONNX Runtime) on a set of
/// real-photo JPEGs, against each stage measured alone in the same run: fetch (read the file), preprocess
/// (decode + resize, all cores) and inference (the built-in model, batched, all cores).
/// Pipeline efficiency = pipeline images/s / slowest stage's images/s.
/// </summary>
internal static class PipelineBench
{
    public static async Task Run(string root)
    {
        var images = MakeImageSet(root, count: 240);
        Console.WriteLine($"# pipeline: {images.Length} JPEGs (crops of the shipped photos, 800-2048 px), {Environment.ProcessorCount} cores, model {ProxyModel.Name}");

        double fetch = Rate(images.Length, () => { foreach (var f in images) File.ReadAllBytes(f); });
        double preprocess = Rate(images.Length, () => PreprocessBench.Ours(images, Environment.ProcessorCount, 1));
        double inference = await InferenceRate(images, total: images.Length);
        double slowest = Math.Min(fetch, Math.Min(preprocess, inference));

        var (jobRate, wall) = await ScoreRate(images);
        Console.WriteLine("stage              images/s");
        Console.WriteLine($"fetch alone        {fetch,9:F1}");
        Console.WriteLine($"preprocess alone   {preprocess,9:F1}");
        Console.WriteLine($"inference alone    {inference,9:F1}");
        Console.WriteLine($"dpiqa score        {jobRate,9:F1}   (first lease to last completion; {images.Length / wall:F1}/s counting silo start, {wall:F1} s)");
        double serial = 1 / (1 / fetch + 1 / preprocess + 1 / inference);
        Console.WriteLine($"sum of stages (one image through all stages alone): {serial:F1} images/s");
        Console.WriteLine($"pipeline efficiency: {jobRate / slowest:F2} of the slowest stage, {jobRate / serial:F2} of the sum of stages");
        Console.WriteLine("(on a CPU-only machine decode and inference share the cores, so the sum of stages is the ceiling)");
        Console.WriteLine();
    }

    private static double Rate(int count, Action action)
    {
        action(); // warm-up
        var sw = Stopwatch.StartNew();
        action();
        return count / sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> InferenceRate(string[] files, int total)
    {
        await using var inference = new InferenceService(
            new ModelCatalog(Options.Create(new ModelOptions { Path = "/nonexistent" })),
            Options.Create(new InferenceOptions()), NullLogger<InferenceService>.Instance);
        var inputs = files.Take(16).Select(f => Preprocessor.Run(File.ReadAllBytes(f), new ImageLimits())).ToArray();
        try
        {
            async Task Pass(int n)
            {
                using var gate = new SemaphoreSlim(16);
                await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
                {
                    await gate.WaitAsync();
                    try { await inference.Score(ProxyModel.Name, inputs[i % inputs.Length], CancellationToken.None); }
                    finally { gate.Release(); }
                }));
            }
            await Pass(32);
            var sw = Stopwatch.StartNew();
            await Pass(total);
            return total / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var i in inputs) i.Dispose();
        }
    }

    private static async Task<(double JobRate, double Wall)> ScoreRate(string[] images)
    {
        var output = Path.Combine(Path.GetTempPath(), "dpiqa-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var wall = Stopwatch.StartNew();
        await using var silo = await LocalSilo.Start([], verbose: false);
        var job = silo.Grains.GetGrain<IJobGrain>("bench-" + Guid.NewGuid().ToString("N")[..8]);
        var status = await job.Start(new JobSpec { Sources = [Path.GetDirectoryName(images[0])!], Model = ProxyModel.Name, Output = output, ShardSize = 16 });
        while (!status.IsFinished)
        {
            await Task.Delay(50);
            status = await job.GetStatus();
        }
        var seconds = wall.Elapsed.TotalSeconds;
        if (status.Done != images.Length) throw new InvalidOperationException($"job did {status.Done} of {images.Length} images");
        Directory.Delete(output, recursive: true);
        return (status.ImagesPerSecond, seconds);
    }

    /// <summary>Deterministic crops of the shipped photos, re-encoded as JPEG (quality 88), in .cache/bench-images.</summary>
    public static string[] MakeImageSet(string root, int count)
    {
        var dir = Path.Combine(root, ".cache", "bench-images");
        var existing = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.jpg").Order().ToArray() : [];
        if (existing.Length == count) return existing;
        Directory.CreateDirectory(dir);
        foreach (var f in existing) File.Delete(f);
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos"), "*.jpg").Order().ToArray();
        var rng = new Random(42);
        int[] sides = [800, 1200, 1600, 2048];
        for (int i = 0; i < count; i++)
        {
            using var bitmap = SKBitmap.Decode(photos[i % photos.Length]);
            double area = 0.4 + 0.6 * rng.NextDouble();
            int w = (int)(bitmap.Width * Math.Sqrt(area)), h = (int)(bitmap.Height * Math.Sqrt(area));
            int x = rng.Next(bitmap.Width - w + 1), y = rng.Next(bitmap.Height - h + 1);
            int side = sides[rng.Next(sides.Length)];
            double scale = Math.Min(1.0, (double)side / Math.Max(w, h));
            using var crop = new SKBitmap();
            bitmap.ExtractSubset(crop, new SKRectI(x, y, x + w, y + h));
            using var resized = crop.Resize(new SKImageInfo(Math.Max(1, (int)(w * scale)), Math.Max(1, (int)(h * scale))), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            using var data = resized.Encode(SKEncodedImageFormat.Jpeg, 88);
            File.WriteAllBytes(Path.Combine(dir, $"img-{i:D4}.jpg"), data.ToArray());
        }
        return Directory.GetFiles(dir, "*.jpg").Order().ToArray();
    }
}
