using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpIqa.Imaging;

/// <summary>
/// Pillow's bilinear resample (Resample.c), ported so the 8-bit result equals
/// <c>Image.resize(size, Image.BILINEAR)</c> bit for bit: a triangle filter whose support grows with the
/// downscale factor (antialiasing), coefficients normalised and rounded to 22-bit fixed point,
/// horizontal pass first with the intermediate rounded to 8 bits, then the vertical pass.
/// Pixels are RGBA (4 bytes); the 4th channel is carried along and ignored.
/// The inner loops use SSE4.1/AVX2 where present; <see cref="Scalar"/> keeps the plain loops as the reference.
/// </summary>
internal static class PilBilinearResize
{
    internal const int PrecisionBits = 32 - 8 - 2;
    internal const int Half = 1 << (PrecisionBits - 1);

    /// <summary>Set by tests to force the scalar loops.</summary>
    internal static bool Scalar { get; set; }

    /// <summary>Filter taps for one axis: for output i, inputs [Start[i], Start[i]+Count[i]) weighted by Weights[i*Size ..].</summary>
    internal sealed class Coefficients
    {
        public required int[] Start;
        public required int[] Count;
        public required int[] Weights;
        public required int Size;
    }

    /// <summary>Pillow's resampling filters this port has: bilinear (support 1) and Lanczos-3 (support 3, the pHash's).</summary>
    internal enum Filter { Bilinear, Lanczos }

