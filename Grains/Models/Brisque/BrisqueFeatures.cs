using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpIqa.Models.Brisque;

/// <summary>
/// BRISQUE's 36 features (Mittal, Moorthy, Bovik, IEEE TIP 2012) computed as OpenCV's <c>quality</c> module computes
/// them (qualitybrisque.cpp), so the scores equal OpenCV's: the gray image as <c>cvtColor(BGR2GRAY)</c> gives it
/// (8-bit fixed point), scaled to [0,1] in float32; at two scales (the image, then a bicubic half-size resize as
/// <c>cv::resize(INTER_CUBIC)</c> does it): MSCN coefficients with a 7x7 Gaussian window, sigma 7/6, replicated
/// border; an AGGD fit (gamma on OpenCV's grid 0.2, 0.201, ... below 10) of the MSCN image and of its products with
/// the neighbour to the right, below, below-right and above-right.
/// Arithmetic follows OpenCV's: float32 images, float32 kernels applied with fused multiply-adds in OpenCV's order,
/// double sums in the fits. What remains different is said in docs/brisque.md.
/// </summary>
internal static class BrisqueFeatures
{
    public const int Count = 36;

    /// <summary>OpenCV's <c>cvtColor(BGR2GRAY)</c> on 8-bit pixels: Y = (1868 B + 9617 G + 4899 R + 8192) >> 14.</summary>
    public static void Gray(ReadOnlySpan<byte> rgba, int width, int height, int stride, Span<byte> gray)
    {
        for (int y = 0; y < height; y++)
        {
            var row = rgba.Slice(y * stride, width * 4);
            var dst = gray.Slice(y * width, width);
            for (int x = 0, i = 0; x < width; x++, i += 4)
                dst[x] = (byte)((row[i] * 4899 + row[i + 1] * 9617 + row[i + 2] * 1868 + 8192) >> 14);
        }
    }

    // convertTo(CV_32F, 1/255.): OpenCV multiplies by the scale as a float32.
    private static readonly float[] ToUnit = Enumerable.Range(0, 256).Select(v => v * (float)(1.0 / 255)).ToArray();

