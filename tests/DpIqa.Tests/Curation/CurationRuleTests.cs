using DpIqa.Curation;
using DpIqa.Models;

namespace DpIqa.Tests.Curation;

/// <summary>The new curation options: what is refused (exit 2 at the CLI) and where the reject-bottom threshold lies.</summary>
public sealed class CurationRuleTests
{
    private static readonly ModelManifest Model = new() { Name = "m", Version = "1", File = "m.onnx", Sha256 = new string('0', 64) };

    private static JobSpec Spec(params string[] sources) => new() { Sources = sources, Model = "m", Output = "blob:out/x" };

    [Theory]
    [InlineData(0.0, "--reject-bottom-percent 0 is out of range")]
    [InlineData(100.0, "--reject-bottom-percent 100 is out of range")]
    [InlineData(double.NaN, "--reject-bottom-percent NaN is out of range")]
    public void Reject_bottom_percent_outside_0_100_is_refused(double percent, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => CurationLists.Validate(Spec("blob:in") with { RejectBottomPercent = percent }, Model)).Message);

    [Fact]
    public void Per_folder_needs_a_percent_rule_and_tags_or_quarantine_need_blob_sources()
    {
        Assert.Contains("--per-folder", Assert.Throws<ArgumentException>(() => CurationLists.Validate(Spec("blob:in") with { PerFolder = true, RejectBelow = 0.5 }, Model)).Message);
        Assert.Contains("act on blobs", Assert.Throws<ArgumentException>(() => CurationLists.Validate(Spec("blob:in", "/data/photos") with { Tag = true }, Model)).Message);
        Assert.Contains("not a valid blob container name", Assert.Throws<ArgumentException>(() => CurationLists.Validate(Spec("blob:in") with { Quarantine = "Bad_Name" }, Model)).Message);
        Assert.Null(CurationLists.Validate(Spec("blob:in") with { PerFolder = true, RejectBottomPercent = 10, Tag = true, Quarantine = "quarantine" }, Model));
    }

    [Fact]
    public void Reject_bottom_percent_keeps_what_keep_top_of_the_rest_keeps()
    {
        var all = new ScoreAggregate();
        foreach (var s in new[] { 12.0, 55, 31, 87, 3, 64, 40, 71, 22, 95 }) all.AddScore(s); // a MOS-like scale
        double bottom = CurationLists.Threshold(Spec("blob:in") with { RejectBottomPercent = 30 }, all);
        double top = CurationLists.Threshold(Spec("blob:in") with { KeepTopPercent = 70 }, all);
        Assert.Equal(top, bottom, 12);
        Assert.Equal(all.Quantile(0.3), bottom, 12);
    }
}
