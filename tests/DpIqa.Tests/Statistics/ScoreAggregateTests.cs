using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using DpIqa.Statistics;

namespace DpIqa.Tests.Statistics;

public sealed class ScoreAggregateTests
{
    [Fact]
    public void Merged_partials_give_the_same_summary_as_one_pass_and_percentiles_within_a_bin()
    {
        var rng = new Random(3);
        var scores = Enumerable.Range(0, 20_000).Select(_ => Math.Clamp(0.5 + 0.15 * Normal(rng), -0.2, 1.3)).ToArray();
        var whole = new ScoreAggregate();
        foreach (var s in scores) whole.AddScore(s);
        var merged = new ScoreAggregate();
        foreach (var chunk in scores.Chunk(777))
        {
            var part = new ScoreAggregate();
            foreach (var s in chunk) part.AddScore(s);
            part.AddFailure("decode");
            merged.Merge(part);
        }
        var a = SummaryBuilder.Build(whole);
        var b = SummaryBuilder.Build(merged);
        Assert.Equal(a.Mean!.Value, b.Mean!.Value, 9);
        Assert.Equal(a.Percentiles, b.Percentiles);
        Assert.Equal((long)Math.Ceiling(20_000 / 777.0), b.FailedByKind["decode"]);
        Assert.Equal(scores.Length, b.Scored);
        Assert.Equal(scores.Length + b.Failed, b.Count);

        var sorted = scores.Order().ToArray();
        foreach (var p in SummaryBuilder.PercentileRanks)
        {
            double exact = sorted[(int)Math.Round(p / 100.0 * (sorted.Length - 1))];
            Assert.True(Math.Abs(a.Percentiles[$"p{p}"] - exact) <= 0.0015, $"p{p}: {a.Percentiles[$"p{p}"]} vs exact {exact}");
        }
        double std = Math.Sqrt(scores.Select(s => (s - scores.Average()) * (s - scores.Average())).Average());
        Assert.Equal(std, a.Std!.Value, 6);
        Assert.Equal(scores.Length, a.Histogram.Sum(h => h.Count));
        Assert.All(a.Histogram, h => Assert.Equal(SummaryBuilder.CoarseBinWidth, h.Upper - h.Lower, 6));
    }

    [Fact]
    public void An_aggregate_with_only_errors_has_counts_and_no_statistics()
    {
        var a = new ScoreAggregate();
        a.AddFailure("fetch");
        var s = SummaryBuilder.Build(a);
        Assert.Equal(1, s.Count);
        Assert.Null(s.Mean);
        Assert.Empty(s.Percentiles);
    }

    [Fact]
    public void Aggregates_travel_sparse_and_arrive_whole()
    {
        var serializer = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddSerializer().BuildServiceProvider()
            .GetRequiredService<Orleans.Serialization.Serializer>();
        var part = new ScoreAggregate();
        foreach (var score in new[] { 0.1, 0.2, 0.2, 0.55, 0.9 }) part.AddScore(score);
        part.AddFailure("decode");
        var bytes = serializer.SerializeToArray(part);
        Assert.True(bytes.Length < 300, $"{bytes.Length} bytes for 5 scores: the histogram should travel sparse");
        var arrived = serializer.Deserialize<ScoreAggregate>(bytes)!;
        var total = new ScoreAggregate();
        total.AddScore(0.3);
        total.Merge(arrived);
        total.Merge(serializer.Deserialize<ScoreAggregate>(serializer.SerializeToArray(arrived))!);
        var direct = new ScoreAggregate();
        direct.AddScore(0.3);
        direct.Merge(part);
        direct.Merge(part);
        Assert.Equal(direct.Histogram, total.Histogram);
        Assert.Equal(SummaryBuilder.Build(direct).Percentiles, SummaryBuilder.Build(total).Percentiles);
        Assert.Equal(2, total.FailedByKind["decode"]);
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
