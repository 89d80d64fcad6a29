using System.Runtime.InteropServices;

namespace DpIqa;

/// <summary>
/// Mergeable quality statistics: counts, sum, spread, min/max and the scores themselves for percentiles. Up to
/// <see cref="ExactLimit"/> scores are kept exactly (as float32, the models' output type), so percentiles equal
/// NumPy's; beyond that they are counted in a <see cref="ScoreSketch"/> whose relative accuracy does not depend on
/// the score scale. Which form an aggregate has depends only on how many scores it holds, so merging partial
/// aggregates in any order gives the same percentiles.
/// </summary>
[GenerateSerializer, Alias("dpiqa.ScoreAggregate")]
public sealed class ScoreAggregate
{
    /// <summary>Most scores kept exactly; one more and the aggregate counts them in a sketch.</summary>
    public const int ExactLimit = 100_000;

    /// <summary>Images with a score.</summary>
    [Id(0)] public long Scored { get; set; }
    /// <summary>Images with an error record, by error kind name.</summary>
    [Id(1)] public Dictionary<string, long> FailedByKind { get; set; } = new();
    /// <summary>Sum of scores.</summary>
    [Id(2)] public double Sum { get; set; }
    // Min and max mean something only once Scored > 0, and start at 0, not at ±infinity: grain storage's JSON leaves
    // out values equal to their type's default, so a score of exactly 0 stored as min came back as the initializer's
    // +infinity and broke every quantile of that job after a failover.
    /// <summary>Lowest score (0 while nothing is scored).</summary>
    [Id(4)] public double Min { get; set; }
    /// <summary>Highest score (0 while nothing is scored).</summary>
    [Id(5)] public double Max { get; set; }
    /// <summary>
    /// Sum of squared differences from the mean. Kept instead of a sum of squares, which loses the spread of scores
    /// far from zero (e.g. around 1e6) to cancellation.
    /// </summary>
    [Id(8)] public double SquaredDeviations { get; set; }

    [NonSerialized] private List<float>? _exact = [];
    [NonSerialized] private bool _sorted = true;

    // A method, not a property: grain storage serializes job state as JSON from public properties, and the scores
    // are already there once, as ExactScoreBytes.
    /// <summary>A copy of every score, while the aggregate is exact (<see cref="IsExact"/>); otherwise null.</summary>
    public float[]? ExactScores() => _exact?.ToArray();

