using System.Text;
using DpIqa.Results;
using DpIqa.Statistics;
using DpIqa.Storage;

namespace DpIqa.Curation;

/// <summary>
/// Keep/reject lists from a job's results and its curation rule (<c>--reject-below X</c>, <c>--keep-top-percent P</c>,
/// or both: an image is kept only if it passes both). Error records are always rejected. Lists are written to
/// <c>keep.txt</c> and <c>reject.txt</c> beside the results, one path per line.
/// </summary>
internal static class CurationLists
{
    public static bool HasRule(JobSpec spec) => spec.RejectBelow is not null || spec.KeepTopPercent is not null;

    /// <summary>Refuses malformed rules with a message saying what to fix.</summary>
    public static void Validate(JobSpec spec)
    {
        if (spec.RejectBelow is { } x && !double.IsFinite(x))
            throw new ArgumentException($"--reject-below {x} is not a number: give a score such as 0.35");
        if (spec.KeepTopPercent is { } p && (!double.IsFinite(p) || p <= 0 || p > 100))
            throw new ArgumentException($"--keep-top-percent {p} is out of range: give a percentage above 0 and at most 100");
    }

    /// <summary>The lowest score kept.</summary>
    public static double Threshold(JobSpec spec, ScoreAggregate all)
    {
        double threshold = double.NegativeInfinity;
        if (spec.RejectBelow is { } x) threshold = x;
        if (spec.KeepTopPercent is { } p && all.Scored > 0 && all.Histogram is not null)
            threshold = Math.Max(threshold, SummaryBuilder.Percentile(all, 1 - p / 100));
        return threshold;
    }

    /// <summary>Writes the lists from the job's counted result files (one per shard, see <see cref="IJobGrain.GetResultFiles"/>).</summary>
    public static async Task<(long Keep, long Reject)> Write(ObjectStore store, JobSpec spec, IReadOnlyList<string> resultFiles, double threshold, CancellationToken cancellationToken)
    {
        var keep = new StringBuilder();
        var reject = new StringBuilder();
        long kept = 0, rejected = 0;
        foreach (var file in resultFiles)
        {
            var rows = await ResultFiles.Decode(await store.Read(file, cancellationToken), spec.Format);
            foreach (var row in rows)
            {
                if (row.Score is { } s && s >= threshold) { keep.Append(row.Path).Append('\n'); kept++; }
                else { reject.Append(row.Path).Append('\n'); rejected++; }
            }
        }
        await store.WriteWhole(Locations.Join(spec.Output, "keep.txt"), Encoding.UTF8.GetBytes(keep.ToString()), cancellationToken);
        await store.WriteWhole(Locations.Join(spec.Output, "reject.txt"), Encoding.UTF8.GetBytes(reject.ToString()), cancellationToken);
        return (kept, rejected);
    }
}
