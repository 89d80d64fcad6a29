using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpIqa.Imaging;

/// <summary>
/// The 64-bit perceptual hash (pHash) of an image, as <c>imagehash.phash</c> defines it with its defaults: the image
/// converted to 8-bit grey (PIL's <c>convert("L")</c>), resized to 32x32 with PIL's Lanczos filter, a type-II DCT along
/// the columns then the rows (<c>scipy.fftpack.dct</c>, unnormalised), and of its low 8x8 coefficients one bit each:
/// greater than their median. Bit 63 is coefficient (0,0), then row by row, so <see cref="Format"/> prints what
/// imagehash's <c>str()</c> prints. Computed from the pixels the scorer decoded (PIL's <c>convert("RGB")</c>); the grey
/// conversion and the resize are Pillow's integer arithmetic (<see cref="PilBilinearResize"/>'s port, Lanczos filter),
/// so the 32x32 pixels equal PIL's exactly; tests/reference/phash_golden.py is the reference.
/// </summary>
internal static class PerceptualHash
{
    public const int Side = 32;
    private const int Low = 8;

    /// <summary>The hash of decoded RGBA pixels (alpha ignored, as PIL's RGB-to-L conversion does).</summary>
    public static ulong Compute(DecodedImage image) => Compute(image.Rgba, image.Width, image.Height, image.Stride);

    public static unsafe ulong Compute(ReadOnlySpan<byte> rgba, int width, int height, int stride)
    {
        var grey = Grey32(rgba, width, height, stride);
        return FromPixels(grey);
    }

