using System.Security.Cryptography;

namespace DpIqa.Dedup;

/// <summary>
/// An image's content hash (result column <c>content_md5</c>): the MD5 of its bytes as 32 lowercase hex digits. A blob
/// listed with a Content-MD5 carries it in its version (<c>md5:BASE64</c>, see <see cref="Storage.ObjectStore"/>), and
/// that is used as it is; otherwise the bytes already fetched for scoring are hashed.
/// </summary>
internal static class ContentHash
{
    private const string ListedPrefix = "md5:";

    public static string Of(string? version, ReadOnlySpan<byte> bytes) => FromVersion(version) ?? Convert.ToHexStringLower(MD5.HashData(bytes));

    /// <summary>The listing's Content-MD5 in hex, when the version is one; null otherwise.</summary>
    public static string? FromVersion(string? version)
    {
        if (version is null || !version.StartsWith(ListedPrefix, StringComparison.Ordinal)) return null;
        Span<byte> md5 = stackalloc byte[16];
        return Convert.TryFromBase64String(version[ListedPrefix.Length..], md5, out int written) && written == 16 ? Convert.ToHexStringLower(md5) : null;
    }
}
