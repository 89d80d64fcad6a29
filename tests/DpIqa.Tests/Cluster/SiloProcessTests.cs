using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// Real silo processes (the Silo executable) on loopback with Azurite: one is killed with SIGKILL while a job
/// runs — the one hosting the job grain — and started again, as a process manager would; the job still ends with
/// every blob exactly once, the corrupt ones as error records. (bench/DpIqa.Bench `chaos` runs more faults.)
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class SiloProcessTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly string _clusterId = "proc-" + Guid.NewGuid().ToString("N")[..8];

    private SiloProcess StartSilo(Dictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string> { ["Jobs__LeaseSeconds"] = "3" };
        foreach (var (key, value) in settings ?? []) all[key] = value;
        var silo = SiloProcess.Start(azurite.ConnectionString, _clusterId, all);
        _silos.Add(silo);
        return silo;
    }

    /// <summary>
    /// Waits until <paramref name="count"/> of <paramref name="silos"/> are active members. A silo that exits while
    /// joining (on a loaded 2-core CI machine one was once missing after 90 s) is replaced, as a process manager
    /// would; the failure message says what each silo printed last.
    /// </summary>
    private async Task<Dictionary<SiloAddress, SiloStatus>> WaitForActive(IClusterClient client, List<SiloProcess> silos, int count, Dictionary<string, string> settings)
    {
        var hosts = new Dictionary<SiloAddress, SiloStatus>();
        for (var deadline = DateTime.UtcNow.AddMinutes(3); DateTime.UtcNow < deadline; await Task.Delay(500))
        {
            hosts = await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            if (silos.Count(s => hosts.Keys.Any(a => a.Endpoint.Port == s.SiloPort)) >= count) return hosts;
            foreach (var exited in silos.Where(s => s.Process.HasExited).ToList())
            {
                output.WriteLine($"replacing a silo that exited while joining: {exited.Describe()}");
                silos[silos.IndexOf(exited)] = StartSilo(settings);
            }
        }
        throw new TimeoutException($"{hosts.Count} of {count} silos active after 3 minutes; " + string.Join("; ", silos.Select(s => s.Describe())));
    }

    [SkippableFact]
    public async Task Killing_the_silo_process_that_hosts_the_job_loses_nothing()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("proc-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var jpeg = BinaryData.FromBytes(File.ReadAllBytes(Path.Combine(RepoPaths.Reference, "inputs", "tiny.png")));
        var names = Enumerable.Range(0, 600).Select(i => $"in/{"xyz"[i % 3]}/img-{i:D4}.png").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, ct) => await container.UploadBlobAsync(n, jpeg, ct));
        var corrupt = Enumerable.Range(0, 6).Select(i => $"in/{"xyz"[i % 3]}/bad-{i}.jpg").ToList(); // empty or text: must end as errors
        for (int i = 0; i < corrupt.Count; i++) await container.UploadBlobAsync(corrupt[i], BinaryData.FromBytes(i % 2 == 0 ? [] : "not an image"u8.ToArray()));
        names.AddRange(corrupt);

        var silos = Enumerable.Range(0, 3).Select(_ => StartSilo()).ToList();
        await using var connection = await SiloProcess.Connect(azurite.ConnectionString, _clusterId);
        var job = connection.Client.GetGrain<IJobGrain>("proc-job-" + Guid.NewGuid().ToString("N")[..6]);
        await job.Start(new JobSpec
        {
            Sources = [Locations.Blob($"{container.Name}/in")], Model = "proxy-sharpness",
            Output = Locations.Blob($"{container.Name}/out"), Format = ResultFormat.Csv, ShardSize = 10,
        });
        JobStatus status;
        do { await Task.Delay(200); status = await job.GetStatus(); } while (status.Done < 100 && !status.IsFinished);
        Assert.False(status.IsFinished, "the job ended before the crash; make it bigger");

        var coordinator = silos.Single(s => status.Coordinator!.Contains($":{s.SiloPort}:"));
        coordinator.Process.Kill(); // SIGKILL: no graceful shutdown, no lease hand-back, no state save
        output.WriteLine($"killed silo process {coordinator.Process.Id} hosting the job grain at {status.Done} images done");
        StartSilo(); // a process manager starts a new one (new ports, as a new pod would get)

        var deadlineJob = DateTime.UtcNow.AddMinutes(4);
        while (true)
        {
            try
            {
                status = await job.GetStatus();
                if (status.IsFinished) break;
            }
            catch (Exception) when (DateTime.UtcNow < deadlineJob) { }
            if (DateTime.UtcNow > deadlineJob) throw new TimeoutException($"job did not finish after the crash: {status}");
            await Task.Delay(500);
        }
        Assert.Equal(JobState.Completed, status.State);
        Assert.DoesNotContain($":{coordinator.SiloPort}:", status.Coordinator);
        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        var rows = new List<ImageResult>();
        var files = await job.GetResultFiles();
        Assert.Equal(status.Shards, files.Count);
        foreach (var file in files) rows.AddRange(await ResultFiles.Decode(await store.Read(file), ResultFormat.Csv));
        Assert.Equal(names.Select(n => n["in/".Length..]).Order(), rows.Select(r => r.Path).Order());
        Assert.Equal(names.Count, status.Scored + status.Failed);
        Assert.Equal(corrupt.Count, status.Failed);
        Assert.Equal(corrupt.Select(n => n["in/".Length..]).Order(), rows.Where(r => r.Status == ImageResult.Error).Select(r => r.Path).Order());
        Assert.Equal(names.Count, status.Total);
        output.WriteLine($"after the crash: {status.Done} images, coordinator now {status.Coordinator}");
    }

    [SkippableFact]
    public async Task The_leases_of_a_killed_silo_process_are_leased_again_once_membership_declares_it_dead()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("dead-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var png = BinaryData.FromBytes(File.ReadAllBytes(Path.Combine(RepoPaths.Reference, "inputs", "tiny.png")));
        await container.UploadBlobAsync("in/one.png", png);
        await container.UploadBlobAsync("in/two.png", png);

        // The default lease (60 s) and no scoring workers: the test plays them, so it knows which silo holds which lease.
        // Leases are for silos only: a cluster with tokens refuses them from a client, so these silos accept anonymous
        // clients (trusted as silos are: docs/security.md) while keeping mutual TLS.
        var settings = new Dictionary<string, string>
        {
            ["Jobs__LeaseSeconds"] = "60", ["Scoring__Enabled"] = "false", ["Security__SigningKeyFile"] = "", ["Security__AllowAnonymous"] = "true",
        };
        var silos = Enumerable.Range(0, 4).Select(_ => StartSilo(settings)).ToList();
        await using var connection = await SiloProcess.Connect(azurite.ConnectionString, _clusterId);
        var hosts = await WaitForActive(connection.Client, silos, 4, settings);

        var jobId = "dead-job-" + Guid.NewGuid().ToString("N")[..6];
        var job = connection.Client.GetGrain<IJobGrain>(jobId);
        await job.Start(new JobSpec { Sources = [Locations.Blob($"{container.Name}/in")], Model = "proxy-sharpness", Output = Locations.Blob($"{container.Name}/out"), ShardSize = 1 });
        JobStatus status;
        do { await Task.Delay(100); status = await job.GetStatus(); } while (!status.ListingDone);
        var victim = silos.First(s => !status.Coordinator!.Contains($":{s.SiloPort}:"));
        var victimAddress = hosts.Keys.Single(a => a.Endpoint.Port == victim.SiloPort);
        // Every call goes through the gateways of the silos that stay: a call in flight through a killed silo's gateway
        // is lost and times out after 30 s, which is the client's behaviour, not the job's.
        var survivorGateways = string.Join(',', silos.Where(s => s != victim).Select(s => $"127.0.0.1:{s.GatewayPort}"));
        var survivorSettings = new Dictionary<string, string?> { ["Cluster:ClusterId"] = _clusterId, ["Cluster:Gateways"] = survivorGateways };
        foreach (var (key, value) in TestPki.AsKeys(TestPki.Shared.ClientEnvironment())) survivorSettings[key] = value; // TLS and a token, as the silos want
        await using var survivors = await ClusterConnection.Open(survivorSettings);
        job = survivors.Client.GetGrain<IJobGrain>(jobId);
        // Named as ScoringWorker names its workers; the second lease is held by a live silo and shows whether the
        // job grain's activation (and so its memory of leases) survived the kill. With Orleans' default grain directory
        // about half the kills re-created it (its directory entry lived on the killed silo); the distributed directory
        // (SiloSetup.UseDpIqaCluster) rebuilds the entry from the live activation, so every kill must keep it.
        var lease = await job.Lease($"{victimAddress}/0") ?? throw new InvalidOperationException("no shard to lease");
        var witness = await job.Lease(status.Coordinator + "/0") ?? throw new InvalidOperationException("no second shard to lease");

        victim.Process.Kill(); // SIGKILL: the silo says nothing; the others find out by probing it
        var killedAt = DateTimeOffset.UtcNow;
        ShardLease? again = null;
        bool sameActivation = true;
        while (again is null && DateTimeOffset.UtcNow < lease.Deadline + TimeSpan.FromSeconds(10))
        {
            again = await job.Lease("survivor/0");
            sameActivation &= await job.Renew(witness.Shard, witness.Token);
            if (again is null) await Task.Delay(200);
        }
        var leasedAgainAt = DateTimeOffset.UtcNow;
        output.WriteLine($"shard leased again {(leasedAgainAt - killedAt).TotalSeconds:F1} s after the kill; " +
                         $"its lease deadline was {(lease.Deadline - killedAt).TotalSeconds:F1} s after the kill; job grain kept its activation: {sameActivation}");
        Assert.True(sameActivation, "the job grain was activated afresh when another silo was killed: it forgot the live silo's lease");
        Assert.True(again is not null, "the shard was not leased again");
        Assert.Equal(lease.Shard, again.Shard);
        Assert.True(leasedAgainAt < lease.Deadline, "the dead silo's lease should be released when membership declares it dead, not at its deadline");
    }

    public void Dispose()
    {
        foreach (var silo in _silos) silo.Dispose();
    }
}
