namespace DpIqa.Evaluation;

/// <summary>
/// The 4-parameter logistic that IQA papers fit from model scores to MOS before computing PLCC and RMSE (VQEG's
/// practice, used by the DP-IQA paper's protocol), so a model is not penalised for a monotone but non-linear scale:
/// <c>f(x) = β2 + (β1 − β2) / (1 + exp(−(x − β3) / |β4|))</c>. Fitted by least squares with Levenberg–Marquardt
/// (Marquardt's diagonal scaling), from β1 = max(MOS), β2 = min(MOS), β3 = mean(score), β4 = std(score), the start
/// <c>scipy.optimize.curve_fit</c> is given in the tests.
/// </summary>
internal static class LogisticFit
{
    /// <summary>More points than parameters: with 4 or fewer the curve passes through every point and says nothing.</summary>
    public const int MinimumPoints = 5;

    private const int MaxIterations = 2000;

    public static double Evaluate(ReadOnlySpan<double> p, double x)
    {
        double z = (x - p[2]) / Math.Abs(p[3]);
        return p[1] + (p[0] - p[1]) * Sigmoid(z);
    }

    public static double[] InitialGuess(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double mean = x.Average();
        double std = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / x.Count);
        return [y.Max(), y.Min(), mean, std > 0 ? std : 1];
    }

    /// <summary>The fitted β1..β4; throws when the points are too few.</summary>
    public static double[] Fit(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count < MinimumPoints) throw new ArgumentException($"the logistic fit needs at least {MinimumPoints} images, got {x.Count}");
        var p = InitialGuess(x, y);
        double cost = Cost(p, x, y);
        double lambda = -1;
        var jtj = new double[4, 4];
        var jtr = new double[4];
        var trial = new double[4];
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            Normal(p, x, y, jtj, jtr);
            if (lambda < 0)
            {
                double maxDiagonal = 0;
                for (int j = 0; j < 4; j++) maxDiagonal = Math.Max(maxDiagonal, jtj[j, j]);
                lambda = 1e-3 * (maxDiagonal > 0 ? maxDiagonal : 1);
            }
            bool improved = false;
            // Raise the damping until a step lowers the cost (or the damping makes steps vanishingly small).
            while (lambda < 1e30)
            {
                var step = Solve(jtj, jtr, lambda);
                if (step is null) { lambda *= 10; continue; }
                for (int j = 0; j < 4; j++) trial[j] = p[j] + step[j];
                double trialCost = Cost(trial, x, y);
                if (double.IsFinite(trialCost) && trialCost < cost)
                {
                    double decrease = cost - trialCost;
                    double stepSize = 0, size = 0;
                    for (int j = 0; j < 4; j++) { stepSize += step[j] * step[j]; size += p[j] * p[j]; }
                    Array.Copy(trial, p, 4);
                    cost = trialCost;
                    lambda = Math.Max(lambda / 10, 1e-300);
                    improved = true;
                    // Converged when neither the cost nor the parameters move by more than rounding.
                    if (decrease <= 1e-15 * cost || Math.Sqrt(stepSize) <= 1e-12 * (Math.Sqrt(size) + 1e-12)) return p;
                    break;
                }
                lambda *= 10;
            }
            if (!improved) return p; // no direction lowers the cost: a minimum
        }
        return p;
    }

    private static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    private static double Cost(ReadOnlySpan<double> p, IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        double sum = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double r = y[i] - Evaluate(p, x[i]);
            sum += r * r;
        }
        return sum;
    }

    /// <summary>JᵀJ and Jᵀr of the residuals r = y − f(x), J the derivatives of f by β1..β4.</summary>
    private static void Normal(double[] p, IReadOnlyList<double> x, IReadOnlyList<double> y, double[,] jtj, double[] jtr)
    {
        Array.Clear(jtj);
        Array.Clear(jtr);
        double scale = Math.Abs(p[3]), sign = p[3] >= 0 ? 1 : -1;
        Span<double> d = stackalloc double[4];
        for (int i = 0; i < x.Count; i++)
        {
            double z = (x[i] - p[2]) / scale;
            double g = Sigmoid(z);
            double slope = (p[0] - p[1]) * g * (1 - g);
            d[0] = g;
            d[1] = 1 - g;
            d[2] = -slope / scale;
            d[3] = -sign * slope * z / scale;
            double r = y[i] - (p[1] + (p[0] - p[1]) * g);
            for (int a = 0; a < 4; a++)
            {
                jtr[a] += d[a] * r;
                for (int b = 0; b < 4; b++) jtj[a, b] += d[a] * d[b];
            }
        }
    }

    /// <summary>Solves (JᵀJ + λ·diag(JᵀJ)) δ = Jᵀr by Gaussian elimination; null when singular.</summary>
    private static double[]? Solve(double[,] jtj, double[] jtr, double lambda)
    {
        var a = new double[4, 5];
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++) a[i, j] = jtj[i, j];
            a[i, i] += lambda * Math.Max(jtj[i, i], 1e-12);
            a[i, 4] = jtr[i];
        }
        for (int col = 0; col < 4; col++)
        {
            int pivot = col;
            for (int row = col + 1; row < 4; row++)
                if (Math.Abs(a[row, col]) > Math.Abs(a[pivot, col])) pivot = row;
            if (Math.Abs(a[pivot, col]) < 1e-300 || !double.IsFinite(a[pivot, col])) return null;
            for (int j = 0; j < 5; j++) (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            for (int row = col + 1; row < 4; row++)
            {
                double f = a[row, col] / a[col, col];
                for (int j = col; j < 5; j++) a[row, j] -= f * a[col, j];
            }
        }
        var step = new double[4];
        for (int i = 3; i >= 0; i--)
        {
            double sum = a[i, 4];
            for (int j = i + 1; j < 4; j++) sum -= a[i, j] * step[j];
            step[i] = sum / a[i, i];
        }
        return step.All(double.IsFinite) ? step : null;
    }
}
