using DpIqa.Hosting;
using DpIqa.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Hosting;
using Orleans.TestingHost;
using DpIqa.Results;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// The job grain when its storage hangs or fails (<see cref="StallingStorage"/>, a real grain storage provider): status,
/// lease and renewal calls keep answering from memory while a save hangs, healthy leases do not expire, a failed save
/// is retried until it is stored, and a job is reported completed only once its completed state and summary.json are
/// stored — after which every image is counted once.
/// </summary>
public sealed class JobStorageFaultTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;
    private readonly TempFolder _dir = new();

    /// <summary>Job state in <see cref="StallingStorage"/>.</summary>
    private sealed class StallingJobStorage : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) =>
            silo.Services.AddGrainStorage(JobGrain.StorageName, (services, _) => ActivatorUtilities.CreateInstance<StallingStorage>(services));
    }

    public async Task InitializeAsync() => _cluster = await OneSiloCluster.Start<StallingJobStorage>(new Dictionary<string, string>
    {
        // Scoring is off: the test is the worker.
        ["Jobs:LeaseSeconds"] = "2",
        ["Jobs:SaveIntervalMs"] = "100",
        ["Storage:LocalRoots:0"] = Path.GetTempPath(), // a cluster silo: local paths only under its roots
    });

    public async Task DisposeAsync()
    {
        StallingStorage.Resume();
        StallingStorage.Fail(false);
        await OneSiloCluster.Stop(_cluster);
        _dir.Dispose();
    }

    private async Task<IJobGrain> StartJob(int images, int shardSize)
    {
        for (int i = 0; i < images; i++) _dir.Copy(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"), $"in/img-{i:D3}.png");
        var job = _cluster.GrainFactory.GetGrain<IJobGrain>("fault-" + Guid.NewGuid().ToString("N")[..8]);
        await job.Start(new JobSpec { Sources = [Path.Combine(_dir.Path, "in")], Model = "proxy-sharpness", Output = Path.Combine(_dir.Path, "out"), ShardSize = shardSize });
        for (int i = 0; i < 100 && !(await job.GetStatus()).ListingDone; i++) await Task.Delay(50);
        return job;
    }

    private static async Task<List<ShardLease>> LeaseAll(IJobGrain job, string worker)
    {
        var leases = new List<ShardLease>();
        while (await job.Lease(worker) is { } lease) leases.Add(lease);
        return leases;
    }

    /// <summary>Waits for something the grain does on its own (a timer save); generous, since the machine may be loaded.</summary>
    private static async Task Eventually(Func<bool> condition, string what)
    {
        for (int i = 0; i < 600 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), what);
    }

    private JobRecord? Stored(IJobGrain job) => StallingStorage.Stored<JobRecord>(job.GetGrainId());

    [Fact]
    public async Task Status_and_renewals_answer_while_a_save_hangs_and_the_job_completes_once_it_is_stored()
    {
        var job = await StartJob(images: 6, shardSize: 2);
        var leases = await LeaseAll(job, "worker-a");
        Assert.Equal(3, leases.Count);
        StallingStorage.Stall();
        Assert.True(await job.Complete(0, leases[0].Token, JobGrainTests.Outcome(leases[0], 2, 0.5)));
        // The worker renews while it waits too: on a loaded CI machine the timer's save once came after the 2 s lease.
        for (int i = 0; i < 600 && StallingStorage.WritesWaiting == 0; i++)
        {
            Assert.True(await job.Renew(1, leases[1].Token));
            Assert.True(await job.Renew(2, leases[2].Token));
            await Task.Delay(50);
        }
        Assert.True(StallingStorage.WritesWaiting > 0, "the timer's save of the completion should hang on the stalled storage");

        // Hung for longer than a lease lasts (2 s): the worker keeps renewing and is answered, so its leases live.
        for (int i = 0; i < 20; i++)
        {
            Assert.True(await job.Renew(1, leases[1].Token));
            Assert.True(await job.Renew(2, leases[2].Token));
            var status = await job.GetStatus();
            Assert.Equal((JobState.Running, 1, 2), (status.State, status.ShardsDone, status.ShardsLeased));
            Assert.Null(await job.Lease("worker-b")); // nothing expired, so nothing to hand out
            Assert.NotNull(await job.GetSpec());
            Assert.Equal(2, (await job.GetSummary()).All.Count);
            await Task.Delay(250);
        }
        Assert.True(StallingStorage.WritesWaiting > 0, "storage should still be stalled");

        // The last completion finishes the job: it waits for the completed state to be stored, status says running meanwhile.
        Assert.True(await job.Complete(1, leases[1].Token, JobGrainTests.Outcome(leases[1], 2, 0.25)));
        var last = job.Complete(2, leases[2].Token, JobGrainTests.Outcome(leases[2], 2, 0.75));
        var during = await job.GetStatus();
        for (int i = 0; i < 600 && during.ShardsDone < 3; i++) during = await Task.Delay(50).ContinueWith(_ => job.GetStatus()).Unwrap();
        Assert.Equal((JobState.Running, 3), (during.State, during.ShardsDone)); // counted, not yet stored as completed
        Assert.False(last.IsCompleted);

        StallingStorage.Resume();
        Assert.True(await last);
        var done = await job.GetStatus();
        Assert.Equal((JobState.Completed, 6L, 0L), (done.State, done.Scored, done.Failed));
        Assert.Equal((2 * 0.5 + 2 * 0.25 + 2 * 0.75) / 6, (await job.GetSummary()).All.Mean!.Value, 9);
        Assert.True(File.Exists(JobLayout.SummaryFile(Path.Combine(_dir.Path, "out"))));
        var stored = Stored(job)!;
        Assert.Equal((JobState.Completed, 3, 6L), (stored.State, stored.ShardsDone, stored.All.Scored));
        Assert.DoesNotContain(job.GetPrimaryKeyString(), await _cluster.GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).ActiveJobs());
    }

    [Fact]
    public async Task A_failed_save_is_retried_and_a_job_is_completed_only_once_that_is_stored()
    {
        var job = await StartJob(images: 4, shardSize: 2);
        var leases = await LeaseAll(job, "worker-a");
        int failedBefore = StallingStorage.WritesFailed;
        StallingStorage.Fail(true);
        Assert.True(await job.Complete(0, leases[0].Token, JobGrainTests.Outcome(leases[0], 2, 0.5)));
        await Eventually(() => StallingStorage.WritesFailed > failedBefore, "the timer should try to save the completion");

        // Storage is back: the change that failed to save is saved, with no further change to prompt it.
        StallingStorage.Fail(false);
        await Eventually(() => Stored(job)?.ShardsDone == 1, "the completion should be saved after the failed save");

        // The last completion while saves fail: the job is not reported completed until its state is stored.
        failedBefore = StallingStorage.WritesFailed;
        StallingStorage.Fail(true);
        var last = job.Complete(1, leases[1].Token, JobGrainTests.Outcome(leases[1], 2, 0.25));
        await Eventually(() => StallingStorage.WritesFailed > failedBefore + 1, "saving the completed job should be retried");
        Assert.Equal((JobState.Running, 2), ((await job.GetStatus()).State, (await job.GetStatus()).ShardsDone));
        Assert.Equal(JobState.Running, Stored(job)!.State);

        StallingStorage.Fail(false);
        Assert.True(await last);
        Assert.Equal(JobState.Completed, (await job.GetStatus()).State);
        Assert.Equal((JobState.Completed, 4L), (Stored(job)!.State, Stored(job)!.All.Scored));
        Assert.True(File.Exists(JobLayout.SummaryFile(Path.Combine(_dir.Path, "out"))));
        Assert.DoesNotContain(job.GetPrimaryKeyString(), await _cluster.GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).ActiveJobs());
    }
}
