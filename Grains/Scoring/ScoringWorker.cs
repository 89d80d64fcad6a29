using DpIqa.Storage;
using DpIqa.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace DpIqa.Scoring;

/// <summary>
/// Runs on silos that score (<see cref="ScoringOptions.Enabled"/>): loops that PULL shard leases from active
/// jobs, keep them renewed while <see cref="ShardScorer"/> scores them on this silo, and complete them with the lease token.
/// The scorer is called directly, not through a grain: scoring is always local to the silo holding the lease (image
/// bytes never cross silos), so a grain hop would only add a copy of the lease and the outcome.
/// A silo that joins starts pulling at once; one that dies loses only its leases, which the job releases when
/// membership declares the silo dead (or at expiry) and which are redone.
/// Stopping (SIGTERM) drains: no new leases; a shard in flight gets until <see cref="ScoringOptions.DrainSeconds"/> to
/// finish and be completed, else it is handed back (released) so another silo leases it at once.
/// </summary>
internal sealed partial class ScoringWorker(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    ObjectStore store,
    ShardScorer scorer,
    IOptions<ScoringOptions> options,
    ILogger<ScoringWorker> logger) : BackgroundService
{
    /// <summary>Set when the host stops this worker: shards in flight may finish until then.</summary>
    private DateTimeOffset _drainUntil = DateTimeOffset.MaxValue;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.ConcurrentShards).Select(i => Loop($"{silo.SiloAddress}/{i}", stoppingToken))
            .Append(Report(stoppingToken)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _drainUntil = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(options.Value.DrainSeconds);
        Log.Draining(logger, options.Value.DrainSeconds);
        await base.StopAsync(cancellationToken); // cancels the loops' token: no new leases from here on
        // /scaling stops counting this silo at once rather than when its reports stop.
        await grains.GetGrain<IScoringSilosGrain>(0).Leaving(silo.SiloAddress.ToString()).WaitAsync(TimeSpan.FromSeconds(5))
            .ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Tells the cluster this silo scores (for /scaling's scoringSilos), every few seconds until it stops.</summary>
    private async Task Report(CancellationToken stoppingToken)
    {
        var registry = grains.GetGrain<IScoringSilosGrain>(0);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await registry.Report(silo.SiloAddress.ToString());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.ReportFailed(logger, e);
            }
            await Task.Delay(IScoringSilosGrain.ReportPeriod, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task Loop(string worker, CancellationToken stoppingToken)
    {
        var index = grains.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key);
        var poll = TimeSpan.FromMilliseconds(options.Value.PollIntervalMs);
        int rotation = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var jobs = await index.ActiveJobs();
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
        // Renewals go on while the shard drains: they stop when the shard is completed or handed back.
        using var renewing = new CancellationTokenSource();
        var renewal = KeepRenewed(job, lease, renewing.Token);
        // Not the stopping token: a shard in flight may finish while the silo drains. Cancelled once it is handed back.
        using var abandon = new CancellationTokenSource();
        DpIqaMetrics.LeaseTaken();
        try
        {
            // Off this loop: decoding and inference run on the thread pool and the batcher.
            var scoring = Task.Run(() => scorer.Score(lease, abandon.Token), CancellationToken.None);
            ShardOutcome outcome;
            try
            {
                outcome = await scoring.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                outcome = await Drain(scoring, abandon, job, lease);
            }
            bool counted = await job.Complete(lease.Shard, lease.Token, outcome);
            DpIqaMetrics.ShardScored(counted);
            if (!counted)
            {
                // Another run of the shard counted (or the job ended): this run's file is never read, so it goes.
                Log.NotCounted(logger, lease.JobId, lease.Shard);
                await store.Delete(lease.ResultFile, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ShardFailed(logger, e, lease.JobId, lease.Shard);
            DpIqaMetrics.ShardReleased("failed");
            await job.Release(lease.Shard, lease.Token);
        }
        finally
        {
            DpIqaMetrics.LeaseEnded();
            renewing.Cancel();
            await renewal.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// The silo is stopping with this shard in flight: it may finish until the drain deadline (its outcome is then
    /// completed as usual); past that the shard is handed back so another silo leases it now, not at lease expiry.
    /// </summary>
    private async Task<ShardOutcome> Drain(Task<ShardOutcome> scoring, CancellationTokenSource abandon, IJobGrain job, ShardLease lease)
    {
        var left = _drainUntil - DateTimeOffset.UtcNow;
        try
        {
            if (left > TimeSpan.Zero) return await scoring.WaitAsync(left);
        }
        catch (TimeoutException)
        {
        }
        Log.HandedBack(logger, lease.JobId, lease.Shard);
        // The handed-back run stops scoring: its result file would never be counted.
        abandon.Cancel();
        _ = scoring.ContinueWith(_ => { }, TaskScheduler.Default);
        DpIqaMetrics.ShardReleased("draining");
        await job.Release(lease.Shard, lease.Token).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        throw new OperationCanceledException("the silo is stopping; the shard was handed back");
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

        [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: no new leases; shards in flight may finish within {Seconds} s, then are handed back")]
        public static partial void Draining(ILogger logger, int seconds);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: shard {Shard} did not finish before the drain deadline; handed back for another silo")]
        public static partial void HandedBack(ILogger logger, string job, int shard);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting this silo as a scoring silo failed; trying again")]
        public static partial void ReportFailed(ILogger logger, Exception e);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: renewing the lease on shard {Shard} failed; trying again")]
        public static partial void RenewFailed(ILogger logger, Exception e, string job, int shard);
    }
}
