using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

namespace DpIqa.Imaging;

/// <summary>
/// Turns file bytes into the RGB pixels PIL's <c>Image.open(p).convert('RGB')</c> gives.
/// JPEG, PNG, WebP, BMP and GIF go through SkiaSharp (libjpeg-turbo, libpng, libwebp: the same pixels PIL gets);
/// TIFF, which Skia lacks, goes through ImageSharp. No EXIF rotation, no colour management, alpha dropped
/// without compositing, as PIL does. Size limits are checked from the header before decoding.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>
    /// Decodes <paramref name="data"/> or throws <see cref="ImageError"/>. With <paramref name="jpegMinSide"/> &gt; 0 a JPEG is
    /// decoded reduced in the DCT domain (libjpeg-turbo's scale n/8) by the largest factor that keeps both sides at least
    /// that many pixels; <see cref="DecodedImage.Reduced"/> says whether it was. Limits apply to the full size.
    /// </summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, ImageLimits limits, int jpegMinSide = 0)
    {
        if (data.Length == 0) throw new ImageError(ImageErrorKind.Decode, "the file is empty");
        if (data.Length > limits.MaxBytes)
            throw new ImageError(ImageErrorKind.TooLarge, $"the file has {data.Length:N0} bytes, over the limit of {limits.MaxBytes:N0} (Imaging:MaxBytes)");
        var format = ImageFormats.Sniff(data);
        return format switch
        {
            ImageFormat.Unknown => throw new ImageError(ImageErrorKind.Unsupported,
                "not a JPEG, PNG, WebP, BMP, GIF or TIFF file (the first bytes match none of them)"),
            ImageFormat.Tiff => DecodeWithImageSharp(data, limits),
            _ => DecodeWithSkia(data, format, limits, format == ImageFormat.Jpeg ? jpegMinSide : 0),
        };
    }

    /// <summary>
    /// Decodes a JPEG at libjpeg-turbo's scale <paramref name="eighths"/>/8 (1..8), whatever its size: for the
    /// preprocess benchmark, which times each scale.
    /// </summary>
    internal static DecodedImage DecodeJpegAt(ReadOnlySpan<byte> data, ImageLimits limits, int eighths)
    {
        if (ImageFormats.Sniff(data) != ImageFormat.Jpeg) throw new ImageError(ImageErrorKind.Unsupported, "not a JPEG");
        return DecodeWithSkia(data, ImageFormat.Jpeg, limits, 0, eighths);
    }

    private static void CheckPixels(long width, long height, ImageLimits limits)
    {
        if (width <= 0 || height <= 0) throw new ImageError(ImageErrorKind.Decode, $"the header gives an invalid size {width}x{height}");
        if (width * height > limits.MaxPixels)
            throw new ImageError(ImageErrorKind.TooLarge,
                $"{width}x{height} = {width * height:N0} pixels, over the limit of {limits.MaxPixels:N0} (Imaging:MaxPixels)");
    }

    private static unsafe DecodedImage DecodeWithSkia(ReadOnlySpan<byte> data, ImageFormat format, ImageLimits limits, int minSide, int eighths = 0)
    {
        JpegStructure? jpeg = null;
        if (format == ImageFormat.Jpeg)
        {
            jpeg = JpegStructure.Read(data) ?? throw new ImageError(ImageErrorKind.Truncated, "JPEG header ends before the first scan");
            CheckPixels(jpeg.Value.Width, jpeg.Value.Height, limits);
            if (!jpeg.Value.HasEndOfImage(data))
                throw new ImageError(ImageErrorKind.Truncated, $"{(jpeg.Value.Progressive ? "progressive " : "")}JPEG has no end-of-image marker: the file is truncated");
        }
        var png = format == ImageFormat.Png ? PngHeader.Read(data) : null;

        SKData skData;
        fixed (byte* p = data) skData = SKData.CreateCopy((IntPtr)p, (ulong)data.Length);
        using (skData)
        {
            using var codec = SKCodec.Create(skData)
                ?? throw new ImageError(ImageErrorKind.Decode, $"the {format} header could not be read");
            var info = codec.Info;
            CheckPixels(info.Width, info.Height, limits);
            if (png is { BitDepth: 16 }) return DecodeSixteenBitPng(data, png.Value);

            var size = eighths is > 0 and < 8 ? codec.GetScaledDimensions(eighths / 8f)
                : minSide > 0 ? ReducedSize(codec, minSide) : info.Size;
            var image = DecodedImage.Rent(size.Width, size.Height, info.Width, info.Height);
            try
            {
                // No colour space on the destination: Skia then applies no colour management, like PIL.
                var target = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                SKCodecResult result;
                fixed (byte* px = image.Writable) result = codec.GetPixels(target, (IntPtr)px);
                ThrowOnFailure(result, format);
                return image;
            }
            catch
            {
                image.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// The smallest size the codec decodes to directly (libjpeg-turbo scales by n/8 in the DCT domain, n = 1..8) whose
    /// sides are both at least <paramref name="minSide"/>; the full size when no reduction keeps them.
    /// </summary>
    private static SKSizeI ReducedSize(SKCodec codec, int minSide)
    {
        for (int n = 1; n < 8; n++)
        {
            var scaled = codec.GetScaledDimensions(n / 8f);
            if (scaled.Width >= minSide && scaled.Height >= minSide) return scaled;
        }
        return codec.Info.Size;
    }

    private static void ThrowOnFailure(SKCodecResult result, ImageFormat format)
    {
        switch (result)
        {
            case SKCodecResult.Success:
                return;
            case SKCodecResult.IncompleteInput:
                throw new ImageError(ImageErrorKind.Truncated, $"the {format} data ends early: the file is truncated");
            default:
                throw new ImageError(ImageErrorKind.Decode, $"the {format} decoder failed: {result}");
        }
    }

    /// <summary>
    /// PIL reads 16-bit PNGs its own way: RGB, RGBA and gray+alpha keep the high byte of each sample,
    /// 16-bit grayscale (mode I) is clipped to 255 when converted to RGB. Skia cannot hand out 16-bit
    /// samples without colour conversion, so these files (rare in photo datasets) are decoded by
    /// ImageSharp's lossless PNG decoder to 16 bits per channel and PIL's rule is applied.
    /// </summary>
    private static DecodedImage DecodeSixteenBitPng(ReadOnlySpan<byte> data, PngHeader png)
    {
        try
        {
            using var img = SixLabors.ImageSharp.Image.Load<Rgba64>(data.ToArray());
            var wide = new Rgba64[img.Width * img.Height];
            img.CopyPixelDataTo(wide);
            var image = DecodedImage.Rent(img.Width, img.Height);
            var dst = image.Writable;
            bool clip = png.ColorType == 0; // grayscale without alpha: PIL mode I
            for (int i = 0; i < wide.Length; i++)
            {
                var p = wide[i];
                dst[i * 4 + 0] = clip ? (byte)Math.Min((int)p.R, 255) : (byte)(p.R >> 8);
                dst[i * 4 + 1] = clip ? (byte)Math.Min((int)p.G, 255) : (byte)(p.G >> 8);
                dst[i * 4 + 2] = clip ? (byte)Math.Min((int)p.B, 255) : (byte)(p.B >> 8);
                dst[i * 4 + 3] = (byte)(p.A >> 8);
            }
            return image;
        }
        catch (Exception e) when (e is not ImageError)
        {
            throw new ImageError(ImageErrorKind.Decode, $"the 16-bit PNG decoder failed: {e.Message}");
        }
    }

    private static DecodedImage DecodeWithImageSharp(ReadOnlySpan<byte> data, ImageLimits limits)
    {
        var bytes = data.ToArray();
        SixLabors.ImageSharp.IImageInfo? header;
        try
        {
            header = SixLabors.ImageSharp.Image.Identify(bytes);
        }
        catch (Exception e)
        {
            throw new ImageError(ImageErrorKind.Decode, $"the TIFF header could not be read: {e.Message}");
        }
        if (header is null) throw new ImageError(ImageErrorKind.Unsupported, "the TIFF header could not be read");
        CheckPixels(header.Width, header.Height, limits);
        try
        {
            using var img = SixLabors.ImageSharp.Image.Load<Rgba32>(bytes);
            var image = DecodedImage.Rent(img.Width, img.Height);
            img.CopyPixelDataTo(MemoryMarshal.Cast<byte, Rgba32>(image.Writable));
            return image;
        }
        catch (Exception e) when (e is not ImageError)
        {
            throw new ImageError(ImageErrorKind.Decode, $"the TIFF decoder failed: {e.Message}");
        }
    }
}

/// <summary>The PNG IHDR fields PIL's conversion rules depend on.</summary>
internal readonly record struct PngHeader(int Width, int Height, byte BitDepth, byte ColorType)
{
    public static PngHeader? Read(ReadOnlySpan<byte> d)
    {
        if (d.Length < 33 || !d.Slice(12, 4).SequenceEqual("IHDR"u8)) return null;
        return new PngHeader(
            (int)BinaryPrimitives.ReadUInt32BigEndian(d[16..]),
            (int)BinaryPrimitives.ReadUInt32BigEndian(d[20..]),
            d[24], d[25]);
    }
}
