namespace DpIqa.Statistics;

/// <summary>How a job's aggregates take in a shard's outcome.</summary>
internal static class JobStatistics
{
    /// <summary>
    /// Merges a counted shard's statistics into the job's, overall and per top-level folder, at a cost proportional
    /// to what the shard holds. A folder's scores are kept exactly only while the whole job's are: once the job
    /// passes <see cref="ScoreAggregate.ExactLimit"/>, folders are sketched too, so the state keeps at most that many
    /// exact scores for the job and as many across its folders, however many folders there are.
    /// </summary>
    public static void Add(ScoreAggregate all, Dictionary<string, ScoreAggregate> byFolder, ShardOutcome outcome)
    {
        bool wasExact = all.IsExact;
        all.Merge(outcome.All);
        foreach (var (folder, aggregate) in outcome.ByFolder)
        {
            if (!byFolder.TryGetValue(folder, out var existing)) byFolder[folder] = existing = new ScoreAggregate();
            existing.Merge(aggregate);
            if (!all.IsExact) existing.ConvertToSketch();
        }
        if (wasExact && !all.IsExact)
            foreach (var folder in byFolder.Values) folder.ConvertToSketch();
    }
}
