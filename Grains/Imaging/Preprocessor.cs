using System.Buffers;

namespace DpIqa.Imaging;

/// <summary>
/// DP-IQA's input pipeline up to the 8-bit image: decode as PIL does, convert to RGB, resize to
/// <see cref="Size"/> x <see cref="Size"/> with PIL's bilinear filter (aspect ratio not kept).
/// The result is packed RGB bytes (HWC) in a pooled buffer; <see cref="ModelInput"/> turns it into the
/// float CHW tensor <c>ToTensor()</c> gives.
/// </summary>
internal static class Preprocessor
{
    public const int Size = 512;
    public const int PixelBytes = Size * Size * 3;

    /// <summary>
    /// <see cref="PreprocessPath.Fast"/> lets the JPEG decoder reduce the image only while both sides stay at least this
    /// many pixels, twice <see cref="Size"/>. Measured on the fidelity set (preprocess benchmark, both models): only this
    /// bound, with <see cref="FastBlurCompensation"/>, keeps Spearman >= 0.999 for the built-in model and the parity
    /// student; at 768 the student reaches 0.9985, at 512 0.997 (the built-in model 0.9993 and 0.998). Speed hardly
    /// differs: entropy decoding, which no DCT reduction saves, dominates a reduced decode.
    /// </summary>
    public const int FastDecodeMinSide = 2 * Size;

    /// <summary>
    /// How much the resize after a DCT reduction narrows its filter: a variance, in decoded pixels squared, left out of
    /// PIL's triangle (see <see cref="CompensatedFilterScale"/>). Calibrated by the preprocess benchmark on the fidelity
    /// set (10 shipped photos + 40 camera JPEGs): the plain resize after a reduction to >= 512 px leaves the input 0.4%
    /// less sharp than exact (about 0 at 768 and 1024), and 0.1 matches the sharpness; the "box of one decoded pixel"
    /// model (1/12 per side, 0.5 here) overshoots (+2% sharper, larger differences). At the 1024 bound 0.1 lifts the
    /// parity student's Spearman from 0.998944 to 0.999136 (built-in model 0.999808 either way); at 512 and 768 no
    /// compensation reaches 0.999 for the student. Chosen on the same 50 images it is measured on: a small margin.
    /// </summary>
    public const double FastBlurCompensation = 0.1;

    /// <summary>
    /// PIL's bilinear filter for a downscale by s (decoded pixels per output pixel) is a triangle of half-width s, variance
    /// s^2/6. A decode reduced in the DCT domain is already low-passed at the decoded resolution; stacked, the two blur
    /// more than the exact path's one triangle over the full image. Narrowing the triangle to variance
    /// s^2/6 - <paramref name="compensation"/>/6 takes the decoder's share out (a negative compensation widens it).
    /// Were the decoder a box of one decoded pixel (variance 1/12) the compensation would be 0.5; libjpeg-turbo's
    /// scaled IDCT blurs far less (see <see cref="FastBlurCompensation"/>). Never below 1 (PIL's width for upscaling).
    /// </summary>
    internal static double CompensatedFilterScale(double extent, double compensation)
    {
        double scale = (double)(float)extent / Size; // as PilBilinearResize.Precompute computes it
        return Math.Max(1.0, Math.Sqrt(Math.Max(0, scale * scale - compensation)));
    }

    /// <summary>
    /// Decodes and resizes <paramref name="data"/>. <see cref="PreprocessPath.Fast"/> lets the JPEG decoder reduce the image
    /// first (never below <see cref="FastDecodeMinSide"/> on either side); the resize after it is PIL's bilinear with its
    /// filter narrowed by <see cref="FastBlurCompensation"/>.
    /// </summary>
    public static PreprocessedImage Run(ReadOnlySpan<byte> data, ImageLimits limits, PreprocessPath path = PreprocessPath.Exact) =>
        path == PreprocessPath.Fast ? Run(data, limits, FastDecodeMinSide, FastBlurCompensation) : Run(data, limits, 0);

