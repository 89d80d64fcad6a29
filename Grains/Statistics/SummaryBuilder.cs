namespace DpIqa.Statistics;

/// <summary>Turns mergeable aggregates into the numbers users read.</summary>
internal static class SummaryBuilder
{
    public static readonly int[] PercentileRanks = [1, 5, 25, 50, 75, 95, 99];
    public const double CoarseBinWidth = 0.05;

    public static ScoreSummary Build(ScoreAggregate a)
    {
        var summary = new ScoreSummary
        {
            Count = a.Scored + a.Failed,
            Scored = a.Scored,
            Failed = a.Failed,
            FailedByKind = new Dictionary<string, long>(a.FailedByKind),
        };
        if (a.Scored == 0 || a.Histogram is null) return summary;
        double mean = a.Sum / a.Scored;
        double variance = Math.Max(0, a.SumOfSquares / a.Scored - mean * mean);
        return summary with
        {
            Mean = mean,
            Std = Math.Sqrt(variance),
            Min = a.Min,
            Max = a.Max,
            Percentiles = PercentileRanks.ToDictionary(p => $"p{p}", p => Math.Round(Percentile(a, p / 100.0), 4)),
            Histogram = Coarse(a),
        };
    }

    /// <summary>Linear interpolation inside the fine bin holding the rank, clamped to [min, max].</summary>
    public static double Percentile(ScoreAggregate a, double q)
    {
        var h = a.Histogram!;
        double rank = q * (a.Scored - 1);
        long seen = 0;
        double width = (ScoreAggregate.HistogramMax - ScoreAggregate.HistogramMin) / ScoreAggregate.HistogramBins;
        for (int i = 0; i < h.Length; i++)
        {
            if (h[i] == 0) continue;
            if (seen + h[i] > rank)
            {
                double inside = (rank - seen + 0.5) / h[i];
                double value = ScoreAggregate.HistogramMin + (i + inside) * width;
                return Math.Clamp(value, a.Min, a.Max);
            }
            seen += h[i];
        }
        return a.Max;
    }

    private static List<HistogramBin> Coarse(ScoreAggregate a)
    {
        var h = a.Histogram!;
        double fine = (ScoreAggregate.HistogramMax - ScoreAggregate.HistogramMin) / ScoreAggregate.HistogramBins;
        double lo = Math.Floor(a.Min / CoarseBinWidth) * CoarseBinWidth;
        double hi = Math.Max(lo + CoarseBinWidth, Math.Ceiling(a.Max / CoarseBinWidth + 1e-9) * CoarseBinWidth);
        int bins = (int)Math.Round((hi - lo) / CoarseBinWidth);
        var counts = new long[bins];
        for (int i = 0; i < h.Length; i++)
        {
            if (h[i] == 0) continue;
            double center = ScoreAggregate.HistogramMin + (i + 0.5) * fine;
            counts[Math.Clamp((int)Math.Floor((center - lo) / CoarseBinWidth), 0, bins - 1)] += h[i];
        }
        return Enumerable.Range(0, bins)
            .Select(i => new HistogramBin(Math.Round(lo + i * CoarseBinWidth, 4), Math.Round(lo + (i + 1) * CoarseBinWidth, 4), counts[i]))
            .ToList();
    }
}
