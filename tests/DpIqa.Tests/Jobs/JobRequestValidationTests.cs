using DpIqa.Jobs;

namespace DpIqa.Tests.Jobs;

/// <summary>The checks on a submitted job that need no model: each refusal says what to change.</summary>
public sealed class JobRequestValidationTests
{
    private const int MaxShardSize = 4096;

    private static JobSpec Spec(int shardSize = 64, string output = "out", ResultFormat format = ResultFormat.Csv) =>
        new() { Sources = ["photos"], Model = "student", Output = output, ShardSize = shardSize, Format = format };

    [Theory]
    [InlineData(1)]
    [InlineData(MaxShardSize)]
    public void A_shard_size_within_the_limit_is_accepted(int shardSize) =>
        JobRequestValidation.CheckShape(Spec(shardSize), MaxShardSize);

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(MaxShardSize + 1)]
    public void A_shard_size_out_of_range_is_refused_naming_the_range(int shardSize)
    {
        var e = Assert.Throws<ArgumentException>(() => JobRequestValidation.CheckShape(Spec(shardSize), MaxShardSize));
        Assert.Equal($"shard size {shardSize} is out of range: use 1 to {MaxShardSize}", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void A_job_without_an_output_is_refused(string output)
    {
        var e = Assert.Throws<ArgumentException>(() => JobRequestValidation.CheckShape(Spec(output: output), MaxShardSize));
        Assert.Equal("no output given: name a folder for the results", e.Message);
    }

    [Fact]
    public void An_unknown_result_format_is_refused_naming_the_formats_there_are()
    {
        var e = Assert.Throws<ArgumentException>(() => JobRequestValidation.CheckShape(Spec(format: (ResultFormat)42), MaxShardSize));
        Assert.Equal("unknown result format 42: use csv, jsonl or parquet", e.Message);
    }
}
