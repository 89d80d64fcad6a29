using System.Diagnostics;
using DpIqa.Imaging;
using DpIqa.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DpIqa.Bench;

/// <summary>
/// Decode + resize to 512x512, ms/image and images/s, per core (1 thread) and on all cores (images in parallel, each
/// on one thread): dpiqa's exact and fast paths against PIL (decode + convert + resize) and PIL with
/// <c>Image.draft()</c> (its own DCT-scaled JPEG path) on the same files in the same run. Sets: the shipped photos,
/// and camera-size JPEGs (3000-6000 px, made by tests/reference/camera_jpegs.py into .cache/bench/camera-jpegs).
/// Then the fast path's fidelity: how far its 512x512 input is from the exact one, and how the built-in model's scores
/// agree (Spearman, max |difference|), for the shipped bound (sides >= 1024) and the tighter one it replaced (>= 512).
/// </summary>
internal static class PreprocessBench
{
    public static async Task Run(string root, int repeats = 3)
    {
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f))).Order().ToArray();
        var cameras = CameraJpegs(root, 40);
        int cores = Environment.ProcessorCount;
        Console.WriteLine($"# preprocessing (decode + resize to 512x512), {cores} cores, best of {repeats} passes, images/s");
        Console.WriteLine($"# fast: JPEG reduced by libjpeg-turbo while both sides stay >= {Preprocessor.FastDecodeMinSide}; PIL draft N: Image.draft('RGB', (N, N)) first");
        Console.WriteLine("set               images  threads      exact       fast        PIL  PIL draft 512  PIL draft 1024   fast/exact  exact/PIL  fast/PIL-draft-1024  fast/PIL-draft-512");
        foreach (var (name, files) in new[] { ("shipped", photos), ("camera 3000-6000", cameras) })
        {
            foreach (var threads in new[] { 1, cores }.Distinct())
            {
                double exact = 1000 / Ours(files, threads, repeats, PreprocessPath.Exact);
                double fast = 1000 / Ours(files, threads, repeats, PreprocessPath.Fast);
                double pil = 1000 / Repo.Pil(threads, repeats, files);
                double draft512 = 1000 / Repo.Pil(threads, repeats, files, draft: true, draftSide: 512);
                double draft1024 = 1000 / Repo.Pil(threads, repeats, files, draft: true, draftSide: Preprocessor.FastDecodeMinSide);
                Console.WriteLine($"{name,-17} {files.Length,6}  {threads,7}  {exact,9:F2}  {fast,9:F2}  {pil,9:F2}  {draft512,13:F2}  {draft1024,14:F2}   {fast / exact,10:F2}  {exact / pil,9:F2}  {fast / draft1024,19:F2}  {fast / draft512,18:F2}");
            }
        }
        Console.WriteLine("(images/s over all images in a pass: with N threads the images run in parallel, one per thread)");
        Console.WriteLine();
        Console.WriteLine("# fast-path fidelity against exact, shipped photos + camera JPEGs; scores of the built-in model");
        var all = photos.Concat(cameras).ToArray();
        using var model = new InferenceSession(ProxyModel.Build());
        var exactScores = all.Select(f => Score(model, f, 0)).ToArray();
        foreach (var minSide in new[] { Preprocessor.FastDecodeMinSide, Preprocessor.Size })
            Console.WriteLine(Fidelity(all, minSide, model, exactScores));
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

    private static string Fidelity(string[] files, int minSide, InferenceSession model, float[] exactScores)
    {
        long sum = 0, count = 0;
        int max = 0, reduced = 0;
        var fastScores = new float[files.Length];
        for (int f = 0; f < files.Length; f++)
        {
            var bytes = File.ReadAllBytes(files[f]);
            using var exact = Preprocessor.Run(bytes, new ImageLimits());
            using var fast = Preprocessor.Run(bytes, new ImageLimits(), minSide);
            var a = exact.Rgb;
            var b = fast.Rgb;
            for (int i = 0; i < a.Length; i++)
            {
                int d = Math.Abs(a[i] - b[i]);
                sum += d;
                if (d > max) max = d;
            }
            count += a.Length;
            if (fast.Path == PreprocessPath.Fast) reduced++;
            fastScores[f] = Score(model, fast);
        }
        double maxDelta = exactScores.Zip(fastScores, (x, y) => Math.Abs((double)x - y)).Max();
        double span = exactScores.Max() - exactScores.Min();
        return $"sides >= {minSide,4}: {files.Length} images ({reduced} reduced): input mean |fast - exact| {(double)sum / count:F3}, max {max} (0-255); "
             + $"Spearman {Spearman(exactScores, fastScores):F6}, max |score fast - exact| {maxDelta:E2} (scores span {span:E2})";
    }

    private static float Score(InferenceSession model, string file, int minSide)
    {
        using var image = Preprocessor.Run(File.ReadAllBytes(file), new ImageLimits(), minSide);
        return Score(model, image);
    }

    private static float Score(InferenceSession model, PreprocessedImage image)
    {
        var tensor = new DenseTensor<float>([1, 3, Preprocessor.Size, Preprocessor.Size]);
        ModelInput.ToTensor(image.Rgb, tensor.Buffer.Span);
        using var results = model.Run([NamedOnnxValue.CreateFromTensor(model.InputMetadata.Keys.Single(), tensor)]);
        return results.First().AsTensor<float>().GetValue(0);
    }

    /// <summary>Spearman's rank correlation, ties given their mean rank.</summary>
    private static double Spearman(float[] a, float[] b)
    {
        static double[] Ranks(float[] v)
        {
            var order = Enumerable.Range(0, v.Length).OrderBy(i => v[i]).ToArray();
            var ranks = new double[v.Length];
            for (int i = 0; i < order.Length;)
            {
                int j = i;
                while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
                for (int k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2.0;
                i = j + 1;
            }
            return ranks;
        }
        var (ra, rb) = (Ranks(a), Ranks(b));
        double ma = ra.Average(), mb = rb.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < ra.Length; i++)
        {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return sab / Math.Sqrt(saa * sbb);
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
