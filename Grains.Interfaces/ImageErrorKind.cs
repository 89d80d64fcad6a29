namespace DpIqa;

/// <summary>Why an image ended as an error record instead of a score.</summary>
public enum ImageErrorKind
{
    /// <summary>The bytes could not be read from the source.</summary>
    Fetch = 1,
    /// <summary>The image is over the configured pixel or byte limit (checked from the header, before decoding).</summary>
    TooLarge = 2,
    /// <summary>The file is not an image format the decoders know.</summary>
    Unsupported = 3,
    /// <summary>The decoder refused the data.</summary>
    Decode = 4,
    /// <summary>The file ends before the image data does.</summary>
    Truncated = 5,
    /// <summary>The model failed on this image.</summary>
    Inference = 6,
}

/// <summary>Names used in result files and summaries for <see cref="ImageErrorKind"/>.</summary>
public static class ImageErrorKinds
{
    /// <summary>The lower-case kebab name of a kind, as it appears in results and summaries.</summary>
    public static string Name(this ImageErrorKind kind) => kind switch
    {
        ImageErrorKind.Fetch => "fetch",
        ImageErrorKind.TooLarge => "too-large",
        ImageErrorKind.Unsupported => "unsupported",
        ImageErrorKind.Decode => "decode",
        ImageErrorKind.Truncated => "truncated",
        ImageErrorKind.Inference => "inference",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
