using System.Globalization;
using System.Text;
using System.Text.Json;
using DpIqa.Cascade;
using DpIqa.Client.Commands;
using DpIqa.Curation;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Models.Brisque;
using DpIqa.Results;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Cli;

/// <summary>
/// BRISQUE is lower-is-better, and every judgement follows the model's direction: the percent rules keep the lowest
/// scores, the threshold rule is --reject-above (a --reject-below that would keep the worst is refused in one line),
/// the report's worst images are the highest scores, the evaluation notes the negative correlation, a cascade keeps
/// one direction, and summary.json records the direction and the licence. On one photo's degradation ladders
/// (tests/reference/brisque, 11 small images whose BRISQUE spans about 10 to 80).
/// </summary>
public sealed class BrisqueDirectionTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private string Source()
    {
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Reference, "brisque"), "skimage-chelsea.*")) _dir.Copy(f, Path.Combine("in", Path.GetFileName(f)));
        return Path.Combine(_dir.Path, "in");
    }

    private async Task<(List<ImageResult> Results, string[] Keep, string[] Reject, JsonElement Summary)> Score(string name, double? rejectAbove = null,
        double? keepTop = null, double? rejectBottom = null, bool report = false, LabelSource? labels = null)
    {
        var output = Path.Combine(_dir.Path, name);
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Source()], output, null, ResultFormat.Csv, 4) with { KeepTopPercent = keepTop, Labels = labels, RejectBottomPercent = rejectBottom, RejectAbove = rejectAbove }, [], true, false, CancellationToken.None, report: report));
        var results = (await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv)).ToList();
        string[] keep = File.Exists(JobLayout.KeepList(output)) ? File.ReadAllLines(JobLayout.KeepList(output)) : [];
        string[] reject = File.Exists(JobLayout.RejectList(output)) ? File.ReadAllLines(JobLayout.RejectList(output)) : [];
        return (results, keep, reject, JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output))).RootElement.Clone());
    }

    private static double ScoreOf(List<ImageResult> results, string path) => results.Single(r => r.Path == path).Score!.Value;

    [Fact]
    public async Task The_default_model_is_brisque_and_keep_top_percent_keeps_the_lowest_scores()
    {
        var (results, keep, reject, summary) = await Score("top", keepTop: 40);
        Assert.All(results, r => Assert.Equal(BrisqueModel.Name, r.Model)); // no --model: the default
        Assert.Equal(ModelManifest.LowerIsBetter, summary.GetProperty("direction").GetString());
        Assert.Equal("Apache-2.0", summary.GetProperty("model_licence").GetString());
        Assert.InRange(keep.Length, 3, 5); // 40% of 11
        double highestKept = keep.Max(p => ScoreOf(results, p)), lowestRejected = reject.Min(p => ScoreOf(results, p));
        Assert.True(highestKept <= lowestRejected, $"kept up to {highestKept} but rejected from {lowestRejected}");
        Assert.Contains(results.MinBy(r => r.Score)!.Path, keep);
        Assert.Equal(highestKept, summary.GetProperty("curation").GetProperty("threshold").GetDouble(), 4); // the worst score kept
    }

    [Fact]
    public async Task Reject_above_and_reject_bottom_percent_reject_the_highest_scores()
    {
        var (results, keep, reject, _) = await Score("above", rejectAbove: 40);
        Assert.Equal(results.Where(r => r.Score <= 40).Select(r => r.Path).Order(), keep.Order());
        Assert.Equal(results.Where(r => r.Score > 40).Select(r => r.Path).Order(), reject.Order());
        Assert.NotEmpty(keep);
        Assert.NotEmpty(reject);

        (results, _, reject, _) = await Score("bottom", rejectBottom: 20);
        double lowestRejected = reject.Min(p => ScoreOf(results, p));
        Assert.All(results.Where(r => !reject.Contains(r.Path)), r => Assert.True(r.Score < lowestRejected));
        Assert.Contains(results.MaxBy(r => r.Score)!.Path, reject);
    }

    [Fact]
    public async Task A_rule_that_would_keep_the_worst_images_is_refused_naming_the_right_one()
    {
        var below = await Assert.ThrowsAsync<ArgumentException>(() => ScoreCommand.Run(ScoreCommand.LocalJob([Source()], Path.Combine(_dir.Path, "b"), BrisqueModel.Name, ResultFormat.Csv, 4) with { RejectBelow = 40 }, [], true, false, CancellationToken.None));
        Assert.Equal("--reject-below 40 would reject the best images: model 'brisque' is lower-is-better (lower scores are better); use --reject-above 40 to reject images scoring above it", below.Message);
        var above = await Assert.ThrowsAsync<ArgumentException>(() => ScoreCommand.Run(ScoreCommand.LocalJob([Source()], Path.Combine(_dir.Path, "a"), ProxyModel.Name, ResultFormat.Csv, 4) with { RejectAbove = 0.4 }, [], true, false, CancellationToken.None));
        Assert.Contains("use --reject-below 0.4", above.Message);
        var outside = await Assert.ThrowsAsync<ArgumentException>(() => ScoreCommand.Run(ScoreCommand.LocalJob([Source()], Path.Combine(_dir.Path, "o"), BrisqueModel.Name, ResultFormat.Csv, 4) with { RejectAbove = 150 }, [], true, false, CancellationToken.None));
        Assert.Contains("--reject-above 150 is outside the score range [0, 100]", outside.Message);
    }

    [Fact]
    public async Task The_report_shows_the_highest_scores_as_the_worst_and_the_evaluation_notes_the_sign()
    {
        // Made-up MOS falling along the JPEG ladder (higher MOS = better), as a person would rate it.
        var csv = new StringBuilder("image_name,MOS\nskimage-chelsea.base.png,80\n");
        for (int i = 1; i <= 4; i++) csv.Append(CultureInfo.InvariantCulture, $"skimage-chelsea.jpeg{i}.jpg,{80 - 15 * i}\n");
        var labels = _dir.Sub("labels.csv");
        File.WriteAllText(labels, csv.ToString());
        var (results, _, _, summary) = await Score("report", report: true, labels: new LabelSource { File = labels });

        var html = File.ReadAllText(Path.Combine(_dir.Path, "report", "report.html"));
        int worst = html.IndexOf("worst images</h2>", StringComparison.Ordinal), best = html.IndexOf("best images</h2>", StringComparison.Ordinal);
        Assert.True(worst >= 0 && best > worst);
        var firstWorst = results.MaxBy(r => r.Score)!.Path;
        var firstBest = results.MinBy(r => r.Score)!.Path;
        // Each section lists worst (resp. best) first: its first caption is the highest (resp. lowest) BRISQUE.
        Assert.Equal(firstWorst, FirstCaption(html[worst..best]));
        Assert.Equal(firstBest, FirstCaption(html[best..]));
        Assert.Contains("licence Apache-2.0, lower is better", html);

        var evaluation = summary.GetProperty("evaluation");
        Assert.Equal(ModelManifest.LowerIsBetter, evaluation.GetProperty("direction").GetString());
        Assert.True(evaluation.GetProperty("srcc").GetDouble() < 0, "BRISQUE rises as the MOS falls: negative SRCC is agreement");
        Assert.Contains("lower-is-better", evaluation.GetProperty("note").GetString());
    }

    private static string FirstCaption(string section)
    {
        int at = section.IndexOf("<figcaption>", StringComparison.Ordinal);
        int br = section.IndexOf("<br>", at, StringComparison.Ordinal);
        return System.Net.WebUtility.HtmlDecode(section[(br + 4)..section.IndexOf("</figcaption>", br, StringComparison.Ordinal)]);
    }

    [Fact]
    public void Threshold_rules_and_the_cascade_read_in_the_model_direction()
    {
        var all = new ScoreAggregate();
        for (int s = 1; s <= 100; s++) all.AddScore(s);
        var spec = new JobSpec { Sources = ["in"], Model = BrisqueModel.Name, Output = "out", LowerIsBetter = true };
        Assert.Equal(40, CurationLists.Threshold(spec with { RejectAbove = 40 }, all));
        Assert.InRange(CurationLists.Threshold(spec with { KeepTopPercent = 10 }, all), 9, 11);       // the best 10%: the lowest scores
        Assert.InRange(CurationLists.Threshold(spec with { RejectBottomPercent = 10 }, all), 89, 91); // the worst 10%: the highest
        Assert.True(CurationLists.Kept(true, 5, 40) && !CurationLists.Kept(true, 50, 40));

        // The cascade's band surrounds --reject-above, and its counts judge both scores lower-is-better.
        var cascade = spec with { RejectAbove = 40, Cascade = new CascadeRule { Teacher = "t", Band = 5 } };
        Assert.Equal(new TeacherBand("t", 35, 45), CascadeRules.Band(cascade));
        var rows = new[]
        {
            new ImageResult { Path = "a", Score = 42, TeacherScore = 38 }, // own rejects, teacher keeps
            new ImageResult { Path = "b", Score = 37, TeacherScore = 44 }, // own keeps, teacher rejects
        };
        var counted = CascadeRules.Count("t", rows, 40, lowerIsBetter: true);
        Assert.Equal((2L, 1L, 1L), (counted.Rescored, counted.ChangedToKeep, counted.ChangedToReject));

        // brisque scores full-size images: it shares no 512x512 input with a teacher, so a cascade with it is refused.
        var models = new ModelCatalog(Options.Create(new ModelOptions { Path = _dir.Sub("models") }));
        var refused = Assert.Throws<ArgumentException>(() => CascadeRules.Validate(spec with { RejectAbove = 40, Cascade = new CascadeRule { Teacher = ProxyModel.Name, Band = 5 } }, models));
        Assert.Contains("brisque scores full-size images", refused.Message);
    }

    public void Dispose() => _dir.Dispose();
}
