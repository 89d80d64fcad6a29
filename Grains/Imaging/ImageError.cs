namespace DpIqa.Imaging;

/// <summary>An image that cannot be scored, with the kind a result record carries and a message a user can act on.</summary>
internal sealed class ImageError(ImageErrorKind kind, string message) : Exception(message)
{
    public ImageErrorKind Kind { get; } = kind;
}
