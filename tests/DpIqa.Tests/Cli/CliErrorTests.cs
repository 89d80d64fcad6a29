using DpIqa.Client;
using DpIqa.Jobs;
using DpIqa.Results;

namespace DpIqa.Tests.Cli;

/// <summary>
/// The CLI boundary, in process: every bad request exits 2 with ONE line on stderr that says what is wrong, with no
/// stack trace unless <c>-v</c> is given; a cancelled run exits 130. None of these requests reaches a cluster or
/// storage (names are checked before any connection), so no service is needed.
/// </summary>
public sealed class CliErrorTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private static Task<(int Code, string[] Lines)> Run(string[] args, CancellationToken cancellationToken = default) => CliInProcess.Run(args, cancellationToken);

    private static void AssertOneLine(string[] lines, string expected)
    {
        Assert.True(lines.Length == 1, "stderr should be one line, was:\n" + string.Join('\n', lines));
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", lines[0]);
    }

    public static TheoryData<string[], string> ParseErrors => new()
    {
        { ["job", "submit", "--source", "photos", "--out", "results/x", "--reject-below", "abc"], "'abc' for option '--reject-below' as a number" },
        { ["score", "photos", "--shard-size", "abc"], "'abc' for option '--shard-size' as a whole number" },
        { ["job", "submit", "--source", "photos", "--out", "results/x", "--format", "xml"], "'xml'" },
        { ["score", "photos", "--format", "xml"], "'csv' 'parquet' 'jsonl'" },
        { ["job", "list", "--bogus"], "'--bogus'" },
        { ["models", "list", "--frob", "1"], "'--frob'" },
        { ["job", "status"], "Required argument missing" },
        { ["job"], "Required command was not provided" },
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public async Task Parse_errors_exit_2_with_System_CommandLines_message_on_one_line(string[] args, string expected)
    {
        var (code, lines) = await Run(args);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        AssertOneLine(lines, expected);
        Assert.Contains("--help", lines[0]); // says where to look
        Assert.DoesNotContain("System.", lines[0]); // no .NET type names
    }

    public static TheoryData<string[], string> InvalidNames => new()
    {
        { ["job", "submit", "--source", "ab", "--out", "results/x"], "--source ab: 'ab' is not a valid blob container name (3-63 characters" },
        { ["job", "submit", "--source", "photos", "--out", "Bad_Name/x"], "--out Bad_Name/x: 'Bad_Name' is not a valid blob container name" },
        { ["job", "submit", "--source", "", "--out", "results/x"], "--source is empty" },
        { ["job", "submit", "--source", "photos--all", "--out", "results/x"], "'photos--all' is not a valid blob container name" },
        { ["job", "submit", "--source", "listing:-lists/a.txt", "--out", "results/x"], "'-lists' is not a valid blob container name" },
        { ["job", "submit", "--source", "photos/a/../b", "--out", "results/x"], "ends with '.'" },
        { ["job", "submit", "--source", "photos", "--out", "results/" + new string('x', 1000)], "1,024" },
        { ["upload", RepoPaths.Photos, "--to", "ds"], "--to ds: 'ds' is not a valid blob container name" },
        { ["upload", RepoPaths.Photos, "--to", "file:/tmp/x"], "upload copies into blob storage" },
        { ["schedule", "create", "nightly", "--source", "photos", "--out", "runs", "--cron", "0 25 * * *"], "--cron \"0 25 * * *\" is not a valid cron expression" },
        { ["schedule", "create", "nightly", "--source", "photos", "--out", "runs", "--cron", "0 2 * *"], "is not a valid cron expression" },
        { ["schedule", "create", "nightly", "--source", "photos", "--out", "runs", "--cron", "0 2 * * *", "--time-zone", "Mars/Olympus"], "--time-zone 'Mars/Olympus' is not a known time zone" },
        { ["schedule", "create", "Nightly_1", "--source", "photos", "--out", "runs", "--cron", "0 2 * * *"], "schedule name 'Nightly_1' is not valid" },
        { ["schedule", "create", "nightly", "--source", "photos", "--out", "runs", "--cron", "0 2 * * *", "--quarantine", "Q"], "--quarantine Q: 'Q' is not a valid blob container name" },
        { ["schedule", "show", "no_such"], "schedule name 'no_such' is not valid" },
    };

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task Invalid_container_or_blob_names_exit_2_naming_the_rule_before_any_request(string[] args, string expected)
    {
        var (code, lines) = await Run(args);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        AssertOneLine(lines, expected);
    }

    [Theory]
    [InlineData("job", "submit", "--source", "ab", "--out", "results/x")]
    [InlineData("upload", "samples/photos", "--to", "Bad_Name")]
    [InlineData("preprocess", "no-such-image.png", "--out", "x.npy")]
    public async Task Verbose_adds_the_stack_trace_after_the_same_line(params string[] args)
    {
        var (code, lines) = await Run(args);
        var (verboseCode, verboseLines) = await Run([.. args, "-v"]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        Assert.Equal(code, verboseCode);
        Assert.Single(lines);
        Assert.Equal(lines[0], verboseLines[0]);
        Assert.Contains(verboseLines.Skip(1), l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.Contains("ArgumentException", verboseLines[1]);
    }

    [Fact]
    public async Task A_missing_image_for_preprocess_exits_2_and_a_broken_one_exits_1_with_its_kind()
    {
        var (code, lines) = await Run(["preprocess", Path.Combine(_dir.Path, "missing.png"), "--out", Path.Combine(_dir.Path, "x.npy")]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        AssertOneLine(lines, "missing.png does not exist");

        (code, lines) = await Run(["preprocess", Path.Combine(RepoPaths.Reference, "inputs", "not-an-image.jpg"), "--out", Path.Combine(_dir.Path, "x.npy")]);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Single(lines);
        Assert.StartsWith("error (unsupported): ", lines[0]);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "x.npy")));
    }

    [Theory]
    [InlineData("no-such-model", null, "unknown model 'no-such-model'")]
    [InlineData(null, "missing-folder", "does not exist")]
    public async Task Score_refuses_an_invalid_request_with_exit_2_and_one_line(string? model, string? source, string expected)
    {
        string[] args = ["score", source is null ? RepoPaths.Photos : Path.Combine(_dir.Path, source), "--out", Path.Combine(_dir.Path, "out")];
        var (code, lines) = await Run(model is null ? args : [.. args, "--model", model]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        AssertOneLine(lines, expected);
        Assert.False(File.Exists(JobLayout.SummaryFile(Path.Combine(_dir.Path, "out"))));
    }

    [Fact]
    public async Task A_cancelled_score_exits_130_with_one_line_and_no_results()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var output = Path.Combine(_dir.Path, "out");
        var (code, lines) = await Run(["score", RepoPaths.Photos, "--out", output], cancelled.Token);
        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.Single(lines);
        Assert.StartsWith("cancelled", lines[0]);
        Assert.False(File.Exists(JobLayout.MergedResults(output, ResultFormat.Csv)));
    }

    public void Dispose() => _dir.Dispose();
}