    /// <summary>
    /// precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1), or Lanczos (support 3). <paramref name="extent"/> is
    /// Pillow's <c>box</c> right edge: the part of the input, in pixels, that maps onto the output (default all of it).
    /// <paramref name="filterScale"/> &gt; 0 replaces Pillow's filter width (max(1, scale) input pixels per side) and
    /// nothing else: the fast path narrows it to leave out the blur the JPEG decoder's reduction already applied.
    /// </summary>
    internal static Coefficients Precompute(int inSize, int outSize, double extent = 0, double filterScale = 0, Filter filter = Filter.Bilinear)
    {
        double in0 = 0f, in1 = (float)(extent > 0 ? extent : inSize);
        double scale = (double)(float)(in1 - in0) / outSize;
        if (filterScale <= 0) filterScale = scale < 1.0 ? 1.0 : scale;
        double support = (filter == Filter.Lanczos ? 3.0 : 1.0) * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new int[outSize * ksize];
        var k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = in0 + (xx + 0.5) * scale;
            double ww = 0.0;
            double ss = 1.0 / filterScale;
            int xmin = (int)(center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            for (int x = 0; x < xmax; x++)
            {
                double w = filter == Filter.Lanczos ? Lanczos((x + xmin - center + 0.5) * ss) : Triangle((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++)
            {
                if (ww != 0.0) k[x] /= ww;
                // normalize_coeffs_8bpc: round half away from zero into 22-bit fixed point
                weights[xx * ksize + x] = k[x] < 0
                    ? (int)(-0.5 + k[x] * (1 << PrecisionBits))
                    : (int)(0.5 + k[x] * (1 << PrecisionBits));
            }
            start[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients { Start = start, Count = count, Weights = weights, Size = ksize };
    }

    /// <summary>Pillow's lanczos_filter: sinc(x) sinc(x/3) on [-3, 3).</summary>
    private static double Lanczos(double x) => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    private static double Triangle(double x)
    {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /// <summary>
    /// Resizes an RGBA image (<paramref name="srcStride"/> bytes per row) to <paramref name="dstWidth"/> x
    /// <paramref name="dstHeight"/>, writing packed RGB (3 bytes per pixel) into <paramref name="dstRgb"/>.
    /// <paramref name="extentX"/> and <paramref name="extentY"/> (Pillow's <c>box</c> right and bottom edges, default the
    /// whole image) say how much of the source maps onto the output: a JPEG decoded at n/8 scale is
    /// ceil(size * n / 8) pixels, the last one partly padding, so the image itself spans size * n / 8 of them.
    /// <paramref name="filterScaleX"/> and <paramref name="filterScaleY"/> &gt; 0 replace the filter width (see
    /// <see cref="Precompute"/>); 0 keeps Pillow's.
    /// </summary>
    public static unsafe void ResizeRgbaToRgb(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int srcStride,
        Span<byte> dstRgb, int dstWidth, int dstHeight, double extentX = 0, double extentY = 0, double filterScaleX = 0, double filterScaleY = 0)
    {
        if (dstRgb.Length < dstWidth * dstHeight * 3) throw new ArgumentException("destination too small", nameof(dstRgb));
        if (src.Length < (long)srcStride * (srcHeight - 1) + srcWidth * 4) throw new ArgumentException("source too small", nameof(src));
        var horizontal = Precompute(srcWidth, dstWidth, extentX, filterScaleX);
        var vertical = Precompute(srcHeight, dstHeight, extentY, filterScaleY);

        // Only the source rows the vertical pass reads go through the horizontal pass.
        int rowFirst = vertical.Start[0];
        int rowLast = vertical.Start[dstHeight - 1] + vertical.Count[dstHeight - 1];
        int tempRows = rowLast - rowFirst;
        int tempStride = dstWidth * 4;
        var temp = System.Buffers.ArrayPool<byte>.Shared.Rent(tempStride * tempRows);
        try
        {
            fixed (byte* s = src)
            fixed (byte* t = temp)
            fixed (byte* d = dstRgb)
            {
                for (int y = 0; y < tempRows; y++)
                    HorizontalRow(s + (long)(y + rowFirst) * srcStride, t + (long)y * tempStride, dstWidth, horizontal);
                VerticalPass(t, tempStride, rowFirst, d, dstWidth, dstHeight, vertical);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(temp);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Clip8(int v) => v <= 0 ? 0 : v >= (1 << PrecisionBits << 8) ? 255 : v >> PrecisionBits;

    private static unsafe void HorizontalRow(byte* src, byte* dst, int dstWidth, Coefficients c)
    {
        fixed (int* weights = c.Weights)
        {
            if (Sse41.IsSupported && !Scalar)
            {
                var half = Vector128.Create(Half);
                var zero = Vector128<int>.Zero;
                var max = Vector128.Create(255);
                for (int xx = 0; xx < dstWidth; xx++)
                {
                    byte* p = src + c.Start[xx] * 4;
                    int* k = weights + xx * c.Size;
                    int n = c.Count[xx];
                    var acc = half;
                    for (int x = 0; x < n; x++)
                        acc = Sse2.Add(acc, Sse41.MultiplyLow(Sse41.ConvertToVector128Int32(p + x * 4), Vector128.Create(k[x])));
                    var v = Sse41.Min(Sse41.Max(Sse2.ShiftRightArithmetic(acc, PrecisionBits), zero), max);
                    var packed = Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(v, v), Vector128<short>.Zero);
                    *(uint*)(dst + xx * 4) = packed.AsUInt32().ToScalar();
                }
                return;
            }
            for (int xx = 0; xx < dstWidth; xx++)
            {
                byte* p = src + c.Start[xx] * 4;
                int* k = weights + xx * c.Size;
                int n = c.Count[xx];
                int s0 = Half, s1 = Half, s2 = Half, s3 = Half;
                for (int x = 0; x < n; x++)
                {
                    s0 += p[x * 4 + 0] * k[x];
                    s1 += p[x * 4 + 1] * k[x];
                    s2 += p[x * 4 + 2] * k[x];
                    s3 += p[x * 4 + 3] * k[x];
                }
                dst[xx * 4 + 0] = (byte)Clip8(s0);
                dst[xx * 4 + 1] = (byte)Clip8(s1);
                dst[xx * 4 + 2] = (byte)Clip8(s2);
                dst[xx * 4 + 3] = (byte)Clip8(s3);
            }
        }
    }

    private static unsafe void VerticalPass(byte* temp, int tempStride, int rowFirst, byte* dstRgb, int width, int height, Coefficients c)
    {
        int rowBytes = width * 4;
        byte* row = stackalloc byte[rowBytes + 32];
        fixed (int* weights = c.Weights)
        {
            for (int yy = 0; yy < height; yy++)
            {
                byte* first = temp + (long)(c.Start[yy] - rowFirst) * tempStride;
                int* k = weights + yy * c.Size;
                int n = c.Count[yy];
                int i = 0;
                if (Avx2.IsSupported && !Scalar)
                {
                    var half = Vector256.Create(Half);
                    var zero = Vector256<int>.Zero;
                    var max = Vector256.Create(255);
                    for (; i + 8 <= rowBytes; i += 8)
                    {
                        var acc = half;
                        for (int y = 0; y < n; y++)
                            acc = Avx2.Add(acc, Avx2.MultiplyLow(Avx2.ConvertToVector256Int32(first + (long)y * tempStride + i), Vector256.Create(k[y])));
                        var v = Avx2.Min(Avx2.Max(Avx2.ShiftRightArithmetic(acc, PrecisionBits), zero), max);
                        // 8 ints -> 8 bytes (pack within 128-bit lanes, then take each lane's low 4 bytes)
                        var lo = v.GetLower();
                        var hi = v.GetUpper();
                        var packed = Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(lo, hi), Vector128<short>.Zero);
                        *(ulong*)(row + i) = packed.AsUInt64().ToScalar();
                    }
                }
                for (; i < rowBytes; i++)
                {
                    int s = Half;
                    for (int y = 0; y < n; y++) s += first[(long)y * tempStride + i] * k[y];
                    row[i] = (byte)Clip8(s);
                }
                byte* o = dstRgb + (long)yy * width * 3;
                for (int x = 0; x < width; x++)
                {
                    o[x * 3 + 0] = row[x * 4 + 0];
                    o[x * 3 + 1] = row[x * 4 + 1];
                    o[x * 3 + 2] = row[x * 4 + 2];
                }
            }
        }
    }
}
