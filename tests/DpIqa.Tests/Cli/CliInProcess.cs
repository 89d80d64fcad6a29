namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>dpiqa</c> run in this process through its CLI boundary (<c>Cli.Run</c>): the exit code and the stderr lines,
/// captured without a process start. The one helper for tests that need neither environment settings nor signals
/// (those use <see cref="DpiqaProcess"/>).
/// </summary>
internal static class CliInProcess
{
    public static async Task<(int Code, string[] Lines)> Run(string[] args, CancellationToken cancellationToken = default)
    {
        var error = new StringWriter();
        var code = await DpIqa.Client.Cli.Run(args, error, cancellationToken);
        return (code, error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
