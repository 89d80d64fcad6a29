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
/// Then where the time goes (decode and resize at each libjpeg-turbo scale) and the fast path's fidelity: how far its
/// 512x512 input is from the exact one, and how the built-in model's and the parity student's scores agree (Spearman,
/// max |difference|), for each of <see cref="Bounds"/>, without and with the resize compensation.
/// </summary>
internal static class PreprocessBench
{
    /// <summary>
    /// The decoder bounds compared: the issue's 512, 768, the shipped 1024, and 1536 and 2048, which reduce less (a
    /// reduced decode costs about the same at any scale: entropy decoding dominates it).
    /// </summary>
    private static readonly int[] Bounds = [512, 768, 1024, 1536, 2048];

    /// <summary>
    /// <paramref name="parts"/>: "speed" (the images/s table against PIL), "breakdown" (where the time goes),
    /// "calibrate" (input difference per compensation), "fidelity" (scores, both models), "heldout" (the fidelity table on
    /// 40 other camera JPEGs, made with another seed, which the compensation was not chosen on); empty: speed,
    /// breakdown, fidelity.
    /// </summary>
    public static async Task Run(string root, string[] parts, int repeats = 3)
    {
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f))).Order().ToArray();
        var cameras = CameraJpegs(root, 40);
        bool All(string part) => parts.Length == 0 ? part != "calibrate" : parts.Contains(part);
        if (All("speed")) Speed(photos, cameras, repeats);
        if (All("breakdown")) Breakdown(cameras, repeats);
        if (All("calibrate")) Calibrate(photos.Concat(cameras).ToArray());
        if (All("fidelity")) FidelityTable(root, photos.Concat(cameras).ToArray());
        if (parts.Contains("heldout")) FidelityTable(root, CameraJpegs(root, 40, HeldOutSeed), "held-out camera JPEGs, seed " + HeldOutSeed);
        await Task.CompletedTask;
    }

    private static void Speed(string[] photos, string[] cameras, int repeats)
    {
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
    }

    /// <summary>
    /// Where the time goes, per core (one thread, best of <paramref name="repeats"/> passes, mean ms per image): the
    /// JPEG decode at libjpeg-turbo's scales 8/8 (full), 4/8, 2/8 and 1/8 of every camera JPEG, the resize to 512x512
    /// from each, and the whole fast path at each bound. At 1/8 the IDCT keeps only each block's mean, so what is left
    /// is mostly entropy (Huffman) decoding, which no DCT scaling removes: exact / (decode 1/8 + resize from it) is
    /// the most any DCT-scaled path can gain.
    /// </summary>
    private static void Breakdown(string[] files, int repeats)
    {
        var limits = new ImageLimits();
        var data = files.Select(File.ReadAllBytes).ToArray();
        Console.WriteLine($"# where the time goes: {files.Length} camera JPEGs (3000-6000 px), 1 thread, best of {repeats} passes, mean ms/image");
        Console.WriteLine("step                               ms/image   exact/this");
        double Time(Action<byte[]> step)
        {
            step(data[0]); // warm-up
            double best = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                foreach (var d in data) step(d);
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds / data.Length);
            }
            return best;
        }
        double exact = Time(d => { using var _ = Preprocessor.Run(d, limits); });
        Console.WriteLine($"{"exact (decode 8/8 + resize)",-33}  {exact,8:F2}   {1.0,10:F2}");
        foreach (var eighths in new[] { 8, 4, 2, 1 })
        {
            // Decoded once outside the timing, to time the resize from that scale alone.
            var decoded = data.Select(d => ImageDecoder.DecodeJpegAt(d, limits, eighths)).ToArray();
            try
            {
                double decode = Time(d => { using var _ = ImageDecoder.DecodeJpegAt(d, limits, eighths); });
                var index = 0;
                double resize = Time(_ => { using var r = Preprocessor.Resize(decoded[index++ % decoded.Length], 0); });
                string scale = eighths == 8 ? "8/8" : $"1/{8 / eighths}";
                Console.WriteLine($"{"decode " + scale,-33}  {decode,8:F2}   {exact / decode,10:F2}");
                Console.WriteLine($"{"resize from " + scale,-33}  {resize,8:F2}");
                Console.WriteLine($"{"decode + resize at " + scale,-33}  {decode + resize,8:F2}   {exact / (decode + resize),10:F2}");
            }
            finally
            {
                foreach (var d in decoded) d.Dispose();
            }
        }
        foreach (var bound in Bounds)
        {
            double fast = Time(d => { using var _ = Preprocessor.Run(d, limits, bound, Preprocessor.FastBlurCompensation); });
            Console.WriteLine($"{$"fast, sides >= {bound}",-33}  {fast,8:F2}   {exact / fast,10:F2}");
        }
        Console.WriteLine("(exact/this: how many times faster than the exact path; 'decode + resize at 1/8' bounds every DCT-scaled path)");
        Console.WriteLine();
    }

    /// <summary>
    /// Input difference (fast against exact) per bound and per compensation, to choose the compensation: mean |fast -
    /// exact| and the fast input's sharpness relative to the exact one (mean |difference of horizontal neighbours|,
    /// fast / exact - 1: negative is blurrier). A negative compensation widens the filter.
    /// </summary>
    private static void Calibrate(string[] files)
    {
        var limits = new ImageLimits();
        double[] compensations = [-0.5, -0.25, 0, 0.25, 0.5, 1.0];
        Console.WriteLine($"# calibration over {files.Length} images, per bound and compensation (variance, decoded px^2): input mean |fast - exact| (0-255) / sharpness fast/exact - 1 (%)");
        Console.WriteLine("bound  " + string.Join("", compensations.Select(c => $"{c,16:F2}")));
        var exact = files.Select(f => Preprocessor.Run(File.ReadAllBytes(f), limits)).ToArray();
        try
        {
            foreach (var bound in Bounds)
            {
                var sums = new double[compensations.Length];
                var sharp = new double[compensations.Length];
                for (int f = 0; f < files.Length; f++)
                {
                    using var decoded = ImageDecoder.Decode(File.ReadAllBytes(files[f]), limits, bound);
                    for (int c = 0; c < compensations.Length; c++)
                    {
                        using var fast = Preprocessor.Resize(decoded, compensations[c]);
                        sums[c] += InputDifference(exact[f], fast).Mean;
                        sharp[c] += Sharpness(fast.Rgb) / Sharpness(exact[f].Rgb) - 1;
                    }
                }
                Console.WriteLine($"{bound,5}  " + string.Join("", sums.Zip(sharp, (m, h) => $"{m / files.Length,8:F4} /{100 * h / files.Length,6:F2}")));
            }
        }
        finally
        {
            foreach (var e in exact) e.Dispose();
        }
        Console.WriteLine();
    }

    private static double Sharpness(ReadOnlySpan<byte> rgb)
    {
        long sum = 0;
        for (int i = 3; i < rgb.Length; i++) sum += Math.Abs(rgb[i] - rgb[i - 3]);
        return (double)sum / rgb.Length;
    }

    /// <summary>
    /// The fast path's fidelity per bound, without and with compensation: input difference and the scores of the
    /// built-in model and of the parity student (random calibrated weights; made by the parity tests), each against
    /// the exact path: Spearman and max |difference|.
    /// </summary>
    private static void FidelityTable(string root, string[] files, string set = "shipped photos + camera JPEGs")
    {
        var models = new List<(string Name, InferenceSession Session)> { ("built-in", new InferenceSession(ProxyModel.Build())) };
        var studentDir = StudentBench.ModelsDir(root);
        if (studentDir is null) Console.WriteLine("# (parity student not exported: run the parity tests first; built-in model only)");
        else models.Add(("student", new InferenceSession(Path.Combine(studentDir, "student-random", "student-random.onnx"))));
        try
        {
            Console.WriteLine($"# fast-path fidelity against exact: {files.Length} images ({set})");
            Console.WriteLine("bound  compensation  reduced  input mean  max  " + string.Join("  ", models.Select(m => $"{m.Name + " Spearman",19}  {"max |dscore|",12}  {"span",9}")));
            var exactScores = models.Select(m => files.Select(f => Score(m.Session, f, 0, 0)).ToArray()).ToArray();
            foreach (var bound in Bounds)
                foreach (var compensation in new[] { 0, Preprocessor.FastBlurCompensation }.Distinct())
                    Console.WriteLine(Fidelity(files, bound, compensation, models, exactScores));
        }
        finally
        {
            foreach (var m in models) m.Session.Dispose();
        }
        Console.WriteLine($"(shipped: sides >= {Preprocessor.FastDecodeMinSide}, compensation {Preprocessor.FastBlurCompensation})");
        Console.WriteLine();
    }

    /// <summary>The generator's seed for the held-out set (its default, 11, made the set the compensation was chosen on).</summary>
    private const int HeldOutSeed = 12;

    /// <summary>
    /// The camera-size JPEGs, made once by the test suite's generator (same script, same seed; another
    /// <paramref name="seed"/> gives a held-out set in a folder of its own).
    /// </summary>
    public static string[] CameraJpegs(string root, int count, int? seed = null)
    {
        var folder = Path.Combine(root, ".cache", "bench", seed is null ? "camera-jpegs" : $"camera-jpegs-seed{seed}");
        var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "camera-*.jpg").Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length == count) return files;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { Path.Combine(root, "tests", "reference", "camera_jpegs.py") }
                     .Concat(seed is null ? [] : ["--seed", seed.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)])
                     .Concat([folder, count.ToString(System.Globalization.CultureInfo.InvariantCulture)])
                     .Concat(Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f)))))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("camera_jpegs.py failed (python3-pil, python3-numpy?): " + err.Result);
        return Directory.GetFiles(folder, "camera-*.jpg").Order(StringComparer.Ordinal).ToArray();
    }

    private static string Fidelity(string[] files, int minSide, double compensation, List<(string Name, InferenceSession Session)> models, float[][] exactScores)
    {
        double sum = 0;
        int max = 0, reduced = 0;
        var fastScores = models.Select(_ => new float[files.Length]).ToArray();
        for (int f = 0; f < files.Length; f++)
        {
            var bytes = File.ReadAllBytes(files[f]);
            using var exact = Preprocessor.Run(bytes, new ImageLimits());
            using var fast = Preprocessor.Run(bytes, new ImageLimits(), minSide, compensation);
            var (mean, m) = InputDifference(exact, fast);
            sum += mean;
            max = Math.Max(max, m);
            if (fast.Path == PreprocessPath.Fast) reduced++;
            for (int k = 0; k < models.Count; k++) fastScores[k][f] = Score(models[k].Session, fast);
        }
        var line = $"{minSide,5}  {compensation,12:F2}  {reduced,7}  {sum / files.Length,10:F3}  {max,3}  ";
        for (int k = 0; k < models.Count; k++)
        {
            double maxDelta = exactScores[k].Zip(fastScores[k], (x, y) => Math.Abs((double)x - y)).Max();
            double span = exactScores[k].Max() - exactScores[k].Min();
            line += $"{Spearman(exactScores[k], fastScores[k]),19:F6}  {maxDelta,12:E2}  {span,9:E2}  ";
        }
        return line.TrimEnd();
    }

    private static (double Mean, int Max) InputDifference(PreprocessedImage exact, PreprocessedImage fast)
    {
        var a = exact.Rgb;
        var b = fast.Rgb;
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int d = Math.Abs(a[i] - b[i]);
            sum += d;
            if (d > max) max = d;
        }
        return ((double)sum / a.Length, max);
    }

    private static float Score(InferenceSession model, string file, int minSide, double compensation)
    {
        using var image = Preprocessor.Run(File.ReadAllBytes(file), new ImageLimits(), minSide, compensation);
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
