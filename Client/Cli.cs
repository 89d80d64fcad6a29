using System.CommandLine;
using System.Text.RegularExpressions;
using DpIqa.Client.Commands;

namespace DpIqa.Client;

/// <summary>
/// The CLI boundary: the command tree, and the one place where a failure becomes an exit code and one line on
/// stderr (with <c>-v</c>, followed by the stack trace). Commands throw; they do not print errors.
/// </summary>
internal static partial class Cli
{
    public static RootCommand Root(Option<bool> verbose)
    {
        var root = new RootCommand("dpiqa: score images for perceptual quality with DP-IQA models on an Orleans cluster (or in this process)")
        {
            verbose,
        };
        root.Subcommands.Add(ScoreCommand.Create(verbose));
        root.Subcommands.Add(PreprocessCommand.Create());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(JobCommand.Create());
        root.Subcommands.Add(UploadCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ScheduleCommand.Create());
        root.Subcommands.Add(TokenCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>; returns the exit code (<see cref="ExitCodes"/>). Errors go to
    /// <paramref name="error"/>; <paramref name="cancellationToken"/> is the user's Ctrl+C.
    /// </summary>
    public static async Task<int> Run(string[] args, TextWriter error, CancellationToken cancellationToken = default)
    {
        var verbose = CommonOptions.Verbose();
        var parse = Root(verbose).Parse(args);
        if (parse.Errors.Count > 0)
        {
            var messages = string.Join("; ", parse.Errors.Select(e => Flatten(e.Message)));
            await error.WriteLineAsync($"error: {messages} (see '{CommandPath(parse.CommandResult)} --help')");
            return ExitCodes.InvalidRequest;
        }
        try
        {
            // No default exception handler (it prints the whole exception) and no Ctrl+C handling of its own: the
            // caller's token is the one cancellation, so a user's Ctrl+C can be told apart from a timeout.
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return await parse.InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception e)
        {
            var (code, line) = ExitCodes.Describe(e, cancellationToken.IsCancellationRequested);
            await error.WriteLineAsync(line);
            if (parse.GetValue(verbose)) await error.WriteLineAsync(e.ToString());
            return code;
        }
    }

    /// <summary>
    /// System.CommandLine's messages may span lines (e.g. the list of accepted values) and name .NET types
    /// ("expected type 'System.Nullable`1[System.Double]'"); one line in a user's words is printed.
    /// </summary>
    private static string Flatten(string message)
    {
        var line = string.Join(' ', message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return ExpectedType().Replace(line, m => m.Groups["type"].Value switch
        {
            "Int32" or "Int64" => "as a whole number",
            "Double" or "Single" => "as a number",
            var other => $"as {other}",
        });
    }

    [GeneratedRegex(@"as expected type 'System\.(Nullable`1\[System\.)?(?<type>\w+)\]?'")]
    private static partial Regex ExpectedType();

    private static string CommandPath(System.CommandLine.Parsing.CommandResult command)
    {
        var names = new List<string>();
        for (var c = command; c is not null && c.Command is not RootCommand; c = c.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, c.Command.Name);
        names.Insert(0, "dpiqa");
        return string.Join(' ', names);
    }
}
