using System.CommandLine;

namespace DpIqa.Client.Commands;

/// <summary>Options several commands share; each maps to a configuration key of the same name.</summary>
internal static class CommonOptions
{
    public static Option<string?> ModelsPath() => new("--models-dir")
    {
        Description = "Folder of imported models (config Models:Path; default ~/.dpiqa/models)",
    };

    public static Option<bool> Json() => new("--json") { Description = "Print machine-readable JSON instead of tables" };

    /// <summary>The global <c>-v</c>: every command accepts it, before or after its own options.</summary>
    public static Option<bool> Verbose() => new("--verbose", "-v")
    {
        Description = "Show the stack trace with an error (and, for score, the silo's informational logs)",
        Recursive = true,
    };

    public static IEnumerable<KeyValuePair<string, string?>> Settings(ParseResult parse, Option<string?> modelsPath)
    {
        var path = parse.GetValue(modelsPath);
        if (path is not null) yield return new("Models:Path", Path.GetFullPath(path));
    }
}