    /// <summary>The features of a gray image (<paramref name="width"/> x <paramref name="height"/> bytes, at least 2x2).</summary>
    public static float[] Compute(ReadOnlySpan<byte> gray, int width, int height)
    {
        if (width < 2 || height < 2) throw new ArgumentException($"BRISQUE needs an image of at least 2x2 pixels (this one is {width}x{height})");
        var features = new float[Count];
        int n = width * height;
        var full = ArrayPool<float>.Shared.Rent(n);
        try
        {
            for (int i = 0; i < n; i++) full[i] = ToUnit[gray[i]];
            Scale(full, width, height, features.AsSpan(0, 18));
            int w2 = width / 2, h2 = height / 2;
            var half = ArrayPool<float>.Shared.Rent(w2 * h2);
            try
            {
                CubicResize.Resize(full.AsSpan(0, n), width, height, half.AsSpan(0, w2 * h2), w2, h2);
                Scale(half, w2, h2, features.AsSpan(18, 18));
            }
            finally
            {
                ArrayPool<float>.Shared.Return(half);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(full);
        }
        return features;
    }

    /// <summary>The 18 features of one scale: the MSCN fit (gamma, mean variance) and four pair-product fits.</summary>
    private static void Scale(float[] image, int width, int height, Span<float> features)
    {
        int n = width * height;
        var mscn = ArrayPool<float>.Shared.Rent(n);
        try
        {
            Mscn.Compute(image.AsSpan(0, n), width, height, mscn.AsSpan(0, n));
            var fits = Aggd.FitAll(mscn.AsSpan(0, n), width, height);
            var (l, r, g) = fits[0];
            features[0] = (float)g;
            features[1] = (float)(l * l + r * r) / 2;
            for (int s = 1; s <= 4; s++)
            {
                (l, r, g) = fits[s];
                double constant = Math.Sqrt(Gamma.Of(1 / g)) / Math.Sqrt(Gamma.Of(3 / g));
                double mean = (r - l) * (Gamma.Of(2 / g) / Gamma.Of(1 / g)) * constant;
                int o = 2 + 4 * (s - 1);
                features[o] = (float)g;
                features[o + 1] = (float)mean;
                features[o + 2] = (float)Math.Pow(l, 2);
                features[o + 3] = (float)Math.Pow(r, 2);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(mscn);
        }
    }
}

/// <summary>
/// Mean-subtracted contrast-normalised coefficients: (I - mu) / (sqrt(G*I^2 - mu^2) + 1/255), mu = G*I, with G OpenCV's
/// 7x7 Gaussian (sigma 7/6, float32 taps) applied separably and replicated at the border. The row pass accumulates
/// the seven taps left to right with fused multiply-adds (OpenCV's RowVec_32f on an FMA machine); the column pass
/// folds the symmetric taps (centre first, then (above + below) * tap), as SymmColumnVec_32f does.
/// A negative variance (float rounding on flat areas) gives NaN as in OpenCV, and the fits skip NaN as OpenCV's do.
/// </summary>
internal static class Mscn
{
    private const int Radius = 3, Taps = 2 * Radius + 1;
    private static readonly float[] Kernel = GaussianKernel(Taps, 7.0 / 6.0);
    private static readonly float Epsilon = (float)(1.0 / 255);

    /// <summary>cv::getGaussianKernel(n, sigma, CV_32F): float taps, normalised by their double sum.</summary>
    internal static float[] GaussianKernel(int n, double sigma)
    {
        var k = new float[n];
        double scale = -0.5 / (sigma * sigma), sum = 0;
        for (int i = 0; i < n; i++)
        {
            double x = i - (n - 1) * 0.5;
            k[i] = (float)Math.Exp(scale * x * x);
            sum += k[i];
        }
        sum = 1 / sum;
        for (int i = 0; i < n; i++) k[i] = (float)(k[i] * sum);
        return k;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load(ReadOnlySpan<float> span, int at) => Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(span), (nuint)at);

    public static void Compute(ReadOnlySpan<float> image, int width, int height, Span<float> mscn)
    {
        // Row-filtered rows of I and I^2, kept in a ring of Taps rows (row y lives at y mod Taps).
        var ringMu = ArrayPool<float>.Shared.Rent(Taps * width);
        var ringSq = ArrayPool<float>.Shared.Rent(Taps * width);
        var padded = ArrayPool<float>.Shared.Rent(width + 2 * Radius);
        var paddedSq = ArrayPool<float>.Shared.Rent(width + 2 * Radius);
        try
        {
            var k = Kernel;
            int filled = -1; // last source row filtered into the rings
            for (int y = 0; y < height; y++)
            {
                int need = Math.Min(height - 1, y + Radius);
                while (filled < need)
                {
                    filled++;
                    RowFilter(image.Slice(filled * width, width), padded, paddedSq, ringMu.AsSpan((filled % Taps) * width, width), ringSq.AsSpan((filled % Taps) * width, width), k);
                }
                var output = mscn.Slice(y * width, width);
                var source = image.Slice(y * width, width);
                ColumnAndNormalise(ringMu, ringSq, width, height, y, k, source, output);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(ringMu);
            ArrayPool<float>.Shared.Return(ringSq);
            ArrayPool<float>.Shared.Return(padded);
            ArrayPool<float>.Shared.Return(paddedSq);
        }
    }

    /// <summary>Eight outputs of the 7-tap row filter from <paramref name="row"/>[x..x+14]: a multiply, then six fused multiply-adds, as the scalar loop does per pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SevenTaps(ref float row, nuint x, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2,
        Vector256<float> v3, Vector256<float> v4, Vector256<float> v5, Vector256<float> v6)
    {
        var s = Vector256.LoadUnsafe(ref row, x) * v0;
        s = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref row, x + 1), v1, s);
        s = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref row, x + 2), v2, s);
        s = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref row, x + 3), v3, s);
        s = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref row, x + 4), v4, s);
        s = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref row, x + 5), v5, s);
        return Fma.MultiplyAdd(Vector256.LoadUnsafe(ref row, x + 6), v6, s);
    }

    /// <summary>One output of the 7-tap row filter from <paramref name="row"/>[x..x+6]: a multiply, then six fused multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SevenTaps(float[] row, int x, float k0, float k1, float k2, float k3, float k4, float k5, float k6)
    {
        float s = row[x] * k0;
        s = MathF.FusedMultiplyAdd(row[x + 1], k1, s);
        s = MathF.FusedMultiplyAdd(row[x + 2], k2, s);
        s = MathF.FusedMultiplyAdd(row[x + 3], k3, s);
        s = MathF.FusedMultiplyAdd(row[x + 4], k4, s);
        s = MathF.FusedMultiplyAdd(row[x + 5], k5, s);
        return MathF.FusedMultiplyAdd(row[x + 6], k6, s);
    }

    private static void RowFilter(ReadOnlySpan<float> row, float[] padded, float[] paddedSq, Span<float> mu, Span<float> sq, float[] k)
    {
        int width = row.Length;
        for (int i = 0; i < width + 2 * Radius; i++)
        {
            float v = row[Math.Clamp(i - Radius, 0, width - 1)];
            padded[i] = v;
            paddedSq[i] = v * v; // cv::multiply(I, I) before the blur
        }
        float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6];
        int x = 0;
        if (Fma.IsSupported)
        {
            // Eight pixels at a time: per lane the same multiply and fused multiply-adds as the scalar loop below.
            ref float p = ref MemoryMarshal.GetArrayDataReference(padded);
            ref float q2 = ref MemoryMarshal.GetArrayDataReference(paddedSq);
            ref float m = ref MemoryMarshal.GetReference(mu);
            ref float o = ref MemoryMarshal.GetReference(sq);
            Vector256<float> v0 = Vector256.Create(k0), v1 = Vector256.Create(k1), v2 = Vector256.Create(k2), v3 = Vector256.Create(k3),
                v4 = Vector256.Create(k4), v5 = Vector256.Create(k5), v6 = Vector256.Create(k6);
            for (; x <= width - 8; x += 8)
            {
                SevenTaps(ref p, (nuint)x, v0, v1, v2, v3, v4, v5, v6).StoreUnsafe(ref m, (nuint)x);
                SevenTaps(ref q2, (nuint)x, v0, v1, v2, v3, v4, v5, v6).StoreUnsafe(ref o, (nuint)x);
            }
        }
        for (; x < width; x++)
        {
            mu[x] = SevenTaps(padded, x, k0, k1, k2, k3, k4, k5, k6);
            sq[x] = SevenTaps(paddedSq, x, k0, k1, k2, k3, k4, k5, k6);
        }
    }

    private static void ColumnAndNormalise(float[] ringMu, float[] ringSq, int width, int height, int y, float[] k, ReadOnlySpan<float> source, Span<float> output)
    {
        int Row(int dy) => (Math.Clamp(y + dy, 0, height - 1) % Taps) * width;
        var c = ringMu.AsSpan(Row(0), width);
        var a1 = ringMu.AsSpan(Row(-1), width); var b1 = ringMu.AsSpan(Row(1), width);
        var a2 = ringMu.AsSpan(Row(-2), width); var b2 = ringMu.AsSpan(Row(2), width);
        var a3 = ringMu.AsSpan(Row(-3), width); var b3 = ringMu.AsSpan(Row(3), width);
        var qc = ringSq.AsSpan(Row(0), width);
        var qa1 = ringSq.AsSpan(Row(-1), width); var qb1 = ringSq.AsSpan(Row(1), width);
        var qa2 = ringSq.AsSpan(Row(-2), width); var qb2 = ringSq.AsSpan(Row(2), width);
        var qa3 = ringSq.AsSpan(Row(-3), width); var qb3 = ringSq.AsSpan(Row(3), width);
        float f0 = k[3], f1 = k[4], f2 = k[5], f3 = k[6];
        float eps = Epsilon;
        int x = 0;
        if (Fma.IsSupported)
        {
            // Eight pixels at a time, per lane the scalar loop's operations (sqrt and division are correctly rounded either way).
            Vector256<float> w0 = Vector256.Create(f0), w1 = Vector256.Create(f1), w2 = Vector256.Create(f2), w3 = Vector256.Create(f3), e = Vector256.Create(eps);
            for (; x <= width - 8; x += 8)
            {
                var mu = Load(c, x) * w0;
                mu = Fma.MultiplyAdd(Load(a1, x) + Load(b1, x), w1, mu);
                mu = Fma.MultiplyAdd(Load(a2, x) + Load(b2, x), w2, mu);
                mu = Fma.MultiplyAdd(Load(a3, x) + Load(b3, x), w3, mu);
                var sq = Load(qc, x) * w0;
                sq = Fma.MultiplyAdd(Load(qa1, x) + Load(qb1, x), w1, sq);
                sq = Fma.MultiplyAdd(Load(qa2, x) + Load(qb2, x), w2, sq);
                sq = Fma.MultiplyAdd(Load(qa3, x) + Load(qb3, x), w3, sq);
                var sigma = Vector256.Sqrt(sq - mu * mu) + e;
                ((Load(source, x) - mu) / sigma).StoreUnsafe(ref MemoryMarshal.GetReference(output), (nuint)x);
            }
        }
        for (; x < width; x++)
        {
            float mu = c[x] * f0;
            mu = MathF.FusedMultiplyAdd(a1[x] + b1[x], f1, mu);
            mu = MathF.FusedMultiplyAdd(a2[x] + b2[x], f2, mu);
            mu = MathF.FusedMultiplyAdd(a3[x] + b3[x], f3, mu);
            float sq = qc[x] * f0;
            sq = MathF.FusedMultiplyAdd(qa1[x] + qb1[x], f1, sq);
            sq = MathF.FusedMultiplyAdd(qa2[x] + qb2[x], f2, sq);
            sq = MathF.FusedMultiplyAdd(qa3[x] + qb3[x], f3, sq);
            float sigma = MathF.Sqrt(sq - mu * mu) + eps; // NaN where rounding makes the variance negative, as in OpenCV
            output[x] = (source[x] - mu) / sigma;
        }
    }
}