    /// <summary>
    /// As <see cref="Run(ReadOnlySpan{byte}, ImageLimits, PreprocessPath)"/> with the decoder's reduction bound given:
    /// JPEGs are reduced while both sides stay at least <paramref name="jpegMinSide"/> (0: never), and the resize after a
    /// reduction narrows its filter by <paramref name="compensation"/> (see <see cref="CompensatedFilterScale"/>; 0: PIL's
    /// filter). For the benchmark's fidelity table, which compares bounds and compensations.
    /// </summary>
    internal static PreprocessedImage Run(ReadOnlySpan<byte> data, ImageLimits limits, int jpegMinSide, double compensation = 0, bool hash = true)
    {
        using var decoded = ImageDecoder.Decode(data, limits, jpegMinSide);
        var image = Resize(decoded, compensation);
        // The pHash comes from the same decoded pixels: no second decode. A reduced (fast-path) decode hashes the
        // reduced pixels, which may differ from the full image's hash by a few bits (docs/duplicates.md).
        if (hash) image.PHash = PerceptualHash.Compute(decoded);
        return image;
    }

    /// <summary>The resize step of <see cref="Run(ReadOnlySpan{byte}, ImageLimits, int, double)"/> (the benchmark times it alone).</summary>
    internal static PreprocessedImage Resize(DecodedImage decoded, double compensation)
    {
        var rgb = ArrayPool<byte>.Shared.Rent(PixelBytes);
        try
        {
            // A reduced decode is the image at n/8 scale, its last row and column partly padding: resize what the
            // image covers (full size * n/8), so each output pixel samples the same place as on the exact path.
            double extentX = 0, extentY = 0, filterX = 0, filterY = 0;
            if (decoded.Reduced)
            {
                double n = Math.Round(8.0 * decoded.Width / decoded.FullWidth);
                (extentX, extentY) = (decoded.FullWidth * n / 8, decoded.FullHeight * n / 8);
                if (compensation != 0)
                    (filterX, filterY) = (CompensatedFilterScale(extentX, compensation), CompensatedFilterScale(extentY, compensation));
            }
            PilBilinearResize.ResizeRgbaToRgb(decoded.Rgba, decoded.Width, decoded.Height, decoded.Stride, rgb, Size, Size, extentX, extentY, filterX, filterY);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(rgb);
            throw;
        }
        return new PreprocessedImage(rgb, decoded.FullWidth, decoded.FullHeight, decoded.Reduced ? PreprocessPath.Fast : PreprocessPath.Exact);
    }
}

/// <summary>A 512x512 RGB image (pooled), the original size and the path that made it.</summary>
internal sealed class PreprocessedImage(byte[] rgb, int originalWidth, int originalHeight, PreprocessPath path = PreprocessPath.Exact) : IDisposable
{
    /// <summary>Exact, or fast when the decoder reduced the image before the resize.</summary>
    public PreprocessPath Path { get; } = path;
    private byte[]? _rgb = rgb;
    public int OriginalWidth { get; } = originalWidth;
    public int OriginalHeight { get; } = originalHeight;
    /// <summary>The image's perceptual hash (<see cref="PerceptualHash"/>), from the decoded pixels; null when not computed.</summary>
    public ulong? PHash { get; set; }
    public ReadOnlySpan<byte> Rgb => (_rgb ?? throw new ObjectDisposedException(nameof(PreprocessedImage))).AsSpan(0, Preprocessor.PixelBytes);

    public void Dispose()
    {
        var a = Interlocked.Exchange(ref _rgb, null);
        if (a is not null) ArrayPool<byte>.Shared.Return(a);
    }
}

/// <summary>The model input layout: float32 CHW in [0, 1], exactly <c>torchvision.transforms.ToTensor()</c>.</summary>
internal static class ModelInput
{
    // v / 255f for every byte: a table lookup gives the exact float32 division ToTensor does, faster.
    private static readonly float[] Scale = Enumerable.Range(0, 256).Select(v => v / 255f).ToArray();

    /// <summary>Writes <paramref name="rgb"/> (HWC bytes) as CHW floats v/255 into <paramref name="chw"/>.</summary>
    public static void ToTensor(ReadOnlySpan<byte> rgb, Span<float> chw)
    {
        var scale = Scale.AsSpan();
        int plane = rgb.Length / 3;
        var r = chw[..plane];
        var g = chw.Slice(plane, plane);
        var b = chw.Slice(2 * plane, plane);
        for (int i = 0, j = 0; i < plane; i++, j += 3)
        {
            // ToTensor: uint8 -> float32, then divide by 255 in float32.
            r[i] = scale[rgb[j]];
            g[i] = scale[rgb[j + 1]];
            b[i] = scale[rgb[j + 2]];
        }
    }
}
