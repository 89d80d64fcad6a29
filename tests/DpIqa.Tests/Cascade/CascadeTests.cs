using DpIqa.Client;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Results;

namespace DpIqa.Tests.Cascade;

/// <summary>
/// <c>dpiqa score --reject-below X --cascade TEACHER --band W</c> with two tiny models the test builds: a student
/// scoring the mean pixel and a teacher scoring one minus it, so the teacher disagrees with the student on every image
/// it sees on the other side of the threshold (and agrees on none that are on the same side, except exactly at it).
/// </summary>
public sealed class CascadeTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private string Models => Path.Combine(_dir.Path, "models");

    private string Source()
    {
        foreach (var p in TinyModels.Photos()) _dir.Copy(p, Path.Combine("in", Path.GetFileName(p)));
        _dir.Copy(RepoPaths.Of("tests/reference/inputs/not-an-image.jpg"), "in/broken.jpg");
        return Path.Combine(_dir.Path, "in");
    }

    private Task<int> Score(string output, double? rejectBelow, CascadeRule? cascade, string model = "student") =>
        ScoreCommand.Run(ScoreCommand.LocalJob([Source()], output, model, ResultFormat.Csv, 3) with { RejectBelow = rejectBelow, Cascade = cascade }, [new("Models:Path", Models)], true, false, CancellationToken.None);

    [Fact]
    public async Task Images_near_the_threshold_are_rescored_and_the_teacher_decides()
    {
        TinyModels.Add(Models, "student", 0f, 1f, [0, 1]);
        TinyModels.Add(Models, "teacher", 1f, -1f, [0, 1]);
        // A first run without the cascade gives the student's scores; the threshold and band are chosen from them so
        // that some images fall inside the band and some outside.
        var plain = Path.Combine(_dir.Path, "plain");
        Assert.Equal(0, await Score(plain, rejectBelow: 0.5, cascade: null));
        var studentScores = (await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(plain, ResultFormat.Csv)), ResultFormat.Csv))
            .Where(r => r.Score is not null).Select(r => (double)r.Score!.Value).Order().ToArray();
        double threshold = (studentScores[studentScores.Length / 2 - 1] + studentScores[studentScores.Length / 2]) / 2;
        double band = new[] { Math.Abs(studentScores[1] - threshold), Math.Abs(studentScores[^2] - threshold) }.Min();

        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await Score(output, threshold, new CascadeRule { Teacher = "teacher", Band = band }));

        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
        var keep = File.ReadAllLines(JobLayout.KeepList(output)).ToHashSet();
        var reject = File.ReadAllLines(JobLayout.RejectList(output)).ToHashSet();
        long rescored = 0, toKeep = 0, toReject = 0;
        foreach (var r in results)
        {
            if (r.Score is not { } s)
            {
                Assert.Null(r.TeacherScore);
                Assert.Contains(r.Path, reject);
                continue;
            }
            bool inBand = s >= threshold - band && s <= threshold + band;
            Assert.Equal(inBand, r.TeacherScore is not null);
            double deciding = s;
            if (r.TeacherScore is { } t)
            {
                Assert.Equal(1 - s, t, 5); // both scores are kept: the teacher's is one minus the student's
                deciding = t;
                rescored++;
                if (t >= threshold && s < threshold) toKeep++;
                if (t < threshold && s >= threshold) toReject++;
            }
            Assert.Contains(r.Path, deciding >= threshold ? keep : reject);
        }
        Assert.InRange(rescored, 2, results.Count - 3); // the band took some images and left others
        Assert.True(toKeep + toReject > 0, "the teacher should move some images across the threshold");

        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(JobLayout.SummaryFile(output)));
        var cascade = summary.RootElement.GetProperty("cascade");
        Assert.Equal("teacher", cascade.GetProperty("teacher").GetString());
        Assert.Equal(rescored, cascade.GetProperty("rescored").GetInt64());
        Assert.Equal(toKeep, cascade.GetProperty("changed_to_keep").GetInt64());
        Assert.Equal(toReject, cascade.GetProperty("changed_to_reject").GetInt64());
        // Statistics stay those of the job's model.
        Assert.Equal(studentScores.Average(), summary.RootElement.GetProperty("all").GetProperty("mean").GetDouble(), 5);
    }

    [Theory]
    [InlineData(null, "teacher", 0.1, "--cascade needs a threshold rule")]
    [InlineData(0.5, "no-such-model", 0.1, "no-such-model")]
    [InlineData(0.5, "teacher", 0.0, "--band 0 is not a positive number")]
    [InlineData(0.5, "student", 0.1, "is the job's own model")]
    [InlineData(0.5, "mos-teacher", 0.1, "on the same scale")]
    public async Task A_cascade_that_cannot_work_is_refused_with_exit_code_2(double? rejectBelow, string teacher, double band, string message)
    {
        TinyModels.Add(Models, "student", 0f, 1f, [0, 1]);
        TinyModels.Add(Models, "teacher", 1f, -1f, [0, 1]);
        TinyModels.Add(Models, "mos-teacher", 1f, 99f, [1, 100]);
        var e = await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            Score(Path.Combine(_dir.Path, "out"), rejectBelow, new CascadeRule { Teacher = teacher, Band = band }));
        Assert.Contains(message, e.Message);
        Assert.Equal(ExitCodes.InvalidRequest, ExitCodes.Describe(e, cancelledByUser: false).Code);
    }

    public void Dispose() => _dir.Dispose();
}