    /// <summary>
    /// <see cref="ExactScores"/> as float32 bytes in machine order (little-endian on x64 and Arm64), the form they travel
    /// and are stored in: 4 bytes a score, where the serializer spends 5 on each element of a float array.
    /// </summary>
    [Id(9)]
    public byte[]? ExactScoreBytes
    {
        get => _exact is null ? null : MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(_exact)).ToArray();
        set { _exact = value is null ? null : [.. MemoryMarshal.Cast<byte, float>(value)]; _sorted = false; }
    }

    [NonSerialized] private ScoreSketch? _sketch;

    /// <summary>The scores' sketch once <see cref="Scored"/> exceeds <see cref="ExactLimit"/>; otherwise null.</summary>
    [Id(10)]
    public ScoreSketch? Sketch
    {
        get => _sketch;
        set { _sketch = value; if (value is not null) _exact = null; }
    }

    /// <summary>Images with an error record.</summary>
    public long Failed => FailedByKind.Values.Sum();

    /// <summary>True while percentiles are exact (no more than <see cref="ExactLimit"/> scores).</summary>
    public bool IsExact => Sketch is null;

    /// <summary>Mean score (NaN when nothing was scored).</summary>
    public double Mean => Sum / Scored;

    /// <summary>Adds one score. Scores are float32 model outputs; a double is narrowed to float32 like them.</summary>
    public void AddScore(double score)
    {
        float value = (float)score;
        if (!float.IsFinite(value)) throw new ArgumentException($"score {score} is not a finite number", nameof(score));
        // Welford's update keeps the spread exact at any offset.
        double before = Scored == 0 ? 0 : Mean;
        if (Scored == 0) Min = Max = value;
        Scored++;
        Sum += value;
        SquaredDeviations += (value - before) * (value - Mean);
        if (value < Min) Min = value;
        if (value > Max) Max = value;
        if (Sketch is { } sketch) sketch.Add(value);
        else
        {
            (_exact ??= []).Add(value);
            _sorted = false;
            if (Scored > ExactLimit) ConvertToSketch();
        }
    }

    /// <summary>Adds one error record.</summary>
    public void AddFailure(string kind) => FailedByKind[kind] = FailedByKind.GetValueOrDefault(kind) + 1;

    /// <summary>Adds everything counted in <paramref name="other"/>; costs what <paramref name="other"/> holds.</summary>
    public void Merge(ScoreAggregate other)
    {
        foreach (var (kind, n) in other.FailedByKind.ToList()) FailedByKind[kind] = FailedByKind.GetValueOrDefault(kind) + n;
        if (other.Scored == 0) return;
        var otherExact = other._exact is { } e ? e.ToArray() : null;
        if (Scored > 0)
        {
            // Chan et al.'s pairwise update of the squared deviations.
            double delta = other.Mean - Mean;
            SquaredDeviations += other.SquaredDeviations + delta * delta * ((double)Scored * other.Scored / (Scored + other.Scored));
        }
        else SquaredDeviations = other.SquaredDeviations;
        (Min, Max) = Scored == 0 ? (other.Min, other.Max) : (Math.Min(Min, other.Min), Math.Max(Max, other.Max));
        Scored += other.Scored;
        Sum += other.Sum;
        if (Sketch is null && otherExact is not null && Scored <= ExactLimit)
        {
            (_exact ??= []).AddRange(otherExact);
            _sorted = false;
            return;
        }
        ConvertToSketch();
        if (otherExact is not null) foreach (var s in otherExact) Sketch!.Add(s);
        else if (other.Sketch is { } sketch) Sketch!.Merge(sketch);
    }

    /// <summary>
    /// The q-quantile (0 ≤ q ≤ 1) as NumPy's default <c>np.quantile</c> computes it: linear interpolation between
    /// the order statistics around rank q·(n-1). Exact while <see cref="IsExact"/>; afterwards each order statistic
    /// comes from the sketch, so the result is within <see cref="ScoreSketch.RelativeAccuracy"/> of the larger
    /// magnitude of the two (of the true quantile itself when they have the same sign).
    /// </summary>
    public double Quantile(double q)
    {
        if (Scored == 0) throw new InvalidOperationException("no scores: a quantile needs at least one");
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "a quantile lies in [0, 1]");
        double index = (Scored - 1) * q;
        long below = (long)Math.Floor(index);
        long above = Math.Min(below + 1, Scored - 1);
        double t = index - below;
        double value = Lerp(OrderStatistic(below), OrderStatistic(above), t);
        return Math.Clamp(value, Min, Max); // min and max are exact
    }

    /// <summary>The k-th smallest score (0-based): exact while <see cref="IsExact"/>, otherwise the sketch's estimate.</summary>
    private double OrderStatistic(long k)
    {
        if (Sketch is { } sketch) return sketch.ValueAt(k);
        if (!_sorted)
        {
            _exact!.Sort();
            _sorted = true;
        }
        return _exact![(int)k];
    }

    /// <summary>NumPy's <c>_lerp</c>, which interpolates from the nearer end for exactness.</summary>
    private static double Lerp(double a, double b, double t)
    {
        double diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }

    /// <summary>
    /// Counts the scores in a sketch from now on, whatever their number (the job does this for its folders once the
    /// whole job is past <see cref="ExactLimit"/>, to keep its state bounded). The sketch depends only on the scores.
    /// </summary>
    public void ConvertToSketch()
    {
        if (Sketch is not null) return;
        var sketch = new ScoreSketch();
        foreach (var s in _exact ?? []) sketch.Add(s);
        Sketch = sketch;
        _exact = null;
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
    /// <summary>Of the scores, how many were reused from the score cache.</summary>
    [Id(4)] public long Reused { get; init; }
}
