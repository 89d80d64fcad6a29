using DpIqa.Jobs;
using DpIqa.Results;

namespace DpIqa.Tests.Results;

/// <summary>The job's output layout: names that readers (cleanup, reports) parse back must round-trip.</summary>
public sealed class JobLayoutTests
{
    [Theory]
    [InlineData(ResultFormat.Csv)]
    [InlineData(ResultFormat.Parquet)]
    public void A_result_path_parses_back_to_its_shard_and_lease_tag(ResultFormat format)
    {
        var token = Guid.NewGuid();
        var path = JobLayout.ResultPath("/out", 12, JobLayout.TokenTag(token), format);
        Assert.StartsWith(Path.Combine("/out", JobLayout.ResultsFolder) + Path.DirectorySeparatorChar, path);
        Assert.True(JobLayout.TryParseResultName(Path.GetFileName(path), out int shard, out uint tag));
        Assert.Equal((12, JobLayout.TokenTag(token)), (shard, tag));
    }

    [Fact]
    public void Two_leases_of_a_shard_get_two_result_files_and_blob_outputs_use_slashes()
    {
        var a = JobLayout.ResultPath("blob:out/run1", 3, JobLayout.TokenTag(Guid.NewGuid()), ResultFormat.Jsonl);
        var b = JobLayout.ResultPath("blob:out/run1", 3, JobLayout.TokenTag(Guid.NewGuid()), ResultFormat.Jsonl);
        Assert.NotEqual(a, b);
        Assert.StartsWith($"blob:out/run1/{JobLayout.ResultsFolder}/shard-000003.", a);
        Assert.Equal($"blob:out/run1/{JobLayout.ItemListsFolder}/shard-000003.jsonl.gz", JobLayout.ItemListPath("blob:out/run1", 3));
    }

    [Theory]
    [InlineData("shard-000001.jsonl")] // an item list, not a result file
    [InlineData("shard-000001.jsonl.gz")]
    [InlineData("shard-000001.abc.csv")]
    [InlineData("summary.json")]
    [InlineData("results.csv")]
    public void Other_names_are_not_taken_for_result_files(string name) =>
        Assert.False(JobLayout.TryParseResultName(name, out _, out _));
}
