using DpIqa.Telemetry;

namespace DpIqa.Jobs;

/// <summary>A job as others see it while it runs: its <see cref="JobStatus"/> (progress, rate, ETA, leases) and its counts for /metrics.</summary>
internal static class JobStatusView
{
    /// <summary>The status of <paramref name="job"/>, coordinated by the silo <paramref name="coordinator"/>.</summary>
    public static JobStatus Status(string jobId, JobRecord job, LeaseTable leases, JobRate rate, long savedBytes, string coordinator, DateTimeOffset now)
    {
        var (imagesPerSecond, eta) = rate.Estimate(now, job);
        return new JobStatus
        {
            JobId = jobId,
            // A record never started reads Pending (0) in storage; callers are told there is no such job.
            State = job.Spec is null ? JobState.Unknown : job.State,
            Total = job.Total,
            ListingDone = job.ListingDone,
            Scored = job.All.Scored,
            Failed = job.All.Failed,
            Shards = job.ShardCount,
            ShardsDone = job.ShardsDone,
            ShardsLeased = leases.Count,
            ImagesPerSecond = imagesPerSecond,
            Eta = eta,
            Workers = leases.Workers,
            Message = job.Message,
            Model = job.Spec is null ? null : $"{job.Spec.Model} v{job.ModelVersion}",
            SubmittedAt = job.SubmittedAt,
            Coordinator = coordinator,
            ShardsBySilo = new Dictionary<string, int>(job.ShardsBySilo),
            StateBytes = savedBytes,
            Reused = job.Reused,
            Drifted = job.Drift?.Drifted ?? false,
            SubmittedBy = job.Spec?.SubmittedBy?.Name,
        };
    }

    /// <summary>The job's counts for /metrics, read off the grain's thread: only whole numbers, each read once.</summary>
    public static DpIqaMetrics.JobReading Reading(JobRecord job, LeaseTable leases)
    {
        bool running = job.Spec is not null && job.State == JobState.Running;
        int leased = running ? leases.Count : 0;
        long done = job.All.Scored + job.All.Failed;
        return new DpIqaMetrics.JobReading(running, running ? Math.Max(0, job.ShardCount - job.ShardsDone - leased) : 0, leased,
            job.ShardsDone, running ? Math.Max(0, job.Total - done) : 0, done);
    }
}
