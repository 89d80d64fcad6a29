using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using DpIqa.Testing;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// One real silo process (the Silo executable, started by the harness's <see cref="SiloHost"/>) on loopback with its
/// HTTP endpoint on a free port, the test PKI's TLS and tokens, for tests of what an operator sees: /metrics, /healthz, /scaling, /dashboard, and a graceful stop by SIGTERM.
/// </summary>
internal sealed partial class SiloProcess : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly SiloHost _host;
    private readonly Queue<string> _tail = new();

    public Process Process => _host.Process;
    public int SiloPort => _host.SiloPort;
    public int GatewayPort => _host.GatewayPort;
    public int HttpPort => _host.HttpPort;

    private SiloProcess(string siloDll, Dictionary<string, string> env) => _host = SiloHost.Start(siloDll, env, http: true, Keep);

    public static string SiloDll()
    {
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var dll = SiloHost.Dll(RepoPaths.Root, config);
        return File.Exists(dll) ? dll : throw new SkipException(Dependency.Missing($"the silo executable {dll} is not built (dotnet build Silo -c {config})"));
    }

    /// <summary>Starts a silo of cluster <paramref name="clusterId"/> with the given settings (environment variable names).</summary>
    public static SiloProcess Start(string connectionString, string clusterId, Dictionary<string, string>? settings = null)
    {
        var env = new Dictionary<string, string>
        {
            ["Storage__ConnectionString"] = connectionString,
            ["Cluster__ClusterId"] = clusterId,
            ["Jobs__SaveIntervalMs"] = "300",
            ["Scoring__PollIntervalMs"] = "100",
            ["Scoring__ConcurrentShards"] = "1",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        // Mutual TLS and tokens, as a deployed cluster runs (docs/security.md); a test may override or turn them off.
        foreach (var (key, value) in TestPki.Shared.SiloEnvironment()) env[key] = value;
        foreach (var (key, value) in settings ?? []) env[key] = value;
        return new SiloProcess(SiloDll(), env);
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_tail)
        {
            _tail.Enqueue(line);
            while (_tail.Count > 20) _tail.Dequeue();
        }
    }

    /// <summary>The last lines the silo printed (stdout and stderr), for a failure message.</summary>
    public string Tail()
    {
        lock (_tail) return string.Join('\n', _tail);
    }

    /// <summary>One line for a failure message: ports, whether it runs, and what it printed last.</summary>
    public string Describe() =>
        $"silo port {SiloPort} ({(Process.HasExited ? $"exited with {Process.ExitCode}" : "running")}): {Tail()}";

    /// <summary>
    /// A client of the silo processes of cluster <paramref name="clusterId"/>, found in the Azure Table membership on
    /// <paramref name="connectionString"/>. Opening fails while no silo has joined yet, so it is retried; the 2-minute
    /// limit guards against a silo that never starts and is no timing check.
    /// </summary>
    public static async Task<DpIqa.Client.ClusterConnection> Connect(string connectionString, string clusterId, Dictionary<string, string>? client = null)
    {
        var settings = new Dictionary<string, string?> { ["Storage:ConnectionString"] = connectionString, ["Cluster:ClusterId"] = clusterId };
        // The client's certificate and an admin token (or what the test gives), as configuration keys.
        foreach (var (key, value) in TestPki.AsKeys(client ?? TestPki.Shared.ClientEnvironment())) settings[key] = value;
        for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(500))
        {
            try { return await DpIqa.Client.ClusterConnection.Open(settings); }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline) { }
        }
    }

    /// <summary>GET on the silo's HTTP port; null while nothing listens there yet.</summary>
    /// <param name="token">Sent as a bearer token: by default an admin's (the open endpoints ignore it); "" sends none.</param>
    public async Task<(HttpStatusCode Status, string Body)?> Get(string path, string? token = null)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{HttpPort}{path}");
            token ??= TestPki.Shared.AdminToken;
            if (token.Length > 0) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await Http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>GET that must answer 200 with JSON.</summary>
    public async Task<JsonElement> GetJson(string path)
    {
        var answer = await Get(path) ?? throw new InvalidOperationException($"nothing answers on port {HttpPort}");
        Assert.True(answer.Status == HttpStatusCode.OK, $"{path}: {answer.Status} {answer.Body}");
        return JsonDocument.Parse(answer.Body).RootElement.Clone();
    }

    /// <summary>
    /// The samples of /metrics (Prometheus text): one entry per line, the metric name, its labels and its value.
    /// </summary>
    public async Task<List<(string Name, Dictionary<string, string> Labels, double Value)>> Scrape()
    {
        var answer = await Get("/metrics") ?? throw new InvalidOperationException($"nothing answers on port {HttpPort}");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (var line in answer.Body.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return samples;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$")]
    private static partial System.Text.RegularExpressions.Regex SampleLine();

    [System.Text.RegularExpressions.GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial System.Text.RegularExpressions.Regex LabelPair();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>SIGTERM, as Kubernetes sends when it stops a pod.</summary>
    public void Terminate()
    {
        if (Kill(Process.Id, 15) != 0) throw new InvalidOperationException($"kill -TERM {Process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public void Dispose() => _host.Dispose();
}

/// <summary>Sums of Prometheus samples by name and labels.</summary>
internal static class Samples
{
    public static double Sum(this IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> samples, string name,
        params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);
}
