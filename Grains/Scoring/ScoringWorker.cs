using DpIqa.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace DpIqa.Scoring;

/// <summary>
/// Runs on silos that score (<see cref="ScoringOptions.Enabled"/>): loops that PULL shard leases from active
/// jobs, keep them renewed while the local scoring grain works, and complete them with the lease token.
/// A silo that joins starts pulling at once; one that dies loses only its leases, which the job releases when
/// membership declares the silo dead (or at expiry) and which are redone.
/// </summary>
internal sealed partial class ScoringWorker(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    ObjectStore store,
    IOptions<ScoringOptions> options,
    ILogger<ScoringWorker> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, options.Value.ConcurrentShards)).Select(i => Loop($"{silo.SiloAddress}/{i}", stoppingToken)));

    private async Task Loop(string worker, CancellationToken stoppingToken)
    {
        var catalog = grains.GetGrain<IJobCatalogGrain>(IJobCatalogGrain.Key);
        var poll = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs);
        int rotation = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var jobs = await catalog.ActiveJobs();
                ShardLease? lease = null;
                for (int j = 0; j < jobs.Count && lease is null; j++)
                    lease = await grains.GetGrain<IJobGrain>(jobs[(rotation + j) % jobs.Count]).Lease(worker);
                rotation++;
                if (lease is null)
                {
                    await Task.Delay(poll, stoppingToken);
                    continue;
                }
                await Work(lease, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.LoopFailed(logger, e, worker);
                await Task.Delay(poll, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task Work(ShardLease lease, CancellationToken stoppingToken)
    {
        var job = grains.GetGrain<IJobGrain>(lease.JobId);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var renewal = KeepRenewed(job, lease, renewing.Token);
        try
        {
            var outcome = await grains.GetGrain<IScoringGrain>(0).ScoreShard(lease).WaitAsync(stoppingToken);
            if (!await job.Complete(lease.Shard, lease.Token, outcome))
            {
                // Another run of the shard counted (or the job ended): this run's file is never read, so it goes.
                Log.NotCounted(logger, lease.JobId, lease.Shard);
                await store.Delete(lease.ResultFile, stoppingToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ShardFailed(logger, e, lease.JobId, lease.Shard);
            await job.Release(lease.Shard, lease.Token);
        }
        catch (OperationCanceledException)
        {
            // The silo is stopping: hand the shard back so another silo takes it now rather than at lease expiry.
            await job.Release(lease.Shard, lease.Token).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            throw;
        }
        finally
        {
            renewing.Cancel();
            await renewal.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task KeepRenewed(IJobGrain job, ShardLease lease, CancellationToken cancellationToken)
    {
        var every = (lease.Deadline - DateTimeOffset.UtcNow) / 3;
        if (every < TimeSpan.FromMilliseconds(100)) every = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(every, cancellationToken);
            try
            {
                if (!await job.Renew(lease.Shard, lease.Token)) return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A renewal that fails (e.g. the job grain is moving to another silo) is tried again: giving up here
                // would let a healthy lease expire. Only 'false' (the lease is gone) ends the renewals.
                Log.RenewFailed(logger, e, lease.JobId, lease.Shard);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker}: lease loop failed; retrying")]
        public static partial void LoopFailed(ILogger logger, Exception e, string worker);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: shard {Shard} failed on this silo; released for another try")]
        public static partial void ShardFailed(ILogger logger, Exception e, string job, int shard);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: shard {Shard} was already counted from another run; this run's result file is deleted")]
        public static partial void NotCounted(ILogger logger, string job, int shard);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: renewing the lease on shard {Shard} failed; trying again")]
        public static partial void RenewFailed(ILogger logger, Exception e, string job, int shard);
    }
}
