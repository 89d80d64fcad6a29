using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;

namespace DpIqa.Tests.Statistics;

/// <summary>
/// <c>dpiqa score</c> with models whose scores live on different scales (tiny ONNX graphs: score = a + b · mean pixel),
/// over the shipped photos copied into several folders and scored in small shards: summary.json must agree with
/// NumPy computed from results.csv, overall and per folder.
/// </summary>
public sealed class SummaryScaleTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private string Models => Path.Combine(_dir.Path, "models");

    /// <summary>Registers a model scoring a + b · mean(pixels) in the temp catalog, with an optional declared score range.</summary>
    private void AddModel(string name, float a, float b, double[]? scoreRange) => TinyModels.Add(Models, name, a, b, scoreRange);

    /// <summary>The shipped photos in several folders (overlapping subsets, one nested) and two at the top.</summary>
    private string Source()
    {
        var photos = TinyModels.Photos();
        Assert.True(photos.Length >= 8, "samples/photos should hold the shipped photos");
        foreach (var p in photos) _dir.Copy(p, Path.Combine("in", "all", Path.GetFileName(p)));
        foreach (var p in photos.Take(6)) _dir.Copy(p, Path.Combine("in", "first", Path.GetFileName(p)));
        foreach (var p in photos.Skip(3)) _dir.Copy(p, Path.Combine("in", "last", "deep", Path.GetFileName(p)));
        foreach (var p in photos.Take(2)) _dir.Copy(p, Path.Combine("in", Path.GetFileName(p)));
        return Path.Combine(_dir.Path, "in");
    }

    private Task<int> Score(string model, string output, double? rejectBelow = null, double? keepTopPercent = null) =>
        ScoreCommand.Run(ScoreCommand.LocalJob([Source()], output, model, ResultFormat.Csv, 3) with { RejectBelow = rejectBelow, KeepTopPercent = keepTopPercent }, [new("Models:Path", Models)], true, false, CancellationToken.None);

    [Theory]
    [InlineData("unit", 0f, 1f, 0.0, 1.0)]          // [0, 1], declared
    [InlineData("mos", 1f, 99f, 1.0, 100.0)]        // MOS scale, declared
    [InlineData("large", 0f, 1e7f, double.NaN, 0.0)] // [0, 1e7], range unknown
    [InlineData("negative", -50f, 40f, -50.0, -10.0)] // [-50, -10], declared
    [InlineData("mixed", -2f, 4f, 0.0, 1.0)]        // negative and positive scores outside the declared [0, 1]
    public async Task Summary_json_agrees_with_numpy_on_every_scale(string name, float a, float b, double lower, double upper)
    {
        double[]? declared = double.IsNaN(lower) ? null : [lower, upper];
        AddModel(name, a, b, declared);
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await Score(name, output));

        var numpy = NumPyReference.OfResults(JobLayout.MergedResults(output, ResultFormat.Csv));
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        var scores = (await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv)).Select(r => (double)r.Score!.Value).ToArray();
        AssertAgrees(numpy.GetProperty("all"), summary.RootElement.GetProperty("all"), declared, scores, "all");

        var folders = summary.RootElement.GetProperty("by_folder");
        Assert.Equal(["all", "first", "last", "."], folders.EnumerateObject().Select(f => f.Name).OrderBy(n => n == "." ? "~" : n));
        foreach (var folder in numpy.GetProperty("by_folder").EnumerateObject())
        {
            var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
            var inFolder = results.Where(r => DpIqa.Storage.SourceListing.TopFolder(r.Path) == folder.Name).Select(r => (double)r.Score!.Value).ToArray();
            AssertAgrees(folder.Value, folders.GetProperty(folder.Name), declared, inFolder, folder.Name);
        }
    }

    private static void AssertAgrees(JsonElement numpy, JsonElement summary, double[]? declared, double[] scores, string what)
    {
        long scored = numpy.GetProperty("scored").GetInt64();
        Assert.Equal(scored, summary.GetProperty("scored").GetInt64());
        Assert.True(summary.GetProperty("percentiles_exact").GetBoolean());
        Close("mean", 1e-9);
        Close("std", 1e-9);
        Assert.Equal(numpy.GetProperty("min").GetDouble(), summary.GetProperty("min").GetDouble());
        Assert.Equal(numpy.GetProperty("max").GetDouble(), summary.GetProperty("max").GetDouble());
        foreach (var p in numpy.GetProperty("percentiles").EnumerateObject())
        {
            double expected = p.Value.GetDouble(), actual = summary.GetProperty("percentiles").GetProperty(p.Name).GetDouble();
            Assert.True(Math.Abs(actual - expected) <= 1e-9 * Math.Abs(expected), $"{what} {p.Name}: {actual} vs numpy {expected}");
        }

        var bins = summary.GetProperty("histogram").EnumerateArray().Select(h => new HistogramBin(
            h.GetProperty("lower").GetDouble(), h.GetProperty("upper").GetDouble(), h.GetProperty("count").GetInt64())).ToList();
        Assert.Equal(scored, bins.Sum(h => h.Count));
        Assert.Equal(DpIqa.Statistics.SummaryBuilder.HistogramBins, bins.Count);
        bool inside = declared is not null && scores.All(s => s >= declared[0] && s <= declared[1]);
        Assert.Equal(inside ? declared![0] : scores.Min(), bins[0].Lower);
        Assert.Equal(inside ? declared![1] : scores.Max(), bins[^1].Upper);
        for (int i = 0; i < bins.Count; i++)
        {
            var bin = bins[i];
            bool last = i == bins.Count - 1;
            Assert.Equal(scores.Count(s => s >= bin.Lower && (s < bin.Upper || (last && s <= bin.Upper))), bin.Count);
        }

        void Close(string name, double relative)
        {
            double expected = numpy.GetProperty(name).GetDouble(), actual = summary.GetProperty(name).GetDouble();
            Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected), $"{what} {name}: {actual} vs numpy {expected}");
        }
    }

    [Fact]
    public async Task Keep_top_percent_cuts_at_the_summarys_own_percentile()
    {
        AddModel("mos", 1f, 99f, [1, 100]);
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await Score("mos", output, keepTopPercent: 25));
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        double p75 = summary.RootElement.GetProperty("all").GetProperty("percentiles").GetProperty("p75").GetDouble();
        Assert.Equal(p75, summary.RootElement.GetProperty("curation").GetProperty("threshold").GetDouble());
        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
        Assert.Equal(results.Count(r => r.Score >= p75), File.ReadAllLines(JobLayout.KeepList(output)).Length);
    }

    [Fact]
    public async Task A_reject_threshold_outside_the_declared_range_is_refused_and_one_with_an_unknown_range_is_noted()
    {
        AddModel("mos", 1f, 99f, [1, 100]);
        AddModel("large", 0f, 1e7f, null);
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => Score("mos", Path.Combine(_dir.Path, "refused"), rejectBelow: 0.35)); // the CLI maps it to exit 2
        Assert.Contains("--reject-below 0.35 is outside the score range [1, 100] of model 'mos'", refused.Message);
        Assert.False(File.Exists(JobLayout.SummaryFile(Path.Combine(_dir.Path, "refused"))));

        var output = Path.Combine(_dir.Path, "noted");
        Assert.Equal(0, await Score("large", output, rejectBelow: 1000));
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        Assert.Contains("--reject-below 1000 was not checked against a score range: model 'large' declares none",
            summary.RootElement.GetProperty("message").GetString());
        Assert.True(summary.RootElement.GetProperty("curation").GetProperty("keep").GetInt64() > 0);
    }

    [Fact]
    public void The_built_in_model_declares_its_range()
    {
        Assert.Equal((0.0, 1.0), ModelCatalog.ProxyManifest.DeclaredRange());
    }

    public void Dispose() => _dir.Dispose();
}
