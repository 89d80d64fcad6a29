using DpIqa.Imaging;

namespace DpIqa.Tests;

/// <summary>Real photos, preprocessed, and simple degradations of them.</summary>
internal static class TestImages
{
    public static IEnumerable<string> Photos() =>
        Directory.EnumerateFiles(RepoPaths.Photos).Where(f => ImageFormats.Extensions.Contains(Path.GetExtension(f))).Order();

    public static byte[] Preprocess(string path)
    {
        using var image = Preprocessor.Run(File.ReadAllBytes(path), new ImageLimits());
        return image.Rgb.ToArray();
    }

    /// <summary>Separable Gaussian blur of packed RGB, edges clamped.</summary>
    public static byte[] Blur(byte[] rgb, int size, double sigma)
    {
        int radius = (int)Math.Ceiling(3 * sigma);
        var kernel = Enumerable.Range(-radius, 2 * radius + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        var total = kernel.Sum();
        for (int i = 0; i < kernel.Length; i++) kernel[i] /= total;
        var tmp = new double[rgb.Length];
        var result = new byte[rgb.Length];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 3; c++)
                {
                    double s = 0;
                    for (int k = -radius; k <= radius; k++) s += kernel[k + radius] * rgb[(y * size + Math.Clamp(x + k, 0, size - 1)) * 3 + c];
                    tmp[(y * size + x) * 3 + c] = s;
                }
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < 3; c++)
                {
                    double s = 0;
                    for (int k = -radius; k <= radius; k++) s += kernel[k + radius] * tmp[(Math.Clamp(y + k, 0, size - 1) * size + x) * 3 + c];
                    result[(y * size + x) * 3 + c] = (byte)Math.Clamp(Math.Round(s), 0, 255);
                }
        return result;
    }

    /// <summary>Multiplies every value by <paramref name="gain"/>, clipping to 255 (under- or over-exposure).</summary>
    public static byte[] Expose(byte[] rgb, double gain) => rgb.Select(v => (byte)Math.Clamp(Math.Round(v * gain), 0, 255)).ToArray();

    public static PreprocessedImage Wrap(byte[] rgb)
    {
        var pooled = System.Buffers.ArrayPool<byte>.Shared.Rent(Preprocessor.PixelBytes);
        rgb.CopyTo(pooled, 0);
        return new PreprocessedImage(pooled, Preprocessor.Size, Preprocessor.Size);
    }
}
