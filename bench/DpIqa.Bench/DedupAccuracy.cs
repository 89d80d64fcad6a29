using System.Diagnostics;
using System.Security.Cryptography;
using DpIqa.Dedup;
using DpIqa.Imaging;
using DpIqa.Tests.Dedup;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// dedup accuracy: the pHash's accuracy on a set generated from the shipped photos. Bases: the three small photos whole
/// and a 4x4 grid of non-overlapping tiles of each of the seven large ones (115 distinct images; a large photo is not
/// used whole, as its tiles are crops of it). Each base gets 12 variants: resized to 25, 50, 75% (JPEG q90), JPEG
/// quality 20, 50, 90, brightness 0.85 and 1.15, 5% and 10% cropped, re-encoded to PNG and WebP (q80). For D = 2..12:
/// recall of the variant pairs (base, variant) within D, the share of variants that land in their base's group
/// (transitively, as --dedup groups), and the false-pair rate: pairs of images of different bases within D.
/// dedup hashcost: what hashing adds per image to the exact preprocessing path (decode + resize) on the shipped photos.
/// </summary>
internal static class DedupAccuracy
{
    private static readonly string[] Kinds = ["resize25", "resize50", "resize75", "jpeg20", "jpeg50", "jpeg90", "bright0.85", "bright1.15", "crop5", "crop10", "png", "webp"];

    public static Task Run(string root, string[] args)
    {
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var bases = new List<(string Name, SKBitmap Bitmap)>();
        foreach (var photo in photos)
        {
            var bitmap = SKBitmap.Decode(photo);
            if (bitmap.Width < 1000) { bases.Add((Path.GetFileName(photo), bitmap)); continue; }
            for (int ty = 0; ty < 4; ty++)
                for (int tx = 0; tx < 4; tx++)
                {
                    int w = bitmap.Width / 4, h = bitmap.Height / 4;
                    var tile = new SKBitmap();
                    bitmap.ExtractSubset(tile, new SKRectI(tx * w, ty * h, tx * w + w, ty * h + h));
                    bases.Add(($"{Path.GetFileName(photo)}[{tx},{ty}]", tile.Copy()));
                }
        }
        var watch = Stopwatch.StartNew();
        var hashes = new List<(int Base, string Kind, ulong Hash)>();
        var limits = new ImageLimits();
        object gate = new();
        Parallel.For(0, bases.Count, b =>
        {
            var local = new List<(int, string, ulong)> { (b, "base", Hash(Variants.Reencoded(bases[b].Bitmap, SKEncodedImageFormat.Png, 100), limits)) };
            foreach (var kind in Kinds) local.Add((b, kind, Hash(Variant(bases[b].Bitmap, kind), limits)));
            lock (gate) hashes.AddRange(local);
        });
        Console.WriteLine($"dedup accuracy: {bases.Count} distinct bases, {Kinds.Length} variants each, {hashes.Count} images hashed in {watch.Elapsed.TotalSeconds:F1} s");
        var byBase = hashes.GroupBy(h => h.Base).ToDictionary(g => g.Key, g => g.ToList());
        long crossPairs = 0;
        var crossWithin = new long[65];
        var all = hashes.ToArray();
        for (int i = 0; i < all.Length; i++)
            for (int j = i + 1; j < all.Length; j++)
                if (all[i].Base != all[j].Base)
                {
                    crossPairs++;
                    crossWithin[DuplicateIndex.Distance(all[i].Hash, all[j].Hash)]++;
                }
        long baseOnlyPairs = 0;
        var baseWithin = new long[65];
        var baseHashes = all.Where(h => h.Kind == "base").ToArray();
        for (int i = 0; i < baseHashes.Length; i++)
            for (int j = i + 1; j < baseHashes.Length; j++) { baseOnlyPairs++; baseWithin[DuplicateIndex.Distance(baseHashes[i].Hash, baseHashes[j].Hash)]++; }

        Console.WriteLine($"| D | variant pairs within D (recall) | variants grouped with their base | false pairs, distinct images ({crossPairs:N0} pairs) | false pairs, bases only ({baseOnlyPairs:N0} pairs) |");
        Console.WriteLine("|---|---|---|---|---|");
        for (int d = 2; d <= 12; d++)
        {
            int pairs = 0, within = 0;
            foreach (var (b, list) in byBase)
            {
                var baseHash = list.Single(h => h.Kind == "base").Hash;
                foreach (var v in list.Where(h => h.Kind != "base")) { pairs++; if (DuplicateIndex.Distance(baseHash, v.Hash) <= d) within++; }
            }
            var sets = DuplicateIndex.Group(all.Select(h => h.Hash).ToArray(), d);
            int grouped = 0;
            for (int i = 0; i < all.Length; i++)
                if (all[i].Kind != "base" && sets.Find(i) == sets.Find(Array.FindIndex(all, h => h.Base == all[i].Base && h.Kind == "base"))) grouped++;
            long falsePairs = crossWithin.Take(d + 1).Sum(), falseBases = baseWithin.Take(d + 1).Sum();
            Console.WriteLine($"| {d} | {within}/{pairs} = {100.0 * within / pairs:F1}% | {grouped}/{pairs} = {100.0 * grouped / pairs:F1}% | {falsePairs:N0} = {100.0 * falsePairs / crossPairs:F4}% | {falseBases:N0} = {100.0 * falseBases / baseOnlyPairs:F3}% |");
        }
        Console.WriteLine();
        Console.WriteLine("recall by variant (pairs within D), D = 4, 6, 8, 10:");
        foreach (var kind in Kinds)
        {
            var distances = byBase.Values.Select(list => DuplicateIndex.Distance(list.Single(h => h.Kind == "base").Hash, list.Single(h => h.Kind == kind).Hash)).ToList();
            Console.WriteLine($"  {kind,-11} " + string.Join("  ", new[] { 4, 6, 8, 10 }.Select(d => $"D{d} {100.0 * distances.Count(x => x <= d) / distances.Count,5:F1}%")) +
                $"  median distance {distances.Order().ElementAt(distances.Count / 2)}, max {distances.Max()}");
        }
        return Task.CompletedTask;
    }

