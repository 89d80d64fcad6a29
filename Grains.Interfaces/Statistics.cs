namespace DpIqa;

/// <summary>
/// Mergeable quality statistics: counts, sums, min/max and a fine fixed-range histogram, so
/// percentiles can be estimated without keeping every score. Merging two is exact.
/// </summary>
[GenerateSerializer, Alias("dpiqa.ScoreAggregate")]
public sealed class ScoreAggregate
{
    /// <summary>Lowest score the fine histogram resolves; lower scores land in bin 0.</summary>
    public const double HistogramMin = -1.0;
    /// <summary>Highest score the fine histogram resolves; higher scores land in the last bin.</summary>
    public const double HistogramMax = 2.0;
    /// <summary>Bins of the fine histogram (width 0.001).</summary>
    public const int HistogramBins = 3000;

    /// <summary>Images with a score.</summary>
    [Id(0)] public long Scored { get; set; }
    /// <summary>Images with an error record, by error kind name.</summary>
    [Id(1)] public Dictionary<string, long> FailedByKind { get; set; } = new();
    /// <summary>Sum of scores.</summary>
    [Id(2)] public double Sum { get; set; }
    /// <summary>Sum of squared scores.</summary>
    [Id(3)] public double SumOfSquares { get; set; }
    /// <summary>Lowest score.</summary>
    [Id(4)] public double Min { get; set; } = double.PositiveInfinity;
    /// <summary>Highest score.</summary>
    [Id(5)] public double Max { get; set; } = double.NegativeInfinity;
    [NonSerialized] private long[]? _dense;
    [NonSerialized] private int[]? _sparseBins;
    [NonSerialized] private long[]? _sparseCounts;

    /// <summary>Fine histogram counts (dense); null until the first score.</summary>
    public long[]? Histogram
    {
        get
        {
            if (_dense is null && _sparseBins is not null && _sparseCounts is not null)
            {
                _dense = new long[HistogramBins];
                for (int i = 0; i < _sparseBins.Length; i++) _dense[_sparseBins[i]] += _sparseCounts[i];
                _sparseBins = null;
                _sparseCounts = null;
            }
            return _dense;
        }
    }

    [NonSerialized] private (int[] Bins, long[] Counts)? _wire;

    private long[] Writable()
    {
        _wire = null;
        return Histogram ?? (_dense = new long[HistogramBins]);
    }

    /// <summary>The sparse form of the dense histogram, computed once per change.</summary>
    private (int[] Bins, long[] Counts) Wire()
    {
        if (_wire is { } cached) return cached;
        var dense = _dense!;
        int n = 0;
        foreach (var c in dense) if (c != 0) n++;
        var bins = new int[n];
        var counts = new long[n];
        for (int i = 0, j = 0; i < dense.Length; i++)
            if (dense[i] != 0) { bins[j] = i; counts[j++] = dense[i]; }
        _wire = (bins, counts);
        return (bins, counts);
    }

    // On the wire and in storage the histogram is sparse (non-empty bins only): a shard's aggregate per folder
    // has a few dozen non-empty bins out of 3,000, so completions stay small and merging costs what it counts.

    /// <summary>Non-empty fine-histogram bins (serialized form of <see cref="Histogram"/>).</summary>
    [Id(6)] public int[]? HistogramBinsUsed
    {
        get => _dense is null ? _sparseBins : Wire().Bins;
        set { _sparseBins = value; _dense = null; }
    }

    /// <summary>Counts of <see cref="HistogramBinsUsed"/>.</summary>
    [Id(7)] public long[]? HistogramCounts
    {
        get => _dense is null ? _sparseCounts : Wire().Counts;
        set { _sparseCounts = value; _dense = null; }
    }

    /// <summary>Images with an error record.</summary>
    public long Failed => FailedByKind.Values.Sum();

    /// <summary>Adds one score.</summary>
    public void AddScore(double score)
    {
        Scored++;
        Sum += score;
        SumOfSquares += score * score;
        if (score < Min) Min = score;
        if (score > Max) Max = score;
        var dense = Writable();
        dense[BinOf(score)]++;
    }

    /// <summary>Adds one error record.</summary>
    public void AddFailure(string kind) => FailedByKind[kind] = FailedByKind.GetValueOrDefault(kind) + 1;

    /// <summary>Adds everything counted in <paramref name="other"/>.</summary>
    public void Merge(ScoreAggregate other)
    {
        Scored += other.Scored;
        Sum += other.Sum;
        SumOfSquares += other.SumOfSquares;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        foreach (var (kind, n) in other.FailedByKind) FailedByKind[kind] = FailedByKind.GetValueOrDefault(kind) + n;
        if (other._dense is { } h)
        {
            var mine = Writable();
            for (var i = 0; i < h.Length; i++) mine[i] += h[i];
        }
        else if (other._sparseBins is { } bins && other._sparseCounts is { } counts)
        {
            var mine = Writable();
            for (var i = 0; i < bins.Length; i++) mine[bins[i]] += counts[i];
        }
    }

    /// <summary>The fine-histogram bin a score falls in.</summary>
    public static int BinOf(double score)
    {
        if (double.IsNaN(score)) return 0;
        var bin = (int)Math.Floor((score - HistogramMin) / (HistogramMax - HistogramMin) * HistogramBins);
        return Math.Clamp(bin, 0, HistogramBins - 1);
    }
}

/// <summary>Per-shard outcome reported by a worker when it completes a lease.</summary>
[GenerateSerializer, Alias("dpiqa.ShardOutcome")]
public sealed record ShardOutcome
{
    /// <summary>Statistics over the whole shard.</summary>
    [Id(0)] public required ScoreAggregate All { get; init; }
    /// <summary>Statistics per top-level folder of the image paths ("." for images at the top).</summary>
    [Id(1)] public required Dictionary<string, ScoreAggregate> ByFolder { get; init; }
    /// <summary>Where the shard's results were written.</summary>
    [Id(2)] public required string ResultFile { get; init; }
    /// <summary>Model version that produced the scores.</summary>
    [Id(3)] public string? ModelVersion { get; init; }
}
