using System.Runtime.CompilerServices;
using DpIqa.Imaging;

namespace DpIqa.Storage;

/// <summary>One image to score: where to read it and the path results and per-folder statistics use.</summary>
/// <param name="Version">What tells a changed image from an unchanged one: a blob's ETag, a local file's size and
/// modification time; null when unknown (never reused from the score cache).</param>
internal sealed record SourceItem(string Location, string Path, string? Version = null)
{
    /// <summary>The version of a local file: its size and last write time.</summary>
    public static string LocalVersion(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? $"{info.Length}-{info.LastWriteTimeUtc.Ticks}" : "";
    }
}

/// <summary>
/// Lists the images of a job's sources in a stable order (sorted, folder by folder), streaming, so scoring
/// can start before listing ends and a restarted listing can skip what it already wrote.
/// Paths are relative to the source folder when there is one source folder; otherwise each is prefixed
/// with its folder's name (or is the file's name, for a file source). On a cluster silo a folder link that leads
/// outside Storage:LocalRoots stops the listing (its names would leak what lies outside); file links are listed and
/// refused when read, so each ends as an error record.
/// </summary>
internal static class SourceListing
{
    public static async IAsyncEnumerable<SourceItem> List(IReadOnlyList<string> sources, bool prefix, LocalPaths localPaths, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var source in sources)
        {
            var full = Path.GetFullPath(source);
            if (File.Exists(full))
            {
                yield return new SourceItem(full, Path.GetFileName(full), SourceItem.LocalVersion(full));
                continue;
            }
            var name = prefix ? new DirectoryInfo(full).Name + "/" : "";
            foreach (var file in Walk(full, localPaths))
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return new SourceItem(file, name + Path.GetRelativePath(full, file).Replace('\\', '/'), SourceItem.LocalVersion(file));
            }
            await Task.Yield();
        }
    }

    private static IEnumerable<string> Walk(string dir, LocalPaths localPaths)
    {
        var options = new EnumerationOptions { IgnoreInaccessible = true, RecurseSubdirectories = false };
        foreach (var file in Directory.EnumerateFiles(dir, "*", options).Order(StringComparer.Ordinal))
            if (ImageFormats.Extensions.Contains(Path.GetExtension(file))) yield return file;
        foreach (var sub in Directory.EnumerateDirectories(dir, "*", options).Order(StringComparer.Ordinal))
        {
            if (localPaths.Confined && new DirectoryInfo(sub).LinkTarget is not null) localPaths.Validate(sub);
            foreach (var file in Walk(sub, localPaths)) yield return file;
        }
    }

    /// <summary>The top-level folder of a relative path, "." for a path with no folder.</summary>
    public static string TopFolder(string path)
    {
        var slash = path.IndexOf('/');
        return slash < 0 ? "." : path[..slash];
    }
}
