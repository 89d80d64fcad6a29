using DpIqa.Storage;
using DpIqa.Results;

namespace DpIqa.Jobs;

/// <summary>
/// What a completed job does after its scores are counted, when its spec asks for it: keep/reject lists, then
/// --tag/--quarantine, then the drift report against the previous run (schedules) - see <see cref="Curation.JobCuration"/>;
/// then the evaluation against labels and the cascade's counts - see <see cref="Evaluation.JobEvaluation"/>.
/// The results go into the job's record; the grain stores it and rewrites summary.json.
/// </summary>
internal static class CompletionCuration
{
    /// <summary>Whether the job has anything to write after completion (keep/reject lists, evaluation, cascade counts).</summary>
    public static bool HasWork(JobSpec spec) => Curation.JobCuration.HasWork(spec) || spec.Labels is not null;

    /// <param name="countedResultFiles">The counted result file of each done shard, in shard order.</param>
    /// <param name="summary">The job's summary as it is now (its statistics are the drift report's input).</param>
    public static async Task Run(ObjectStore store, IGrainFactory grains, string jobId, JobRecord job,
        IReadOnlyList<string> countedResultFiles, JobSummary summary, CancellationToken cancellationToken)
    {
        var spec = job.Spec!;
        var previous = spec.PreviousJob is { } p && await grains.GetGrain<IJobGrain>(p).GetSpec() is not null
            ? await grains.GetGrain<IJobGrain>(p).GetSummary() : null;
        var shards = Enumerable.Range(0, job.ShardCount).Where(job.IsDone).Select(s => JobLayout.ItemListPath(spec.Output, s)).Zip(countedResultFiles).ToList();
        var done = await Curation.JobCuration.Run(store, spec, jobId, $"{spec.Model}/{job.ModelVersion}", job.All, job.ByFolder, shards, summary.All, previous,
            cancellationToken, await PreviousKeep(store, grains, spec, cancellationToken));
        job.Curation = done.Lists;
        job.Duplicates = done.Duplicates;
        job.Actions = done.Actions;
        job.Drift = done.Drift;
        var threshold = Curation.CurationLists.Threshold(spec, job.All);
        (job.Evaluation, job.Cascade, var note) = await Evaluation.JobEvaluation.Run(store, spec, countedResultFiles, threshold, cancellationToken);
        if (note is not null) job.Message = note;
    }

    /// <summary>The keep list of the previous run of a schedule with --dedup (null when there is none), to tell which kept images a better copy replaced.</summary>
    private static async Task<IReadOnlySet<string>?> PreviousKeep(ObjectStore store, IGrainFactory grains, JobSpec spec, CancellationToken cancellationToken)
    {
        if (spec.Dedup is null || spec.PreviousJob is not { } p || await grains.GetGrain<IJobGrain>(p).GetSpec() is not { } previous) return null;
        var content = await store.TryRead(JobLayout.KeepList(previous.Output), cancellationToken);
        return content is null ? null : System.Text.Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Records why the lists are missing; a schedule waits for the drift report, so it says why there is none rather than never coming.</summary>
    public static void Failed(JobRecord job, Exception e)
    {
        job.Message = $"the keep/reject lists could not be written: {e.Message}";
        if (job.Spec!.DriftThreshold is { } t) job.Drift = new DriftReport { PreviousJobId = job.Spec.PreviousJob, Threshold = t, Reason = $"not computed: {e.Message}" };
    }
}
