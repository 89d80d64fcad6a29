using System.Globalization;
using System.Text;
using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Client.Reports;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace DpIqa.Tests.Reports;

/// <summary>
/// <c>dpiqa score ... --report --labels FILE</c> over the shipped photos in two folders with a broken file: report.html is
/// self-contained (no missing resource), has its plots, and thumbnails made from the sources; the evaluation in
/// summary.json is the one <c>dpiqa eval</c> computes from results.csv.
/// </summary>
public sealed class ScoreReportTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private string Source()
    {
        var photos = TinyModels.Photos();
        foreach (var p in photos.Take(6)) _dir.Copy(p, Path.Combine("in", "first", Path.GetFileName(p)));
        foreach (var p in photos.Skip(6)) _dir.Copy(p, Path.Combine("in", "second", "deep", Path.GetFileName(p)));
        _dir.Copy(RepoPaths.Of("tests/reference/inputs/not-an-image.jpg"), "in/second/broken.jpg");
        return Path.Combine(_dir.Path, "in");
    }

    /// <summary>
    /// Labels for the photos, made up for the test (no MOS is published for them): KonIQ-10k's columns, file names only,
    /// one label for an image that is not there, none for one that is.
    /// </summary>
    private string Labels()
    {
        var photos = TinyModels.Photos();
        var csv = new StringBuilder("\"image_name\",\"c1\",\"MOS\"\n");
        for (int i = 1; i < photos.Length; i++) csv.Append(Path.GetFileName(photos[i])).Append(",0,").Append((10 + 7 * i % 80).ToString(CultureInfo.InvariantCulture)).Append('\n');
        csv.Append("missing.jpg,0,50\n");
        var file = _dir.Sub("labels.csv");
        File.WriteAllText(file, csv.ToString());
        return file;
    }

    [Fact]
    public async Task The_report_is_self_contained_with_plots_and_thumbnails_from_the_sources()
    {
        var source = Source();
        var labels = Labels();
        var output = Path.Combine(_dir.Path, "out");
        var code = await ScoreCommand.Run(ScoreCommand.LocalJob([source], output, ProxyModel.Name, ResultFormat.Csv, 3) with { Labels = new LabelSource { File = labels } }, [], true, false, CancellationToken.None, report: true);
        Assert.Equal(0, code);

        var report = Path.Combine(output, "report.html");
        Assert.True(File.Exists(report));
        Assert.Empty(ReportFiles.MissingResources(report));
        var images = ReportFiles.Images(report);
        string[] plots = ["score histogram", "box plots per folder", "error records by kind", "scatter of score against MOS"];
        foreach (var plot in plots) Assert.Contains(images, i => i.Alt == plot && i.Format == "png");

        // Thumbnails: every scored image is among the 12 worst and the 12 best (there are fewer than 12), each at most
        // 256 px and with its source's aspect ratio.
        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
        var scored = results.Where(r => r.Score is not null).ToList();
        var thumbnails = images.Where(i => i.Format == "jpeg").ToList();
        Assert.Equal(2 * Math.Min(JobReport.Extremes, scored.Count), thumbnails.Count);
        foreach (var r in scored)
        {
            var shown = thumbnails.Where(t => t.Alt == r.Path).ToList();
            Assert.Equal(2, shown.Count);
            using var codec = SKCodec.Create(Path.Combine(source, r.Path));
            foreach (var t in shown)
            {
                Assert.True(Math.Max(t.Width, t.Height) <= 256, $"{r.Path}: {t.Width}x{t.Height}");
                Assert.Equal((double)codec.Info.Width / codec.Info.Height, (double)t.Width / t.Height, 1);
            }
        }
        var html = File.ReadAllText(report);
        Assert.Contains("The 12 worst images", html);
        Assert.Contains("The 12 best images", html);

        // The evaluation in summary.json: every image with a label and a score, counted on both sides.
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        var evaluation = summary.RootElement.GetProperty("evaluation");
        Assert.Equal(scored.Count - 1, evaluation.GetProperty("images").GetInt64()); // the first photo has no label
        Assert.Equal(2, evaluation.GetProperty("results_unmatched").GetInt64());     // that photo and broken.jpg
        Assert.Equal(1, evaluation.GetProperty("labels_unmatched").GetInt64());      // missing.jpg

        // 'dpiqa eval' over the same results and labels writes the same figures into the same summary.json.
        var before = evaluation.GetProperty("srcc").GetDouble();
        Assert.Equal(0, await EvalCommand.Create().Parse([output, "--labels", labels, "--json"]).InvokeAsync());
        using var after = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        Assert.Equal(before, after.RootElement.GetProperty("evaluation").GetProperty("srcc").GetDouble(), 12);
        Assert.True(after.RootElement.TryGetProperty("all", out _), "eval keeps the rest of summary.json");
    }

    [Fact]
    public async Task Two_runs_compared_overlay_their_histograms_and_show_the_percentile_shift()
    {
        var source = Source();
        var first = Path.Combine(_dir.Path, "a");
        var second = Path.Combine(_dir.Path, "b");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], first, ProxyModel.Name, ResultFormat.Jsonl, 4), [], true, false, CancellationToken.None));
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Path.Combine(source, "first")], second, ProxyModel.Name, ResultFormat.Csv, 2), [], true, false, CancellationToken.None));

        var store = new ObjectStore(Options.Create(new StorageOptions()));
        var report = await JobReport.Write(store, Job(first, ResultFormat.Jsonl), Path.Combine(_dir.Path, "report"), Job(second, ResultFormat.Csv), CancellationToken.None);

        Assert.Empty(ReportFiles.MissingResources(report));
        Assert.Contains(ReportFiles.Images(report), i => i.Alt == "two score histograms overlaid");
        var html = File.ReadAllText(report);
        var a = Summary(first).All.Percentiles["p50"];
        var b = Summary(second).All.Percentiles["p50"];
        Assert.Contains($"<tr><td>p50</td><td>{Plots.Number(a)}</td><td>{Plots.Number(b)}</td><td>{(a - b >= 0 ? "+" : "")}{Plots.Number(a - b)}</td></tr>", html);
    }

    [SkippableFact]
    public async Task Headless_chromium_opens_the_report_and_the_script_writes_a_png_screenshot()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        Skip.If(chromium is null, chromium is null ? Dependency.Missing("Chromium is not installed, so the report screenshot cannot be taken (apt-get install chromium)") : null);
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Source()], output, ProxyModel.Name, ResultFormat.Csv, 4), [], true, false, CancellationToken.None, report: true));

        var png = Path.Combine(_dir.Path, "shot.png");
        var start = new System.Diagnostics.ProcessStartInfo(RepoPaths.Of("scripts/report-screenshot.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(output, "report.html"), png, "800", "1000" }) start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"report-screenshot.sh exited {process.ExitCode}: {await stderr}");
        using var shot = SKBitmap.Decode(png);
        Assert.NotNull(shot);
        Assert.Equal((800, 1000), (shot.Width, shot.Height));
        // The page rendered something: a blank page would be one colour.
        Assert.True(Enumerable.Range(0, 200).Select(i => shot.GetPixel(i * 4 % 800, 40 + i * 4)).Distinct().Count() > 1, "the screenshot is blank");
    }

    private static JobSummary Summary(string output) =>
        JsonSerializer.Deserialize<JobSummary>(File.ReadAllText(JobLayout.SummaryFile(output)), JobSummaryFile.Json)!;

    /// <summary>A local run as the report reads a job: its summary.json, and the shard result files it counted.</summary>
    private static ReportJob Job(string output, ResultFormat format)
    {
        var summary = Summary(output);
        var files = Directory.GetFiles(Path.Combine(output, JobLayout.ResultsFolder)).Order(StringComparer.Ordinal).ToList();
        var spec = new JobSpec { Sources = [], Model = summary.Model, Output = output, Format = format };
        return new ReportJob(summary.JobId, spec, new JobStatus { JobId = summary.JobId, State = summary.State }, summary, files);
    }

    public void Dispose() => _dir.Dispose();
}
