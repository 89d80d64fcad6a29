using System.Net;
using System.Net.Sockets;
using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Security;
using DpIqa.Storage;
using DpIqa.Tests.Cli;
using Xunit.Abstractions;
using DpIqa.Testing;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// One real silo process with mutual TLS, tokens and container scopes on (certificates of a throwaway CA, Azurite),
/// shared by the tests of this class, and dpiqa processes as users run them: who may connect, who may do what, what
/// crosses the network in clear, and what the HTTP endpoint asks for.
/// </summary>
public sealed class SecureClusterFixture : IAsyncLifetime
{
    public Azurite Azurite { get; } = new();
    public string ClusterId { get; } = "tls-" + Guid.NewGuid().ToString("N")[..8];
    internal SiloProcess? Silo { get; private set; }
    internal TempFolder Work { get; } = new();

    /// <summary>The container the scoped tokens name, with a few photos under in/.</summary>
    public string Container { get; } = "sec-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        if (Azurite.SkipReason is not null) return;
        var container = new BlobServiceClient(Azurite.ConnectionString).GetBlobContainerClient(Container);
        await container.CreateAsync();
        foreach (var photo in new[] { "skimage-chelsea.png", "skimage-coffee.png" })
            await container.UploadBlobAsync($"in/{photo}", BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(RepoPaths.Photos, photo))));
        Silo = SiloProcess.Start(Azurite.ConnectionString, ClusterId, new() { ["Dashboard__Enabled"] = "true" });
        // Joined once an admin's client gets an answer (Connect retries while no silo is active).
        await using var connection = await SiloProcess.Connect(Azurite.ConnectionString, ClusterId);
        await connection.Client.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).AllJobs();
    }

    /// <summary>dpiqa with this cluster's storage and id, and <paramref name="client"/> settings (certificate, token) or none.</summary>
    public async Task<(int Code, string Out, string[] Err)> Dpiqa(ITestOutputHelper output, Dictionary<string, string>? client, params string[] args)
    {
        var environment = new Dictionary<string, string> { ["Storage__ConnectionString"] = Azurite.ConnectionString, ["Cluster__ClusterId"] = ClusterId };
        foreach (var (key, value) in client ?? []) environment[key] = value;
        var (code, stdout, err) = await DpiqaProcess.Run(Directory.CreateDirectory(Path.Combine(Work.Path, "work")).FullName, args, environment, TimeSpan.FromMinutes(5));
        output.WriteLine($"dpiqa {string.Join(' ', args)} -> {code}\n{stdout}{string.Join('\n', err)}");
        return (code, stdout, err);
    }

    public Task DisposeAsync()
    {
        Silo?.Dispose();
        Azurite.Dispose();
        Work.Dispose();
        return Task.CompletedTask;
    }
}

[Collection(SiloProcessCollection.Name)]
public sealed class TransportSecurityTests(SecureClusterFixture cluster, ITestOutputHelper output) : IClassFixture<SecureClusterFixture>
{
    private static TestPki Pki => TestPki.Shared;

    private void SkipWithoutAzurite() => Skip.If(cluster.Azurite.SkipReason is not null, cluster.Azurite.SkipReason);

    private Dictionary<string, string> Client(string token) => Pki.ClientEnvironment(token);

    [SkippableFact]
    public async Task A_client_without_a_certificate_or_with_another_CAs_is_refused_in_one_line()
    {
        SkipWithoutAzurite();
        var none = await cluster.Dpiqa(output, new() { ["Security__Token"] = Pki.AdminToken }, "job", "list");
        var foreign = await cluster.Dpiqa(output, new()
        {
            ["Tls__Certificate"] = Pki.ForeignCertificate, ["Tls__Key"] = Pki.ForeignKey, ["Tls__Ca"] = Pki.ForeignCa, ["Security__Token"] = Pki.AdminToken,
        }, "job", "list");
        // A certificate of another CA, the client trusting both CAs: the gateway is the one that refuses it.
        var foreignTrusting = await cluster.Dpiqa(output, new()
        {
            ["Tls__Certificate"] = Pki.ForeignCertificate, ["Tls__Key"] = Pki.ForeignKey, ["Tls__Ca"] = Pki.BothCas, ["Security__Token"] = Pki.AdminToken,
        }, "job", "list");
        // The gateway closes a refused connection without a word, so the client cannot tell a refusal from a gateway that
        // is down: exit 1, and the line says which Tls settings to check.
        foreach (var (code, _, err) in new[] { none, foreign, foreignTrusting })
            Assert.Equal(ExitCodes.Failed, code);
        foreach (var (code, _, err) in new[] { none, foreign, foreignTrusting })
        {
            Assert.NotEqual(ExitCodes.Ok, code);
            var line = Assert.Single(err);
            Assert.StartsWith("error: ", line);
            Assert.Contains("Tls:", line); // what to configure
        }
        var ok = await cluster.Dpiqa(output, Pki.ClientEnvironment(), "job", "list");
        Assert.Equal(ExitCodes.Ok, ok.Code);
    }

