namespace DpIqa.Imaging;

/// <summary>Limits checked from the file size and the image header, before any pixel is decoded.</summary>
public sealed class ImageLimits
{
    /// <summary>Configuration section: <c>Imaging</c>.</summary>
    public const string Section = "Imaging";

    /// <summary>Largest width x height accepted. Default: PIL's <c>Image.MAX_IMAGE_PIXELS</c>, 178,956,970.</summary>
    public long MaxPixels { get; set; } = 178_956_970;

    /// <summary>Largest file accepted, in bytes. Default 256 MiB.</summary>
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;
}
