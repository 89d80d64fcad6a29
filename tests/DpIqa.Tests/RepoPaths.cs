namespace DpIqa.Tests;

/// <summary>Paths of files the repository ships (photos, reference outputs).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Photos => Path.Combine(Root, "samples", "photos");
    public static string Reference => Path.Combine(Root, "tests", "reference");

    public static string Of(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DpIqa.Cluster.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (DpIqa.Cluster.sln) above " + AppContext.BaseDirectory);
    }
}
