using System.Diagnostics;
using System.Runtime.InteropServices;
using DpIqa.Client;
using DpIqa.Testing;
using SkiaSharp;

namespace DpIqa.Bench;

/// <summary>
/// The real processes the cluster benches start (Azurite, DpIqa.Silo, the dpiqa CLI), through the harness the tests
/// use too (tests/DpIqa.Testing), each stopped with the bench when it is cancelled. Everything listens on free
/// loopback ports so benches never meet another cluster.
/// </summary>
internal static class ClusterProcesses
{
    private static readonly List<Action> Stops = [];

    // Ctrl+C or SIGTERM of the bench must not leave silos and Azurite running behind it (ProcessExit came too late).
    private static readonly PosixSignalRegistration[] OnSignal =
        [PosixSignalRegistration.Create(PosixSignal.SIGINT, StopAll), PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopAll)];

    private static void StopAll(PosixSignalContext context)
    {
        lock (Stops) foreach (var stop in Stops) stop();
        context.Cancel = true;
        Environment.Exit(130); // cancelled: the trial's awaits would otherwise keep the bench alive
    }

    private static T Track<T>(T owner, Action stop)
    {
        lock (Stops) Stops.Add(stop);
        return owner;
    }

    public static string? AzuriteExecutable(string root) => AzuriteServer.Find(root);

    public static string SiloDll(string root) => SiloHost.Dll(root, "Release");

    public static string CliDll(string root) => Path.Combine(root, "Client", "bin", "Release", "net10.0", "dpiqa.dll");

    /// <summary>Azurite (see <see cref="AzuriteServer"/>), its output appended to <paramref name="log"/> when given.</summary>
    public static async Task<AzuriteServer> StartAzurite(string exe, string? location = null, string? log = null)
    {
        var azurite = await AzuriteServer.Start(exe, location, log is null ? null : ChildProcess.AppendTo(log));
        return Track(azurite, () => ChildProcess.Stop(azurite.Process));
    }

    /// <summary>
    /// A silo of the Release build without an HTTP port, its output appended to <paramref name="log"/> when given.
    /// Benches measure scoring and recovery on loopback: plain TCP and no tokens, said in so many words
    /// (docs/security.md; a cluster silo refuses to start without a choice). <paramref name="env"/> may turn them on.
    /// </summary>
    public static SiloHost StartSilo(string root, IReadOnlyDictionary<string, string> env, string? log = null)
    {
        var all = new Dictionary<string, string>
        {
            ["Tls__Enabled"] = "false", ["Security__AllowAnonymous"] = "true", ["Security__ReadContainers"] = "*", ["Security__WriteContainers"] = "*",
        };
        foreach (var (key, value) in env) all[key] = value;
        var silo = SiloHost.Start(SiloDll(root), all, http: false, log is null ? null : ChildProcess.AppendTo(log));
        return Track(silo, () => ChildProcess.Stop(silo.Process));
    }

    /// <summary>Runs the dpiqa CLI to the end; returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> Cli(string root, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliDll(root));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        Track(p, () => ChildProcess.Stop(p));
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, $"{(await stdout).Trim()} {(await stderr).Trim()}".Trim());
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
