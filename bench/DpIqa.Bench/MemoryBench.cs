using System.Diagnostics;
using System.Globalization;
using DpIqa.Client;
using DpIqa.Storage;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// Memory under a large job: N small generated JPEGs (320x240 crops of the shipped photos, 100 folders, named in a
/// listing file) scored by the built-in model on one in-process silo, with the process's RSS sampled every second.
/// Each size runs in a fresh process (this bench started again with <c>memory-one N</c>), so one run's heap does not
/// carry into the next. Reports peak RSS and steady RSS (the median of the samples in the second half of the run).
/// Goal: peak independent of N (within 10%) and under 1 GiB.
/// </summary>
internal static class MemoryBench
{
    public static async Task Run(string root, string[] args)
    {
        var sizes = args.Length > 0 ? args.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [10_000, 100_000];
        Console.WriteLine($"# memory: small JPEGs, built-in model, one in-process silo, RSS sampled every second, {Environment.ProcessorCount} cores");
        Console.WriteLine("images    seconds  images/s  peak RSS MiB  steady RSS MiB  samples");
        foreach (var n in sizes)
        {
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, WorkingDirectory = root };
            foreach (var a in new[] { "memory-one", n.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            Console.Write(p.ExitCode == 0 ? output : $"{n,7}  FAILED (exit {p.ExitCode}): {output}\n");
        }
        Console.WriteLine();
    }

    /// <summary>One size, in this process: prints one row of the table.</summary>
    public static async Task<int> One(string root, int n)
    {
        var dir = Path.Combine(Path.GetTempPath(), "dpiqa-memory-" + Guid.NewGuid().ToString("N")[..8]);
        // Under the repository's .cache, not /tmp: another process's /tmp clean-up removed them during a run once, and
        // every image after that failed in milliseconds, which the bench then reported as a fast run.
        var images = MakeImages(root, Path.Combine(root, ".cache", "memory-bench-images"), 1000);
        var listing = Path.Combine(dir, "listing.txt");
        Directory.CreateDirectory(dir);
        await using (var w = new StreamWriter(listing))
        {
            for (int i = 0; i < n; i++)
            {
                // A distinct path per item (a link to one of the 1,000 images), in 100 top folders.
                var link = Path.Combine(dir, "src", $"f{i % 100:D2}", $"img-{i:D7}.jpg");
                if (i < 100) Directory.CreateDirectory(Path.GetDirectoryName(link)!);
                File.CreateSymbolicLink(link, images[i % images.Length]);
                await w.WriteLineAsync(link);
            }
        }
        try
        {
            var samples = new List<(double Seconds, long Rss, long Done)>();
            await using var silo = await LocalSilo.Start([new("Scoring:ConcurrentShards", "2")], verbose: false);
            var job = silo.Grains.GetGrain<IJobGrain>("memory-" + Guid.NewGuid().ToString("N")[..8]);
            var sw = Stopwatch.StartNew();
            var status = await job.Start(new JobSpec { Sources = [Locations.ListingScheme + listing], Model = "proxy-sharpness", Output = Path.Combine(dir, "out"), ShardSize = 256, Format = ResultFormat.Parquet });
            using var self = Process.GetCurrentProcess();
            while (!status.IsFinished)
            {
                await Task.Delay(1000);
                status = await job.GetStatus();
                self.Refresh();
                samples.Add((sw.Elapsed.TotalSeconds, self.WorkingSet64, status.Done));
                // Progress on stderr (the row goes to stdout at the end): a long run's log shows RSS as it goes.
                if (samples.Count % 30 == 0)
                    Console.Error.WriteLine(FormattableString.Invariant($"memory {n}: {sw.Elapsed.TotalSeconds:F0} s, {status.Done} done, RSS {self.WorkingSet64 / 1048576.0:F0} MiB, managed heap {GC.GetTotalMemory(false) / 1048576.0:F0} MiB; {NativeMemory.Describe()}"));
            }
            var seconds = sw.Elapsed.TotalSeconds;
            if (status.State != JobState.Completed || status.Scored != n) throw new InvalidOperationException($"job ended {status.State} with {status.Scored} of {n} scored ({status.Failed} failed)");
            var steady = samples.Where(s => s.Done >= n / 2).Select(s => s.Rss).Order().ToArray();
            double Mib(long b) => b / 1048576.0;
            Console.WriteLine($"{n,7}  {seconds,8:F0}  {n / seconds,8:F0}  {Mib(samples.Max(s => s.Rss)),12:F0}  {Mib(steady[steady.Length / 2]),14:F0}  {samples.Count,7}");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string[] MakeImages(string root, string folder, int count)
    {
        var files = Enumerable.Range(0, count).Select(i => Path.Combine(folder, $"small-{i:D4}.jpg")).ToArray();
        if (files.All(File.Exists)) return files;
        Directory.CreateDirectory(folder);
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos"), "*.jpg").Order().Select(SKBitmap.Decode).ToArray();
        var rng = new Random(8);
        for (int i = 0; i < count; i++)
        {
            var photo = photos[i % photos.Length];
            int w = rng.Next(photo.Width / 4, photo.Width), h = w * 3 / 4;
            if (h > photo.Height) (h, w) = (photo.Height, photo.Height * 4 / 3);
            int x = rng.Next(0, photo.Width - w + 1), y = rng.Next(0, photo.Height - h + 1);
            using var small = new SKBitmap(320, 240);
            using (var canvas = new SKCanvas(small))
                canvas.DrawBitmap(photo, new SKRect(x, y, x + w, y + h), new SKRect(0, 0, 320, 240));
            using var data = small.Encode(SKEncodedImageFormat.Jpeg, 85);
            File.WriteAllBytes(files[i], data.ToArray());
        }
        foreach (var p in photos) p.Dispose();
        return files;
    }
}
