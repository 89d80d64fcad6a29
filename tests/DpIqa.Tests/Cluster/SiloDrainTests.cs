using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// Graceful drain of real silo processes: SIGTERM (what Kubernetes sends) to a scoring silo holding a shard. With no
/// drain time the shard is handed back at once and leased again elsewhere well before its lease would expire; with
/// drain time the silo finishes the shard and completes it before leaving. Either way the job completes with every
/// image exactly once. The test holds every other shard itself, so it knows which one the silo had.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class SiloDrainTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IDisposable
{
    private const int LeaseSeconds = 30;
    private readonly List<SiloProcess> _silos = [];
    private readonly string _clusterId = "drain-" + Guid.NewGuid().ToString("N")[..8];

    private SiloProcess StartSilo(Dictionary<string, string> settings)
    {
        settings["Jobs__LeaseSeconds"] = $"{LeaseSeconds}";
        // The test holds leases itself, and leases are for silos only: a cluster with tokens refuses them from a client,
        // so these silos accept anonymous clients (trusted as silos are: docs/security.md) while keeping mutual TLS.
        settings["Security__SigningKeyFile"] = "";
        settings["Security__AllowAnonymous"] = "true";
        var silo = SiloProcess.Start(azurite.ConnectionString, _clusterId, settings);
        _silos.Add(silo);
        return silo;
    }

    private sealed record Setup(ClusterConnection Connection, IJobGrain Job, SiloProcess Coordinator, SiloProcess Worker,
        List<string> Names, List<ShardLease> Held, string Container);

    /// <summary>
    /// A coordinator, a job on it, then one scoring silo (slowed to one image at a time); returns once that silo holds
    /// a shard and the test holds all the others.
    /// </summary>
    private async Task<Setup> StartJobWithOneShardOnTheWorker(int drainSeconds)
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("drain-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var photo = BinaryData.FromBytes(File.ReadAllBytes(Path.Combine(RepoPaths.Photos, "lomiri-seeding.jpg")));
        var names = Enumerable.Range(0, 32).Select(i => $"in/{"pq"[i % 2]}/photo-{i:D2}.jpg").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, ct) => await container.UploadBlobAsync(n, photo, ct));

        // The coordinator alone first, so the job grain (and its in-memory leases) lives there, not on the silo to stop.
        var coordinator = StartSilo(new() { ["Scoring__Enabled"] = "false" });
        var connection = await SiloProcess.Connect(azurite.ConnectionString, _clusterId);
        var job = connection.Client.GetGrain<IJobGrain>("drain-job-" + Guid.NewGuid().ToString("N")[..6]);
        await job.Start(new JobSpec { Sources = [Locations.Blob($"{container.Name}/in")], Model = "proxy-sharpness", Output = Locations.Blob($"{container.Name}/out"), ShardSize = 4 });
        JobStatus status;
        do { await Task.Delay(200); status = await job.GetStatus(); } while (!status.ListingDone);
        Assert.Contains($":{coordinator.SiloPort}:", status.Coordinator);

        var worker = StartSilo(new()
        {
            ["Scoring__DrainSeconds"] = $"{drainSeconds}",
            ["Scoring__ImagesInFlight"] = "1",
            ["Scoring__DecodeThreads"] = "1",
        });
        for (var deadline = DateTime.UtcNow.AddSeconds(120); (await job.GetStatus()).ShardsLeased == 0; await Task.Delay(100))
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the scoring silo took no shard in 2 minutes");

        // The test takes every shard still waiting, so the only shard it does not hold is the worker's.
        var held = new List<ShardLease>();
        while (await job.Lease("test-holder/0") is { } lease) held.Add(lease);
        for (int tries = 0; (await job.GetStatus()).ShardsLeased != held.Count + 1; tries++)
        {
            // The worker finished its shard meanwhile and is idle: give it one back and wait until it takes it.
            Assert.True(tries < 20, "the scoring silo does not take shards");
            var giveBack = held[^1];
            held.RemoveAt(held.Count - 1);
            await job.Release(giveBack.Shard, giveBack.Token);
            for (var deadline = DateTime.UtcNow.AddSeconds(30); (await job.GetStatus()).ShardsLeased != held.Count + 1 && DateTime.UtcNow < deadline;)
                await Task.Delay(50);
        }
        return new Setup(connection, job, coordinator, worker, names, held, container.Name);
    }

    /// <summary>Gives the test's leases back, starts another scoring silo and checks the job ends with every image once.</summary>
    private async Task FinishAndCheck(Setup setup, IEnumerable<ShardLease> held)
    {
        foreach (var lease in held) await setup.Job.Release(lease.Shard, lease.Token);
        StartSilo(new());
        JobStatus status;
        var deadline = DateTime.UtcNow.AddMinutes(4);
        do
        {
            await Task.Delay(300);
            status = await setup.Job.GetStatus();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the job did not finish: {status}");
        } while (!status.IsFinished);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(setup.Names.Count, status.Total);
        Assert.Equal(setup.Names.Count, status.Scored + status.Failed);
        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        var rows = new List<ImageResult>();
        foreach (var file in await setup.Job.GetResultFiles()) rows.AddRange(await ResultFiles.Decode(await store.Read(file), ResultFormat.Csv));
        Assert.Equal(setup.Names.Select(n => n["in/".Length..]).Order(), rows.Select(r => r.Path).Order()); // every image exactly once
        Assert.Equal(0, (await setup.Coordinator.Scrape()).Sum("dpiqa_job_lease_events_total", ("event", "expired")));
    }

    /// <summary>
    /// Waits for the stopped silo to exit while renewing the test's leases, as a worker would. Each renewal must
    /// succeed: a job grain activated afresh when the silo left would have an empty lease table (and would have put
    /// every shard not done back in the queue), so it would refuse them.
    /// </summary>
    private static async Task WaitForExitKeepingLeases(Setup setup, TimeSpan within)
    {
        for (var deadline = DateTime.UtcNow + within; !setup.Worker.Process.HasExited; await Task.Delay(500))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the stopped silo did not exit in {within.TotalSeconds} s: {setup.Worker.Describe()}");
            await AssertLeasesKept(setup);
        }
        await setup.Worker.Process.WaitForExitAsync();
        await AssertLeasesKept(setup);
    }

    private static async Task AssertLeasesKept(Setup setup)
    {
        foreach (var lease in setup.Held)
            Assert.True(await setup.Job.Renew(lease.Shard, lease.Token), $"the job grain no longer knew the test's lease on shard {lease.Shard}: it was activated afresh");
    }

    [SkippableFact]
    public async Task A_silo_stopped_by_SIGTERM_without_drain_time_hands_its_shard_back_at_once()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var setup = await StartJobWithOneShardOnTheWorker(drainSeconds: 0);
        await using var _ = setup.Connection;
        var doneBefore = (await setup.Job.GetStatus()).ShardsDone;

        setup.Worker.Terminate();
        var terminatedAt = DateTime.UtcNow;
        ShardLease? again = null;
        while (again is null && DateTime.UtcNow < terminatedAt.AddSeconds(LeaseSeconds + 10))
        {
            again = await setup.Job.Lease("test-elsewhere/0");
            if (again is null) await Task.Delay(50);
        }
        var leasedAgainAt = DateTime.UtcNow;
        Assert.NotNull(again);
        Assert.DoesNotContain(setup.Held, h => h.Shard == again.Shard);
        var seconds = (leasedAgainAt - terminatedAt).TotalSeconds;
        output.WriteLine($"the stopped silo's shard {again.Shard} was leased again {seconds:F2} s after SIGTERM (lease time {LeaseSeconds} s)");
        Assert.True(seconds < LeaseSeconds, $"the shard waited {seconds:F1} s, as for a lease expiry");
        Assert.Equal(doneBefore, (await setup.Job.GetStatus()).ShardsDone); // handed back, not finished
        Assert.Equal(1, (await setup.Coordinator.Scrape()).Sum("dpiqa_job_lease_events_total", ("event", "released")));

        await WaitForExitKeepingLeases(setup, TimeSpan.FromSeconds(60));
        output.WriteLine($"the stopped silo exited with code {setup.Worker.Process.ExitCode} {(DateTime.UtcNow - terminatedAt).TotalSeconds:F1} s after SIGTERM");
        Assert.Equal(0, setup.Worker.Process.ExitCode);
        await FinishAndCheck(setup, setup.Held.Append(again));
    }

    [SkippableFact]
    public async Task A_silo_stopped_by_SIGTERM_with_drain_time_finishes_its_shard_before_leaving()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var setup = await StartJobWithOneShardOnTheWorker(drainSeconds: 120);
        await using var _ = setup.Connection;
        var before = await setup.Job.GetStatus();

        setup.Worker.Terminate();
        var terminatedAt = DateTime.UtcNow;
        await WaitForExitKeepingLeases(setup, TimeSpan.FromSeconds(150));
        output.WriteLine($"the stopped silo exited with code {setup.Worker.Process.ExitCode} {(DateTime.UtcNow - terminatedAt).TotalSeconds:F1} s after SIGTERM");
        Assert.Equal(0, setup.Worker.Process.ExitCode);

        var after = await setup.Job.GetStatus();
        var scrape = await setup.Coordinator.Scrape();
        output.WriteLine($"after: {after}; lease events: " + string.Join(", ", new[] { "granted", "released", "expired", "dead_silo" }.Select(e => $"{e} {scrape.Sum("dpiqa_job_lease_events_total", ("event", e))}")));
        Assert.Equal(before.ShardsDone + 1, after.ShardsDone); // the shard in flight was finished and counted
        Assert.Equal(0, scrape.Sum("dpiqa_job_lease_events_total", ("event", "released"))); // not handed back
        // The job grain kept its activation when the worker left: the test's leases are the only ones held, none went
        // back to the queue (with Orleans' default grain directory it was activated afresh in most runs; docs/benchmarks.md, "Cluster behaviour in tests").
        Assert.Equal(setup.Held.Count, after.ShardsLeased);
        await FinishAndCheck(setup, setup.Held);
    }

    public void Dispose()
    {
        foreach (var silo in _silos) silo.Dispose();
    }
}
