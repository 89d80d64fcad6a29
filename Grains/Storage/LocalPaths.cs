namespace DpIqa.Storage;

/// <summary>
/// Which local paths a silo's jobs may read and write. On a cluster silo a job is a request from someone else,
/// so <c>file:</c> sources, listing files, the paths listed in them and local outputs must lie under one of the
/// folders named in <c>Storage:LocalRoots</c>, after following every symbolic link; paths with <c>..</c> are
/// refused. The embedded <c>dpiqa score</c> runs on the user's own machine and accepts any path.
/// </summary>
internal sealed class LocalPaths
{
    /// <summary>Links followed before giving up, as Linux's realpath does (ELOOP).</summary>
    private const int MaxLinks = 40;

    private static readonly StringComparison PathComparison =
        OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    /// <summary>Real paths of the roots; null accepts any path.</summary>
    private readonly IReadOnlyList<string>? _roots;

    private LocalPaths(IReadOnlyList<string>? roots) => _roots = roots;

    /// <summary>The embedded silo of <c>dpiqa score</c> and the CLI: the user's own machine.</summary>
    public static LocalPaths Any { get; } = new(null);

    /// <summary>A cluster silo: only paths under <paramref name="roots"/> (none: no local path at all).</summary>
    public static LocalPaths Under(IEnumerable<string> roots) =>
        new(roots.Where(r => !string.IsNullOrWhiteSpace(r))
            .Select(r => RealPath(r.Trim()) ?? throw new ArgumentException($"Storage:LocalRoots entry '{r}' has a symbolic link loop: fix the link or name another folder"))
            .Distinct().ToList());

    public bool Confined => _roots is not null;

    /// <summary>The real path to use for a job's source or output, or an ArgumentException (a bad request) saying why not.</summary>
    public string Validate(string path) => Check(path, out var real) is { } refusal ? throw new ArgumentException(refusal) : real;

    /// <summary>
    /// The real path to read or write, or an UnauthorizedAccessException: a path met while a job runs (a listing
    /// line, a file or link found in a source folder) that the scoring worker records as a 'fetch' error.
    /// </summary>
    public string Resolve(string path) => Check(path, out var real) is { } refusal ? throw new UnauthorizedAccessException(refusal) : real;

    /// <summary>Null when <paramref name="path"/> is allowed (with its real path), else the one-line reason.</summary>
    private string? Check(string path, out string real)
    {
        real = path;
        if (_roots is null) return null;
        if (_roots.Count == 0)
            return $"local path '{path}' is refused: this cluster's silos have no Storage:LocalRoots; set Storage:LocalRoots on every silo to the folders jobs may use, or use blob storage";
        if (!Path.IsPathFullyQualified(path))
            return $"local path '{path}' is not absolute: name a path under {RootList}";
        if (path.Split('/', '\\').Contains(".."))
            return $"local path '{path}' contains '..': name a path under {RootList} without '..'";
        // The roots are real paths: resolution starts below the deepest root the path is written under.
        var lexical = Path.GetFullPath(path);
        var underRoot = _roots.Where(root => IsUnder(lexical, root)).MaxBy(root => root.Length);
        if (RealPath(path, underRoot) is not { } resolved)
            return $"local path '{path}' goes through more than {MaxLinks} symbolic links: remove the link loop";
        real = resolved;
        if (_roots.Any(root => IsUnder(resolved, root))) return null;
        return underRoot is not null
            ? $"local path '{path}' leads outside {RootList} through a symbolic link: use a path whose links stay under the roots, or add the link's target folder to Storage:LocalRoots"
            : $"local path '{path}' is outside {RootList}: move the files under a root, or add a root to Storage:LocalRoots on every silo";
    }

    private string RootList => $"Storage:LocalRoots ({string.Join(", ", _roots!)})";

    private static bool IsUnder(string path, string root)
    {
        if (path.Equals(root, PathComparison)) return true;
        var prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, PathComparison);
    }

    /// <summary>
    /// realpath(3) that also takes paths that do not exist yet (an output folder to create): every symbolic link
    /// on the way to the deepest existing ancestor is followed (links inside link targets too), and the missing
    /// rest is appended as written. A dangling link is followed to where a write would land. Null for a link loop.
    /// <paramref name="realPrefix"/>, a leading part of the path already known to be real (a root), is not re-read.
    /// </summary>
    internal static string? RealPath(string path, string? realPrefix = null)
    {
        var full = Path.GetFullPath(path);
        var resolved = realPrefix ?? Path.GetPathRoot(full)!;
        var pending = new Stack<string>(Parts(full[resolved.Length..]).Reverse());
        bool missing = false; // past the deepest existing ancestor: nothing below can be a link
        int links = 0;
        while (pending.TryPop(out var part))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                // 'resolved' holds no links, so its parent is the real parent.
                resolved = Path.GetDirectoryName(resolved) ?? resolved;
                continue;
            }
            var next = Path.Join(resolved, part);
            if (!missing)
            {
                var info = new FileInfo(next);
                var attributes = info.Attributes; // one status read of the entry itself; -1 when nothing is there
                if ((int)attributes == -1)
                {
                    missing = true;
                }
                else if (attributes.HasFlag(FileAttributes.ReparsePoint) && info.LinkTarget is { } target)
                {
                    if (++links > MaxLinks) return null;
                    if (Path.IsPathRooted(target)) resolved = Path.GetPathRoot(target)!;
                    foreach (var p in Parts(target[Path.GetPathRoot(target)!.Length..]).Reverse()) pending.Push(p);
                    continue;
                }
            }
            resolved = next;
        }
        return resolved;
    }

    private static IEnumerable<string> Parts(string path) =>
        path.Split(['/', Path.DirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
}
