using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Net.Sockets;
using DpIqa.Client;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// The real processes the cluster benches start (Azurite, DpIqa.Silo, the dpiqa CLI) and the signals the chaos
/// trials send them. Everything listens on free loopback ports so benches never meet another cluster.
/// </summary>
internal static class ClusterProcesses
{
    /// <summary>The well-known Azurite development account key (not a secret).</summary>
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly List<Process> Started = [];

    // Ctrl+C or SIGTERM of the bench must not leave silos and Azurite running behind it (ProcessExit came too late).
    private static readonly PosixSignalRegistration[] OnSignal =
        [PosixSignalRegistration.Create(PosixSignal.SIGINT, StopAll), PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopAll)];

    private static void StopAll(PosixSignalContext context)
    {
        lock (Started) foreach (var p in Started) Stop(p);
        context.Cancel = true;
        Environment.Exit(130); // cancelled: the trial's awaits would otherwise keep the bench alive
    }

    private static void Track(Process process)
    {
        lock (Started)
        {
            Started.RemoveAll(Gone);
            Started.Add(process);
        }
    }

    public static string? AzuriteExecutable(string root) =>
        new[] { Path.Combine(root, ".cache", "azurite", "node_modules", ".bin", "azurite"), "/opt/azurite/node_modules/.bin/azurite" }.FirstOrDefault(File.Exists);

    public static string SiloDll(string root) => Path.Combine(root, "Silo", "bin", "Release", "net10.0", "DpIqa.Silo.dll");

    public static string CliDll(string root) => Path.Combine(root, "Client", "bin", "Release", "net10.0", "dpiqa.dll");

    public static string ConnectionString(int blob, int table, int queue) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;";

    /// <summary>Starts a process with its output drained (to <paramref name="log"/> when given, so a failed trial can be read).</summary>
    public static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string? log = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        Track(p);
        // Never disposed: output events may still arrive after the process exited; AutoFlush keeps the file whole.
        TextWriter? writer = log is null ? null : TextWriter.Synchronized(new StreamWriter(log, append: true) { AutoFlush = true });
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) writer?.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) writer?.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs the dpiqa CLI to the end; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> Cli(string root, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliDll(root));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        Track(p);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, $"{(await stdout).Trim()} {(await stderr).Trim()}".Trim());
    }

    /// <summary>Sends a POSIX signal (TERM, STOP, CONT, KILL); .NET itself only sends SIGKILL.</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start("kill", ["-s", signal, process.Id.ToString()])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -s {signal} {process.Id} failed with {kill.ExitCode}");
    }

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
    private static bool Gone(Process process)
    {
        try { return process.HasExited; }
        catch (InvalidOperationException) { return true; }
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static async Task WaitForPort(int port, Process owner, TimeSpan timeout)
    {
        for (var deadline = DateTime.UtcNow + timeout; ; await Task.Delay(100))
        {
            if (owner.HasExited) throw new InvalidOperationException($"process {owner.Id} exited with code {owner.ExitCode} before listening on {port}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline) { }
        }
    }

    /// <summary>Connects a client, retrying while the silos are still starting.</summary>
    public static async Task<ClusterConnection> Connect(IEnumerable<KeyValuePair<string, string?>> settings, TimeSpan timeout)
    {
        for (var deadline = DateTime.UtcNow + timeout; ; await Task.Delay(500))
        {
            try { return await ClusterConnection.Open(settings); }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline) { }
        }
    }

    /// <summary>
    /// Deterministic JPEG crops of the shipped photos (decoded once per photo), cached in <paramref name="dir"/>.
    /// <paramref name="varied"/> adds random aspect ratios, JPEG qualities 50-95, every 10th image a PNG, and
    /// three folders (a/, b/, c/).
    /// </summary>
    public static string MakeCrops(string root, string dir, int count, int minSide, int maxSide, bool varied)
    {
        if (Directory.Exists(dir) && Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Length == count) return dir;
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos"), "*.jpg").Order().ToArray();
        var rng = new Random(5);
        int perPhoto = (count + photos.Length - 1) / photos.Length, n = 0;
        foreach (var photo in photos)
        {
            using var full = SKBitmap.Decode(photo);
            using var bitmap = full.Resize(new SKImageInfo(full.Width / 2, full.Height / 2), new SKSamplingOptions(SKFilterMode.Linear));
            for (int i = 0; i < perPhoto && n < count; i++, n++)
            {
                int side = rng.Next(minSide, maxSide + 1);
                int other = varied ? (int)(side * (0.5 + rng.NextDouble() * 1.5)) : side * 3 / 4;
                int w = Math.Min(side, bitmap.Width), h = Math.Min(Math.Max(other, 16), bitmap.Height);
                int x = rng.Next(bitmap.Width - w + 1), y = rng.Next(bitmap.Height - h + 1);
                using var crop = new SKBitmap();
                bitmap.ExtractSubset(crop, new SKRectI(x, y, x + w, y + h));
                using var copy = crop.Copy();
                bool png = varied && n % 10 == 9;
                using var data = copy.Encode(png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, varied ? rng.Next(50, 96) : 85);
                var folder = varied ? Path.Combine(dir, "abc"[n % 3].ToString()) : dir;
                Directory.CreateDirectory(folder);
                File.WriteAllBytes(Path.Combine(folder, $"img-{n:D5}.{(png ? "png" : "jpg")}"), data.ToArray());
            }
        }
        return dir;
    }
}

