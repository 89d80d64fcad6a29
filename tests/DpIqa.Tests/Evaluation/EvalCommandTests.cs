using System.Globalization;
using System.Text.Json;
using DpIqa.Client;
using DpIqa.Jobs;
using DpIqa.Results;

namespace DpIqa.Tests.Evaluation;

/// <summary>
/// <c>dpiqa eval</c> and <c>--labels</c> at the CLI boundary: figures into summary.json and on stdout, and every
/// impossible evaluation as exit 2 with one line saying what to fix (never a NaN).
/// </summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private static Task<(int Code, string[] Lines)> Run(params string[] args) => Cli.CliInProcess.Run(args);

    /// <summary>A fixture's scores written as a run's results.csv (a folder of its own).</summary>
    private async Task<string> Results(string fixture)
    {
        var rows = ResultFiles.ParseCsv(File.ReadAllText(SciPyReference.Fixture(fixture))).Skip(1).Where(f => f.Count == 3)
            .Select(f => new ImageResult { Path = "photos/" + f[0], Score = float.Parse(f[1], CultureInfo.InvariantCulture) }).ToList();
        var file = _dir.Sub($"{fixture}/results.csv");
        await File.WriteAllBytesAsync(file, await ResultFiles.Encode(rows, ResultFormat.Csv));
        return Path.GetDirectoryName(file)!;
    }

    [Fact]
    public async Task Eval_writes_the_figures_into_summary_json_and_exits_0()
    {
        var folder = await Results("mos-scale");
        var (code, lines) = await Run("eval", folder, "--labels", SciPyReference.Fixture("mos-scale"));
        Assert.Equal(0, code);
        Assert.Empty(lines);
        var expected = SciPyReference.Of(SciPyReference.Fixture("mos-scale"));
        using var summary = JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(folder)));
        var evaluation = summary.RootElement.GetProperty("evaluation");
        Assert.Equal(40, evaluation.GetProperty("images").GetInt64());
        Assert.Equal(expected.GetProperty("srcc").GetDouble(), evaluation.GetProperty("srcc").GetDouble(), 12);
        Assert.Equal(expected.GetProperty("rmse_logistic").GetDouble(), evaluation.GetProperty("rmse_logistic").GetDouble(), 4);
        Assert.Equal(4, evaluation.GetProperty("logistic").GetArrayLength());
    }

    [Theory]
    [InlineData("constant-labels", null, "have the same MOS")]
    [InlineData("constant-scores", null, "have the same score")]
    [InlineData("n2", "MOS_typo", "no column 'MOS_typo'")]
    public async Task An_evaluation_that_cannot_be_computed_exits_2_with_one_line(string fixture, string? mosColumn, string message)
    {
        var folder = await Results(fixture);
        var args = new List<string> { "eval", folder, "--labels", SciPyReference.Fixture(fixture) };
        if (mosColumn is not null) args.AddRange(["--mos-column", mosColumn]);
        var (code, lines) = await Run([.. args]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(message, lines[0]);
        Assert.False(File.Exists(JobLayout.SummaryFile(folder)));
    }

    [Fact]
    public async Task Labels_that_match_no_result_exit_2_saying_to_check_the_name_column()
    {
        var folder = await Results("ties");
        var labels = _dir.Sub("other.csv");
        File.WriteAllText(labels, "image_name,MOS\nx.jpg,1\ny.jpg,2\n");
        var (code, lines) = await Run("eval", JobLayout.MergedResults(folder, ResultFormat.Csv), "--labels", labels);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        Assert.Equal(["error: 0 image(s) matched a label in " + labels + " (60 results and 2 labels unmatched): correlations need at least 2; check that the name column holds the images' file names or relative paths"], lines);
    }

    [Fact]
    public async Task Score_with_a_missing_labels_file_is_refused_before_scoring()
    {
        _dir.Copy(TinyModels.Photos()[0], "in/a.jpg");
        var output = Path.Combine(_dir.Path, "out");
        var (code, lines) = await Run("score", Path.Combine(_dir.Path, "in"), "--out", output, "--labels", Path.Combine(_dir.Path, "nope.csv"));
        Assert.Equal(ExitCodes.InvalidRequest, code);
        Assert.Single(lines);
        Assert.Contains("nope.csv does not exist: check the path given to --labels", lines[0]);
        Assert.False(File.Exists(JobLayout.MergedResults(output, ResultFormat.Csv)));
    }

    public void Dispose() => _dir.Dispose();
}
