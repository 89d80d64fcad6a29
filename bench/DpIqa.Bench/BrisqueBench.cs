using System.Diagnostics;
using System.Globalization;
using DpIqa.Client;
using DpIqa.Models.Brisque;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// <c>brisque [small N] [camera N]</c>: images/s of the built-in BRISQUE end to end (<c>dpiqa score --model brisque</c>'s
/// job in an embedded silo: listing, shards, read, decode, features, SVR, result files) against OpenCV's own BRISQUE in
/// Python (bench/opencv_brisque.py: cv2.imread + cv2.quality.QualityBRISQUE) on the same files and the same number of
/// cores (the job's decode slots = cores; Python one single-threaded process per core), both measured in this run.
/// Two sets: small JPEGs (crops of the shipped photos, at most 1 MP) and camera-size JPEGs (tests/reference/camera_jpegs.py,
/// at least 8 MP). The job's rate is from its first lease to its last completion (the silo's start excluded); the wall
/// time with the silo's start is printed too.
/// </summary>
internal static class BrisqueBench
{
    public static async Task Run(string root, string[] args)
    {
        if (args is ["parts", ..]) { Parts(root); return; }
        int small = Count(args, "small", 48), camera = Count(args, "camera", 6);
        int cores = Environment.ProcessorCount;
        Console.WriteLine($"# brisque: dpiqa score --model brisque vs OpenCV {OpenCvVersion()} BRISQUE in Python, {cores} cores for each, decode included (loaded machine: compare the ratio)");
        Console.WriteLine("set              images  MP/image  dpiqa img/s  (wall incl. silo start)  OpenCV img/s  ratio");
        if (small > 0) await Compare("small (<=1 MP)", SmallSet(root, small), cores);
        if (camera > 0) await Compare("camera (>=8 MP)", CameraSet(root, camera), cores);
        Console.WriteLine();
    }

