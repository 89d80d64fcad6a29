using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using SkiaSharp;
using Xunit.Abstractions;

namespace DpIqa.Tests.Dedup;

/// <summary>
/// <c>dpiqa score --dedup</c> end to end on the shipped photos and near-copies of them: every planted group found and
/// nothing else grouped, the best-scoring copy kept (in the model's direction), keep/reject lists, duplicates.csv and
/// summary.json consistent with each other, and the hashes of the photos equal to the reference.
/// </summary>
public sealed class DedupScoreTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Photo(string name) => Path.Combine(RepoPaths.Photos, name);

    /// <summary>Three planted groups (near-copies made here) and two photos that belong to none.</summary>
    private (string Source, List<string[]> Planted) Source()
    {
        string coffee = Photo("skimage-coffee.png"), chelsea = Photo("skimage-chelsea.png"), astronaut = Photo("skimage-astronaut.png");
        var files = new Dictionary<string, byte[]>
        {
            ["a/coffee.png"] = File.ReadAllBytes(coffee),
            ["b/coffee-half.jpg"] = Variants.Resized(coffee, 0.5, 70),
            ["c/coffee.webp"] = Variants.Reencoded(coffee, SKEncodedImageFormat.Webp, 80),
            ["a/chelsea.png"] = File.ReadAllBytes(chelsea),
            ["b/chelsea-crop.jpg"] = Variants.Cropped(chelsea, 0.04),
            ["b/chelsea-bright.png"] = Variants.Brightness(chelsea, 1.1),
            ["a/astronaut.png"] = File.ReadAllBytes(astronaut),
            ["c/astronaut-copy.png"] = File.ReadAllBytes(astronaut),
            ["a/q444.jpg"] = File.ReadAllBytes(RepoPaths.Of("tests/reference/inputs/q444.jpg")),
            ["a/wide.jpg"] = File.ReadAllBytes(RepoPaths.Of("tests/reference/inputs/wide.jpg")),
        };
        foreach (var (path, bytes) in files) File.WriteAllBytes(_dir.Sub(Path.Combine("in", path)), bytes);
        List<string[]> planted =
        [
            ["a/coffee.png", "b/coffee-half.jpg", "c/coffee.webp"],
            ["a/chelsea.png", "b/chelsea-crop.jpg", "b/chelsea-bright.png"],
            ["a/astronaut.png", "c/astronaut-copy.png"],
        ];
        return (Path.Combine(_dir.Path, "in"), planted);
    }

    private sealed record Line(int Group, string Path, float Score, bool Kept, int Distance);

    private static List<Line> Duplicates(string output) =>
        File.ReadAllLines(JobLayout.DuplicatesList(output)).Skip(1).Select(l => l.Split(','))
            .Select(f => new Line(int.Parse(f[0]), f[1], float.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), f[3] == "true", int.Parse(f[4]))).ToList();

    private static Dictionary<string, string> RejectReasons(string output) =>
        File.ReadAllLines(JobLayout.RejectList(output)).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f.Length > 1 ? f[1] : "");

    /// <summary>Best first, as the job must choose: score in the model's direction, then more pixels, then the path.</summary>
    private static ImageResult Best(IEnumerable<ImageResult> rows, bool lowerIsBetter) =>
        rows.OrderBy(r => lowerIsBetter ? r.Score!.Value : -r.Score!.Value).ThenByDescending(r => (long)r.Width!.Value * r.Height!.Value)
            .ThenBy(r => r.Path, StringComparer.Ordinal).First();

    [Fact]
    public async Task Near_groups_are_the_planted_ones_and_the_best_copy_is_kept_before_the_rule_judges()
    {
        var (source, planted) = Source();
        var outDir = Path.Combine(_dir.Path, "out");
        // proxy-sharpness: its scores are on [0,1], higher is better, so the rule reads --reject-below 0.2.
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], outDir, "proxy-sharpness", ResultFormat.Csv, 3) with { RejectBelow = 0.2, Dedup = DedupMode.Near }, [], true, false, CancellationToken.None, report: true));
        var rows = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(outDir, ResultFormat.Csv)), ResultFormat.Csv);
        var byPath = rows.ToDictionary(r => r.Path);
        var lines = Duplicates(outDir);
        foreach (var l in lines) output.WriteLine($"{l}");

        // Groups: exactly the planted ones.
        var groups = lines.GroupBy(l => l.Group).Select(g => g.Select(l => l.Path).Order(StringComparer.Ordinal).ToArray()).OrderBy(g => g[0], StringComparer.Ordinal).ToList();
        Assert.Equal(planted.Select(g => g.Order(StringComparer.Ordinal).ToArray()).OrderBy(g => g[0], StringComparer.Ordinal), groups);

        // In each group the best-scoring copy is kept; distances are those of the result files' pHashes.
        foreach (var group in lines.GroupBy(l => l.Group))
        {
            var best = Best(group.Select(l => byPath[l.Path]), lowerIsBetter: false);
            Assert.Equal(best.Path, Assert.Single(group, l => l.Kept).Path);
            foreach (var l in group)
            {
                Assert.Equal(byPath[l.Path].Score, l.Score);
                Assert.Equal(DpIqa.Imaging.PerceptualHash.Distance(DpIqa.Imaging.PerceptualHash.Parse(byPath[l.Path].PHash!), DpIqa.Imaging.PerceptualHash.Parse(best.PHash!)), l.Distance);
                Assert.InRange(l.Distance, 0, DpIqa.Dedup.JobDedup.DefaultDistance);
            }
        }

        // Lists: duplicates rejected with their reason; the rule (reject below 0.2) judges only the kept images.
        var reasons = RejectReasons(outDir);
        var keep = File.ReadAllLines(JobLayout.KeepList(outDir)).ToHashSet();
        var duplicates = lines.Where(l => !l.Kept).ToDictionary(l => l.Path);
        foreach (var r in rows)
        {
            if (duplicates.TryGetValue(r.Path, out var d))
                Assert.Equal($"duplicate of {lines.Single(k => k.Group == d.Group && k.Kept).Path} (distance {d.Distance})", reasons[r.Path]);
            else if (r.Score < 0.2f) Assert.StartsWith("score ", reasons[r.Path]);
            else Assert.Contains(r.Path, keep);
        }
        Assert.Equal(rows.Count, keep.Count + reasons.Count);
        Assert.Empty(keep.Intersect(reasons.Keys));

        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(outDir)));
        var dup = summary.RootElement.GetProperty("duplicates");
        Assert.Equal(("near", DpIqa.Dedup.JobDedup.DefaultDistance), (dup.GetProperty("mode").GetString(), dup.GetProperty("distance").GetInt32()));
        Assert.Equal((3L, 8L, 5L), (dup.GetProperty("groups").GetInt64(), dup.GetProperty("images_in_groups").GetInt64(), dup.GetProperty("rejected").GetInt64()));
        var curation = summary.RootElement.GetProperty("curation");
        Assert.Equal(((long)keep.Count, (long)reasons.Count), (curation.GetProperty("keep").GetInt64(), curation.GetProperty("reject").GetInt64()));

        // The report shows each group as a row of thumbnails with the kept copy marked.
        var report = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("<h2>Duplicates</h2>", report);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(report, "<h3>Group ").Count);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(report, ">KEPT<").Count);
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(report, "</b> rejected<").Count);

        // Every image has its content hash; the photos' pHashes are the reference's.
        Assert.All(rows, r => Assert.Matches("^[0-9a-f]{32}$", r.ContentMd5!));
        using var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Reference, "phash-golden.json")));
        foreach (var (path, photo) in new[] { ("a/coffee.png", "skimage-coffee.png"), ("a/chelsea.png", "skimage-chelsea.png"), ("a/astronaut.png", "skimage-astronaut.png") })
            Assert.Equal(golden.RootElement.GetProperty("hashes").GetProperty("samples/photos/" + photo).GetProperty("phash").GetString(), byPath[path].PHash);
    }

    [Fact]
    public async Task Exact_groups_only_identical_bytes()
    {
        var (source, _) = Source();
        var outDir = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], outDir, null, ResultFormat.Jsonl, 4) with { Dedup = DedupMode.Exact }, [], true, false, CancellationToken.None));
        var lines = Duplicates(outDir);
        Assert.Equal(["a/astronaut.png", "c/astronaut-copy.png"], lines.Select(l => l.Path).Order(StringComparer.Ordinal));
        Assert.Equal("a/astronaut.png", lines.Single(l => l.Kept).Path); // equal scores and sizes: the path decides
        Assert.Equal(["c/astronaut-copy.png"], RejectReasons(outDir).Keys);
        Assert.Equal(9, File.ReadAllLines(JobLayout.KeepList(outDir)).Length);
    }

    [Theory]
    [InlineData(new[] { "--dedup-distance", "6" }, "error: --dedup-distance sets how far near-duplicates may be: add --dedup near")]
    [InlineData(new[] { "--dedup", "exact", "--dedup-distance", "6" }, "error: --dedup-distance sets how far near-duplicates may be: add --dedup near")]
    [InlineData(new[] { "--dedup", "near", "--dedup-distance", "40" }, "error: --dedup-distance 40 is out of range: give 0 to 24 bits (default 8)")]
    public async Task A_malformed_dedup_request_is_one_error_line_and_exit_code_2(string[] options, string expected)
    {
        File.WriteAllBytes(_dir.Sub("in/a.png"), File.ReadAllBytes(Photo("skimage-chelsea.png")));
        var (code, lines) = await Cli.CliInProcess.Run(["score", Path.Combine(_dir.Path, "in"), "--out", Path.Combine(_dir.Path, "out"), .. options]);
        Assert.Equal((2, expected), (code, Assert.Single(lines)));
    }

    [Theory]
    [InlineData(ModelManifest.HigherIsBetter, "b/bright.png")]
    [InlineData(ModelManifest.LowerIsBetter, "b/dark.png")]
    public async Task The_kept_copy_follows_the_models_direction(string direction, string expectedKept)
    {
        // score = mean pixel: the brighter copy scores highest, the darker lowest.
        var models = _dir.Sub("models/x");
        TinyModels.Add(Path.GetDirectoryName(models)!, "brightness", 0f, 1f, [0, 1], direction);
        var chelsea = Photo("skimage-chelsea.png");
        File.WriteAllBytes(_dir.Sub("in/a/chelsea.png"), File.ReadAllBytes(chelsea));
        File.WriteAllBytes(_dir.Sub("in/b/bright.png"), Variants.Brightness(chelsea, 1.12));
        File.WriteAllBytes(_dir.Sub("in/b/dark.png"), Variants.Brightness(chelsea, 0.88));
        var outDir = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Path.Combine(_dir.Path, "in")], outDir, "brightness", ResultFormat.Csv, 2) with { Dedup = DedupMode.Near, DedupDistance = 10 }, [new("Models:Path", Path.GetDirectoryName(models))], true, false, CancellationToken.None));
        var lines = Duplicates(outDir);
        Assert.Equal(3, lines.Count);
        Assert.Equal(expectedKept, lines.Single(l => l.Kept).Path);
    }
}
