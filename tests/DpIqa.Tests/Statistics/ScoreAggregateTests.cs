using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Xunit.Abstractions;
using DpIqa.Statistics;

namespace DpIqa.Tests.Statistics;

/// <summary>
/// The mergeable statistics against NumPy, on every score scale a model may use: exact percentiles up to the exact
/// limit, the sketch's bound beyond it, merged from many shards in random order.
/// </summary>
public sealed class ScoreAggregateTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new();

    public static TheoryData<string> Scales => ["unit", "mos", "large", "negative", "mixed"];

    /// <summary>Scores of a model on a scale: [0,1], [1,100], [0,1e7], [-50,-10], or negative, zero and positive over many decades.</summary>
    private static float[] Scores(string scale, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => scale switch
        {
            "unit" => (float)Math.Clamp(0.5 + 0.15 * Normal(rng), 0, 1),
            "mos" => (float)(1 + 99 * Math.Pow(rng.NextDouble(), 2)),
            "large" => (float)(1e7 * Math.Pow(rng.NextDouble(), 3)),
            "negative" => (float)(-50 + 40 * rng.NextDouble()),
            "mixed" => rng.Next(3) switch { 0 => 0f, 1 => (float)-Math.Exp(3 * Normal(rng)), _ => (float)Math.Exp(3 * Normal(rng)) },
            _ => throw new ArgumentException(scale),
        }).ToArray();
    }

    /// <summary>Partial aggregates of random sizes (the shards), merged in a random order.</summary>
    private static ScoreAggregate MergedFromShards(float[] scores, int seed, int maxShard)
    {
        var rng = new Random(seed);
        var parts = new List<ScoreAggregate>();
        for (int i = 0; i < scores.Length;)
        {
            int size = Math.Min(rng.Next(1, maxShard + 1), scores.Length - i);
            var part = new ScoreAggregate();
            for (int j = i; j < i + size; j++) part.AddScore(scores[j]);
            part.AddFailure("decode");
            parts.Add(part);
            i += size;
        }
        var total = new ScoreAggregate();
        foreach (var part in parts.OrderBy(_ => rng.Next())) total.Merge(part);
        Assert.Equal(parts.Count, total.FailedByKind["decode"]);
        return total;
    }

    [Theory]
    [MemberData(nameof(Scales))]
    public void Exact_percentiles_mean_and_std_equal_numpys_on_every_scale(string scale)
    {
        var scores = Scores(scale, 5_000, seed: 11);
        var merged = MergedFromShards(scores, seed: 5, maxShard: 200);
        Assert.True(merged.IsExact);
        var summary = SummaryBuilder.Build(merged, null);
        var numpy = NumPyReference.OfScores(scores, _dir.Path);

        Assert.True(summary.PercentilesExact);
        Assert.Equal(scores.Length, summary.Scored);
        AssertClose(numpy.GetProperty("mean").GetDouble(), summary.Mean!.Value, 1e-9, "mean");
        AssertClose(numpy.GetProperty("std").GetDouble(), summary.Std!.Value, 1e-9, "std");
        Assert.Equal(numpy.GetProperty("min").GetDouble(), summary.Min);
        Assert.Equal(numpy.GetProperty("max").GetDouble(), summary.Max);
        foreach (var p in SummaryBuilder.PercentileRanks)
            AssertClose(numpy.GetProperty("percentiles").GetProperty($"p{p}").GetDouble(), summary.Percentiles[$"p{p}"], 1e-9, $"p{p}");
    }

    [Theory]
    [MemberData(nameof(Scales))]
    public void Sketched_percentiles_are_within_the_stated_relative_error_of_numpys(string scale)
    {
        var scores = Scores(scale, 150_000, seed: 12);
        var merged = MergedFromShards(scores, seed: 6, maxShard: 5_000);
        Assert.False(merged.IsExact);
        Assert.Null(merged.ExactScores());
        var summary = SummaryBuilder.Build(merged, null);
        var numpy = NumPyReference.OfScores(scores, _dir.Path);

        Assert.False(summary.PercentilesExact);
        AssertClose(numpy.GetProperty("mean").GetDouble(), summary.Mean!.Value, 1e-9, "mean");
        AssertClose(numpy.GetProperty("std").GetDouble(), summary.Std!.Value, 1e-9, "std");
        Assert.Equal(numpy.GetProperty("min").GetDouble(), summary.Min);
        Assert.Equal(numpy.GetProperty("max").GetDouble(), summary.Max);
        var sorted = scores.Select(s => (double)s).Order().ToArray();
        foreach (var p in SummaryBuilder.PercentileRanks)
        {
            // NumPy interpolates between two order statistics; each is known to the sketch's relative accuracy.
            double rank = (sorted.Length - 1) * (p / 100.0);
            double larger = Math.Max(Math.Abs(sorted[(int)Math.Floor(rank)]), Math.Abs(sorted[Math.Min((int)Math.Floor(rank) + 1, sorted.Length - 1)]));
            double expected = numpy.GetProperty("percentiles").GetProperty($"p{p}").GetDouble();
            double actual = summary.Percentiles[$"p{p}"];
            Assert.True(Math.Abs(actual - expected) <= ScoreSketch.RelativeAccuracy * larger * (1 + 1e-9),
                $"p{p}: {actual} vs numpy {expected}, off by {Math.Abs(actual - expected) / larger:P3} of {larger}");
        }

        // Another split and order gives the same sketch, so the same percentiles.
        var again = MergedFromShards(scores.Reverse().ToArray(), seed: 99, maxShard: 700);
        Assert.Equal(summary.Percentiles, SummaryBuilder.Build(again, null).Percentiles);
    }

    [Fact]
    public void An_aggregate_turns_into_a_sketch_just_past_the_exact_limit_and_the_sketch_does_not_depend_on_the_path()
    {
        var scores = Scores("mos", ScoreAggregate.ExactLimit + 1, seed: 13);
        var oneByOne = new ScoreAggregate();
        foreach (var s in scores.Take(ScoreAggregate.ExactLimit)) oneByOne.AddScore(s);
        Assert.True(oneByOne.IsExact);
        Assert.Equal(ScoreAggregate.ExactLimit, oneByOne.ExactScores()!.Length);
        var exactMedian = oneByOne.Quantile(0.5);
        var sorted = scores.Take(ScoreAggregate.ExactLimit).Select(s => (double)s).Order().ToArray();
        Assert.Equal((sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2, exactMedian, 12); // an even count: midway
        oneByOne.AddScore(scores[^1]);
        Assert.False(oneByOne.IsExact);

        // Two exact halves merge into a sketch; so does an exact aggregate merged into a sketch and the other way round.
        var firstHalf = new ScoreAggregate();
        var secondHalf = new ScoreAggregate();
        for (int i = 0; i < scores.Length; i++) (i % 2 == 0 ? firstHalf : secondHalf).AddScore(scores[i]);
        Assert.True(firstHalf.IsExact && secondHalf.IsExact);
        var halves = new ScoreAggregate();
        halves.Merge(firstHalf);
        Assert.True(halves.IsExact);
        halves.Merge(secondHalf);
        Assert.False(halves.IsExact);
        Assert.Equal(scores.Length, halves.Scored);
        AssertSameSketch(oneByOne.Sketch!, halves.Sketch!);

        var sketchFirst = new ScoreAggregate();
        sketchFirst.Merge(oneByOne);
        var small = new ScoreAggregate();
        small.AddScore(scores[0]);
        sketchFirst.Merge(small);
        var exactFirst = new ScoreAggregate();
        exactFirst.Merge(small);
        exactFirst.Merge(oneByOne);
        AssertSameSketch(sketchFirst.Sketch!, exactFirst.Sketch!);
        Assert.Equal(scores.Length + 1, sketchFirst.Sketch!.Count);
    }

    [Fact]
    public void An_aggregate_with_only_errors_has_counts_and_no_statistics()
    {
        var a = new ScoreAggregate();
        a.AddFailure("fetch");
        var s = SummaryBuilder.Build(a, (0, 1));
        Assert.Equal(1, s.Count);
        Assert.Null(s.Mean);
        Assert.Empty(s.Percentiles);
        Assert.Empty(s.Histogram);
    }

    [Fact]
    public void A_score_that_is_not_a_finite_number_is_refused()
    {
        var a = new ScoreAggregate();
        Assert.Throws<ArgumentException>(() => a.AddScore(double.NaN));
        Assert.Throws<ArgumentException>(() => a.AddScore(float.PositiveInfinity));
        Assert.Equal(0, a.Scored);
    }

    [Fact]
    public void Aggregates_travel_compact_and_arrive_whole_in_both_forms()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var scores = Scores("unit", 1_000, seed: 14);
        var exact = new ScoreAggregate();
        foreach (var s in scores) exact.AddScore(s);
        exact.AddFailure("decode");
        var bytes = serializer.SerializeToArray(exact);
        Assert.True(bytes.Length < 4 * scores.Length + 200, $"{bytes.Length} bytes for {scores.Length} scores: exact scores should travel as 4-byte float32");
        var arrived = serializer.Deserialize<ScoreAggregate>(bytes)!;
        Assert.True(arrived.IsExact);
        Assert.Equal(SummaryBuilder.Build(exact, null), SummaryBuilder.Build(arrived, null), SummaryComparer.Instance);

        var big = new ScoreAggregate();
        foreach (var s in Scores("mos", ScoreAggregate.ExactLimit + 10, seed: 15)) big.AddScore(s);
        var sketchBytes = serializer.SerializeToArray(big);
        Assert.True(sketchBytes.Length < 20_000, $"{sketchBytes.Length} bytes for a sketch of scores on [1, 100]");
        output.WriteLine($"wire size: {bytes.Length} bytes for {scores.Length} exact scores; {sketchBytes.Length} bytes for a sketch of {big.Scored} scores on [1, 100] ({big.Sketch!.Positive.Count} buckets)");
        var bigArrived = serializer.Deserialize<ScoreAggregate>(sketchBytes)!;
        Assert.False(bigArrived.IsExact);
        Assert.Equal(SummaryBuilder.Build(big, null), SummaryBuilder.Build(bigArrived, null), SummaryComparer.Instance);

        // Merging what arrived counts the same as merging the originals.
        var direct = new ScoreAggregate();
        direct.Merge(exact);
        direct.Merge(big);
        var viaWire = new ScoreAggregate();
        viaWire.Merge(arrived);
        viaWire.Merge(bigArrived);
        Assert.Equal(SummaryBuilder.Build(direct, null), SummaryBuilder.Build(viaWire, null), SummaryComparer.Instance);
    }

    /// <summary>Orleans' default grain-storage serializer (JSON), which job state in blob storage goes through.</summary>
    private static Orleans.Storage.IGrainStorageSerializer GrainStorageJson()
    {
        var services = new ServiceCollection();
        services.AddSerializer();
        services.AddSingleton<Orleans.Serialization.OrleansJsonSerializer>();
        services.AddOptions<Orleans.Serialization.OrleansJsonSerializerOptions>();
        services.AddSingleton<Orleans.Storage.IGrainStorageSerializer, Orleans.Storage.JsonGrainStorageSerializer>();
        return services.BuildServiceProvider().GetRequiredService<Orleans.Storage.IGrainStorageSerializer>();
    }

    [Fact]
    public void Aggregates_survive_grain_storages_json_in_both_forms()
    {
        // Job state in blob storage goes through Orleans' default grain-storage serializer (JSON).
        var storage = GrainStorageJson();

        var exact = new ScoreAggregate();
        foreach (var s in Scores("mixed", 2_000, seed: 18)) exact.AddScore(s);
        exact.AddFailure("decode");
        var sketched = new ScoreAggregate();
        foreach (var s in Scores("large", ScoreAggregate.ExactLimit + 1, seed: 19)) sketched.AddScore(s);
        var empty = new ScoreAggregate();
        foreach (var a in new[] { exact, sketched, empty })
        {
            var json = storage.Serialize(a);
            var back = storage.Deserialize<ScoreAggregate>(json)!;
            Assert.Equal(a.IsExact, back.IsExact);
            Assert.Equal(SummaryBuilder.Build(a, (0, 1)), SummaryBuilder.Build(back, (0, 1)), SummaryComparer.Instance);
            if (a == exact) Assert.True(json.ToMemory().Length < 6 * 2_000 + 1_000, $"{json.ToMemory().Length} bytes of JSON for 2,000 exact scores");
        }
    }

    [Fact]
    public void A_score_of_zero_survives_grain_storages_json_as_min_and_max()
    {
        // Grain storage's JSON leaves out values equal to their type's default: a folder whose lowest score was exactly
        // 0 came back from a failover with min = +infinity, and the job could not build its summary.
        var storage = GrainStorageJson();

        var lowZero = new ScoreAggregate();
        foreach (var s in new[] { 0.0, 0.25, 0.5 }) lowZero.AddScore(s);
        var highZero = new ScoreAggregate();
        foreach (var s in new[] { -2.0, -1.0, 0.0 }) highZero.AddScore(s);
        foreach (var a in new[] { lowZero, highZero })
        {
            var back = storage.Deserialize<ScoreAggregate>(storage.Serialize(a))!;
            Assert.Equal((a.Min, a.Max), (back.Min, back.Max));
            var more = new ScoreAggregate();
            more.AddScore(0.125);
            back.Merge(more);
            Assert.Equal(Math.Min(a.Min, 0.125), back.Min);
            Assert.Equal(Math.Max(a.Max, 0.125), back.Max);
            Assert.Equal(4, SummaryBuilder.Build(back, null).Scored);
        }
    }

    [Theory]
    [InlineData(0.0, 1.0, true)]      // declared [0, 1], every score inside: bins over [0, 1]
    [InlineData(0.0, 0.5, false)]     // scores above the declared range: bins over [min, max]
    [InlineData(double.NaN, 0.0, false)] // no declared range
    public void The_histogram_has_a_fixed_number_of_bins_over_the_declared_or_the_observed_range(double lower, double upper, bool declaredUsed)
    {
        var scores = Scores("unit", 3_000, seed: 16).Where(s => s is > 0.05f and < 0.95f).ToArray();
        var a = new ScoreAggregate();
        foreach (var s in scores) a.AddScore(s);
        var range = double.IsNaN(lower) ? ((double, double)?)null : (lower, upper);
        var h = SummaryBuilder.Build(a, range).Histogram;
        Assert.Equal(SummaryBuilder.HistogramBins, h.Count);
        Assert.Equal(declaredUsed ? lower : a.Min, h[0].Lower);
        Assert.Equal(declaredUsed ? upper : a.Max, h[^1].Upper);
        Assert.Equal(scores.Length, h.Sum(b => b.Count));
        for (int i = 0; i < h.Count; i++)
        {
            var bin = h[i];
            Assert.Equal(scores.Count(s => s >= bin.Lower && (s < bin.Upper || (i == h.Count - 1 && s <= bin.Upper))), bin.Count);
        }
    }

    [Theory]
    [InlineData(1e6, 1e7)]
    [InlineData(-50, -10)]
    [InlineData(1e-6, 1e-5)]
    public void The_histogram_keeps_its_bin_count_whatever_the_scale_even_when_sketched(double lower, double upper)
    {
        var rng = new Random(17);
        var a = new ScoreAggregate();
        for (int i = 0; i < ScoreAggregate.ExactLimit + 1000; i++) a.AddScore(lower + (upper - lower) * rng.NextDouble());
        Assert.False(a.IsExact);
        var h = SummaryBuilder.Build(a, null).Histogram;
        Assert.Equal(SummaryBuilder.HistogramBins, h.Count);
        Assert.Equal(a.Scored, h.Sum(b => b.Count));
        // Uniform scores: every bin holds about a twentieth, give or take the sketch buckets (1% of the score wide) that
        // a bin edge cuts: here a bin spans at least four buckets.
        Assert.All(h, b => Assert.InRange(b.Count, a.Scored / 20 * 0.6, a.Scored / 20 * 1.4));
    }

    [Fact]
    public void Equal_scores_give_one_bin()
    {
        var a = new ScoreAggregate();
        for (int i = 0; i < 5; i++) a.AddScore(42);
        var s = SummaryBuilder.Build(a, null);
        Assert.Equal([new HistogramBin(42, 42, 5)], s.Histogram);
        Assert.All(s.Percentiles.Values, v => Assert.Equal(42, v));
        Assert.Equal(0, s.Std);
    }

    private static void AssertSameSketch(ScoreSketch expected, ScoreSketch actual)
    {
        Assert.Equal(expected.Positive.OrderBy(b => b.Key), actual.Positive.OrderBy(b => b.Key));
        Assert.Equal(expected.Negative.OrderBy(b => b.Key), actual.Negative.OrderBy(b => b.Key));
        Assert.Equal(expected.Zero, actual.Zero);
    }

    private static void AssertClose(double expected, double actual, double relative, string what) =>
        Assert.True(Math.Abs(actual - expected) <= relative * Math.Abs(expected), $"{what}: {actual} vs numpy {expected}");

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Summaries compare by value, their dictionaries and lists included.</summary>
    private sealed class SummaryComparer : IEqualityComparer<ScoreSummary>
    {
        public static readonly SummaryComparer Instance = new();

        public bool Equals(ScoreSummary? x, ScoreSummary? y) =>
            JsonSerializer.Serialize(x) == JsonSerializer.Serialize(y);

        public int GetHashCode(ScoreSummary obj) => 0;
    }

    public void Dispose() => _dir.Dispose();
}
