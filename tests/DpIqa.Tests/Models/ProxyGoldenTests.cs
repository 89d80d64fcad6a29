using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>
/// The built-in model's scores on the shipped photos, through the whole C# pipeline (decode, resize, ONNX), equal
/// the golden scores an independent NumPy implementation of its formula computed (tests/reference/proxy_golden.py,
/// output committed as tests/reference/proxy-golden.json), so any change in what `proxy-sharpness` outputs is caught.
/// Each photo has its own relative tolerance, computed by that script: the golden values are float64, the graph sums
/// its means over 262,144 pixels in float32, and the summation order of ONNX Runtime's kernel (8 SIMD partial sums on
/// x64) moves a score by up to 1.1e-3 relative (lomiri-free.jpg) while pairwise sums move none by more than 1.3e-6.
/// The tolerance is twice the largest deviation over the plausible orders, at least 1e-4 (1e-4 to 5.7e-3); a 1 %
/// change of any of the formula's constants R0, C0, M0, S0 moves 7 to 10 of the 10 photos beyond their tolerance.
/// </summary>
public sealed class ProxyGoldenTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_built_in_model_scores_the_shipped_photos_like_the_numpy_reference()
    {
        var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Reference, "proxy-golden.json"))).RootElement;
        Assert.Equal(ProxyModel.Name, golden.GetProperty("model").GetString());
        Assert.Equal(ProxyModel.Version, golden.GetProperty("version").GetString());
        var expected = golden.GetProperty("scores").EnumerateObject().ToDictionary(
            p => p.Name, p => (Score: p.Value.GetProperty("score").GetDouble(), Tolerance: p.Value.GetProperty("relative_tolerance").GetDouble()));
        var photos = TestImages.Photos().ToArray();
        Assert.Equal(photos.Select(Path.GetFileName).Order(), expected.Keys.Order()); // a new photo needs proxy_golden.py rerun

        using var dir = new TempFolder();
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob(photos, dir.Path, ProxyModel.Name, ResultFormat.Jsonl, 4), [], true, false, CancellationToken.None));
        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(dir.Path, ResultFormat.Jsonl)), ResultFormat.Jsonl);

        Assert.Equal(expected.Count, results.Count);
        var worst = 0.0;
        foreach (var row in results)
        {
            Assert.Equal(ImageResult.Ok, row.Status);
            var (want, tolerance) = expected[row.Path];
            var relative = Math.Abs(row.Score!.Value - want) / Math.Abs(want);
            output.WriteLine($"{row.Path}: C# {row.Score.Value:F9}, NumPy {want:F9}, relative difference {relative:E2} (tolerance {tolerance:E1})");
            Assert.True(relative <= tolerance, $"{row.Path}: C# scores {row.Score.Value}, NumPy {want} (relative difference {relative:E2} > {tolerance:E1})");
            worst = Math.Max(worst, relative);
        }
        output.WriteLine($"largest relative difference {worst:E2}");
    }
}
