using System.Diagnostics;

namespace DpIqa.Tests.Cli;

/// <summary>
/// The built <c>dpiqa</c> run as a process, as a shell runs it: its exit code, stdout and stderr lines. The one
/// helper for tests that need a separate process (environment settings, signals) rather than <c>Cli.Run</c>.
/// </summary>
internal static class DpiqaProcess
{
    public static string Dll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var dll = Path.Combine(RepoPaths.Root, "Client", "bin", config, "net10.0", "dpiqa.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build the Client project first (dotnet build Client -c {config})", dll);
    }

    /// <summary>Starts dpiqa in <paramref name="workingDirectory"/> with <paramref name="environment"/> added to its environment.</summary>
    /// <param name="sigintAsInATerminal">Start it with SIGINT at its default handling, as a terminal's foreground command
    /// has it: a test runner started in the background by a non-interactive shell (nohup ... &amp;, some CI runners)
    /// ignores SIGINT, every child inherits that, and .NET then never raises Ctrl+C (coreutils' env resets it; the pid
    /// stays dotnet's, since env execs it).</param>
    public static Process Start(string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null,
        bool sigintAsInATerminal = false)
    {
        var psi = new ProcessStartInfo(sigintAsInATerminal ? "env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        if (sigintAsInATerminal)
        {
            psi.ArgumentList.Add("--default-signal=INT");
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(Dll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        return Process.Start(psi)!;
    }

    /// <summary>Runs dpiqa to its end; the limit (default 5 minutes) guards against a hang and is no timing check.</summary>
    public static async Task<(int Code, string Out, string[] Err)> Run(string workingDirectory, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? limit = null)
    {
        using var p = Start(workingDirectory, args, environment);
        return await Finish(p, limit);
    }

    /// <summary>Waits for a started dpiqa to end and collects what it wrote.</summary>
    public static async Task<(int Code, string Out, string[] Err)> Finish(Process p, TimeSpan? limit = null)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var hang = new CancellationTokenSource(limit ?? TimeSpan.FromMinutes(5));
        try
        {
            await p.WaitForExitAsync(hang.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            // What it wrote says where it hung.
            throw new TimeoutException($"dpiqa did not end; stdout:\n{Tail(await stdout)}\nstderr:\n{Tail(await stderr)}");
        }
        return (p.ExitCode, await stdout, (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];

    /// <summary>Two dpiqa commands run at once (independent processes), their results in order.</summary>
    public static async Task<(T, T)> Together<T>(Task<T> a, Task<T> b) => (await a, await b);

    /// <summary>Three dpiqa commands run at once, their results in order.</summary>
    public static async Task<(T, T, T)> Together<T>(Task<T> a, Task<T> b, Task<T> c) => (await a, await b, await c);

    /// <summary>A refused command's stderr: exactly one line, an error containing <paramref name="expected"/>.</summary>
    public static void AssertOneErrorLine(string[] err, string expected)
    {
        Assert.True(err.Length == 1, "stderr should be one line, was:\n" + string.Join('\n', err));
        Assert.StartsWith("error: ", err[0]);
        Assert.Contains(expected, err[0]);
    }
}
