using System.Text.Json;
using DpIqa.Jobs;

namespace DpIqa.Tests.Jobs;

/// <summary>The job's summary and summary.json built from its record alone, and what a failed curation records.</summary>
public sealed class JobSummaryFileTests
{
    private static JobRecord Record(params (string Folder, double[] Scores)[] folders)
    {
        var job = new JobRecord
        {
            Spec = new JobSpec { Sources = ["photos"], Model = "student", Output = "out" },
            State = JobState.Completed,
            ModelVersion = "3",
        };
        foreach (var (folder, scores) in folders)
        {
            var part = new ScoreAggregate();
            foreach (var score in scores) { part.AddScore(score); job.All.AddScore(score); }
            job.ByFolder[folder] = part;
        }
        return job;
    }

    [Fact]
    public void The_summary_lists_folders_in_ordinal_order_with_the_whole_jobs_counts()
    {
        var summary = JobSummaryFile.Build("j1", Record(("b", [40, 60]), ("B", [10]), ("a", [90])), scoreRange: null);
        Assert.Equal(["B", "a", "b"], summary.ByFolder.Keys);
        Assert.Equal(4, summary.All.Count);
        Assert.Equal(2, summary.ByFolder["b"].Count);
        Assert.Equal(("j1", "student", "3", JobState.Completed), (summary.JobId, summary.Model, summary.ModelVersion, summary.State));
        Assert.Equal(PreprocessPath.Exact, summary.Preprocess); // a spec without a path was scored on the exact one
    }

    [Fact]
    public void The_histogram_spans_the_declared_score_range_when_there_is_one_else_the_observed_scores()
    {
        // Scores on a MOS scale (1-100): no range is assumed from the model family.
        var job = Record(("a", [40, 60]));
        var declared = JobSummaryFile.Build("j1", job, scoreRange: (1, 100)).All.Histogram;
        var observed = JobSummaryFile.Build("j1", job, scoreRange: null).All.Histogram;
        Assert.Equal((1, 100), (declared[0].Lower, declared[^1].Upper));
        Assert.Equal((40, 60), (observed[0].Lower, observed[^1].Upper));
    }

    [Fact]
    public void Summary_json_is_snake_case_and_reads_back_the_same()
    {
        var summary = JobSummaryFile.Build("j1", Record(("a", [0.25, 0.75])), scoreRange: (0, 1));
        var bytes = JobSummaryFile.Encode(summary);
        using var json = JsonDocument.Parse(bytes);
        Assert.Equal("j1", json.RootElement.GetProperty("job_id").GetString());
        Assert.Equal("completed", json.RootElement.GetProperty("state").GetString());
        var back = JsonSerializer.Deserialize<JobSummary>(bytes, JobSummaryFile.Json)!;
        Assert.Equal(summary.All.Mean, back.All.Mean);
        Assert.Equal(summary.ByFolder.Keys, back.ByFolder.Keys);
    }

    [Fact]
    public void A_failed_curation_says_why_and_a_schedules_drift_report_says_why_there_is_none()
    {
        var job = Record(("a", [0.5]));
        job.Spec = job.Spec! with { DriftThreshold = 0.1, PreviousJob = "nightly-1" };
        CompletionCuration.Failed(job, new IOException("the output container is gone"));
        Assert.Equal("the keep/reject lists could not be written: the output container is gone", job.Message);
        Assert.Equal(("nightly-1", 0.1, "not computed: the output container is gone"), (job.Drift!.PreviousJobId, job.Drift.Threshold, job.Drift.Reason));
    }

    [Fact]
    public void A_failed_curation_without_a_drift_rule_leaves_no_drift_report()
    {
        var job = Record(("a", [0.5]));
        CompletionCuration.Failed(job, new IOException("gone"));
        Assert.Null(job.Drift);
    }
}
