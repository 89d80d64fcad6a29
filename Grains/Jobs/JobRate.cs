namespace DpIqa.Jobs;

/// <summary>
/// A job's images per second and ETA for its status. While running, the rate counts from the first lease this
/// activation granted (a resumed job is not credited with the images of an earlier activation); once the job ended,
/// it is the whole run's average. Held in memory only: after a failover the rate starts again.
/// </summary>
internal sealed class JobRate
{
    /// <summary>A rate over less time than this would swing wildly; it reads 0 until then.</summary>
    private static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(0.5);

    private DateTimeOffset? _since;
    private long _doneAtStart;

    /// <summary>Starts the window at the first lease granted; later calls change nothing.</summary>
    public void Start(DateTimeOffset now, long done)
    {
        if (_since is not null) return;
        _since = now;
        _doneAtStart = done;
    }

    /// <summary>Images per second and, while running with the listing done, the time left; null when unknown.</summary>
    public (double ImagesPerSecond, TimeSpan? Eta) Estimate(DateTimeOffset now, JobRecord job)
    {
        long done = job.All.Scored + job.All.Failed;
        double rate = 0;
        if (_since is { } since && now - since > MinWindow)
            rate = (done - _doneAtStart) / (now - since).TotalSeconds;
        if (job.State != JobState.Running && job.StartedAt is { } s && job.FinishedAt is { } f && (f - s).TotalSeconds > 0)
            rate = done / (f - s).TotalSeconds;
        TimeSpan? eta = job.State == JobState.Running && job.ListingDone && rate > 0 ? TimeSpan.FromSeconds((job.Total - done) / rate) : null;
        return (rate, eta);
    }
}
