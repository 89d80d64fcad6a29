using DpIqa.Hosting;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Scoring;
using DpIqa.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// The job grain's lease protocol on a real (in-process) Orleans cluster, with the test playing the workers:
/// leases expire and are handed out again, only the first completion of a shard counts, and a job survives
/// the deactivation of its grain.
/// </summary>
public sealed class JobGrainTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;
    private readonly TempFolder _dir = new();

    public async Task InitializeAsync() => _cluster = await OneSiloCluster.Start<MemoryJobStorage>(new Dictionary<string, string>
    {
        // Scoring is off: the test is the worker.
        ["Jobs:LeaseSeconds"] = "1",
        ["Storage:LocalRoots:0"] = Path.GetTempPath(), // a cluster silo: local paths only under its roots
    });

    public async Task DisposeAsync()
    {
        await OneSiloCluster.Stop(_cluster);
        _dir.Dispose();
    }

    private async Task<IJobGrain> StartJob(int images, int shardSize)
    {
        for (int i = 0; i < images; i++) _dir.Copy(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"), $"in/img-{i:D3}.png");
        var job = _cluster.GrainFactory.GetGrain<IJobGrain>("job-" + Guid.NewGuid().ToString("N")[..8]);
        await job.Start(new JobSpec { Sources = [Path.Combine(_dir.Path, "in")], Model = "proxy-sharpness", Output = Path.Combine(_dir.Path, "out"), ShardSize = shardSize });
        for (int i = 0; i < 100 && !(await job.GetStatus()).ListingDone; i++) await Task.Delay(50);
        return job;
    }

    internal static ShardOutcome Outcome(ShardLease lease, int images, double score)
    {
        var all = new ScoreAggregate();
        for (int i = 0; i < images; i++) all.AddScore(score);
        return new ShardOutcome { All = all, ByFolder = new() { ["."] = all }, ResultFile = lease.ResultFile };
    }

    private static async Task<List<ShardLease>> LeaseAll(IJobGrain job, string worker)
    {
        var leases = new List<ShardLease>();
        while (await job.Lease(worker) is { } lease) leases.Add(lease);
        return leases;
    }

    [Fact]
    public async Task Expired_leases_are_handed_out_again_and_only_the_first_completion_counts()
    {
        var job = await StartJob(images: 7, shardSize: 2);
        var status = await job.GetStatus();
        Assert.Equal((7, 4), (status.Total, status.Shards));

        var a = await LeaseAll(job, "worker-a");
        Assert.Equal([0, 1, 2, 3], a.Select(l => l.Shard));
        Assert.Null(await job.Lease("worker-b")); // nothing left while leases are live
        Assert.True(await job.Complete(0, a[0].Token, Outcome(a[0], 2, 0.5)));
        Assert.True(await job.Complete(0, a[0].Token, Outcome(a[0], 2, 0.5))); // a repeat of the counted completion: acknowledged, not counted again

        await Task.Delay(1500); // worker-a "dies": its other leases expire
        Assert.False(await job.Renew(1, a[1].Token));
        var b = await LeaseAll(job, "worker-b");
        Assert.Equal([1, 2, 3], b.Select(l => l.Shard).Order());

        // worker-a was only slow: its completion of shard 1 is the first, so it counts; worker-b's does not.
        Assert.True(await job.Complete(1, a[1].Token, Outcome(a[1], 2, 0.25)));
        Assert.False(await job.Complete(1, b.Single(l => l.Shard == 1).Token, Outcome(b.Single(l => l.Shard == 1), 2, 0.25)));
        Assert.True(await job.Complete(2, b.Single(l => l.Shard == 2).Token, Outcome(b.Single(l => l.Shard == 2), 2, 0.75)));
        Assert.Equal(JobState.Running, (await job.GetStatus()).State);
        Assert.True(await job.Complete(3, b.Single(l => l.Shard == 3).Token, Outcome(b.Single(l => l.Shard == 3), 1, 1.0)));

        status = await job.GetStatus();
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(7, status.Scored);
        Assert.Equal(0, status.Failed);
        var summary = await job.GetSummary();
        Assert.Equal((2 * 0.5 + 2 * 0.25 + 2 * 0.75 + 1.0) / 7, summary.All.Mean!.Value, 9);
        Assert.True(File.Exists(JobLayout.SummaryFile(Path.Combine(_dir.Path, "out"))));
        Assert.Null(await job.Lease("worker-c"));
    }

    /// <summary>Plays a worker: writes the lease's result file with one score for every image and reports its statistics.</summary>
    private static async Task<ShardOutcome> Run(IJobGrain job, ShardLease lease, float score)
    {
        var store = new ObjectStore(Options.Create(new StorageOptions()));
        var rows = ItemList.Decode(await store.Read(lease.ItemList))
            .Select(i => new ImageResult { Path = i.Path, Score = score, Status = ImageResult.Ok }).ToList();
        await store.WriteWhole(lease.ResultFile, await ResultFiles.Encode(rows, lease.Format));
        return ShardScorer.Aggregate(rows, lease.ResultFile, (await job.GetSummary()).ModelVersion!);
    }

    [Fact]
    public async Task Only_the_counted_completion_of_a_shard_is_published_and_the_other_runs_files_are_removed()
    {
        for (int i = 0; i < 4; i++) _dir.Copy(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"), $"in/img-{i:D3}.png");
        var job = _cluster.GrainFactory.GetGrain<IJobGrain>("once-" + Guid.NewGuid().ToString("N")[..8]);
        // A curation rule, so that the keep/reject lists read the results too.
        await job.Start(new JobSpec { Sources = [Path.Combine(_dir.Path, "in")], Model = "proxy-sharpness", Output = Path.Combine(_dir.Path, "out"), ShardSize = 2, RejectBelow = 0.5 });
        for (int i = 0; i < 100 && !(await job.GetStatus()).ListingDone; i++) await Task.Delay(50);

        var a = await LeaseAll(job, "worker-a");
        await Task.Delay(1500); // worker-a is slow: its leases expire and worker-b runs the same shards
        var b = await LeaseAll(job, "worker-b");
        Assert.Equal([0, 1], b.Select(l => l.Shard));
        Assert.NotEqual(a[0].ResultFile, b[0].ResultFile); // every run of a shard writes its own file

        // Shard 0 runs twice with different scores (as on a non-deterministic device); worker-b reports first.
        var fromB = await Run(job, b[0], 0.8f);
        var fromA = await Run(job, a[0], 0.2f);
        Assert.True(await job.Complete(0, b[0].Token, fromB));
        Assert.False(await job.Complete(0, a[0].Token, fromA));
        Assert.True(await job.Complete(1, b[1].Token, await Run(job, b[1], 0.9f)));
        var summary = await job.WaitForOutputs();

        Assert.Equal(JobState.Completed, summary.State);
        Assert.Equal(4, summary.All.Count);
        Assert.Equal((2 * 0.8 + 2 * 0.9) / 4, summary.All.Mean!.Value, 6);
        var files = await job.GetResultFiles();
        Assert.Equal([b[0].ResultFile, b[1].ResultFile], files);
        var store = new ObjectStore(Options.Create(new StorageOptions()));
        var published = new List<ImageResult>();
        foreach (var file in files) published.AddRange(await ResultFiles.Decode(await store.Read(file), ResultFormat.Csv));
        Assert.Equal(summary.All.Mean!.Value, published.Average(r => (double)r.Score!.Value), 6); // the file says what the statistics say
        Assert.Equal(4, File.ReadAllLines(JobLayout.KeepList(Path.Combine(_dir.Path, "out"))).Length); // worker-a's 0.2 scores would be rejected

        // Once the job completed, the files of runs that did not count are removed.
        for (int i = 0; i < 300 && File.Exists(a[0].ResultFile); i++) await Task.Delay(100);
        Assert.False(File.Exists(a[0].ResultFile));
        Assert.True(File.Exists(b[0].ResultFile));
    }

    [Fact]
    public async Task Item_lists_written_concurrently_are_leased_in_shard_order_and_only_once_written()
    {
        // 200 one-item shards: many item-list writes in flight at once. A lease taken while listing goes on must find
        // its item list written and holding its own item, and no shard is skipped, repeated or counted early.
        const int items = 200;
        var listing = Path.Combine(_dir.Path, "listing.txt");
        var lines = Enumerable.Range(0, items).Select(i => Path.Combine(_dir.Path, "in", $"f{i % 3}", $"img-{i:D4}.png")).ToArray();
        await File.WriteAllLinesAsync(listing, lines);
        var job = _cluster.GrainFactory.GetGrain<IJobGrain>("job-" + Guid.NewGuid().ToString("N")[..8]);
        await job.Start(new JobSpec { Sources = [Locations.ListingScheme + listing], Model = "proxy-sharpness", Output = Path.Combine(_dir.Path, "out"), ShardSize = 1 });
        var leased = new List<int>();
        for (int tries = 0; leased.Count < items && tries < 2000; tries++)
        {
            var status = await job.GetStatus();
            Assert.True(status.Total == status.Shards, $"{status.Total} images counted in {status.Shards} one-image shards");
            if (await job.Lease("w") is not { } lease)
            {
                await Task.Delay(10);
                continue;
            }
            var itemList = ItemList.Decode(await File.ReadAllBytesAsync(lease.ItemList));
            Assert.Equal(lines[lease.Shard], Assert.Single(itemList).Location);
            leased.Add(lease.Shard);
            Assert.True(await job.Complete(lease.Shard, lease.Token, Outcome(lease, 1, 0.5)));
        }
        Assert.Equal(Enumerable.Range(0, items), leased);
        var done = await job.GetStatus();
        Assert.Equal((JobState.Completed, (long)items, items), (done.State, done.Scored, done.Shards));
    }

    [Fact]
    public async Task A_released_lease_goes_straight_back_to_the_queue()
    {
        var job = await StartJob(images: 3, shardSize: 3);
        var lease = (await job.Lease("worker-a"))!;
        Assert.Null(await job.Lease("worker-b"));
        await job.Release(lease.Shard, lease.Token);
        var again = await job.Lease("worker-b");
        Assert.Equal(lease.Shard, again!.Shard);
        Assert.NotEqual(lease.Token, again.Token);
    }

    [Fact]
    public async Task A_job_survives_the_deactivation_of_its_grain()
    {
        var job = await StartJob(images: 6, shardSize: 2);
        var leases = await LeaseAll(job, "worker-a");
        Assert.True(await job.Complete(0, leases[0].Token, Outcome(leases[0], 2, 0.5)));
        await Task.Delay(1200); // let the grain save its state (Jobs:SaveIntervalMs)

        await _cluster.GrainFactory.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var status = await job.GetStatus();
        Assert.Equal((JobState.Running, 1, 2L), (status.State, status.ShardsDone, status.Scored));
        // Leases lived in the old activation: the unfinished shards are leasable again at once.
        var again = await LeaseAll(job, "worker-b");
        Assert.Equal([1, 2], again.Select(l => l.Shard).Order());
        foreach (var l in again) Assert.True(await job.Complete(l.Shard, l.Token, Outcome(l, 2, 0.5)));
        Assert.Equal((JobState.Completed, 6L), ((await job.GetStatus()).State, (await job.GetStatus()).Scored));
    }

    [Fact]
    public async Task Cancel_stops_handing_out_shards()
    {
        var job = await StartJob(images: 4, shardSize: 1);
        var status = await job.Cancel();
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.Null(await job.Lease("worker-a"));
    }

    [Theory]
    [InlineData(0, "shard size 0 is out of range")]
    [InlineData(64, "unknown model")]
    public async Task Bad_specs_are_refused_before_anything_runs(int shardSize, string message)
    {
        var job = _cluster.GrainFactory.GetGrain<IJobGrain>("bad-" + Guid.NewGuid().ToString("N")[..8]);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => job.Start(new JobSpec
        {
            Sources = [RepoPaths.Photos],
            Model = shardSize == 0 ? "proxy-sharpness" : "dp-iqa-koniq-missing",
            Output = Path.Combine(_dir.Path, "out"),
            ShardSize = shardSize,
        }));
        Assert.Contains(message, e.Message);
        Assert.Equal(JobState.Unknown, (await job.GetStatus()).State); // a refused start leaves no job
    }
}
