using System.Text.RegularExpressions;
using DpIqa.Tests.Cli;

namespace DpIqa.Tests.Docs;

/// <summary>
/// The README's sample output is what the Quickstart's first command prints today, run as a new user runs it (a
/// process, stdout and stderr captured, so stderr is not a terminal). What differs from run to run or machine to
/// machine is masked: the job id, the rate, the absolute folder of the output.
/// </summary>
public sealed partial class DocsSampleOutputTests : IDisposable
{
    private const string SampleMarker = "<!-- sample: the Quickstart's first command";

    private readonly TempFolder _dir = new();

    [Fact]
    public async Task The_quickstart_prints_the_readmes_sample_and_no_progress_bar_when_stderr_is_not_a_terminal()
    {
        var readme = File.ReadAllText(RepoPaths.Of("README.md"));
        var sample = Mask(SampleBlock(readme));

        var (code, stdout, stderr) = await DpiqaProcess.Run(_dir.Path, ["score", RepoPaths.Photos, "--out", "out/quickstart"]);

        Assert.True(code == 0, "the Quickstart's command failed:\n" + string.Join('\n', stderr));
        Assert.Equal(sample, Mask(stdout));
        Assert.Contains(stderr, l => l.StartsWith("10/10 done", StringComparison.Ordinal));
        Assert.DoesNotContain(stderr, l => l.Contains('\r') || l.Contains("[#", StringComparison.Ordinal) || l.Contains("[.", StringComparison.Ordinal));
    }

    /// <summary>The fenced block right after the sample marker.</summary>
    private static string SampleBlock(string markdown)
    {
        var at = markdown.IndexOf(SampleMarker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README.md has no line starting '{SampleMarker}' before its sample output");
        var open = markdown.IndexOf("```\n", at, StringComparison.Ordinal) + 4;
        return markdown[open..markdown.IndexOf("\n```", open, StringComparison.Ordinal)];
    }

    private static string Mask(string text)
    {
        text = JobIdPattern().Replace(text, "score-ID");
        text = RatePattern().Replace(text, "N img/s");
        text = OutputFolderPattern().Replace(text, "$1: .../out/quickstart/");
        return string.Join('\n', text.Split('\n').Select(l => l.TrimEnd()).SkipWhile(l => l.Length == 0).Reverse().SkipWhile(l => l.Length == 0).Reverse());
    }

    [GeneratedRegex(@"score-\d{8}-\d{6}-[0-9a-f]+")]
    private static partial Regex JobIdPattern();

    [GeneratedRegex(@"[0-9.]+ img/s")]
    private static partial Regex RatePattern();

    [GeneratedRegex(@"(results|summary): \S*/out/quickstart/")]
    private static partial Regex OutputFolderPattern();

    public void Dispose() => _dir.Dispose();
}
