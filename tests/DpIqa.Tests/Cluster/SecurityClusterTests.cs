using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;
using DpIqa.Hosting;
using DpIqa.Results;
using DpIqa.Security;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using Xunit.Abstractions;
using DpIqa.Testing;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A cluster silo (in-process, Azure Table membership and job state on Azurite) is confined to its
/// Storage:LocalRoots, and the storage credentials it holds (an account key, a SAS) appear in none of its log
/// lines, error messages, job status, summary or files, also when storage calls fail.
/// </summary>
public sealed class SecurityClusterTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IAsyncDisposable
{
    /// <summary>Every line the silos of this class log (configurators are created by type, so it is static).</summary>
    private static readonly LogRecorder SiloLogs = new();

    private TestCluster? _cluster;
    private readonly TempFolder _dir = new();

    private sealed class SiloConfig : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var config = silo.Configuration;
            // Membership and job state use the account key; job data uses whatever Storage:* the test sets.
            var account = new StorageOptions { ConnectionString = config["Test:AccountConnectionString"] };
            silo.UseAzureStorageClustering(o => o.TableServiceClient = SiloSetup.TableClient(account));
            SiloSetup.AddJobStorage(silo, account);
            silo.Services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(SiloLogs));
            silo.AddDpIqa(config);
            // Mutual TLS, tokens and scopes on: the token, the signing key and the private keys are secrets too.
            silo.UseClusterSecurity(config);
        }
    }

    private sealed class ClientConfig : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder client)
        {
            client.UseAzureStorageClustering(o => o.TableServiceClient =
                SiloSetup.TableClient(new StorageOptions { ConnectionString = configuration["Test:AccountConnectionString"] }));
            client.UseClusterSecurity(configuration.GetSection(AzuriteClientConfig.ClientSection));
        }
    }

    private async Task<TestCluster> StartCluster(Dictionary<string, string> settings)
    {
        var builder = new TestClusterBuilder(1);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = "sec-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["Test:AccountConnectionString"] = azurite.ConnectionString;
        builder.Properties["Jobs:SaveIntervalMs"] = "300";
        builder.Properties["Scoring:PollIntervalMs"] = "100";
        builder.Properties["Inference:MaxWaitMs"] = "2";
        foreach (var (key, value) in TestPki.AsKeys(TestPki.Shared.SiloEnvironment())) builder.Properties[key] = value;
        foreach (var (key, value) in TestPki.AsKeys(TestPki.Shared.ClientEnvironment())) builder.Properties[$"{AzuriteClientConfig.ClientSection}:{key}"] = value;
        foreach (var (key, value) in settings) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<SiloConfig>();
        builder.AddClientBuilderConfigurator<ClientConfig>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        return _cluster;
    }

    private static async Task<JobStatus> RunToEnd(IJobGrain job, JobSpec spec)
    {
        var status = await job.Start(spec);
        for (var deadline = DateTime.UtcNow.AddMinutes(3); !status.IsFinished; status = await job.GetStatus())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job did not finish: {status}");
            await Task.Delay(100);
        }
        return status;
    }

    private IJobGrain NewJob(string name) => _cluster!.Client.GetGrain<IJobGrain>($"{name}-{Guid.NewGuid().ToString("N")[..8]}");

    private static readonly string[] Photos = ["skimage-chelsea.png", "skimage-coffee.png", "skimage-astronaut.png"];

    [SkippableFact]
    public async Task A_cluster_silo_refuses_local_paths_outside_its_roots_and_scores_those_inside()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var root = Directory.CreateDirectory(Path.Combine(_dir.Path, "root")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(_dir.Path, "outside")).FullName;
        foreach (var photo in Photos)
        {
            _dir.Copy(Path.Combine(RepoPaths.Photos, photo), Path.Combine("root", "photos", photo));
            _dir.Copy(Path.Combine(RepoPaths.Photos, photo), Path.Combine("outside", photo));
        }
        var photos = Path.Combine(root, "photos");
        File.CreateSymbolicLink(Path.Combine(photos, "leak.png"), Path.Combine(outside, Photos[0]));
        var listing = Path.Combine(root, "list.txt");
        await File.WriteAllLinesAsync(listing, [Path.Combine(photos, Photos[1]), Path.Combine(outside, Photos[2])]);
        await StartCluster(new() { ["Storage:ConnectionString"] = azurite.ConnectionString, ["Storage:LocalRoots:0"] = root });

        var e = await Assert.ThrowsAsync<ArgumentException>(() => NewJob("outside").Start(new JobSpec { Sources = [outside], Model = "proxy-sharpness", Output = Path.Combine(root, "out-1") }));
        Assert.Contains("outside Storage:LocalRoots", e.Message);
        e = await Assert.ThrowsAsync<ArgumentException>(() => NewJob("out-outside").Start(new JobSpec { Sources = [photos], Model = "proxy-sharpness", Output = Path.Combine(outside, "out") }));
        Assert.Contains("outside Storage:LocalRoots", e.Message);
        Assert.False(Directory.Exists(Path.Combine(outside, "out")));
        e = await Assert.ThrowsAsync<ArgumentException>(() => NewJob("dotdot").Start(new JobSpec { Sources = [Path.Combine(root, "..", "outside")], Model = "proxy-sharpness", Output = Path.Combine(root, "out-2") }));
        Assert.Contains("'..'", e.Message);

        var output = Path.Combine(root, "out");
        var inside = NewJob("inside");
        var status = await RunToEnd(inside, new JobSpec
        {
            Sources = [photos, Locations.ListingScheme + listing], Model = "proxy-sharpness", Output = output, Format = ResultFormat.Jsonl, ShardSize = 2,
        });
        Assert.Equal(JobState.Completed, status.State);
        var rows = new List<ImageResult>();
        foreach (var file in await inside.GetResultFiles())
            rows.AddRange(await ResultFiles.Decode(await File.ReadAllBytesAsync(file), ResultFormat.Jsonl));
        // Three photos in the folder and one listed inside the root are scored; the folder's link that leads
        // out and the listed path outside end as 'fetch' errors that say why, and nothing outside was read.
        Assert.Equal(6, status.Total);
        Assert.Equal(4, rows.Count(r => r.Score is not null));
        var refused = rows.Where(r => r.Score is null).ToList();
        Assert.Equal(["fetch", "fetch"], refused.Select(r => r.ErrorKind));
        Assert.All(refused, r => Assert.Contains("Storage:LocalRoots", r.ErrorMessage));
        Assert.All(refused, r => Assert.Null(r.Bytes)); // nothing was read
        Assert.Contains(refused, r => r.Path.EndsWith("leak.png", StringComparison.Ordinal));
    }

    /// <summary>Where job data credentials come from: the account key connection string, or a service URI with a SAS.</summary>
    public static TheoryData<string> Credentials => ["account-key", "sas-uri"];

    [SkippableTheory]
    [MemberData(nameof(Credentials))]
    public async Task Storage_credentials_appear_in_no_log_line_error_status_summary_or_file(string credential)
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var account = new BlobServiceClient(azurite.ConnectionString);
        var sasUri = account.GenerateAccountSasUri(AccountSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1), AccountSasResourceTypes.All);
        var sig = System.Web.HttpUtility.ParseQueryString(sasUri.Query)["sig"]!;
        var accountKey = azurite.ConnectionString.Split(';').Single(p => p.StartsWith("AccountKey=", StringComparison.Ordinal))["AccountKey=".Length..];
        var pki = TestPki.Shared;
        var token = pki.AdminToken;
        var expired = pki.Token("old", Role.Admin, ["*"], lifetime: TimeSpan.FromHours(-1));
        string[] secrets =
        [
            accountKey, accountKey[..16], sig, Uri.EscapeDataString(sig), sig[..16], WrongKey, WrongKey[..16],
            token, token.Split('.')[2], expired.Split('.')[2], Convert.ToBase64String(pki.SigningKey), Convert.ToBase64String(pki.SigningKey)[..16],
            .. new[] { pki.SiloKey, pki.ClientKey }.Select(KeyBody),
        ];

        var container = account.GetBlobContainerClient("sec-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        foreach (var photo in Photos) await container.UploadBlobAsync($"in/{photo}", BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(RepoPaths.Photos, photo))));
        await container.UploadBlobAsync("list.txt", BinaryData.FromString($"{container.Name}/in/{Photos[0]}\n{container.Name}/missing/nope.png\n"));

        var storage = credential == "account-key"
            ? new Dictionary<string, string> { ["Storage:ConnectionString"] = azurite.ConnectionString }
            : new Dictionary<string, string> { ["Storage:BlobServiceUri"] = sasUri.ToString() };
        SiloLogs.Clear();
        var cluster = await StartCluster(storage);
        var seen = new List<(string What, string Text)>();

        // A job that works, with a listed blob that is missing.
        var job = NewJob("secret");
        var outputLocation = Locations.Blob($"{container.Name}/out");
        var status = await RunToEnd(job, new JobSpec
        {
            Sources = [Locations.Blob($"{container.Name}/in"), Locations.ListingScheme + Locations.Blob($"{container.Name}/list.txt")],
            Model = "proxy-sharpness", Output = outputLocation, Format = ResultFormat.Csv, ShardSize = 2,
        });
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal((4, 1), (status.Scored, status.Failed));
        seen.Add(("status", JsonSerializer.Serialize(status)));
        seen.Add(("summary", JsonSerializer.Serialize(await job.GetSummary())));
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "out/" }))
            seen.Add((blob.Name, (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToString()));
        Assert.Contains(seen, s => s.What == "out/summary.json");
        Assert.Contains(seen, s => s.Text.Contains("fetch", StringComparison.Ordinal)); // the missing blob's error record

        // Jobs that fail at validation: a container that does not exist, an invalid container name, a source
        // written as a blob URI with a SAS in it, and container/prefix with the SAS pasted after it.
        var sasQuery = sasUri.Query;
        foreach (var (what, source) in new[]
                 {
                     ("missing container", Locations.Blob("no-such-container-x/in")), ("invalid container", Locations.Blob("ab")),
                     ("SAS URI source", Locations.Blob(sasUri.ToString())), ("source with SAS", Locations.Blob($"{container.Name}/in{sasQuery}")),
                 })
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => NewJob("bad").Start(new JobSpec { Sources = [source], Model = "proxy-sharpness", Output = outputLocation }));
            seen.Add(($"error for {what}", e.ToString()));
        }
        var pasted = await Assert.ThrowsAsync<ArgumentException>(() => NewJob("bad").Start(new JobSpec { Sources = [Locations.Blob($"{container.Name}/in")], Model = "proxy-sharpness", Output = outputLocation + sasQuery }));
        Assert.Contains("credential", pasted.Message);
        seen.Add(("error for output with SAS", pasted.ToString()));

        // Calls the silo refuses: an expired token (its message names the identity, never the token).
        var refused = await Assert.ThrowsAsync<AccessRefusedException>(async () =>
        {
            var guard = new CallGuard(pki.SigningKey, new ContainerScopes(["*"], ["*"]), TimeProvider.System);
            guard.Authenticate(expired);
            await Task.CompletedTask;
        });
        seen.Add(("error for an expired token", refused.ToString()));

        // The same storage settings with storage unreachable, and with a wrong key or signature.
        var closedPort = LoopbackPorts.Free();
        foreach (var (what, settings) in new[]
                 {
                     ("unreachable", Unreachable(storage, closedPort)),
                     ("wrong credential", WrongCredential(storage)),
                 })
        {
            var store = new ObjectStore(Options.Create(settings));
            var started = DateTime.UtcNow;
            // At once: against unreachable storage each call ends only after the Azure SDK's retries.
            var errors = await Task.WhenAll(new Func<Task>[]
            {
                () => store.ValidateSources([Locations.Blob($"{container.Name}/in")]),
                () => store.PrepareOutput(Locations.Blob($"{container.Name}/out2")),
                () => store.Read(Locations.Blob($"{container.Name}/in/{Photos[0]}")),
            }.Select(call => Assert.ThrowsAnyAsync<Exception>(call)));
            seen.AddRange(errors.Select(e => ($"{what} error", e.ToString())));
            output.WriteLine($"{what}: {string.Join(", ", errors.Select(e => e.GetType().Name))} after {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        }

        await cluster.StopAllSilosAsync();
        seen.AddRange(SiloLogs.Lines.Select(l => ("log", l)));
        Assert.Contains(seen, s => s.What == "log" && s.Text.Contains("DpIqa", StringComparison.Ordinal)); // the recorder saw the silo
        output.WriteLine($"{credential}: checked {seen.Count} texts ({SiloLogs.Lines.Count} log lines)");
        foreach (var (what, text) in seen.Where(s => s.What != "log" && s.What.Contains("error", StringComparison.Ordinal)))
            output.WriteLine($"{what}: {Redacted(text, secrets).Split('\n')[0]}");
        foreach (var (what, text) in seen)
            foreach (var secret in secrets)
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"a secret appears in {what}: {Redacted(text, secrets)}");
    }

    /// <summary>The base64 body of a PEM private key (its first line of key material): what a leak would show.</summary>
    private static string KeyBody(string pemFile) =>
        File.ReadAllLines(pemFile).First(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal));

    private static StorageOptions Unreachable(Dictionary<string, string> storage, int port)
    {
        var o = StorageFrom(storage);
        o.ConnectionString = o.ConnectionString is { } cs ? RePort(cs, port) : null;
        o.BlobServiceUri = o.BlobServiceUri is { } uri ? RePort(uri, port) : null;
        return o;
    }

    /// <summary>A key or signature of the right form that the account refuses (403); a secret too.</summary>
    private static readonly string WrongKey = Convert.ToBase64String(Encoding.UTF8.GetBytes("not the key of this account, but one of its form: 64 bytes long.."));

    private static StorageOptions WrongCredential(Dictionary<string, string> storage)
    {
        var o = StorageFrom(storage);
        if (o.ConnectionString is { } cs)
            o.ConnectionString = string.Join(';', cs.Split(';').Select(p => p.StartsWith("AccountKey=", StringComparison.Ordinal) ? "AccountKey=" + WrongKey : p));
        if (o.BlobServiceUri is { } uri)
            o.BlobServiceUri = System.Text.RegularExpressions.Regex.Replace(uri, "sig=[^&]+", "sig=" + Uri.EscapeDataString(WrongKey));
        return o;
    }

    private static StorageOptions StorageFrom(Dictionary<string, string> storage) => new()
    {
        ConnectionString = storage.GetValueOrDefault("Storage:ConnectionString"),
        BlobServiceUri = storage.GetValueOrDefault("Storage:BlobServiceUri"),
    };

    private static string RePort(string text, int port) => System.Text.RegularExpressions.Regex.Replace(text, @"127\.0\.0\.1:\d+", $"127.0.0.1:{port}");

    /// <summary>The failing text with the secrets masked, so the test's own output leaks nothing either.</summary>
    private static string Redacted(string text, IEnumerable<string> secrets) =>
        secrets.Aggregate(text, (t, s) => t.Replace(s, "<SECRET>", StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
        _dir.Dispose();
    }
}
