namespace DpIqa;

/// <summary>How an image becomes the model's 512x512 input (CLI <c>--preprocess</c>, manifest <c>preprocess</c>).</summary>
public enum PreprocessPath
{
    /// <summary>Decode at full size and resize with PIL's bilinear filter: bit-identical to the official PIL pipeline.</summary>
    Exact = 0,
    /// <summary>
    /// JPEGs are decoded already reduced by libjpeg-turbo's DCT-domain scaling (the largest reduction that keeps both
    /// sides at least 512 px), then resized with the same PIL bilinear filter. Other formats, and JPEGs too small to
    /// reduce, take the exact path. Several times faster on camera-size JPEGs; scores differ slightly from exact.
    /// </summary>
    Fast = 1,
}
