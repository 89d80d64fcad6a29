using System.CommandLine;

namespace DpIqa.Client.Commands;

/// <summary>Options several commands share; each maps to a configuration key of the same name.</summary>
internal static class CommonOptions
{
    public static Option<string?> ModelsPath() => new("--models-dir")
    {
        Description = "Folder of imported models (config Models:Path; default ~/.dpiqa/models)",
    };

    /// <summary><c>--preprocess exact|fast</c>; unset: the model's default (its manifest's <c>preprocess</c>, normally exact).</summary>
    public static Option<string?> Preprocess()
    {
        var option = new Option<string?>("--preprocess")
        {
            Description = "exact (bit-identical to PIL, the default) or fast (JPEGs decoded reduced by libjpeg-turbo, several times faster, scores differ slightly)",
        };
        option.AcceptOnlyFromAmong("exact", "fast");
        return option;
    }

    public static PreprocessPath? Preprocess(ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { } value ? Enum.Parse<PreprocessPath>(value, ignoreCase: true) : null;

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