    /// <summary>The 32x32 grey pixels PIL's <c>convert("L").resize((32, 32), Image.LANCZOS)</c> gives, row by row.</summary>
    internal static unsafe byte[] Grey32(ReadOnlySpan<byte> rgba, int width, int height, int stride)
    {
        if (rgba.Length < (long)stride * (height - 1) + width * 4) throw new ArgumentException("source too small", nameof(rgba));
        var horizontal = Coefficients(width);
        var vertical = Coefficients(height);
        int rowFirst = vertical.Start[0];
        int rowLast = vertical.Start[Side - 1] + vertical.Count[Side - 1];
        // Horizontal pass first, rounded to 8 bits (as Pillow does), over the rows the vertical pass reads.
        var temp = new byte[(rowLast - rowFirst) * Side];
        var row = ArrayPool<int>.Shared.Rent(width + 8);
        try
        {
            fixed (byte* src = rgba)
            fixed (int* l = row)
            fixed (int* weights = horizontal.Weights)
            {
                for (int y = rowFirst; y < rowLast; y++)
                {
                    GreyRow(src + (long)y * stride, l, width);
                    for (int xx = 0; xx < Side; xx++)
                        temp[(y - rowFirst) * Side + xx] = (byte)PilBilinearResize.Clip8(PilBilinearResize.Half
                            + Dot(l + horizontal.Start[xx], weights + xx * horizontal.Size, horizontal.Count[xx]));
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(row);
        }
        var output = new byte[Side * Side];
        for (int yy = 0; yy < Side; yy++)
        {
            int start = vertical.Start[yy] - rowFirst, n = vertical.Count[yy], k = yy * vertical.Size;
            for (int x = 0; x < Side; x++)
            {
                int s = PilBilinearResize.Half;
                for (int y = 0; y < n; y++) s += temp[(start + y) * Side + x] * vertical.Weights[k + y];
                output[yy * Side + x] = (byte)PilBilinearResize.Clip8(s);
            }
        }
        return output;
    }

    // Lanczos taps to 32 pixels for one input size: a 6,000-pixel side has 32 x 1,129 of them, two sin() each, worth
    // keeping, and a dataset's images come in few sizes. Bounded: a dataset of many sizes keeps the first ones.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, PilBilinearResize.Coefficients> Taps = new();
    private const int TapsKept = 256;

    private static PilBilinearResize.Coefficients Coefficients(int size)
    {
        if (Taps.TryGetValue(size, out var c)) return c;
        c = PilBilinearResize.Precompute(size, Side, filter: PilBilinearResize.Filter.Lanczos);
        if (Taps.Count < TapsKept) Taps.TryAdd(size, c);
        return c;
    }

    /// <summary>Pillow's rgb2l: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16, as ints.</summary>
    private static unsafe void GreyRow(byte* rgba, int* grey, int width)
    {
        int x = 0;
        if (Avx2.IsSupported && !PilBilinearResize.Scalar)
        {
            var mask = Vector256.Create(0xFF);
            var wr = Vector256.Create(19595);
            var wg = Vector256.Create(38470);
            var wb = Vector256.Create(7471);
            var round = Vector256.Create(0x8000);
            for (; x + 8 <= width; x += 8)
            {
                var p = Avx.LoadVector256((int*)(rgba + x * 4));
                var r = Avx2.And(p, mask);
                var g = Avx2.And(Avx2.ShiftRightLogical(p, 8), mask);
                var b = Avx2.And(Avx2.ShiftRightLogical(p, 16), mask);
                var sum = Avx2.Add(Avx2.Add(Avx2.MultiplyLow(r, wr), Avx2.MultiplyLow(g, wg)), Avx2.Add(Avx2.MultiplyLow(b, wb), round));
                Avx.Store(grey + x, Avx2.ShiftRightLogical(sum, 16));
            }
        }
        for (; x < width; x++)
        {
            byte* p = rgba + x * 4;
            grey[x] = (p[0] * 19595 + p[1] * 38470 + p[2] * 7471 + 0x8000) >> 16;
        }
    }

    /// <summary>Sum of values[i] * weights[i]; integer, so any order gives Pillow's sum.</summary>
    private static unsafe int Dot(int* values, int* weights, int n)
    {
        int i = 0, s = 0;
        if (Avx2.IsSupported && !PilBilinearResize.Scalar && n >= 8)
        {
            var acc = Vector256<int>.Zero;
            for (; i + 8 <= n; i += 8) acc = Avx2.Add(acc, Avx2.MultiplyLow(Avx.LoadVector256(values + i), Avx.LoadVector256(weights + i)));
            s = Vector256.Sum(acc);
        }
        for (; i < n; i++) s += values[i] * weights[i];
        return s;
    }

    /// <summary>The hash of 32x32 grey pixels: DCT along the columns (scipy's axis 0), then the rows, low 8x8 against their median.</summary>
    internal static ulong FromPixels(ReadOnlySpan<byte> grey)
    {
        if (grey.Length != Side * Side) throw new ArgumentException("32x32 pixels expected", nameof(grey));
        var column = new double[Side];
        var partial = new double[Low * Side]; // [k][x]: the first 8 coefficients of each column
        var coefficients = new double[Low];
        for (int x = 0; x < Side; x++)
        {
            for (int y = 0; y < Side; y++) column[y] = grey[y * Side + x];
            Dct(column, coefficients, Low);
            for (int k = 0; k < Low; k++) partial[k * Side + x] = coefficients[k];
        }
        var low = new double[Low * Low];
        for (int k = 0; k < Low; k++)
        {
            Dct(partial.AsSpan(k * Side, Side), coefficients, Low);
            coefficients.CopyTo(low, k * Low);
        }
        var sorted = (double[])low.Clone();
        Array.Sort(sorted);
        double median = (sorted[Low * Low / 2 - 1] + sorted[Low * Low / 2]) / 2;
        ulong hash = 0;
        for (int i = 0; i < Low * Low; i++) hash = (hash << 1) | (low[i] > median ? 1UL : 0UL);
        return hash;
    }

    /// <summary>
    /// The first <paramref name="count"/> coefficients of the unnormalised type-II DCT, y[k] = 2 sum x[n] cos(pi k (2n+1) / 2N),
    /// split into even outputs (a half-length DCT of x[n] + x[N-1-n]) and odd ones (from x[n] - x[N-1-n]). The split
    /// matters beyond speed: where the input is symmetric the odd outputs are exactly 0, as scipy's are (a flat image's
    /// AC coefficients are all exactly 0, so its hash is exactly imagehash's rather than rounding noise against a median of 0).
    /// </summary>
    internal static void Dct(ReadOnlySpan<double> x, Span<double> y, int count)
    {
        int n = x.Length;
        if (n == 1)
        {
            y[0] = 2 * x[0];
            return;
        }
        int half = n / 2;
        Span<double> sum = stackalloc double[half];
        Span<double> diff = stackalloc double[half];
        for (int i = 0; i < half; i++)
        {
            sum[i] = x[i] + x[n - 1 - i];
            diff[i] = x[i] - x[n - 1 - i];
        }
        int evens = (count + 1) / 2;
        Span<double> even = stackalloc double[evens];
        Dct(sum, even, evens);
        for (int m = 0; m < evens; m++) y[2 * m] = even[m];
        for (int k = 1; k < count; k += 2)
        {
            double s = 0;
            for (int i = 0; i < half; i++) s += diff[i] * Math.Cos(Math.PI * k * (2 * i + 1) / (2.0 * n));
            y[k] = 2 * s;
        }
    }

    /// <summary>16 lowercase hex digits, as imagehash's <c>str()</c> of the hash.</summary>
    public static string Format(ulong hash) => hash.ToString("x16", CultureInfo.InvariantCulture);

    public static ulong Parse(string hex) => ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    /// <summary>Bits that differ.</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);
}