/// <summary>
/// OpenCV's AGGDfit: left/right sigma from the negative/positive values (double sums in row-major order; zeros and
/// NaN skipped, but counted in the total as OpenCV counts them), then the shape gamma on OpenCV's grid: the first grid
/// point after which |r(gamma) - rhat| stops decreasing.
/// </summary>
internal static class Aggd
{
    /// <summary>Fits the MSCN image itself (index 0) and its products with the neighbour at (0,1), (1,0), (1,1), (-1,1) (rows, columns).</summary>
    public static (double Left, double Right, double Gamma)[] FitAll(ReadOnlySpan<float> m, int width, int height)
    {
        var acc = new Sums[5];
        for (int i = 0; i < height; i++)
        {
            var row = m.Slice(i * width, width);
            var below = i + 1 < height ? m.Slice((i + 1) * width, width) : default;
            var above = i > 0 ? m.Slice((i - 1) * width, width) : default;
            for (int j = 0; j < width; j++)
            {
                float v = row[j];
                acc[0].Add(v);
                // Out of the image the shifted value is 0, and v * 0 is 0 (or NaN): skipped by Add either way.
                if (j + 1 < width) acc[1].Add(v * row[j + 1]);
                if (i + 1 < height) acc[2].Add(v * below[j]);
                if (i + 1 < height && j + 1 < width) acc[3].Add(v * below[j + 1]);
                if (i > 0 && j + 1 < width) acc[4].Add(v * above[j + 1]);
            }
        }
        long total = (long)width * height;
        var fits = new (double, double, double)[5];
        for (int s = 0; s < 5; s++) fits[s] = acc[s].Fit(total);
        return fits;
    }