    [SkippableFact]
    public async Task A_silo_with_a_foreign_certificate_never_becomes_active()
    {
        SkipWithoutAzurite();
        using var foreign = SiloProcess.Start(cluster.Azurite.ConnectionString, cluster.ClusterId, new()
        {
            ["Tls__Certificate"] = Pki.ForeignCertificate, ["Tls__Key"] = Pki.ForeignKey, ["Tls__Ca"] = Pki.ForeignCa,
        });
        var table = new TableServiceClient(cluster.Azurite.ConnectionString).GetTableClient("OrleansSiloInstances");
        // It writes its row (joining), fails to reach the cluster's silo, and gives up; the 4-minute limit guards a hang.
        string? status = null;
        for (var deadline = DateTime.UtcNow.AddMinutes(4); !foreign.Process.HasExited && DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            status = Row(table, foreign.SiloPort)?["Status"] as string ?? status;
            Assert.NotEqual("Active", status);
        }
        status = Row(table, foreign.SiloPort)?["Status"] as string ?? status;
        output.WriteLine($"foreign silo: exited {foreign.Process.HasExited}, last status {status ?? "(no row)"}: {foreign.Tail()}");
        Assert.NotEqual("Active", status);
        await using var connection = await SiloProcess.Connect(cluster.Azurite.ConnectionString, cluster.ClusterId);
        var hosts = await connection.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.DoesNotContain(hosts.Keys, a => a.Endpoint.Port == foreign.SiloPort);
        Assert.Contains(hosts.Keys, a => a.Endpoint.Port == cluster.Silo!.SiloPort);
    }

    private TableEntity? Row(TableClient table, int port) =>
        table.Query<TableEntity>(e => e.PartitionKey == cluster.ClusterId).FirstOrDefault(e => e["Port"]?.ToString() == $"{port}");

    [SkippableFact]
    public async Task Container_and_model_names_cross_the_network_only_inside_TLS()
    {
        SkipWithoutAzurite();
        // The same submission through a relay that records every byte, to a TLS silo and to a plain one. Each silo tells
        // clients the relay's port as its gateway (Orleans addresses messages to the gateway a client knows: a relay on
        // another port would be taken for another silo) and listens behind it.
        var tls = await Relayed(new(), Pki.ClientEnvironment(), "tls");
        var clear = await Relayed(new() { ["Tls__Enabled"] = "false", ["Security__SigningKeyFile"] = "", ["Security__AllowAnonymous"] = "true" }, [], "plain");
        Assert.True(tls.Length > 1000, $"the relay saw {tls.Length} bytes with TLS");
        Assert.Contains(SecretContainer("plain"), Encoding.Latin1.GetString(clear)); // the check can fail
        Assert.Contains(SecretModel, Encoding.Latin1.GetString(clear));
        Assert.DoesNotContain(SecretContainer("tls"), Encoding.Latin1.GetString(tls));
        Assert.DoesNotContain(SecretModel, Encoding.Latin1.GetString(tls));
        Assert.DoesNotContain(Pki.AdminToken[..40], Encoding.Latin1.GetString(tls));
    }

    private const string SecretModel = "model-name-only-inside-tls";

    private static string SecretContainer(string run) => $"container-only-inside-{run}";

    /// <summary>
    /// Starts a silo of its own cluster behind a byte-recording relay, submits a job through it (<paramref name="client"/>
    /// settings), and returns both directions' bytes.
    /// </summary>
    private async Task<byte[]> Relayed(Dictionary<string, string> silo, Dictionary<string, string> client, string run)
    {
        int advertised = LoopbackPorts.Free(), listening = LoopbackPorts.Free();
        silo["Cluster__GatewayPort"] = $"{advertised}";
        silo["Cluster__GatewayListeningPort"] = $"{listening}";
        silo["Scoring__Enabled"] = "false";
        var clusterId = $"{run}-" + Guid.NewGuid().ToString("N")[..8];
        using var process = SiloProcess.Start(cluster.Azurite.ConnectionString, clusterId, silo);
        // The relay takes the advertised port once the silo has checked its own ports (it writes its membership row after).
        var table = new TableServiceClient(cluster.Azurite.ConnectionString).GetTableClient("OrleansSiloInstances");
        for (var deadline = DateTime.UtcNow.AddMinutes(3); table.Query<TableEntity>(e => e.PartitionKey == clusterId).FirstOrDefault() is null; await Task.Delay(300))
        {
            Assert.False(process.Process.HasExited, $"{run}: {process.Describe()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{run}: the silo wrote no membership row: {process.Describe()}");
        }
        using var relay = new Relay(advertised, listening);
        await using (var connection = await SiloProcess.Connect(cluster.Azurite.ConnectionString, clusterId, client))
        {
            var job = connection.Client.GetGrain<IJobGrain>("relay-" + Guid.NewGuid().ToString("N")[..8]);
            // Refused or failed (no such container or model) is fine: the names were sent either way.
            var e = await Record.ExceptionAsync(() => job.Start(new JobSpec
            {
                Sources = [Locations.Blob($"{SecretContainer(run)}/in")], Model = SecretModel, Output = Locations.Blob($"{SecretContainer(run)}/out"),
            }));
            output.WriteLine($"{run}: {e?.GetType().Name}: {e?.Message.Split('\n')[0]}");
        }
        return relay.Bytes();
    }

