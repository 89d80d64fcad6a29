using System.Buffers;

namespace DpIqa.Imaging;

/// <summary>Decoded pixels as RGBA (4 bytes per pixel, alpha not applied), in a pooled buffer returned on dispose.</summary>
internal sealed class DecodedImage(byte[] rgba, int width, int height, int fullWidth, int fullHeight) : IDisposable
{
    /// <summary>Width in the file; larger than <see cref="Width"/> when the decoder reduced the image (JPEG DCT-domain scaling).</summary>
    public int FullWidth { get; } = fullWidth;
    /// <summary>Height in the file.</summary>
    public int FullHeight { get; } = fullHeight;
    /// <summary>Whether the decoder reduced the image rather than giving every pixel.</summary>
    public bool Reduced => FullWidth != Width || FullHeight != Height;
    private byte[]? _rgba = rgba;

    public int Width { get; } = width;
    public int Height { get; } = height;
    public int Stride => Width * 4;
    public ReadOnlySpan<byte> Rgba => (_rgba ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsSpan(0, Stride * Height);

    public static DecodedImage Rent(int width, int height) => Rent(width, height, width, height);

    public static DecodedImage Rent(int width, int height, int fullWidth, int fullHeight) =>
        new(ArrayPool<byte>.Shared.Rent(checked(width * height * 4)), width, height, fullWidth, fullHeight);

    public Span<byte> Writable => (_rgba ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsSpan(0, Stride * Height);

    public void Dispose()
    {
        var a = Interlocked.Exchange(ref _rgba, null);
        if (a is not null) ArrayPool<byte>.Shared.Return(a);
    }
}
