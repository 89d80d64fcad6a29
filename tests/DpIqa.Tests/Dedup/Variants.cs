using SkiaSharp;

namespace DpIqa.Tests.Dedup;

/// <summary>
/// Near-copies of a photo, made with SkiaSharp: resized, recompressed, brightened, cropped, re-encoded. Shared by the
/// dedup tests and the dedup accuracy bench (bench/DpIqa.Bench links this file).
/// </summary>
internal static class Variants
{
    public static byte[] Resized(string path, double factor, int jpegQuality)
    {
        using var photo = SKBitmap.Decode(path);
        return Resized(photo, factor, jpegQuality);
    }

    /// <summary>Scaled by <paramref name="factor"/> (bilinear with mipmaps), as JPEG.</summary>
    public static byte[] Resized(SKBitmap photo, double factor, int jpegQuality)
    {
        using var small = photo.Resize(new SKImageInfo(Math.Max(1, (int)(photo.Width * factor)), Math.Max(1, (int)(photo.Height * factor))),
            new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        return Encode(small, SKEncodedImageFormat.Jpeg, jpegQuality);
    }

    public static byte[] Brightness(string path, double gain)
    {
        using var photo = SKBitmap.Decode(path);
        return Brightness(photo, gain);
    }

    /// <summary>Every channel times <paramref name="gain"/> (clipped), saved as PNG: a brighter (gain &gt; 1) or darker copy.</summary>
    public static byte[] Brightness(SKBitmap photo, double gain)
    {
        using var copy = photo.Copy();
        var pixels = copy.Pixels;
        for (int i = 0; i < pixels.Length; i++)
        {
            var c = pixels[i];
            pixels[i] = new SKColor(Scale(c.Red, gain), Scale(c.Green, gain), Scale(c.Blue, gain), c.Alpha);
        }
        copy.Pixels = pixels;
        return Encode(copy, SKEncodedImageFormat.Png, 100);
    }

    public static byte[] Cropped(string path, double fraction, int jpegQuality = 90)
    {
        using var photo = SKBitmap.Decode(path);
        return Cropped(photo, fraction, jpegQuality);
    }

    /// <summary>The centre with <paramref name="fraction"/> of each side cut off (split between both edges), as JPEG.</summary>
    public static byte[] Cropped(SKBitmap photo, double fraction, int jpegQuality = 90)
    {
        int dx = (int)(photo.Width * fraction / 2), dy = (int)(photo.Height * fraction / 2);
        using var crop = new SKBitmap();
        photo.ExtractSubset(crop, new SKRectI(dx, dy, photo.Width - dx, photo.Height - dy));
        return Encode(crop, SKEncodedImageFormat.Jpeg, jpegQuality);
    }

    public static byte[] Reencoded(string path, SKEncodedImageFormat format, int quality = 90)
    {
        using var photo = SKBitmap.Decode(path);
        return Encode(photo, format, quality);
    }

    /// <summary>The same pixels in another format or quality.</summary>
    public static byte[] Reencoded(SKBitmap photo, SKEncodedImageFormat format, int quality = 90) => Encode(photo, format, quality);

    private static byte Scale(byte v, double gain) => (byte)Math.Clamp(Math.Round(v * gain), 0, 255);

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }
}
