using DpIqa.Results;

namespace DpIqa.Jobs;

/// <summary>
/// The job grain's side of a lease beyond the <see cref="LeaseTable"/>'s bookkeeping: what a worker is handed with a
/// lease (<see cref="Offer"/>), and releasing at once the leases of silos that cluster membership declared dead
/// (<see cref="ReleaseLeasesOfDeadSilos"/>) instead of letting them run to their deadline; expiry stays the fallback,
/// e.g. for a worker that hangs on a live silo. A worker is named <c>silo/loop</c>.
/// </summary>
internal static class LeaseProtocol
{
    /// <summary>What the worker holding <paramref name="lease"/> on <paramref name="shard"/> needs to score it.</summary>
    public static ShardLease Offer(string jobId, JobSpec spec, int shard, LeaseTable.Held lease) => new()
    {
        JobId = jobId,
        Shard = shard,
        Token = lease.Token,
        ItemList = JobLayout.ItemListPath(spec.Output, shard),
        ResultFile = JobLayout.ResultPath(spec.Output, shard, JobLayout.TokenTag(lease.Token), spec.Format),
        Model = spec.Model,
        Format = spec.Format,
        Deadline = lease.Deadline,
        Cascade = Cascade.CascadeRules.Band(spec),
        Incremental = spec.Incremental,
        ScoreCacheFile = spec.ScoreCacheFile ?? JobLayout.ScoreCacheFile(spec.Output),
        Preprocess = spec.Preprocess ?? PreprocessPath.Exact,
        Dedup = spec.Dedup is not null,
    };

    /// <summary>
    /// Watches cluster membership until <paramref name="stop"/>; each lease held by a worker of a silo declared dead is
    /// released (its shard waits again) and reported to <paramref name="released"/>.
    /// </summary>
    public static async Task ReleaseLeasesOfDeadSilos(IClusterMembershipService membership, LeaseTable leases,
        Action<int, LeaseTable.Held> released, CancellationToken stop)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stop))
            {
                if (leases.Count == 0) continue;
                var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress.ToString()).ToHashSet();
                foreach (var (shard, lease) in leases.ReleaseWhere(worker => dead.Contains(SiloOf(worker)))) released(shard, lease);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>The silo part of a worker's name.</summary>
    public static string SiloOf(string worker) => worker.LastIndexOf('/') is var i and > 0 ? worker[..i] : worker;
}
