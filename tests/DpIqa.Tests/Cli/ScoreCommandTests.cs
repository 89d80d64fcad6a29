using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;

namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>dpiqa score</c> end to end: an in-process silo, the job grain, shards, scoring workers, ONNX Runtime,
/// on real photos mixed with broken files. With the proxy named (its scores are in [0, 1], higher is better); the
/// default model, brisque, has its own tests (Models/BrisqueGoldenTests, Cli/BrisqueDirectionTests).
/// </summary>
public sealed class ScoreCommandTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private static readonly (string Source, string Target, string? ErrorKind)[] Inputs =
    [
        ("samples/photos/skimage-coffee.png", "top.png", null),
        ("samples/photos/skimage-chelsea.png", "cats/chelsea.png", null),
        ("tests/reference/inputs/q444.jpg", "cats/deep/q444.jpg", null),
        ("tests/reference/inputs/webp-lossy.webp", "cats/lossy.webp", null),
        ("tests/reference/inputs/photo.gif", "misc/photo.gif", null),
        ("tests/reference/inputs/photo.tiff", "misc/photo.tiff", null),
        ("tests/reference/inputs/photo.bmp", "misc/photo.bmp", null),
        ("tests/reference/inputs/gray16.png", "misc/gray16.png", null),
        ("tests/reference/inputs/truncated-progressive.jpg", "broken/truncated.jpg", "truncated"),
        ("tests/reference/inputs/not-an-image.jpg", "broken/text.jpg", "unsupported"),
        ("tests/reference/inputs/empty.png", "broken/empty.png", "decode"),
        ("tests/reference/inputs/bomb.png", "broken/bomb.png", "too-large"),
    ];

    private string Source()
    {
        foreach (var (source, target, _) in Inputs) _dir.Copy(RepoPaths.Of(source), Path.Combine("in", target));
        File.WriteAllText(_dir.Sub("in/cats/notes.txt"), "not picked up: not an image extension");
        return Path.Combine(_dir.Path, "in");
    }

    [Theory]
    [InlineData(ResultFormat.Csv)]
    [InlineData(ResultFormat.Jsonl)]
    [InlineData(ResultFormat.Parquet)]
    public async Task Every_image_ends_once_as_a_score_or_a_typed_error(ResultFormat format)
    {
        var output = Path.Combine(_dir.Path, "out");
        var code = await ScoreCommand.Run(ScoreCommand.LocalJob([Source()], output, ProxyModel.Name, format, 3), [], true, false, CancellationToken.None);
        Assert.Equal(0, code);

        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, format)), format);
        Assert.Equal(Inputs.Select(i => i.Target).Order(), results.Select(r => r.Path).Order());
        foreach (var (_, target, kind) in Inputs)
        {
            var r = results.Single(x => x.Path == target);
            if (kind is null)
            {
                Assert.Equal(ImageResult.Ok, r.Status);
                Assert.InRange(r.Score!.Value, 0f, 1f);
                Assert.True(r.Width > 0 && r.Height > 0 && r.Bytes > 0);
            }
            else
            {
                Assert.Equal(ImageResult.Error, r.Status);
                Assert.Null(r.Score);
                Assert.Equal(kind, r.ErrorKind);
                Assert.False(string.IsNullOrWhiteSpace(r.ErrorMessage));
            }
            Assert.Equal("proxy-sharpness", r.Model);
            Assert.Equal("1", r.ModelVersion);
            Assert.Equal(DpIqa.Models.ModelCatalog.ProxyManifest.Sha256, r.ModelSha256);
        }

        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        var all = summary.RootElement.GetProperty("all");
        Assert.Equal(Inputs.Length, all.GetProperty("count").GetInt64());
        Assert.Equal(Inputs.Count(i => i.ErrorKind is null), all.GetProperty("scored").GetInt64());
        Assert.Equal(1, all.GetProperty("failed_by_kind").GetProperty("too-large").GetInt64());
        var scores = results.Where(r => r.Score is not null).Select(r => (double)r.Score!.Value).ToList();
        Assert.Equal(scores.Average(), all.GetProperty("mean").GetDouble(), 5);
        Assert.Equal(scores.Min(), all.GetProperty("min").GetDouble(), 6);
        Assert.Equal(scores.Max(), all.GetProperty("max").GetDouble(), 6);
        foreach (var p in new[] { "p1", "p5", "p25", "p50", "p75", "p95", "p99" })
            Assert.True(all.GetProperty("percentiles").TryGetProperty(p, out _), $"summary lacks {p}");
        Assert.Equal(scores.Count, all.GetProperty("histogram").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));

        var folders = summary.RootElement.GetProperty("by_folder");
        Assert.Equal(["broken", "cats", "misc", "."], folders.EnumerateObject().Select(f => f.Name).OrderBy(n => n == "." ? "~" : n));
        Assert.Equal(3, folders.GetProperty("cats").GetProperty("scored").GetInt64());
        Assert.Equal(4, folders.GetProperty("broken").GetProperty("failed").GetInt64());
        Assert.Equal(1, folders.GetProperty(".").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Files_and_folders_can_be_mixed_and_scores_match_across_runs()
    {
        var source = Source();
        var first = Path.Combine(_dir.Path, "first");
        var second = Path.Combine(_dir.Path, "second");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Path.Combine(source, "cats"), Path.Combine(source, "top.png")], first, ProxyModel.Name, ResultFormat.Csv, 2), [], true, false, CancellationToken.None));
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Path.Combine(source, "top.png"), Path.Combine(source, "cats")], second, ProxyModel.Name, ResultFormat.Csv, 64), [], true, false, CancellationToken.None));
        var a = (await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(first, ResultFormat.Csv)), ResultFormat.Csv)).ToDictionary(r => r.Path, r => r.Score);
        var b = (await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(second, ResultFormat.Csv)), ResultFormat.Csv)).ToDictionary(r => r.Path, r => r.Score);
        Assert.Equal(["cats/chelsea.png", "cats/deep/q444.jpg", "cats/lossy.webp", "top.png"], a.Keys.Order());
        Assert.Equal(a.OrderBy(x => x.Key), b.OrderBy(x => x.Key));
    }

    [Fact]
    public async Task An_empty_folder_gives_a_finished_job_with_zero_images_and_a_note()
    {
        var empty = _dir.Sub("empty/");
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([empty], output, ProxyModel.Name, ResultFormat.Csv, 64), [], true, false, CancellationToken.None));
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        Assert.Equal(0, summary.RootElement.GetProperty("all").GetProperty("count").GetInt64());
        Assert.Contains("no images found", summary.RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("no-such-model", null, "unknown model 'no-such-model'")]
    [InlineData(null, "missing-folder", "does not exist")]
    public async Task Invalid_requests_are_refused_with_a_message_that_says_what_to_fix(string? model, string? source, string expected)
    {
        // The CLI boundary turns the ArgumentException into exit code 2 and one line (CliErrorTests).
        var e = await Assert.ThrowsAsync<ArgumentException>(() => ScoreCommand.Run(ScoreCommand.LocalJob([source is null ? Source() : Path.Combine(_dir.Path, source)], Path.Combine(_dir.Path, "out"), model, ResultFormat.Csv, 64), [], true, false, CancellationToken.None));
        Assert.Contains(expected, e.Message);
        Assert.False(File.Exists(JobLayout.SummaryFile(Path.Combine(_dir.Path, "out"))));
    }

    [Fact]
    public async Task A_curation_rule_writes_keep_and_reject_lists_that_split_every_image()
    {
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Source()], output, ProxyModel.Name, ResultFormat.Csv, 4) with { RejectBelow = 0.1, KeepTopPercent = 50 }, [], true, false, CancellationToken.None));
        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
        var keep = File.ReadAllLines(JobLayout.KeepList(output));
        var reject = File.ReadAllLines(JobLayout.RejectList(output));
        Assert.Equal(results.Select(r => r.Path).Order(), keep.Concat(reject).Order());
        Assert.All(keep, p => Assert.True(results.Single(r => r.Path == p).Score >= 0.1));
        Assert.All(results.Where(r => r.Status == ImageResult.Error), r => Assert.Contains(r.Path, reject));
        var scored = results.Count(r => r.Score is not null);
        Assert.InRange(keep.Length, 1, (scored + 1) / 2); // the best half at most, and only above 0.1
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        Assert.Equal(keep.Length, summary.RootElement.GetProperty("curation").GetProperty("keep").GetInt64());
    }

    [Fact]
    public async Task A_malformed_curation_rule_is_refused()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => ScoreCommand.Run(ScoreCommand.LocalJob([Source()], Path.Combine(_dir.Path, "out"), ProxyModel.Name, ResultFormat.Csv, 4) with { KeepTopPercent = 150 }, [], true, false, CancellationToken.None));
        Assert.Contains("--keep-top-percent 150 is out of range", e.Message);
    }

    [Fact]
    public async Task A_percent_rule_over_a_job_with_no_scores_rejects_every_image_and_writes_the_summary()
    {
        var source = Directory.CreateDirectory(Path.Combine(_dir.Path, "broken")).FullName;
        File.WriteAllText(Path.Combine(source, "not-an-image.jpg"), "plain text, not a JPEG");
        var output = Path.Combine(_dir.Path, "out-broken");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], output, ProxyModel.Name, ResultFormat.Csv, 4) with { KeepTopPercent = 50 }, [], true, false, CancellationToken.None));
        Assert.Empty(File.ReadAllLines(JobLayout.KeepList(output)));
        Assert.Single(File.ReadAllLines(JobLayout.RejectList(output)));
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        var curation = summary.RootElement.GetProperty("curation");
        Assert.Equal(JsonValueKind.Null, curation.GetProperty("threshold").ValueKind); // no score, so no threshold: not -Infinity
        Assert.Equal(1, curation.GetProperty("reject").GetInt64());
    }

    public void Dispose() => _dir.Dispose();
}
