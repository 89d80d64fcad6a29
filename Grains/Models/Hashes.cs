using System.Security.Cryptography;

namespace DpIqa.Models;

/// <summary>The one sha256 helper: lower-case hex, as model manifests and result rows record it.</summary>
internal static class Hashes
{
    /// <summary>sha256 of bytes in memory.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>sha256 of a file, streamed (model files can be gigabytes).</summary>
    public static string Sha256OfFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