    private struct Sums
    {
        public long Pos, Neg;
        public double PosSq, NegSq, Abs;

        public void Add(float value)
        {
            // Without branches (the signs of MSCN values are unpredictable); adding 0 leaves each sum exactly as OpenCV's.
            double pt = value;
            bool pos = pt > 0, neg = pt < 0;
            double sq = pt * pt;
            Pos += pos ? 1 : 0;
            Neg += neg ? 1 : 0;
            PosSq += pos ? sq : 0;
            NegSq += neg ? sq : 0;
            Abs += pos ? pt : neg ? -pt : 0;
        }

        public readonly (double Left, double Right, double Gamma) Fit(long total)
        {
            double left = Math.Pow(NegSq / Neg, 0.5);
            double right = Math.Pow(PosSq / Pos, 0.5);
            double gammaHat = left / right;
            double rHat = Math.Pow(Abs / total, 2) / ((NegSq + PosSq) / total);
            double rHatNorm = rHat * (Math.Pow(gammaHat, 3) + 1) * (gammaHat + 1) / Math.Pow(Math.Pow(gammaHat, 2) + 1, 2);
            return (left, right, GammaGrid.Search(rHatNorm));
        }
    }
}

/// <summary>OpenCV's gamma search grid (0.2 stepping by 0.001 in double, below 10) and r(gamma) = G(2/g)^2 / (G(1/g) G(3/g)) on it.</summary>
internal static class GammaGrid
{
    private static readonly double[] Points, Ratios;

    static GammaGrid()
    {
        var points = new List<double>();
        for (double gam = 0.2; gam < 10; gam += 0.001) points.Add(gam);
        Points = [.. points];
        Ratios = Points.Select(g => Gamma.Of(2 / g) * Gamma.Of(2 / g) / (Gamma.Of(1 / g) * Gamma.Of(3 / g))).ToArray();
    }

    /// <summary>OpenCV's loop: walk the grid while |r - target| does not increase; NaN never stops it (as in OpenCV).</summary>
    public static double Search(double target)
    {
        double previous = 0, previousDiff = 1e10;
        for (int i = 0; i < Points.Length; i++)
        {
            double diff = Math.Abs(Ratios[i] - target);
            if (diff > previousDiff) break;
            previousDiff = diff;
            previous = Points[i];
        }
        return previous;
    }
}

