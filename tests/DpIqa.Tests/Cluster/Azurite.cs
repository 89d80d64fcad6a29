using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A real Azurite (the `azurite` npm package) on 127.0.0.1, in memory, on free ports, for the life of a test class.
/// Found on PATH, in $AZURITE, in /opt/azurite or .cache/azurite; otherwise installed with npm into .cache/azurite.
/// Without Node.js/npm the tests that need it are skipped and say so, or fail in CI (see <see cref="Dependency"/>).
/// </summary>
public sealed class Azurite : IDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly Process? _process;
    private volatile string? _lastError; // Azurite's last line on stderr, to say why it exited

    public string? SkipReason { get; }
    public string ConnectionString { get; } = "";

    public Azurite()
    {
        string installError = "";
        var exe = Find() ?? Install(out installError);
        if (exe is null)
        {
            SkipReason = Dependency.Missing($"Azurite is not available ({installError}; install Node.js and npm, or set AZURITE to the azurite executable)");
            return;
        }
        int blob = FreePort(), table = FreePort(), queue = FreePort();
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in new[] { "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--loose",
                     "--blobHost", "127.0.0.1", "--blobPort", $"{blob}", "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
                     "--queueHost", "127.0.0.1", "--queuePort", $"{queue}" })
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (!string.IsNullOrWhiteSpace(e.Data)) _lastError = e.Data; };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
                           $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;" +
                           $"QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;";
        try
        {
            WaitForPort(blob);
            WaitForPort(table);
        }
        catch
        {
            Dispose(); // xunit does not dispose a fixture whose constructor threw: do not leave Azurite running
            throw;
        }
    }

    private static string? Find()
    {
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("AZURITE"),
            "/opt/azurite/node_modules/.bin/azurite",
            Path.Combine(RepoPaths.Root, ".cache", "azurite", "node_modules", ".bin", "azurite"),
        };
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "azurite")));
        return candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c));
    }

    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);
    private static readonly object InstallLock = new();

    private static string? Install(out string error)
    {
        lock (InstallLock)
        {
            error = "";
            if (Find() is { } found) return found;
            try
            {
                var psi = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "install", "--no-audit", "--no-fund", "--prefix", Path.Combine(RepoPaths.Root, ".cache", "azurite"), "azurite@3.37.0" })
                    psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                var stderr = p.StandardError.ReadToEndAsync();
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                // The last line of npm's error output is usually the one that says why.
                error = $"npm install azurite@3.37.0 exited with {p.ExitCode}: {stderr.Result.Trim().Split('\n')[^1]}";
                return p.ExitCode == 0 ? Find() : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                error = "npm is not on PATH";
                return null;
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WaitForPort(int port)
    {
        // Only a guard against a hang: Node.js needs 35-40 s to start Azurite on a loaded 2-core machine, and a
        // test must not fail on a timing; an Azurite that cannot start exits, and that is reported at once.
        var deadline = DateTime.UtcNow.Add(StartTimeout);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"Azurite exited with code {_process.ExitCode}: {_lastError}");
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new TimeoutException($"Azurite did not listen on port {port} within {StartTimeout.TotalSeconds:F0} s");
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process?.Dispose();
    }
}
