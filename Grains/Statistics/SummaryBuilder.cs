namespace DpIqa.Statistics;

/// <summary>Turns mergeable aggregates into the numbers users read.</summary>
internal static class SummaryBuilder
{
    public static readonly int[] PercentileRanks = [1, 5, 25, 50, 75, 95, 99];

    /// <summary>Bins of the coarse histogram, whatever the score scale.</summary>
    public const int HistogramBins = 20;

    /// <summary>
    /// The summary of <paramref name="a"/>. The histogram spans <paramref name="scoreRange"/> (the model's declared
    /// score range) when every score lies inside it, otherwise the observed [min, max].
    /// </summary>
    public static ScoreSummary Build(ScoreAggregate a, (double Lower, double Upper)? scoreRange)
    {
        var summary = new ScoreSummary
        {
            Count = a.Scored + a.Failed,
            Scored = a.Scored,
            Failed = a.Failed,
            FailedByKind = new Dictionary<string, long>(a.FailedByKind),
        };
        if (a.Scored == 0) return summary;
        return summary with
        {
            Mean = a.Mean,
            Std = Math.Sqrt(Math.Max(0, a.SquaredDeviations / a.Scored)),
            Min = a.Min,
            Max = a.Max,
            Percentiles = PercentileRanks.ToDictionary(p => $"p{p}", p => a.Quantile(p / 100.0)),
            PercentilesExact = a.IsExact,
            Histogram = Histogram(a, scoreRange),
        };
    }

    private static List<HistogramBin> Histogram(ScoreAggregate a, (double Lower, double Upper)? scoreRange)
    {
        var (lo, hi) = scoreRange is { } r && r.Lower <= a.Min && a.Max <= r.Upper ? r : (a.Min, a.Max);
        if (hi <= lo) return [new HistogramBin(lo, hi, a.Scored)]; // every score is the same: one bin holds them
        var counts = new long[HistogramBins];
        double width = hi - lo;
        int BinOf(double score) => Math.Clamp((int)Math.Floor((score - lo) / width * HistogramBins), 0, HistogramBins - 1);
        if (a.ExactScores() is { } exact)
        {
            foreach (var s in exact) counts[BinOf(s)]++;
        }
        else
        {
            // A bucket's value is within the sketch's relative accuracy of its scores; near a bin edge some may be counted in the neighbour.
            var sketch = a.Sketch!;
            foreach (var (i, n) in sketch.Negative) counts[BinOf(-ScoreSketch.ValueOf(i))] += n;
            counts[BinOf(0)] += sketch.Zero;
            foreach (var (i, n) in sketch.Positive) counts[BinOf(ScoreSketch.ValueOf(i))] += n;
        }
        // Edges as lo + width * i / bins, so a range like [0, 1] gives 0.15 rather than 0.15000000000000002.
        return Enumerable.Range(0, HistogramBins)
            .Select(i => new HistogramBin(Edge(lo, width, i), i == HistogramBins - 1 ? hi : Edge(lo, width, i + 1), counts[i]))
            .ToList();
    }

    private static double Edge(double lo, double width, int i) => lo + width * i / HistogramBins;
}