/// <summary>The gamma function for positive arguments (Lanczos, g = 7, 9 terms; relative error about 1e-15).</summary>
internal static class Gamma
{
    private static readonly double[] C =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    public static double Of(double x)
    {
        if (x < 0.5) return Math.PI / (Math.Sin(Math.PI * x) * Of(1 - x));
        x -= 1;
        double a = C[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) a += C[i] / (x + i);
        return Math.Sqrt(2 * Math.PI) * Math.Pow(t, x + 0.5) * Math.Exp(-t) * a;
    }
}

/// <summary>
/// <c>cv::resize(src, dst, dsize, 0, 0, INTER_CUBIC)</c> on a float32 one-channel image: Keys' cubic (A = -0.75) with
/// float32 weights, source coordinate (d + 0.5) * scale - 0.5 with scale = 1 / (dsize / ssize) as OpenCV computes it,
/// border pixels replicated, a horizontal then a vertical pass (S0 b0 + (S1 b1 + (S2 b2 + S3 b3)), as OpenCV's
/// VResizeCubicVec_32f sums). No antialiasing, as OpenCV.
/// </summary>
internal static class CubicResize
{
    private static void Weights(float x, Span<float> c)
    {
        const float A = -0.75f;
        c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
        c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
        c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
        c[3] = 1f - c[0] - c[1] - c[2];
    }

    private static (int[] Offsets, float[] Weights) Table(int source, int dest)
    {
        double scale = 1.0 / ((double)dest / source);
        var offsets = new int[dest];
        var weights = new float[dest * 4];
        for (int d = 0; d < dest; d++)
        {
            float f = (float)((d + 0.5) * scale - 0.5);
            int s = (int)MathF.Floor(f);
            f -= s;
            offsets[d] = s;
            Weights(f, weights.AsSpan(d * 4, 4));
        }
        return (offsets, weights);
    }

    public static void Resize(ReadOnlySpan<float> src, int sw, int sh, Span<float> dst, int dw, int dh)
    {
        var (xo, xw) = Table(sw, dw);
        var (yo, yw) = Table(sh, dh);
        // Horizontal pass of every source row the vertical pass needs; rows are needed in increasing order.
        var rows = ArrayPool<float>.Shared.Rent(sh * dw);
        try
        {
            for (int y = 0; y < sh; y++)
            {
                var s = src.Slice(y * sw, sw);
                var d = rows.AsSpan(y * dw, dw);
                for (int x = 0; x < dw; x++)
                {
                    int sx = xo[x];
                    if (sx >= 1 && sx + 2 < sw)
                    {
                        // Inside the image: the same sum without the border clamps.
                        var w4 = xw.AsSpan(4 * x, 4);
                        var taps = s.Slice(sx - 1, 4);
                        float u = taps[0] * w4[0];
                        u += taps[1] * w4[1];
                        u += taps[2] * w4[2];
                        u += taps[3] * w4[3];
                        d[x] = u;
                        continue;
                    }
                    int i0 = Math.Clamp(sx - 1, 0, sw - 1), i1 = Math.Clamp(sx, 0, sw - 1), i2 = Math.Clamp(sx + 1, 0, sw - 1), i3 = Math.Clamp(sx + 2, 0, sw - 1);
                    float v = s[i0] * xw[4 * x];
                    v += s[i1] * xw[4 * x + 1];
                    v += s[i2] * xw[4 * x + 2];
                    v += s[i3] * xw[4 * x + 3];
                    d[x] = v;
                }
            }
            for (int y = 0; y < dh; y++)
            {
                int sy = yo[y];
                var r0 = rows.AsSpan(Math.Clamp(sy - 1, 0, sh - 1) * dw, dw);
                var r1 = rows.AsSpan(Math.Clamp(sy, 0, sh - 1) * dw, dw);
                var r2 = rows.AsSpan(Math.Clamp(sy + 1, 0, sh - 1) * dw, dw);
                var r3 = rows.AsSpan(Math.Clamp(sy + 2, 0, sh - 1) * dw, dw);
                float b0 = yw[4 * y], b1 = yw[4 * y + 1], b2 = yw[4 * y + 2], b3 = yw[4 * y + 3];
                var d = dst.Slice(y * dw, dw);
                for (int x = 0; x < dw; x++) d[x] = r0[x] * b0 + (r1[x] * b1 + (r2[x] * b2 + r3[x] * b3));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rows);
        }
    }
}
