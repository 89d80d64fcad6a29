namespace DpIqa;

/// <summary>
/// A mergeable relative-error quantile sketch (DDSketch-style): every nonzero score is counted in a logarithmic
/// bucket <c>(γ^(i-1), γ^i]</c> of its magnitude, one bucket set for positive and one for negative scores, plus a
/// count of zeros. A bucket's value is within <see cref="RelativeAccuracy"/> of every score counted in it, whatever
/// the scale, so the k-th smallest score is known to that relative accuracy. The buckets are a function of the
/// scores alone, so merging is exact, associative and order-independent.
/// </summary>
[GenerateSerializer, Alias("dpiqa.ScoreSketch")]
public sealed class ScoreSketch
{
    /// <summary>Relative accuracy of a bucket's value (0.5%).</summary>
    public const double RelativeAccuracy = 0.005;

    private static readonly double Gamma = (1 + RelativeAccuracy) / (1 - RelativeAccuracy);
    private static readonly double LogGamma = Math.Log(Gamma);

    // Scores are float32: magnitudes from 1.4e-45 to 3.4e38 give bucket indices within about ±10,500.

    /// <summary>Counts of positive scores by bucket index.</summary>
    [Id(0)] public Dictionary<int, long> Positive { get; set; } = new();
    /// <summary>Counts of negative scores by bucket index of their magnitude.</summary>
    [Id(1)] public Dictionary<int, long> Negative { get; set; } = new();
    /// <summary>Scores equal to zero.</summary>
    [Id(2)] public long Zero { get; set; }

    /// <summary>Scores counted.</summary>
    public long Count => Zero + Positive.Values.Sum() + Negative.Values.Sum();

    /// <summary>Counts one finite score.</summary>
    public void Add(float score)
    {
        if (score > 0) Increment(Positive, IndexOf(score), 1);
        else if (score < 0) Increment(Negative, IndexOf(-score), 1);
        else Zero++;
    }

    /// <summary>Adds every count of <paramref name="other"/>.</summary>
    public void Merge(ScoreSketch other)
    {
        foreach (var (i, n) in other.Positive.ToList()) Increment(Positive, i, n);
        foreach (var (i, n) in other.Negative.ToList()) Increment(Negative, i, n);
        Zero += other.Zero;
    }

    /// <summary>
    /// The value of the bucket holding the <paramref name="rank"/>-th smallest score (0-based): within
    /// <see cref="RelativeAccuracy"/> of that score (exactly 0 for a zero).
    /// </summary>
    public double ValueAt(long rank)
    {
        long seen = 0;
        foreach (var i in Negative.Keys.OrderDescending())
        {
            seen += Negative[i];
            if (rank < seen) return -ValueOf(i);
        }
        seen += Zero;
        if (rank < seen) return 0;
        foreach (var i in Positive.Keys.Order())
        {
            seen += Positive[i];
            if (rank < seen) return ValueOf(i);
        }
        throw new ArgumentOutOfRangeException(nameof(rank), rank, $"the sketch holds {seen} scores");
    }

    private static int IndexOf(double magnitude) => (int)Math.Ceiling(Math.Log(magnitude) / LogGamma);

    /// <summary>The value of bucket <paramref name="index"/>: the point whose relative distance to both of its ends is <see cref="RelativeAccuracy"/>.</summary>
    public static double ValueOf(int index) => 2 * Math.Pow(Gamma, index) / (Gamma + 1);

    private static void Increment(Dictionary<int, long> buckets, int index, long n) => buckets[index] = buckets.GetValueOrDefault(index) + n;
}
