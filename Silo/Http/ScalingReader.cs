using System.Text.Json.Serialization;

namespace DpIqa.Silo.Http;

/// <summary>What <c>/scaling</c> answers: the work waiting over the cluster's active jobs, for an autoscaler.</summary>
internal sealed record ScalingReading(
    [property: JsonPropertyName("activeJobs")] int ActiveJobs,
    [property: JsonPropertyName("pendingShards")] long PendingShards,
    [property: JsonPropertyName("leasedShards")] long LeasedShards,
    [property: JsonPropertyName("pendingItems")] long PendingItems,
    [property: JsonPropertyName("scoringSilos")] int ScoringSilos);

/// <summary>
/// Reads the job index and each active job's status, at most once per <see cref="CacheFor"/> whatever the number of
/// scrapers (KEDA, Prometheus, people): concurrent requests share one reading, so scrapes never load the coordinator.
/// </summary>
internal sealed class ScalingReader(IGrainFactory grains)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private ScalingReading? _last;
    private DateTimeOffset _lastAt;

    public async Task<ScalingReading> Read(CancellationToken cancellationToken)
    {
        if (_last is { } fresh && DateTimeOffset.UtcNow - _lastAt < CacheFor) return fresh;
        await _reading.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } meanwhile && DateTimeOffset.UtcNow - _lastAt < CacheFor) return meanwhile;
            _last = await ReadCluster();
            _lastAt = DateTimeOffset.UtcNow;
            return _last;
        }
        finally
        {
            _reading.Release();
        }
    }

    private async Task<ScalingReading> ReadCluster()
    {
        var jobs = await grains.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).ActiveJobs();
        var statuses = await Task.WhenAll(jobs.Select(j => grains.GetGrain<IJobGrain>(j).GetStatus()));
        var running = statuses.Where(s => !s.IsFinished).ToList();
        int scoringSilos = await grains.GetGrain<IScoringSilosGrain>(0).Count();
        return new ScalingReading(
            ActiveJobs: running.Count,
            // Shards written and neither done nor leased; a job still listing adds more as it goes.
            PendingShards: running.Sum(s => (long)Math.Max(0, s.Shards - s.ShardsDone - s.ShardsLeased)),
            LeasedShards: running.Sum(s => (long)s.ShardsLeased),
            PendingItems: running.Sum(s => Math.Max(0, s.Total - s.Done)),
            ScoringSilos: scoringSilos);
    }
}