    /// <summary><c>brisque parts</c>: one core's milliseconds per megapixel in each stage, on the small set (where the time goes).</summary>
    public static void Parts(string root)
    {
        var files = SmallSet(root, 16);
        var bytes = files.Select(File.ReadAllBytes).ToArray();
        var limits = new DpIqa.Imaging.ImageLimits();
        double decode = 0, gray = 0, features = 0, svr = 0, pixels = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var data in bytes)
            {
                var t = Stopwatch.GetTimestamp();
                using var image = DpIqa.Imaging.ImageDecoder.Decode(data, limits);
                var t1 = Stopwatch.GetTimestamp();
                var plane = new byte[image.Width * image.Height];
                BrisqueFeatures.Gray(image.Rgba, image.Width, image.Height, image.Stride, plane);
                var t2 = Stopwatch.GetTimestamp();
                var f = BrisqueFeatures.Compute(plane, image.Width, image.Height);
                var t3 = Stopwatch.GetTimestamp();
                BrisqueModel.Shared.Score(f);
                var t4 = Stopwatch.GetTimestamp();
                if (pass == 0) continue; // warm-up
                decode += Stopwatch.GetElapsedTime(t, t1).TotalMilliseconds;
                gray += Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
                features += Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds;
                svr += Stopwatch.GetElapsedTime(t3, t4).TotalMilliseconds;
                pixels += image.Width * (double)image.Height / 1e6;
            }
        }
        Console.WriteLine($"# brisque parts, one core, ms per MP: decode {decode / pixels:F1}, gray {gray / pixels:F1}, features {features / pixels:F1}, svr {svr / pixels:F1} (ms per image {svr / files.Length:F2})");
    }

    private static int Count(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        if (args.Length > 0 && at < 0) return 0; // naming one set runs that set only
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out var n) ? n : fallback;
    }

    private static async Task Compare(string name, string[] files, int cores)
    {
        double megapixels = files.Average(f => { using var codec = SKCodec.Create(f); return codec.Info.Width * (double)codec.Info.Height / 1e6; });
        var (rate, wall) = await Dpiqa(files);
        double opencv = OpenCv(cores, files);
        Console.WriteLine($"{name,-16} {files.Length,6}  {megapixels,8:F1}  {rate,11:F2}  ({files.Length / wall,6:F2}/s)               {opencv,12:F2}  {rate / opencv,5:F2}x");
    }

    private static async Task<(double Rate, double Wall)> Dpiqa(string[] files)
    {
        var output = Path.Combine(Path.GetTempPath(), "dpiqa-brisque-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var wall = Stopwatch.StartNew();
        await using var silo = await LocalSilo.Start([], verbose: false);
        var job = silo.Grains.GetGrain<IJobGrain>("bench-" + Guid.NewGuid().ToString("N")[..8]);
        var status = await job.Start(new JobSpec { Sources = [Path.GetDirectoryName(files[0])!], Model = BrisqueModel.Name, Output = output, ShardSize = 8 });
        while (!status.IsFinished)
        {
            await Task.Delay(50);
            status = await job.GetStatus();
        }
        var seconds = wall.Elapsed.TotalSeconds;
        if (status.Done != files.Length || status.Failed != 0) throw new InvalidOperationException($"job scored {status.Done - status.Failed} of {files.Length} images");
        Directory.Delete(output, recursive: true);
        return (status.ImagesPerSecond, seconds);
    }

    private static string OpenCvVersion() => Python("-c", "import cv2; print(cv2.__version__)").Trim();

    private static double OpenCv(int workers, string[] files)
    {
        var output = Python([Path.Combine(Repo.Root, "bench", "opencv_brisque.py"), workers.ToString(CultureInfo.InvariantCulture), "1", .. files]);
        var field = output.Split(' ', '\n').Single(f => f.StartsWith("images_per_second=", StringComparison.Ordinal));
        return double.Parse(field.Split('=')[1], CultureInfo.InvariantCulture);
    }

    private static string Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"OpenCV baseline failed (apt-get install python3-opencv opencv-data): {error.Trim()}");
        return output;
    }

    /// <summary>Crops of the shipped photos resized to 0.3-1 MP, JPEG quality 88, in .cache/bench-brisque-small.</summary>
    private static string[] SmallSet(string root, int count)
    {
        var dir = Path.Combine(root, ".cache", "bench-brisque-small");
        var existing = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.jpg").Order().ToArray() : [];
        if (existing.Length == count) return existing;
        Directory.CreateDirectory(dir);
        foreach (var f in existing) File.Delete(f);
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos"), "*.jpg").Order().ToArray();
        var rng = new Random(7);
        for (int i = 0; i < count; i++)
        {
            using var bitmap = SKBitmap.Decode(photos[i % photos.Length]);
            double area = 0.4 + 0.6 * rng.NextDouble();
            int w = (int)(bitmap.Width * Math.Sqrt(area)), h = (int)(bitmap.Height * Math.Sqrt(area));
            int x = rng.Next(bitmap.Width - w + 1), y = rng.Next(bitmap.Height - h + 1);
            double pixels = 0.3e6 + 0.7e6 * rng.NextDouble();
            double scale = Math.Min(1.0, Math.Sqrt(pixels / ((double)w * h)));
            using var crop = new SKBitmap();
            bitmap.ExtractSubset(crop, new SKRectI(x, y, x + w, y + h));
            using var resized = crop.Resize(new SKImageInfo(Math.Max(2, (int)(w * scale)), Math.Max(2, (int)(h * scale))), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            using var data = resized.Encode(SKEncodedImageFormat.Jpeg, 88);
            File.WriteAllBytes(Path.Combine(dir, $"small-{i:D3}.jpg"), data.ToArray());
        }
        return Directory.GetFiles(dir, "*.jpg").Order().ToArray();
    }

    /// <summary>Camera-size JPEGs from tests/reference/camera_jpegs.py (seed 11), those of at least 8 MP, in .cache/bench-brisque-camera.</summary>
    private static string[] CameraSet(string root, int count)
    {
        var dir = Path.Combine(root, ".cache", "bench-brisque-camera");
        var existing = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.jpg").Order().ToArray() : [];
        if (existing.Length == count) return existing;
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var all = Path.Combine(root, ".cache", "bench-brisque-camera-all");
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos"), "*.jpg").Order();
        Python([Path.Combine(root, "tests", "reference", "camera_jpegs.py"), all, (3 * count).ToString(CultureInfo.InvariantCulture), .. photos]);
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(all, "*.jpg").Order())
        {
            using (var codec = SKCodec.Create(f))
                if ((long)codec.Info.Width * codec.Info.Height < 8_000_000) continue;
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            if (Directory.GetFiles(dir).Length == count) break;
        }
        Directory.Delete(all, recursive: true);
        return Directory.GetFiles(dir, "*.jpg").Order().ToArray();
    }
}