    private static ulong Hash(byte[] bytes, ImageLimits limits)
    {
        using var decoded = ImageDecoder.Decode(bytes, limits);
        return PerceptualHash.Compute(decoded);
    }

    private static byte[] Variant(SKBitmap b, string kind) => kind switch
    {
        "resize25" or "resize50" or "resize75" => Variants.Resized(b, int.Parse(kind["resize".Length..]) / 100.0, 90),
        "jpeg20" or "jpeg50" or "jpeg90" => Variants.Reencoded(b, SKEncodedImageFormat.Jpeg, int.Parse(kind["jpeg".Length..])),
        "bright0.85" or "bright1.15" => Variants.Brightness(b, double.Parse(kind["bright".Length..], System.Globalization.CultureInfo.InvariantCulture)),
        "crop5" or "crop10" => Variants.Cropped(b, int.Parse(kind["crop".Length..]) / 100.0, 90),
        "png" => Variants.Reencoded(b, SKEncodedImageFormat.Png, 100),
        "webp" => Variants.Reencoded(b, SKEncodedImageFormat.Webp, 80),
        _ => throw new ArgumentException(kind),
    };

    /// <summary>
    /// Per image on the shipped photos, one thread, best of 5 passes: the exact path (decode + resize) without the hashes,
    /// the pHash alone (on the decoded pixels), and the MD5 of the bytes; the ratios to the exact path.
    /// </summary>
    public static Task HashCost(string root, string[] args)
    {
        var files = Directory.GetFiles(Path.Combine(root, "samples", "photos")).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var bytes = files.Select(File.ReadAllBytes).ToArray();
        var limits = new ImageLimits();
        var decoded = bytes.Select(b => ImageDecoder.Decode(b, limits)).ToArray();
        double Best(Action<int> one)
        {
            one(0);
            double best = double.MaxValue;
            for (int r = 0; r < 5; r++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < bytes.Length; i++) one(i);
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds / bytes.Length);
            }
            return best;
        }
        double exact = Best(i => { using var _ = Preprocessor.Run(bytes[i], limits, 0, 0, hash: false); });
        double phash = Best(i => PerceptualHash.Compute(decoded[i]));
        double md5 = Best(i => MD5.HashData(bytes[i]));
        double both = Best(i => { using var _ = Preprocessor.Run(bytes[i], limits, 0, 0, hash: true); });
        Console.WriteLine($"dedup hashcost: {files.Length} shipped photos ({bytes.Sum(b => (long)b.Length) / files.Length / 1024} KiB, " +
            $"{decoded.Average(d => (double)d.Width * d.Height) / 1e6:F1} MP on average), one thread, best of 5, loaded machine");
        Console.WriteLine($"  exact path (decode + resize, no hashes): {exact:F2} ms/image");
        Console.WriteLine($"  pHash on the decoded pixels:             {phash:F3} ms/image = {100 * phash / exact:F2}% of the exact path");
        Console.WriteLine($"  MD5 of the bytes (no listing MD5):       {md5:F3} ms/image = {100 * md5 / exact:F2}% of the exact path");
        Console.WriteLine($"  exact path with the pHash, measured:     {both:F2} ms/image = {100 * (both - exact) / exact:+0.00;-0.00}% (noise included)");
        foreach (var d in decoded) d.Dispose();
        return Task.CompletedTask;
    }
}
