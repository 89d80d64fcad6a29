using Orleans.Concurrency;

namespace DpIqa;

/// <summary>
/// One per job (key: job id). Lists the sources into the shards' item lists, hands shards out as leases,
/// counts the first completion of each shard and keeps the mergeable statistics.
/// Every call but Start, Complete and Cancel answers from memory in one turn ([AlwaysInterleave]): it is answered
/// while the grain waits on storage (a slow or hung save), so status polls and lease renewals never queue behind it.
/// </summary>
[Alias("dpiqa.IJobGrain")]
[RequiresRole(Role.Reader)]
public interface IJobGrain : IGrainWithStringKey
{
    /// <summary>Validates and starts the job. Throws <see cref="ArgumentException"/> with a message saying what to fix.</summary>
    [RequiresRole(Role.Operator), Alias("Start")] Task<JobStatus> Start(JobSpec spec);

    /// <summary>Leases the next shard waiting for work, or null when none is waiting right now.</summary>
    [RequiresRole(Role.Silo), Alias("Lease"), AlwaysInterleave] Task<ShardLease?> Lease(string worker);

    /// <summary>Extends a lease. False when the lease is no longer this worker's (expired and re-leased, or the job ended).</summary>
    [RequiresRole(Role.Silo), Alias("Renew"), AlwaysInterleave] Task<bool> Renew(int shard, Guid token);

    /// <summary>
    /// Reports a shard done; its result file must be the lease's <see cref="ShardLease.ResultFile"/>. Only the first
    /// completion of a shard counts and only its file is published: true for that completion (also when it is reported
    /// again), false for any other, whose result file the worker should delete. The completion that finishes the job
    /// returns once summary.json and the completed job's state are stored.
    /// </summary>
    [RequiresRole(Role.Silo), Alias("Complete")] Task<bool> Complete(int shard, Guid token, ShardOutcome outcome);

    /// <summary>Gives a lease back without completing it (e.g. the worker is stopping).</summary>
    [RequiresRole(Role.Silo), Alias("Release"), AlwaysInterleave] Task Release(int shard, Guid token);

    /// <summary>The job's spec (null when there is no such job).</summary>
    [Alias("GetSpec"), AlwaysInterleave] Task<JobSpec?> GetSpec();

    /// <summary>Progress.</summary>
    [Alias("GetStatus"), AlwaysInterleave] Task<JobStatus> GetStatus();

    /// <summary>Statistics so far (final once the job completed).</summary>
    [Alias("GetSummary"), AlwaysInterleave] Task<JobSummary> GetSummary();

    /// <summary>
    /// The result file of every completed shard, in shard order: the counted completion's file, the only one to read
    /// (other runs of a shard may have left files beside it until they are cleaned up). Complete once the job completed.
    /// </summary>
    [Alias("GetResultFiles"), AlwaysInterleave] Task<IReadOnlyList<string>> GetResultFiles();

    /// <summary>
    /// The final summary, once every output of the completed job is stored: summary.json, the completed state and the
    /// keep/reject lists, evaluation and drift (if asked for). The alias keeps the old name so older clients still call it.
    /// </summary>
    [Alias("WaitForCuration"), ResponseTimeout("00:30:00"), AlwaysInterleave] Task<JobSummary> WaitForOutputs();

    /// <summary>Stops handing out shards; the job ends as cancelled.</summary>
    [RequiresRole(Role.Operator), Alias("Cancel")] Task<JobStatus> Cancel();
}
