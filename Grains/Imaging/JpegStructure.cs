namespace DpIqa.Imaging;

/// <summary>
/// Walks a JPEG's marker segments up to the first scan: size, progressive or not, and where entropy-coded data begins.
/// Skia reports a truncated progressive JPEG as complete, while PIL refuses it; we detect truncation ourselves
/// by requiring an end-of-image marker after the first scan (entropy-coded data cannot contain FF D9).
/// </summary>
internal readonly record struct JpegStructure(int Width, int Height, bool Progressive, int FirstScan)
{
    public static JpegStructure? Read(ReadOnlySpan<byte> d)
    {
        int width = 0, height = 0;
        bool progressive = false;
        int i = 2;
        while (i + 4 <= d.Length)
        {
            if (d[i] != 0xFF) return null;
            byte marker = d[i + 1];
            if (marker == 0xFF) { i++; continue; } // fill byte
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7)) { i += 2; continue; }
            int length = (d[i + 2] << 8) | d[i + 3];
            if (length < 2) return null;
            bool isSof = marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
            if (isSof && i + 9 <= d.Length)
            {
                height = (d[i + 5] << 8) | d[i + 6];
                width = (d[i + 7] << 8) | d[i + 8];
                progressive = marker is 0xC2 or 0xC6 or 0xCA or 0xCE;
            }
            if (marker == 0xDA) return new JpegStructure(width, height, progressive, i);
            i += 2 + length;
        }
        return null;
    }

    /// <summary>Whether an end-of-image marker follows the first scan.</summary>
    public bool HasEndOfImage(ReadOnlySpan<byte> d) => d[FirstScan..].IndexOf([(byte)0xFF, (byte)0xD9]) >= 0;
}
