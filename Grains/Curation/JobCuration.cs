using System.Text;
using DpIqa.Results;
using DpIqa.Storage;

namespace DpIqa.Curation;

/// <summary>
/// What a job does once every shard is done: keep/reject lists (<see cref="CurationLists"/> rules, over the job or per
/// top-level folder), curation actions (<see cref="CurationActions"/>) and the drift report (<see cref="Drift"/>).
/// Reads the counted result files shard by shard, with their item lists (same order) for the images' locations.
/// </summary>
internal static class JobCuration
{
    public static bool HasWork(JobSpec spec) =>
        CurationLists.HasRule(spec) || spec.Tag || spec.Quarantine is not null || spec.DriftThreshold is not null || spec.Dedup is not null;

    public sealed record Outcome(CurationResult? Lists, CurationActionsResult? Actions, DriftReport? Drift, DuplicatesResult? Duplicates);

    /// <param name="shards">Per counted shard, in order: its item list and its counted result file.</param>
    /// <param name="current">The job's statistics (summary.json's "all").</param>
    /// <param name="previousKeep">The previous run's keep list (schedules with --dedup), null when it has none.</param>
    public static async Task<Outcome> Run(ObjectStore store, JobSpec spec, string jobId, string model, ScoreAggregate all,
        IReadOnlyDictionary<string, ScoreAggregate> byFolder, IReadOnlyList<(string ItemList, string ResultFile)> shards,
        ScoreSummary current, JobSummary? previous, CancellationToken cancellationToken,
        IReadOnlySet<string>? previousKeep = null)
    {
        bool rule = CurationLists.HasRule(spec);
        // Dedup first: the rule then judges the images dedup kept, and its percentiles are theirs.
        var dedup = spec.Dedup is null ? null
            : await Dedup.JobDedup.Run(store, spec, shards.Select(s => s.ResultFile).ToList(), spec.LowerIsBetter, spec.PreviousJob is not null, previousKeep, cancellationToken);
        if (dedup is not null) (all, byFolder) = (dedup.KeptAll, dedup.KeptByFolder);
        bool lists = rule || dedup is not null;
        double jobThreshold = CurationLists.Threshold(spec, all);
        var folderThresholds = spec.PerFolder
            ? byFolder.ToDictionary(f => f.Key, f => CurationLists.Threshold(spec, f.Value))
            : null;
        var actions = new CurationActions(store, spec, jobId, model);
        var keep = new StringBuilder();
        var reject = new StringBuilder();
        long kept = 0, rejected = 0;
        var fresh = new List<double>();
        var existing = new List<double>();
        for (int s = 0; s < shards.Count; s++)
        {
            var (itemList, resultFile) = shards[s];
            var rows = await ResultFiles.Decode(await JobLayout.ReadShardFile(store, resultFile, cancellationToken), spec.Format);
            var items = actions.Wanted ? ItemList.Decode(await JobLayout.ReadShardFile(store, itemList, cancellationToken)) : null;
            var verdicts = new List<Verdict>(rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                double threshold = folderThresholds?.GetValueOrDefault(SourceListing.TopFolder(row.Path), jobThreshold) ?? jobThreshold;
                var deciding = Cascade.CascadeRules.DecidingScore(row); // the cascade teacher's score decides where it rescored
                bool isKept = deciding is { } d && CurationLists.Kept(spec.LowerIsBetter, d, threshold); // error records are always rejected
                Dedup.JobDedup.Rejection duplicate = default;
                bool isDuplicate = dedup is not null && dedup.Rejected.TryGetValue(Dedup.JobDedup.Key(s, i), out duplicate);
                if (isDuplicate) isKept = false;
                if (lists)
                {
                    if (isKept) { keep.Append(row.Path).Append('\n'); kept++; }
                    else
                    {
                        reject.Append(row.Path);
                        // With --dedup each line says why (a tab, then the reason): a duplicate, a score below the rule, an error.
                        if (dedup is not null)
                            reject.Append('\t').Append(isDuplicate ? $"duplicate of {duplicate.KeptPath} (distance {duplicate.Distance})"
                                : deciding is { } worse ? $"score {worse.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)} {(spec.LowerIsBetter ? "above" : "below")} {threshold.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}"
                                : $"error {row.ErrorKind ?? "unknown"}");
                        reject.Append('\n');
                        rejected++;
                    }
                }
                if (row.Score is { } score) (row.Reused ? existing : fresh).Add(score);
                // Item list and result rows are written in the same order; a mismatch would tag the wrong blob.
                if (items is not null && i < items.Count && items[i].Path == row.Path) verdicts.Add(new Verdict(items[i].Location, row.Path, row.Score, isKept));
            }
            await actions.Apply(verdicts, cancellationToken);
        }
        CurationResult? written = null;
        if (lists)
        {
            await store.WriteWhole(JobLayout.KeepList(spec.Output), Encoding.UTF8.GetBytes(keep.ToString()), cancellationToken);
            await store.WriteWhole(JobLayout.RejectList(spec.Output), Encoding.UTF8.GetBytes(reject.ToString()), cancellationToken);
            // Per folder there is one threshold per folder (see the keep/reject lists); none for the job as a whole.
            written = new CurationResult(rule && !spec.PerFolder && double.IsFinite(jobThreshold) ? jobThreshold : null, kept, rejected);
        }
        var drift = spec.DriftThreshold is { } t
            ? Drift.Compare(t, spec.PreviousJob, previous, current, written?.Reject, fresh, existing)
            : null;
        return new Outcome(written, actions.Wanted ? actions.Result() : null, drift, dedup?.Result);
    }
}