    /// <summary>A TCP relay from a loopback port to a gateway, keeping a copy of what passes either way.</summary>
    private sealed class Relay : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly MemoryStream _seen = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _open = [];

        public Relay(int port, int target)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient inbound;
                    try { inbound = await _listener.AcceptTcpClientAsync(_stop.Token); }
                    catch (Exception) { return; }
                    var outbound = new TcpClient();
                    await outbound.ConnectAsync(IPAddress.Loopback, target);
                    lock (_open) _open.AddRange([inbound, outbound]);
                    _ = Pump(inbound.GetStream(), outbound.GetStream());
                    _ = Pump(outbound.GetStream(), inbound.GetStream());
                }
            });
        }

        private async Task Pump(NetworkStream from, NetworkStream to)
        {
            var buffer = new byte[16384];
            try
            {
                int n;
                while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
                {
                    lock (_seen) _seen.Write(buffer, 0, n);
                    await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException) { }
        }

        public byte[] Bytes()
        {
            lock (_seen) return _seen.ToArray();
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_open) foreach (var c in _open) c.Dispose();
        }
    }

    [SkippableFact]
    public async Task Roles_scopes_and_expiry_are_enforced_each_with_one_line_and_exit_code_3()
    {
        SkipWithoutAzurite();
        var c = cluster.Container;
        var reader = Pki.Token("rita", Role.Reader, [c]);
        var op = Pki.Token("oscar", Role.Operator, [c]);
        var expired = Pki.Token("old", Role.Admin, ["*"], lifetime: TimeSpan.FromHours(-1));
        var forged = AccessTokens.Create(new byte[32], new Submitter { Name = "mallory", Role = Role.Admin, WriteContainers = ["*"] }, DateTimeOffset.UtcNow.AddDays(1));
        var submit = new[] { "job", "submit", "--source", $"{c}/in", "--out", $"{c}/out", "--model", "proxy-sharpness" };

        // An operator inside its containers submits; the job records who did, in status and list.
        var submitted = await cluster.Dpiqa(output, Client(op), submit);
        Assert.Equal(ExitCodes.Ok, submitted.Code);
        var jobId = submitted.Out.Trim().Split('\n')[^1].Trim();
        var status = await cluster.Dpiqa(output, Client(reader), "job", "status", jobId);
        Assert.Equal(ExitCodes.Ok, status.Code);
        Assert.Contains("submitted by oscar", status.Out);
        var list = await cluster.Dpiqa(output, Client(reader), "job", "list");
        Assert.Contains(list.Out.Split('\n'), l => l.StartsWith(jobId, StringComparison.Ordinal) && l.TrimEnd().EndsWith("oscar", StringComparison.Ordinal));

        // Started together (each is a dpiqa process that connects): the CI machine has 2 cores, not 9 minutes.
        var cases = new (string What, Task<(int Code, string Out, string[] Err)> Result, string Expected, string Token)[]
        {
            ("reader submits", cluster.Dpiqa(output, Client(reader), submit), "needs the operator role", reader),
            ("reader cancels", cluster.Dpiqa(output, Client(reader), "job", "cancel", jobId), "needs the operator role", reader),
            ("operator imports a model", cluster.Dpiqa(output, Client(op), "models", "import", Path.Combine(RepoPaths.Root, "no-such-model.onnx"), "--to-cluster", "--source", "blob:dpiqa-models"), "needs the admin role", op),
            ("operator removes a model", cluster.Dpiqa(output, Client(op), "models", "remove", "proxy-sharpness", "--source", "blob:dpiqa-models"), "needs the admin role", op),
            ("operator outside its containers", cluster.Dpiqa(output, Client(op), "job", "submit", "--source", "other-container/in", "--out", $"{c}/out", "--model", "proxy-sharpness"), "outside the containers 'oscar' may read", op),
            ("operator writes outside", cluster.Dpiqa(output, Client(op), "job", "submit", "--source", $"{c}/in", "--out", "other-container/out", "--model", "proxy-sharpness"), "outside the containers 'oscar' may write", op),
            ("expired token", cluster.Dpiqa(output, Client(expired), "job", "list"), "expired", expired),
            ("no token", cluster.Dpiqa(output, Pki.ClientEnvironment(""), "job", "list"), "carries no token", ""),
            ("token of another key", cluster.Dpiqa(output, Client(forged), "job", "list"), "not signed with this cluster's signing key", forged),
        };
        var refusals = new List<(string What, (int Code, string Out, string[] Err) Result, string Expected, string Token)>();
        foreach (var (what, result, expected, token) in cases) refusals.Add((what, await result, expected, token));
        foreach (var (what, (code, stdout, err), expected, token) in refusals)
        {
            Assert.True(code == ExitCodes.Refused, $"{what}: exit {code}: {string.Join('\n', err)}");
            var line = Assert.Single(err);
            Assert.StartsWith("error: refused: ", line);
            Assert.Contains(expected, line);
            if (token.Length > 0) Assert.DoesNotContain(token.Split('.')[2], stdout + line); // never the token (its signature)
        }
    }

    [SkippableFact]
    public async Task The_dashboard_needs_a_token_while_health_metrics_and_scaling_stay_open()
    {
        SkipWithoutAzurite();
        var silo = cluster.Silo!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.Get("/dashboard/", token: ""))?.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.Get("/dashboard/", token: Pki.Token("old", Role.Admin, ["*"], lifetime: TimeSpan.FromHours(-1))))?.Status);
        Assert.Equal(HttpStatusCode.OK, (await silo.Get("/dashboard/", token: Pki.Token("rita", Role.Reader, [])))?.Status);
        foreach (var open in new[] { "/healthz/live", "/healthz/ready", "/metrics", "/scaling" })
            Assert.Equal(HttpStatusCode.OK, (await silo.Get(open, token: ""))?.Status);
    }

    [SkippableFact]
    public async Task A_missing_certificate_file_stops_the_silo_with_one_line_naming_the_key()
    {
        SkipWithoutAzurite();
        using var silo = SiloProcess.Start(cluster.Azurite.ConnectionString, "bad-" + Guid.NewGuid().ToString("N")[..8], new() { ["Tls__Certificate"] = "/no/such/silo.crt" });
        Assert.True(silo.Process.WaitForExit(TimeSpan.FromMinutes(2)), "the silo kept running");
        silo.Process.WaitForExit(); // drains the output
        Assert.Equal(2, silo.Process.ExitCode);
        var line = Assert.Single(silo.Tail().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Tls:Certificate", line);
        Assert.Contains("/no/such/silo.crt", line);
    }

    [SkippableFact]
    public async Task Token_create_makes_a_token_the_silos_accept_and_refuses_bad_options()
    {
        SkipWithoutAzurite();
        var keyOnly = new Dictionary<string, string> { ["Security__SigningKeyFile"] = Pki.SigningKeyFile };
        var made = await cluster.Dpiqa(output, keyOnly, "token", "create", "--name", "tina", "--role", "operator", "--containers", $"{cluster.Container},results", "--expires", "2h");
        Assert.Equal(ExitCodes.Ok, made.Code);
        var token = made.Out.Trim();
        var (who, expires) = AccessTokens.Verify(Pki.SigningKey, token, DateTimeOffset.UtcNow);
        Assert.Equal(("tina", Role.Operator), (who.Name, who.Role));
        Assert.Equal([cluster.Container, "results"], who.WriteContainers);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(110), TimeSpan.FromMinutes(121));
        Assert.DoesNotContain(token, string.Join('\n', made.Err));
        var list = await cluster.Dpiqa(output, Client(token), "job", "list");
        Assert.Equal(ExitCodes.Ok, list.Code);

        var badRole = await cluster.Dpiqa(output, keyOnly, "token", "create", "--name", "x", "--role", "root");
        Assert.Equal(ExitCodes.InvalidRequest, badRole.Code);
        var noKey = await cluster.Dpiqa(output, new() { ["Security__SigningKeyFile"] = "/no/such/key" }, "token", "create", "--name", "x", "--role", "reader");
        Assert.Equal(ExitCodes.InvalidRequest, noKey.Code);
        Assert.Contains("Security:SigningKeyFile", Assert.Single(noKey.Err));
    }
}
