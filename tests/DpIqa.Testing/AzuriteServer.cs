using System.Diagnostics;

namespace DpIqa.Testing;

/// <summary>
/// Azurite (the <c>azurite</c> npm package, pinned to <see cref="Version"/>) on 127.0.0.1 and free ports. With a
/// <c>location</c> it persists to disk there, so it can be killed and started again on the same ports with its data
/// (<see cref="KillAndRestart"/>); without, it keeps everything in memory.
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    public const string Version = "3.37.0";

    /// <summary>The well-known Azurite development account key (not a secret).</summary>
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Node.js may need 20-40 s to start Azurite on a loaded 2-core machine: a guard against a hang, no timing check.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

    private static readonly object InstallLock = new();

    private readonly string _exe;
    private readonly string? _location;
    private readonly Action<string>? _log;
    private readonly int _blob = LoopbackPorts.Free(), _table = LoopbackPorts.Free(), _queue = LoopbackPorts.Free();
    private volatile string? _lastLine; // Azurite's last words, to say why it exited

    private AzuriteServer(string exe, string? location, Action<string>? log)
    {
        _exe = exe;
        _location = location;
        _log = log;
        Process = Launch();
    }

    public Process Process { get; private set; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{_blob}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{_table}/devstoreaccount1;" +
        $"QueueEndpoint=http://127.0.0.1:{_queue}/devstoreaccount1;";

    /// <summary>Azurite's executable: $AZURITE, /opt/azurite, <c>ROOT/.cache/azurite</c> (where .ci/run installs it), or on PATH; null if none.</summary>
    public static string? Find(string repositoryRoot)
    {
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("AZURITE"),
            "/opt/azurite/node_modules/.bin/azurite",
            Path.Combine(repositoryRoot, ".cache", "azurite", "node_modules", ".bin", "azurite"),
        };
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "azurite")));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c));
    }

    /// <summary>Installs Azurite with npm into <c>ROOT/.cache/azurite</c> unless it is found; its executable, or null and why not.</summary>
    public static string? FindOrInstall(string repositoryRoot, out string error)
    {
        lock (InstallLock)
        {
            error = "";
            if (Find(repositoryRoot) is { } found) return found;
            try
            {
                var psi = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "install", "--no-audit", "--no-fund", "--prefix", Path.Combine(repositoryRoot, ".cache", "azurite"), $"azurite@{Version}" })
                    psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                var stderr = p.StandardError.ReadToEndAsync();
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                // The last line of npm's error output is usually the one that says why.
                error = $"npm install azurite@{Version} exited with {p.ExitCode}: {stderr.Result.Trim().Split('\n')[^1]}";
                return p.ExitCode == 0 ? Find(repositoryRoot) : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                error = "npm is not on PATH";
                return null;
            }
        }
    }

    /// <summary>Starts Azurite and returns once its blob and table ports listen.</summary>
    public static async Task<AzuriteServer> Start(string exe, string? location = null, Action<string>? log = null)
    {
        var azurite = new AzuriteServer(exe, location, log);
        try
        {
            await azurite.WaitUntilListening();
        }
        catch
        {
            azurite.Dispose(); // never leave an Azurite running behind a failed start
            throw;
        }
        return azurite;
    }

    /// <summary>kill -9, then a new Azurite on the same ports and folder, as a process manager would.</summary>
    public async Task KillAndRestart()
    {
        Process.Kill();
        await Process.WaitForExitAsync();
        Process.Dispose();
        Process = Launch();
        await WaitUntilListening();
    }

    private Process Launch()
    {
        var args = new List<string> { "--silent", "--skipApiVersionCheck", "--loose", "--blobHost", "127.0.0.1", "--blobPort", $"{_blob}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{_table}", "--queueHost", "127.0.0.1", "--queuePort", $"{_queue}" };
        args.AddRange(_location is null ? ["--inMemoryPersistence"] : ["--location", _location]);
        return ChildProcess.Start(_exe, args, null, line =>
        {
            if (!string.IsNullOrWhiteSpace(line)) _lastLine = line;
            _log?.Invoke(line);
        }, workingDirectory: Path.GetTempPath());
    }

    private async Task WaitUntilListening()
    {
        await LoopbackPorts.WaitUntilListening(_blob, Process, StartTimeout, () => _lastLine);
        await LoopbackPorts.WaitUntilListening(_table, Process, StartTimeout, () => _lastLine);
    }

    public void Dispose()
    {
        ChildProcess.Stop(Process);
        Process.Dispose();
    }
}
