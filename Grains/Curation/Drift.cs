namespace DpIqa.Curation;

/// <summary>
/// A run compared with the previous one: mean and percentile changes, share rejected, and a two-sample
/// Kolmogorov–Smirnov test of the scores of newly scored images against those of the images reused from the cache.
/// Nothing here assumes a score range: the KS statistic is scale-free, the changes are in the model's own units.
/// </summary>
internal static class Drift
{
    /// <summary>
    /// The two-sided two-sample KS statistic D = sup |F_a(x) - F_b(x)| and its asymptotic p-value
    /// Q_KS(sqrt(n·m/(n+m))·D), the Kolmogorov limiting distribution (scipy.stats.kstwobign.sf).
    /// </summary>
    public static (double D, double PValue) KolmogorovSmirnov(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count == 0 || b.Count == 0) throw new ArgumentException("both samples need at least one value");
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        int i = 0, j = 0;
        double d = 0;
        while (i < x.Length && j < y.Length)
        {
            // Step past every value equal to the smaller current one in both samples (ties move both CDFs at once).
            double v = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] == v) i++;
            while (j < y.Length && y[j] == v) j++;
            d = Math.Max(d, Math.Abs((double)i / x.Length - (double)j / y.Length));
        }
        double en = (double)x.Length * y.Length / (x.Length + y.Length);
        return (d, KolmogorovSurvival(Math.Sqrt(en) * d));
    }

    /// <summary>P(K > t) for the Kolmogorov distribution, by the series that converges fast on each side of t = 1.</summary>
    internal static double KolmogorovSurvival(double t)
    {
        if (t <= 0) return 1;
        if (t < 1)
        {
            // CDF = sqrt(2π)/t Σ exp(-(2k-1)² π² / (8 t²))
            double sum = 0;
            for (int k = 1; k <= 20; k++) sum += Math.Exp(-Math.Pow(2 * k - 1, 2) * Math.PI * Math.PI / (8 * t * t));
            return Math.Clamp(1 - Math.Sqrt(2 * Math.PI) / t * sum, 0, 1);
        }
        double survival = 0;
        for (int k = 1; k <= 100; k++)
        {
            double term = Math.Exp(-2.0 * k * k * t * t);
            survival += (k % 2 == 1 ? 2 : -2) * term;
            if (term < 1e-17) break;
        }
        return Math.Clamp(survival, 0, 1);
    }

    public static DriftReport Compare(double threshold, string? previousJobId, JobSummary? previous, ScoreSummary current, long? rejected,
        IReadOnlyList<double> fresh, IReadOnlyList<double> existing)
    {
        var reasons = new List<string>();
        double? d = null, p = null;
        if (fresh.Count > 0 && existing.Count > 0)
        {
            (var statistic, var pValue) = KolmogorovSmirnov(fresh, existing);
            d = statistic;
            p = pValue;
            if (statistic >= threshold) reasons.Add($"new images' scores differ from existing ones' (KS D {statistic:F3} >= {threshold:G})");
        }
        double? share = rejected is { } r && current.Count > 0 ? (double)r / current.Count : null;
        double? previousShare = previous?.Curation is { } c && previous.All.Count > 0 ? (double)c.Reject / previous.All.Count : null;
        if (share is { } s && previousShare is { } ps && Math.Abs(s - ps) >= threshold)
            reasons.Add($"share rejected moved from {ps:P1} to {s:P1}");
        var changes = new Dictionary<string, double>();
        if (previous is not null)
            foreach (var (key, value) in current.Percentiles)
                if (previous.All.Percentiles.TryGetValue(key, out var before)) changes[key] = value - before;
        return new DriftReport
        {
            PreviousJobId = previousJobId,
            MeanChange = current.Mean is { } m && previous?.All.Mean is { } pm ? m - pm : null,
            PercentileChange = changes,
            RejectedShare = share,
            PreviousRejectedShare = previousShare,
            NewImages = fresh.Count,
            ExistingImages = existing.Count,
            KsStatistic = d,
            KsPValue = p,
            Threshold = threshold,
            Drifted = reasons.Count > 0,
            Reason = reasons.Count > 0 ? string.Join("; ", reasons) : null,
        };
    }
}
