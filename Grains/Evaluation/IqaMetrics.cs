namespace DpIqa.Evaluation;

/// <summary>
/// The correlation figures IQA papers report between a model's scores and human mean opinion scores (MOS), each
/// defined as SciPy computes it: SRCC = <c>scipy.stats.spearmanr</c> (Pearson of average ranks), KRCC =
/// <c>kendalltau</c> (tau-b, which corrects for ties), PLCC = <c>pearsonr</c>. None is defined when either side is
/// constant; that is refused with a message rather than returned as NaN.
/// </summary>
internal static class IqaMetrics
{
    /// <summary>Pearson's linear correlation coefficient.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPairs(x, y);
        double mx = Mean(x), my = Mean(y);
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) throw new ArgumentException("a correlation is undefined when one side is constant");
        // Rounding can push |r| a hair past 1 (SciPy clips the same way).
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Spearman's rank correlation: Pearson of the ranks, tied values sharing their average rank.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPairs(x, y);
        return Pearson(AverageRanks(x), AverageRanks(y));
    }

    /// <summary>
    /// Kendall's tau-b in O(n log n) (Knight's algorithm: sort by x then y, count ties, then count the discordant pairs
    /// as the swaps of a merge sort on y): (C − D) / sqrt((n0 − n1)(n0 − n2)), n1 and n2 the pairs tied in x and in y.
    /// </summary>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        CheckPairs(x, y);
        int n = x.Count;
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => x[a] != x[b] ? x[a].CompareTo(x[b]) : y[a].CompareTo(y[b]));

        long pairs = (long)n * (n - 1) / 2;
        long tiedX = TiedPairs(order, i => x[i]);
        long tiedXY = TiedPairs(order, i => (x[i], y[i]));
        var ys = order.Select(i => y[i]).ToArray();
        long swaps = MergeSortSwaps(ys, new double[n], 0, n);
        long tiedY = TiedPairs(Enumerable.Range(0, n).ToArray(), i => ys[i]); // ys is sorted now
        if (pairs == tiedX || pairs == tiedY) throw new ArgumentException("a correlation is undefined when one side is constant");
        double concordantMinusDiscordant = pairs - tiedX - tiedY + tiedXY - 2.0 * swaps;
        return Math.Clamp(concordantMinusDiscordant / Math.Sqrt(pairs - tiedX) / Math.Sqrt(pairs - tiedY), -1, 1);
    }

    /// <summary>Root mean square of <c>y − fitted</c>.</summary>
    public static double Rmse(IReadOnlyList<double> y, IReadOnlyList<double> fitted)
    {
        CheckPairs(y, fitted);
        double sum = 0;
        for (int i = 0; i < y.Count; i++) sum += (y[i] - fitted[i]) * (y[i] - fitted[i]);
        return Math.Sqrt(sum / y.Count);
    }

    /// <summary>Ranks from 1, tied values sharing the average of their ranks (<c>scipy.stats.rankdata</c>'s default).</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        int n = values.Count;
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => values[a].CompareTo(values[b]));
        var ranks = new double[n];
        for (int start = 0; start < n;)
        {
            int end = start + 1;
            while (end < n && values[order[end]] == values[order[start]]) end++;
            double rank = (start + 1 + end) / 2.0; // the mean of ranks start+1 .. end
            for (int k = start; k < end; k++) ranks[order[k]] = rank;
            start = end;
        }
        return ranks;
    }

    private static double Mean(IReadOnlyList<double> v)
    {
        double sum = 0;
        foreach (var x in v) sum += x;
        return sum / v.Count;
    }

    private static void CheckPairs(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} scores but {y.Count} labels");
        if (x.Count < 2) throw new ArgumentException($"{x.Count} matched image(s): a correlation needs at least 2");
    }

    /// <summary>Pairs of neighbours in <paramref name="sorted"/> order with equal keys (runs of k give k(k−1)/2).</summary>
    private static long TiedPairs<T>(int[] sorted, Func<int, T> key)
    {
        long tied = 0, run = 1;
        for (int i = 1; i <= sorted.Length; i++)
        {
            if (i < sorted.Length && EqualityComparer<T>.Default.Equals(key(sorted[i]), key(sorted[i - 1]))) { run++; continue; }
            tied += run * (run - 1) / 2;
            run = 1;
        }
        return tied;
    }

    /// <summary>Sorts <paramref name="v"/>[lo, hi) and returns the number of strictly inverted pairs (equal values are not swaps).</summary>
    private static long MergeSortSwaps(double[] v, double[] buffer, int lo, int hi)
    {
        if (hi - lo < 2) return 0;
        int mid = (lo + hi) / 2;
        long swaps = MergeSortSwaps(v, buffer, lo, mid) + MergeSortSwaps(v, buffer, mid, hi);
        int i = lo, j = mid, k = lo;
        while (i < mid && j < hi)
        {
            if (v[j] < v[i]) { swaps += mid - i; buffer[k++] = v[j++]; }
            else buffer[k++] = v[i++];
        }
        while (i < mid) buffer[k++] = v[i++];
        while (j < hi) buffer[k++] = v[j++];
        Array.Copy(buffer, lo, v, lo, hi - lo);
        return swaps;
    }
}
