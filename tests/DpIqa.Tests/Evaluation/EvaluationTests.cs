using System.Globalization;
using System.Text.Json;
using DpIqa.Evaluation;
using DpIqa.Results;

namespace DpIqa.Tests.Evaluation;

/// <summary>Every evaluation figure against SciPy on the committed fixtures (made by make_fixtures.py).</summary>
public sealed class EvaluationTests
{
    /// <summary>The fixture read as a labels file (KonIQ-10k's column names) and as the results of a job over it.</summary>
    private static MatchedPairs Pairs(string name, out string file)
    {
        file = SciPyReference.Fixture(name);
        var labels = LabelSet.Parse(File.ReadAllBytes(file), file, nameColumn: null, mosColumn: null);
        var results = ResultFiles.ParseCsv(File.ReadAllText(file)).Skip(1).Where(f => f.Count == 3)
            .Select(f => new ImageResult { Path = f[0], Score = float.Parse(f[1], CultureInfo.InvariantCulture) });
        return Evaluator.Match(results, labels);
    }

    private static void Close(JsonElement expected, double actual, double tolerance, string what)
    {
        Assert.Equal(JsonValueKind.Number, expected.ValueKind);
        var e = expected.GetDouble();
        Assert.True(Math.Abs(e - actual) <= tolerance * Math.Max(1, Math.Abs(e)), $"{what}: SciPy {e:R}, ours {actual:R}");
    }

    [Theory]
    [InlineData("pairs-10000")]
    [InlineData("ties")]
    [InlineData("mos-scale")]
    public void Every_figure_matches_scipy(string fixture)
    {
        var pairs = Pairs(fixture, out var file);
        var expected = SciPyReference.Of(file);
        var result = Evaluator.Evaluate(pairs, file);

        Assert.Equal(expected.GetProperty("n").GetInt32(), result.Images);
        Assert.Equal(0, result.ResultsUnmatched);
        Assert.Equal(0, result.LabelsUnmatched);
        Close(expected.GetProperty("srcc"), result.Srcc, 1e-12, "SRCC");
        Close(expected.GetProperty("krcc"), result.Krcc, 1e-12, "KRCC");
        Close(expected.GetProperty("plcc"), result.Plcc, 1e-12, "PLCC");
        // Two optimisers stop at slightly different points of the same minimum: figures agree to 1e-5, not to the last bit.
        Assert.NotNull(result.PlccLogistic);
        Close(expected.GetProperty("plcc_logistic"), result.PlccLogistic!.Value, 1e-5, "PLCC after the logistic");
        Close(expected.GetProperty("rmse_logistic"), result.RmseLogistic!.Value, 1e-5, "RMSE after the logistic");
    }

    [Theory]
    [InlineData("pairs-10000")]
    [InlineData("mos-scale")]
    public void The_logistic_parameters_match_curve_fit_where_the_fit_is_well_posed(string fixture)
    {
        var pairs = Pairs(fixture, out var file);
        var expected = SciPyReference.Of(file).GetProperty("beta");
        var beta = LogisticFit.Fit(pairs.Scores, pairs.Mos);
        for (int i = 0; i < 4; i++)
            Close(expected[i], i == 3 ? Math.Abs(beta[i]) : beta[i], 1e-4, $"beta{i + 1}");
    }

    [Fact]
    public void With_two_images_the_correlations_are_given_and_the_logistic_is_left_out_with_a_note()
    {
        var pairs = Pairs("n2", out var file);
        var expected = SciPyReference.Of(file);
        var result = Evaluator.Evaluate(pairs, file);

        Assert.Equal(2, result.Images);
        Close(expected.GetProperty("srcc"), result.Srcc, 1e-12, "SRCC");
        Close(expected.GetProperty("krcc"), result.Krcc, 1e-12, "KRCC");
        Close(expected.GetProperty("plcc"), result.Plcc, 1e-12, "PLCC");
        Assert.Equal(JsonValueKind.Null, expected.GetProperty("beta").ValueKind); // curve_fit refuses 2 points for 4 parameters
        Assert.Null(result.PlccLogistic);
        Assert.Null(result.RmseLogistic);
        Assert.Contains("at least 5 images", result.Note);
        var json = JsonSerializer.Serialize(result, DpIqa.Jobs.JobSummaryFile.Json);
        Assert.DoesNotContain("NaN", json);
    }

    [Theory]
    [InlineData("constant-scores", "have the same score")]
    [InlineData("constant-labels", "have the same MOS")]
    public void Constant_scores_or_labels_are_a_clear_error_where_scipy_gives_nan(string fixture, string message)
    {
        var pairs = Pairs(fixture, out var file);
        var expected = SciPyReference.Of(file);
        Assert.Equal(JsonValueKind.Null, expected.GetProperty("srcc").ValueKind); // SciPy: NaN

        var e = Assert.Throws<ArgumentException>(() => Evaluator.Evaluate(pairs, file));
        Assert.Contains(message, e.Message);
        Assert.Contains("undefined", e.Message);
    }

    [Fact]
    public void Average_ranks_match_scipy_rankdata_on_ties()
    {
        Assert.Equal([2.5, 1, 2.5, 4], IqaMetrics.AverageRanks([3.0, 1.0, 3.0, 7.0]));
    }

    [Fact]
    public void Labels_match_by_relative_path_or_by_file_name_and_count_both_sides()
    {
        var csv = "\uFEFFImage name,Brightness,MOS\r\nb/1.jpg,50,40.5\r\n2.jpg,50,60\r\nnot-scored.jpg,1,20\r\nbroken.jpg,1,30\r\n";
        var labels = LabelSet.Parse(System.Text.Encoding.UTF8.GetBytes(csv), "spaq.csv", null, null); // SPAQ's column names
        var results = new[]
        {
            new ImageResult { Path = "b/1.jpg", Score = 0.4f },
            new ImageResult { Path = "x/y/2.jpg", Score = 0.6f },     // by file name
            new ImageResult { Path = "b/broken.jpg", Status = ImageResult.Error, ErrorKind = "decode" },
            new ImageResult { Path = "unlabelled.jpg", Score = 0.1f },
        };
        var pairs = Evaluator.Match(results, labels);

        Assert.Equal(["b/1.jpg", "x/y/2.jpg"], pairs.Paths);
        Assert.Equal([40.5, 60], pairs.Mos);
        Assert.Equal(1, pairs.ResultsUnmatched);
        Assert.Equal(1, pairs.LabelsUnmatched);   // not-scored.jpg
        Assert.Equal(1, pairs.LabelledFailed);    // broken.jpg has an error record
    }

    [Theory]
    [InlineData("name,MOS\na.jpg,1\n", null, null, "no column 'image_name' or 'Image name'")]
    [InlineData("image_name,score\na.jpg,1\n", null, null, "no column 'MOS'")]
    [InlineData("image_name,MOS\na.jpg,abc\n", null, null, "line 2: MOS 'abc' is not a number")]
    [InlineData("image_name,MOS\na.jpg,1\na.jpg,2\n", null, null, "names 'a.jpg' twice")]
    [InlineData("file,quality\na.jpg,1\n", "file", "mos", "no column 'mos'")]
    public void A_bad_labels_file_is_one_line_saying_what_to_fix(string csv, string? name, string? mos, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => LabelSet.Parse(System.Text.Encoding.UTF8.GetBytes(csv), "labels.csv", name, mos));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
