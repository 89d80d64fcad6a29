using Azure.Storage.Blobs;
using DpIqa.Hosting;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using SkiaSharp;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// Audit jobs over Azure Blob (Azurite) on multi-silo Orleans clusters (in-process silos, Azure Table membership
/// and Azure Blob job state on Azurite): every blob ends in the results exactly once and the totals equal the
/// inputs, while silos join, stop, die, and the silo hosting the job grain dies.
/// </summary>
public sealed class ClusterJobTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IAsyncDisposable
{
    private TestCluster? _cluster;

    private async Task<TestCluster> StartCluster(int silos, Dictionary<string, string>? settings = null)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["Storage:ConnectionString"] = azurite.ConnectionString;
        builder.Properties["Jobs:LeaseSeconds"] = "3";
        builder.Properties["Jobs:SaveIntervalMs"] = "300";
        builder.Properties["Scoring:PollIntervalMs"] = "100";
        builder.Properties["Scoring:ConcurrentShards"] = "1";
        builder.Properties["Inference:MaxWaitMs"] = "2";
        foreach (var (key, value) in settings ?? []) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<AzuriteSiloConfig>();
        builder.AddClientBuilderConfigurator<AzuriteClientConfig>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        return _cluster;
    }

    private static byte[] TinyJpeg()
    {
        using var photo = SKBitmap.Decode(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"));
        using var small = photo.Resize(new SKImageInfo(45, 30), new SKSamplingOptions(SKFilterMode.Linear));
        using var data = small.Encode(SKEncodedImageFormat.Jpeg, 85);
        return data.ToArray();
    }

    /// <summary>Uploads <paramref name="images"/> JPEG blobs over 4 folders plus two broken files.</summary>
    private async Task<(string Container, List<string> Names)> UploadDataset(int images)
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("data-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var jpeg = BinaryData.FromBytes(TinyJpeg());
        var names = Enumerable.Range(0, images).Select(i => $"set/{"abcd"[i % 4]}/img-{i:D5}.jpg").ToList();
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, ct) => await container.UploadBlobAsync(n, jpeg, ct));
        await container.UploadBlobAsync("set/broken/text.jpg", BinaryData.FromString("not an image"));
        await container.UploadBlobAsync("set/broken/notes.txt", BinaryData.FromString("not listed: not an image extension"));
        names.Add("set/broken/text.jpg");
        return (container.Name, names);
    }

    private static async Task<JobStatus> WaitFor(IJobGrain job, Func<JobStatus, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            JobStatus status;
            try
            {
                status = await job.GetStatus();
            }
            catch (Exception e) when (e is not ArgumentException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200); // the job grain's silo just died: the next call reactivates it elsewhere
                continue;
            }
            if (until(status) || status.IsFinished) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job not there in {timeout}: {status}");
            await Task.Delay(100);
        }
    }

    private async Task AssertExactlyOnce(IJobGrain job, JobStatus status, string container, List<string> names)
    {
        Assert.Equal(JobState.Completed, status.State);
        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        var rows = new List<ImageResult>();
        var files = await job.GetResultFiles(); // the counted run of each shard
        Assert.Equal(status.Shards, files.Count);
        foreach (var file in files) rows.AddRange(await ResultFiles.Decode(await store.Read(file), ResultFormat.Parquet));
        var expected = names.Select(n => n["set/".Length..]).Order().ToList();
        Assert.Equal(expected, rows.Select(r => r.Path).Order().ToList()); // each blob exactly once
        Assert.Equal(names.Count, status.Total);
        Assert.Equal(names.Count, status.Scored + status.Failed);
        Assert.Equal(1, status.Failed);
        Assert.Equal("unsupported", rows.Single(r => r.Path == "broken/text.jpg").ErrorKind);
        var summary = await job.GetSummary();
        Assert.Equal(names.Count, summary.All.Count);
        Assert.Equal(["a", "b", "broken", "c", "d"], summary.ByFolder.Keys.Order());
        Assert.Equal(names.Count - 1, summary.ByFolder.Where(f => f.Key != "broken").Sum(f => f.Value.Scored));
        Assert.True(await store.Read(Locations.Blob($"{container}/out/summary.json")) is { Length: > 0 });
        output.WriteLine($"{status.Total} images, {status.Shards} shards, by silo: {string.Join(", ", status.ShardsBySilo.Select(k => $"{k.Key}={k.Value}"))}");
    }

    private static JobSpec Spec(string container, int shardSize) => new()
    {
        Sources = [Locations.Blob($"{container}/set")],
        Model = "proxy-sharpness",
        Output = Locations.Blob($"{container}/out"),
        Format = ResultFormat.Parquet,
        ShardSize = shardSize,
    };

    [SkippableFact]
    public async Task Two_thousand_blobs_on_three_silos_end_exactly_once()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var (container, names) = await UploadDataset(2000);
        var cluster = await StartCluster(3);
        var job = cluster.Client.GetGrain<IJobGrain>("audit-" + Guid.NewGuid().ToString("N")[..8]);
        await job.Start(Spec(container, 50));
        var status = await WaitFor(job, _ => false, TimeSpan.FromMinutes(5));
        await AssertExactlyOnce(job, status, container, names);
        Assert.True(status.ShardsBySilo.Count >= 2, "work should spread over the silos");
    }

    [SkippableFact]
    public async Task A_silo_that_joins_mid_job_takes_leases_and_stopped_or_killed_silos_lose_nothing()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var (container, names) = await UploadDataset(2000);
        var cluster = await StartCluster(2);
        var job = cluster.Client.GetGrain<IJobGrain>("elastic-" + Guid.NewGuid().ToString("N")[..8]);
        await job.Start(Spec(container, 20));
        await WaitFor(job, s => s.Done >= 200, TimeSpan.FromMinutes(3));

        var joined = await cluster.StartAdditionalSiloAsync();
        var killed = await cluster.StartAdditionalSiloAsync();
        var joinedName = joined.SiloAddress.ToString();
        await WaitFor(job, s => s.ShardsBySilo.Keys.Any(k => k.Contains(joinedName)), TimeSpan.FromMinutes(2));

        // One silo stops gracefully (hands its leases back), one dies (its leases expire and are redone).
        var before = await job.GetStatus();
        await cluster.StopSiloAsync(cluster.Silos.First(s => s.SiloAddress != joined.SiloAddress && s.SiloAddress != killed.SiloAddress && s.SiloAddress.ToString() != before.Coordinator));
        await cluster.KillSiloAsync(killed);

        var status = await WaitFor(job, _ => false, TimeSpan.FromMinutes(5));
        await AssertExactlyOnce(job, status, container, names);
        Assert.True(status.ShardsBySilo.GetValueOrDefault(joinedName) > 0 || status.ShardsBySilo.Keys.Any(k => k.Contains(joinedName)));
    }

    [SkippableFact]
    public async Task The_job_resumes_from_storage_when_the_silo_hosting_its_grain_dies()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var (container, names) = await UploadDataset(1200);
        var cluster = await StartCluster(3);
        // Find a job id whose grain lands on a silo we can kill (placement is random).
        IJobGrain job = null!;
        JobStatus status = null!;
        for (int attempt = 0; attempt < 20; attempt++)
        {
            job = cluster.Client.GetGrain<IJobGrain>("failover-" + Guid.NewGuid().ToString("N")[..8]);
            status = await job.GetStatus();
            if (cluster.Silos.Skip(1).Any(s => s.SiloAddress.ToString() == status.Coordinator)) break;
        }
        var host = cluster.Silos.Single(s => s.SiloAddress.ToString() == status.Coordinator);
        await job.Start(Spec(container, 20));
        await WaitFor(job, s => s.Done >= 300, TimeSpan.FromMinutes(3));
        await Task.Delay(500); // at least one save of the job's state

        await cluster.KillSiloAsync(host);
        status = await WaitFor(job, _ => false, TimeSpan.FromMinutes(5));
        Assert.NotEqual(host.SiloAddress.ToString(), status.Coordinator);
        await AssertExactlyOnce(job, status, container, names);
    }

    [SkippableFact]
    public async Task Leases_held_on_a_silo_declared_dead_are_leased_again_before_their_deadline()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var (container, _) = await UploadDataset(19);
        // The default lease (60 s); the test plays the workers, so it knows which silo holds the lease.
        var cluster = await StartCluster(3, new() { ["Scoring:Enabled"] = "false", ["Jobs:LeaseSeconds"] = "60" });
        var primary = cluster.Silos[0];
        IJobGrain job = null!;
        for (int attempt = 0; attempt < 50; attempt++) // a job whose grain lives on the silo that stays
        {
            job = cluster.Client.GetGrain<IJobGrain>("dead-silo-" + Guid.NewGuid().ToString("N")[..8]);
            if ((await job.GetStatus()).Coordinator == primary.SiloAddress.ToString()) break;
        }
        await job.Start(Spec(container, 10)); // 20 images: two shards
        await WaitFor(job, s => s.ListingDone, TimeSpan.FromMinutes(1));
        var victim = cluster.Silos.Last(s => s.SiloAddress != primary.SiloAddress);
        var lease = await job.Lease($"{victim.SiloAddress}/0") ?? throw new InvalidOperationException("no shard to lease"); // a worker on the victim silo, like ScoringWorker names them
        // A lease held on a live silo, renewed while the test waits: shows that the job grain kept its activation (and so its
        // memory of leases): a re-created grain would re-lease every shard whatever the job does about dead silos.
        var witness = await job.Lease($"{primary.SiloAddress}/1") ?? throw new InvalidOperationException("no second shard to lease");

        await cluster.KillSiloAsync(victim);
        var killedAt = DateTimeOffset.UtcNow;
        var survivor = $"{primary.SiloAddress}/0";
        ShardLease? again = null;
        while (again is null && DateTimeOffset.UtcNow < lease.Deadline + TimeSpan.FromSeconds(10))
        {
            again = await job.Lease(survivor);
            Assert.True(await job.Renew(witness.Shard, witness.Token), "the job grain lost its leases: it was re-created");
            if (again is null) await Task.Delay(200);
        }
        var leasedAgainAt = DateTimeOffset.UtcNow;
        output.WriteLine($"shard leased again {(leasedAgainAt - killedAt).TotalSeconds:F1} s after the kill; " +
                         $"its lease deadline was {(lease.Deadline - killedAt).TotalSeconds:F1} s after the kill");
        Assert.True(again is not null, "the shard was not leased again");
        Assert.Equal(lease.Shard, again.Shard);
        Assert.True(leasedAgainAt < lease.Deadline, "the dead silo's lease should be released when membership declares it dead, not at its deadline");

        // The shard's run on the surviving silo counts and the job completes.
        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        var items = ItemList.Decode(await store.Read(again.ItemList));
        var rows = items.Select(i => new ImageResult { Path = i.Path, Score = 0.5f, Status = ImageResult.Ok }).ToList();
        await store.WriteWhole(again.ResultFile, await ResultFiles.Encode(rows, again.Format));
        Assert.True(await job.Complete(again.Shard, again.Token, DpIqa.Scoring.ShardScorer.Aggregate(rows, again.ResultFile, (await job.GetSummary()).ModelVersion!)));
        Assert.Equal(1, (await job.GetStatus()).ShardsDone);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
    }
}
