using System.Text.RegularExpressions;

namespace DpIqa.Storage;

/// <summary>
/// Where job data lives, as one string: a local path, or <c>blob:CONTAINER/NAME</c> in Azure Blob Storage.
/// Users write blob sources and outputs as <c>container[/prefix]</c> after <c>--source</c>/<c>--out</c> of
/// <c>dpiqa job submit</c>; the CLI adds the scheme.
/// </summary>
internal static partial class Locations
{
    public const string BlobScheme = "blob:";

    /// <summary>A source that is a listing file: one image location per line (a local path, or container/name in blob storage).</summary>
    public const string ListingScheme = "listing:";

    public static bool IsListing(string location) => location.StartsWith(ListingScheme, StringComparison.Ordinal);

    /// <summary>
    /// Whether what a user wrote after <c>listing:</c> names a local listing file: <c>file:PATH</c>, an absolute path
    /// (<c>/data/list.txt</c>) or one relative to the working directory written as such (<c>./list.txt</c>,
    /// <c>../list.txt</c>). Anything else is <c>container/file</c> in blob storage: a container name never starts
    /// with '/' or '.', so the two cannot be confused.
    /// </summary>
    public static bool IsLocalListingFile(string file) =>
        file.StartsWith(FileScheme, StringComparison.Ordinal) || Path.IsPathRooted(file)
        || file.StartsWith("./", StringComparison.Ordinal) || file.StartsWith("../", StringComparison.Ordinal);

    /// <summary>The full path of a local listing file as <see cref="IsLocalListingFile"/> accepts it, <c>file:</c> removed.</summary>
    public static string LocalListingPath(string file) =>
        Path.GetFullPath(file.StartsWith(FileScheme, StringComparison.Ordinal) ? file[FileScheme.Length..] : file);

    /// <summary>What marks a path on the silos' own disks on the command line (<c>file:/data/photos</c>).</summary>
    public const string FileScheme = "file:";

    public static bool IsBlob(string location) => location.StartsWith(BlobScheme, StringComparison.Ordinal);

    public static string Blob(string containerAndPrefix) => BlobScheme + containerAndPrefix.Trim('/');

    /// <summary>Appends path segments with the separator the location's kind uses.</summary>
    public static string Join(string root, params string[] parts) =>
        IsBlob(root) ? string.Join('/', new[] { root.TrimEnd('/') }.Concat(parts)) : Path.Combine([root, .. parts]);

    // Azure's container rule: 3-63 characters, lower-case letters, digits and single hyphens, starting and ending
    // with a letter or digit. $root, $web and $logs are the account's special containers.
    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$|^\\$(root|web|logs)$")]
    private static partial Regex ContainerPattern();

    /// <summary>What a container name must look like, for messages.</summary>
    public const string ContainerRule = "3-63 characters: lower-case letters, digits and single hyphens, starting and ending with a letter or digit";

    /// <summary>
    /// Refuses a blob location whose container or blob name breaks Azure's naming rules, before any request is made
    /// (the service would answer 400, or a dot segment would silently name another blob). <paramref name="what"/>
    /// names where the location came from (e.g. "--source photos/all") for the message.
    /// </summary>
    public static void CheckBlobNames(string location, string what)
    {
        var (container, name) = ParseBlob(location);
        if (!ContainerPattern().IsMatch(container))
            throw new ArgumentException($"{what}: '{container}' is not a valid blob container name ({ContainerRule})");
        if (name.Length == 0) return;
        // Room is left for what a job appends (e.g. /results/shard-000001.1a2b3c4d.parquet) under the 1,024-character limit.
        if (name.Length > 960)
            throw new ArgumentException($"{what}: the blob name or prefix is {name.Length} characters long; Azure allows 1,024 and a job appends file names to it: shorten it");
        if (name.Any(c => char.IsControl(c)))
            throw new ArgumentException($"{what}: the blob name or prefix contains a control character; blob names cannot");
        var segments = name.Split('/');
        if (segments.Length > 250)
            throw new ArgumentException($"{what}: the blob name or prefix has {segments.Length} '/'-separated segments; Azure allows 254 and a job adds some: use fewer");
        if (segments.Any(s => s.Length == 0 || s.EndsWith('.')))
            throw new ArgumentException($"{what}: a segment of the blob name or prefix is empty or ends with '.' (as in '//', '/./' or '/../'); Azure cannot name such blobs reliably: remove it");
    }

    /// <summary>Container and blob name (or prefix, possibly empty) of a blob location.</summary>
    public static (string Container, string Name) ParseBlob(string location)
    {
        var rest = location[BlobScheme.Length..].Trim('/');
        var slash = rest.IndexOf('/');
        return slash < 0 ? (rest, "") : (rest[..slash], rest[(slash + 1)..]);
    }
}
