using System.Diagnostics;
using DpIqa.Imaging;

namespace DpIqa.Bench;

/// <summary>
/// Decode + PIL-exact resize, ms/image, with 1 and 2 threads (each image decoded on one thread, images in
/// parallel), against PIL's decode + resize on the same files in the same run (1 and 2 processes).
/// </summary>
internal static class PreprocessBench
{
    public static async Task Run(string root)
    {
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f))).Order().ToArray();
        var large = photos.Where(f => Math.Max(Size(f).W, Size(f).H) >= 3000).ToArray();
        Console.WriteLine($"# preprocessing (decode + resize to 512x512), {Environment.ProcessorCount} cores");
        Console.WriteLine("set      images  threads  ours ms/img  PIL ms/img  ours/PIL");
        foreach (var (name, files) in new[] { ("shipped", photos), (">=3000px", large) })
        {
            foreach (var threads in new[] { 1, 2 })
            {
                double ours = Ours(files, threads, repeats: 5);
                double pil = Repo.Pil(threads, 5, files);
                Console.WriteLine($"{name,-8} {files.Length,6}  {threads,7}  {ours,11:F1}  {pil,10:F1}  {ours / pil,8:F2}");
            }
        }
        Console.WriteLine();
        await Task.CompletedTask;
    }

    private static (int W, int H) Size(string file)
    {
        using var codec = SkiaSharp.SKCodec.Create(file);
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>Best of <paramref name="repeats"/> passes; each pass reads the files (from the page cache, as PIL does).</summary>
    public static double Ours(string[] files, int threads, int repeats)
    {
        var limits = new ImageLimits();
        using (Preprocessor.Run(File.ReadAllBytes(files[0]), limits)) { } // warm-up: JIT and native libraries
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                using var _ = Preprocessor.Run(File.ReadAllBytes(files[i]), limits);
            });
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds / files.Length);
        }
        return best;
    }
}
