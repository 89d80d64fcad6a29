namespace DpIqa.Storage;

/// <summary>
/// Where job data lives, as one string: a local path, or <c>blob:CONTAINER/NAME</c> in Azure Blob Storage.
/// Users write blob sources and outputs as <c>container[/prefix]</c> after <c>--source</c>/<c>--out</c> of
/// <c>dpiqa job submit</c>; the CLI adds the scheme.
/// </summary>
internal static class Locations
{
    public const string BlobScheme = "blob:";

    /// <summary>A source that is a listing file: one image location per line (a local path, or container/name in blob storage).</summary>
    public const string ListingScheme = "listing:";

    public static bool IsListing(string location) => location.StartsWith(ListingScheme, StringComparison.Ordinal);

    public static bool IsBlob(string location) => location.StartsWith(BlobScheme, StringComparison.Ordinal);

    public static string Blob(string containerAndPrefix) => BlobScheme + containerAndPrefix.Trim('/');

    /// <summary>Appends path segments with the separator the location's kind uses.</summary>
    public static string Join(string root, params string[] parts) =>
        IsBlob(root) ? string.Join('/', new[] { root.TrimEnd('/') }.Concat(parts)) : Path.Combine([root, .. parts]);

    /// <summary>Container and blob name (or prefix, possibly empty) of a blob location.</summary>
    public static (string Container, string Name) ParseBlob(string location)
    {
        var rest = location[BlobScheme.Length..].Trim('/');
        var slash = rest.IndexOf('/');
        return slash < 0 ? (rest, "") : (rest[..slash], rest[(slash + 1)..]);
    }
}