/// <summary>
/// Azurite on free loopback ports. With a <c>location</c> it persists to disk there, so it can be killed and
/// started again on the same ports with its data; without, it keeps everything in memory.
/// </summary>
internal sealed class AzuriteProcess : IDisposable
{
    private readonly string _exe;
    private readonly string? _location;
    private readonly string? _log;
    private readonly int _blob = ClusterProcesses.FreePort(), _table = ClusterProcesses.FreePort(), _queue = ClusterProcesses.FreePort();

    private AzuriteProcess(string exe, string? location, string? log)
    {
        _exe = exe;
        _location = location;
        _log = log;
        Process = Launch();
    }

    public Process Process { get; private set; }

    public string ConnectionString => ClusterProcesses.ConnectionString(_blob, _table, _queue);

    public static async Task<AzuriteProcess> Start(string exe, string? location = null, string? log = null)
    {
        var azurite = new AzuriteProcess(exe, location, log);
        await azurite.WaitUntilListening();
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
        return ClusterProcesses.Start(_exe, args, new Dictionary<string, string>(), _log);
    }

    private async Task WaitUntilListening()
    {
        await ClusterProcesses.WaitForPort(_blob, Process, TimeSpan.FromSeconds(120)); // Node.js starts slowly on a loaded machine (22 s seen)
        await ClusterProcesses.WaitForPort(_table, Process, TimeSpan.FromSeconds(120));
    }

    public void Dispose()
    {
        ClusterProcesses.Stop(Process);
        Process.Dispose();
    }
}

/// <summary>One DpIqa.Silo process on free loopback ports.</summary>
internal sealed class SiloProcess : IDisposable
{
    private SiloProcess(Process process, int siloPort)
    {
        Process = process;
        SiloPort = siloPort;
    }

    public Process Process { get; }

    public int SiloPort { get; }

    public static SiloProcess Start(string root, IReadOnlyDictionary<string, string> env, string? log = null)
    {
        int siloPort = ClusterProcesses.FreePort(), gatewayPort = ClusterProcesses.FreePort();
        // Benches measure scoring and recovery on loopback: plain TCP and no tokens, said in so many words (docs/security.md;
        // a cluster silo refuses to start without a choice). The caller's env may turn them on.
        var all = new Dictionary<string, string>
        {
            ["Tls__Enabled"] = "false", ["Security__AllowAnonymous"] = "true", ["Security__ReadContainers"] = "*", ["Security__WriteContainers"] = "*",
        };
        foreach (var (key, value) in env) all[key] = value;
        all["Cluster__SiloPort"] = $"{siloPort}";
        all["Cluster__GatewayPort"] = $"{gatewayPort}";
        all["Http__Port"] = "0"; // several silos per machine: no HTTP port each
        return new SiloProcess(ClusterProcesses.Start("dotnet", [ClusterProcesses.SiloDll(root)], all, log), siloPort);
    }

    /// <summary>Whether this process hosts the job grain, from <see cref="JobStatus.Coordinator"/> (a silo address with its port).</summary>
    public bool Hosts(string? coordinator) => coordinator?.Contains($":{SiloPort}:", StringComparison.Ordinal) == true;

    public void Dispose()
    {
        ClusterProcesses.Stop(Process);
        Process.Dispose();
    }
}
