using SkiaSharp;

namespace DpIqa.Imaging;

/// <summary>Thumbnails (the report's, the web console's) made from the source image, through the decoder scoring uses (same formats, same size limits).</summary>
internal static class Thumbnails
{
    /// <summary>Longest side of a thumbnail, in pixels.</summary>
    public const int MaxSide = 256;

    /// <summary>A JPEG whose longer side is at most <see cref="MaxSide"/>; throws <see cref="ImageError"/> for an image that cannot be decoded.</summary>
    public static byte[] Make(byte[] source, ImageLimits limits)
    {
        using var decoded = ImageDecoder.Decode(source, limits);
        double scale = Math.Min(1.0, (double)MaxSide / Math.Max(decoded.Width, decoded.Height));
        int width = Math.Max(1, (int)Math.Round(decoded.Width * scale)), height = Math.Max(1, (int)Math.Round(decoded.Height * scale));
        var info = new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        return Encode(decoded, info, width, height);
    }

    private static unsafe byte[] Encode(DecodedImage decoded, SKImageInfo info, int width, int height)
    {
        fixed (byte* rgba = decoded.Rgba)
        {
            using var image = SKImage.FromPixels(info, (nint)rgba, decoded.Stride);
            using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            // Mipmaps and linear filtering: a downscale without aliasing (nearest sampling would shimmer on fine detail).
            surface.Canvas.DrawImage(image, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            using var snapshot = surface.Snapshot();
            using var data = snapshot.Encode(SKEncodedImageFormat.Jpeg, 85);
            return data.ToArray();
        }
    }
}
