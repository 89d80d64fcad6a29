using DpIqa.Storage;
using DpIqa.Results;

namespace DpIqa.Jobs;

/// <summary>
/// Result files of completions that did not count (a worker whose lease expired and that died, or one that finished
/// after another). Readers never use them: removing them after completion only saves space. Workers told
/// 'not counted' delete their own.
/// </summary>
internal static class UncountedResults
{
    /// <summary>Deletes every result file in the job's results folder that is not a done shard's counted one; how many were.</summary>
    public static async Task<int> Remove(ObjectStore store, JobRecord job, CancellationToken cancellationToken)
    {
        var folder = Locations.Join(job.Spec!.Output, JobLayout.ResultsFolder);
        int removed = 0;
        foreach (var name in await store.ListNames(folder, cancellationToken))
        {
            if (!JobLayout.TryParseResultName(name, out int shard, out uint tag)) continue;
            if (shard < job.ShardCount && job.IsDone(shard) && job.CountedTag(shard) == tag) continue;
            await store.Delete(Locations.Join(folder, name), cancellationToken);
            removed++;
        }
        return removed;
    }
}
