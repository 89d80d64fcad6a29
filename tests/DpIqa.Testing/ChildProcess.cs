using System.Diagnostics;

namespace DpIqa.Testing;

/// <summary>Starting, signalling and stopping the processes a test or bench runs.</summary>
public static class ChildProcess
{
    /// <summary>
    /// Starts <paramref name="file"/> with its output drained line by line into <paramref name="line"/> (stdout and
    /// stderr alike; null drops them). <paramref name="env"/> adds to this process's environment.
    /// </summary>
    public static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, Action<string>? line = null,
        string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) line?.Invoke(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) line?.Invoke(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>A writer for <see cref="Start"/>'s lines that appends to <paramref name="log"/> (never closed: lines may arrive after exit).</summary>
    public static Action<string> AppendTo(string log)
    {
        var writer = TextWriter.Synchronized(new StreamWriter(log, append: true) { AutoFlush = true });
        return writer.WriteLine;
    }

    /// <summary>Sends a POSIX signal (TERM, STOP, CONT, KILL) with kill(1); .NET itself only sends SIGKILL.</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-s", signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -s {signal} {process.Id} failed with {kill.ExitCode}");
    }

    /// <summary>Kills the process and its children and waits up to 5 s; nothing if it has exited or was disposed.</summary>
    public static void Stop(Process process)
    {
        if (Gone(process)) return;
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { } // exited meanwhile
    }

    /// <summary>Exited, or already disposed by its owner.</summary>
    public static bool Gone(Process process)
    {
        try { return process.HasExited; }
        catch (InvalidOperationException) { return true; }
    }
}
