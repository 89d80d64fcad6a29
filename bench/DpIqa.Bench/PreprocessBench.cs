using System.Diagnostics;
using DpIqa.Imaging;

namespace DpIqa.Bench;

/// <summary>
/// Decode + resize to 512x512, ms/image and images/s, per core (1 thread) and on all cores (images in parallel, each
/// on one thread): dpiqa's exact and fast paths against PIL (decode + convert + resize) and PIL with
/// <c>Image.draft()</c> (its own DCT-scaled JPEG path) on the same files in the same run. Sets: the shipped photos,
/// and camera-size JPEGs (3000-6000 px, made by tests/reference/camera_jpegs.py into .cache/bench/camera-jpegs).
/// Then the fast path's fidelity: how far its 512x512 input is from the exact one.
/// </summary>
internal static class PreprocessBench
{
    public static async Task Run(string root, int repeats = 3)
    {
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f))).Order().ToArray();
        var cameras = CameraJpegs(root, 40);
        int cores = Environment.ProcessorCount;
        Console.WriteLine($"# preprocessing (decode + resize to 512x512), {cores} cores, best of {repeats} passes");
        Console.WriteLine("set               images  threads   exact ms/img  fast ms/img   PIL ms/img  PIL draft ms/img   fast/exact  exact/PIL  fast/PIL-draft (speed ratios)");
        foreach (var (name, files) in new[] { ("shipped", photos), ("camera 3000-6000", cameras) })
        {
            foreach (var threads in new[] { 1, cores }.Distinct())
            {
                double exact = Ours(files, threads, repeats, PreprocessPath.Exact);
                double fast = Ours(files, threads, repeats, PreprocessPath.Fast);
                double pil = Repo.Pil(threads, repeats, files);
                double draft = Repo.Pil(threads, repeats, files, draft: true);
                Console.WriteLine($"{name,-17} {files.Length,6}  {threads,7}  {exact,13:F1}  {fast,11:F1}  {pil,11:F1}  {draft,16:F1}   {exact / fast,10:F2}  {pil / exact,9:F2}  {draft / fast,14:F2}");
            }
        }
        Console.WriteLine("(images/s = 1000 / ms per image; with N threads ms/img is wall time over all images, so it already counts the cores)");
        Console.WriteLine(Fidelity(photos.Concat(cameras)));
        Console.WriteLine();
        await Task.CompletedTask;
    }

    /// <summary>The camera-size JPEGs, made once by the test suite's generator (same script, same seed).</summary>
    public static string[] CameraJpegs(string root, int count)
    {
        var folder = Path.Combine(root, ".cache", "bench", "camera-jpegs");
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "camera-*.jpg").Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == count) return files;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(root, "tests", "reference", "camera_jpegs.py"), folder, count.ToString() }
                     .Concat(Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f)))))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("camera_jpegs.py failed (python3-pil, python3-numpy?): " + err.Result);
        return Directory.GetFiles(folder, "camera-*.jpg").Order(StringComparer.Ordinal).ToArray();
    }

    private static string Fidelity(IEnumerable<string> files)
    {
        long sum = 0, count = 0;
        int max = 0, reduced = 0, n = 0;
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            using var exact = Preprocessor.Run(bytes, new ImageLimits());
            using var fast = Preprocessor.Run(bytes, new ImageLimits(), PreprocessPath.Fast);
            var a = exact.Rgb;
            var b = fast.Rgb;
            for (int i = 0; i < a.Length; i++)
            {
                int d = Math.Abs(a[i] - b[i]);
                sum += d;
                if (d > max) max = d;
            }
            count += a.Length;
            n++;
            if (fast.Path == PreprocessPath.Fast) reduced++;
        }
        return $"fast input vs exact input over {n} images ({reduced} reduced by the decoder): mean |diff| {(double)sum / count:F3}, max {max} (0-255 levels)";
    }

    /// <summary>Best of <paramref name="repeats"/> passes; each pass reads the files (from the page cache, as PIL does).</summary>
    public static double Ours(string[] files, int threads, int repeats, PreprocessPath path = PreprocessPath.Exact)
    {
        var limits = new ImageLimits();
        using (Preprocessor.Run(File.ReadAllBytes(files[0]), limits, path)) { } // warm-up: JIT and native libraries
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                using var _ = Preprocessor.Run(File.ReadAllBytes(files[i]), limits, path);
            });
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds / files.Length);
        }
        return best;
    }
}
