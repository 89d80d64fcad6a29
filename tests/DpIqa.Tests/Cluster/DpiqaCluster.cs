using DpIqa.Tests.Cli;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A class fixture for end-to-end tests of the <c>dpiqa</c> process: Azurite, and one in-process silo that scores
/// (Azure Table membership and blob job state on Azurite, TCP so the process can connect), started once for the
/// test class. Its silo reads local paths under <see cref="LocalRoot"/> only, as a cluster silo does.
/// </summary>
public sealed class DpiqaCluster : IAsyncLifetime
{
    private readonly TempFolder _dir = new();
    private readonly IReadOnlyDictionary<string, string> _settings;
    private TestCluster? _cluster;

    public DpiqaCluster() : this(new Dictionary<string, string>())
    {
    }

    /// <summary>A cluster whose silo also has <paramref name="settings"/> (e.g. <c>Models:Path</c>): for a fixture of
    /// a test class that needs them (<see cref="Reports.TinyModelsCluster"/>). Internal: xunit builds a class fixture
    /// through its one public constructor.</summary>
    internal DpiqaCluster(IReadOnlyDictionary<string, string> settings) => _settings = settings;

    public Azurite Azurite { get; } = new();
    public string ClusterId { get; } = "e2e-" + Guid.NewGuid().ToString("N")[..8];
    public string ServiceId { get; } = "e2e-svc-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The one folder of <c>Storage:LocalRoots</c>: <c>file:</c> sources and local listing files go here.</summary>
    public string LocalRoot => Path.Combine(_dir.Path, "root");

    /// <summary>A fresh working folder for a dpiqa process (no dpiqa.json in it).</summary>
    public string WorkFolder => Directory.CreateDirectory(Path.Combine(_dir.Path, "work")).FullName;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(LocalRoot);
        if (Azurite.SkipReason is not null) return;
        var builder = new TestClusterBuilder(1);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = ClusterId;
        builder.Options.ServiceId = ServiceId;
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket; // the dpiqa process connects over TCP
        builder.Properties["Storage:ConnectionString"] = Azurite.ConnectionString;
        builder.Properties["Storage:LocalRoots:0"] = LocalRoot;
        builder.Properties["Scoring:PollIntervalMs"] = "100";
        // Mutual TLS, tokens and container scopes on, as a deployed cluster runs them; the dpiqa processes get a client
        // certificate and an admin token (Run), the fixture's own client the same (AzuriteClientConfig.ClientSection).
        foreach (var (key, value) in TestPki.AsKeys(TestPki.Shared.SiloEnvironment())) builder.Properties[key] = value;
        foreach (var (key, value) in TestPki.AsKeys(TestPki.Shared.ClientEnvironment())) builder.Properties[$"{AzuriteClientConfig.ClientSection}:{key}"] = value;
        foreach (var (key, value) in _settings) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<AzuriteSiloConfig>();
        builder.AddClientBuilderConfigurator<AzuriteClientConfig>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    /// <summary>Runs dpiqa with this cluster's connection in its environment, as a user of the cluster's account would.</summary>
    public Task<(int Code, string Out, string[] Err)> Dpiqa(ITestOutputHelper output, params string[] args) => Run(output, args);

    /// <summary>
    /// Runs dpiqa with this cluster's connection in its environment, <paramref name="environment"/> added or replacing
    /// (e.g. another Storage__ConnectionString). The limit guards against a hang and is no timing check.
    /// </summary>
    public async Task<(int Code, string Out, string[] Err)> Run(ITestOutputHelper output, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Storage__ConnectionString"] = Azurite.ConnectionString,
            ["Cluster__ClusterId"] = ClusterId,
            ["Cluster__ServiceId"] = ServiceId,
        };
        foreach (var (key, value) in TestPki.Shared.ClientEnvironment()) settings[key] = value;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) settings[key] = value;
        var (code, stdout, err) = await DpiqaProcess.Run(WorkFolder, args, settings, limit: TimeSpan.FromMinutes(10));
        output.WriteLine($"dpiqa {string.Join(' ', args)} -> {code}\n{stdout}{string.Join('\n', err)}");
        return (code, stdout, err);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
        Azurite.Dispose();
        _dir.Dispose();
    }
}
