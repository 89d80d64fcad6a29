using DpIqa.Models;
using DpIqa.Storage;

namespace DpIqa.Curation;

/// <summary>
/// Keep/reject lists from a job's results and its curation rule (<c>--reject-below X</c>, <c>--keep-top-percent P</c>,
/// <c>--reject-bottom-percent P</c>, or several: an image is kept only if it passes all). Error records are always
/// rejected. <see cref="JobCuration"/> writes the lists (<c>keep.txt</c>, <c>reject.txt</c>, one path per line).
/// </summary>
internal static class CurationLists
{
    public static bool HasRule(JobSpec spec) => spec.RejectBelow is not null || spec.KeepTopPercent is not null || spec.RejectBottomPercent is not null;

    /// <summary>
    /// Refuses malformed rules, and a <c>--reject-below</c> outside the model's declared score range, with a message
    /// saying what to fix. Returns a note for the user when the threshold cannot be checked (the range is unknown).
    /// </summary>
    public static string? Validate(JobSpec spec, ModelManifest model)
    {
        if (spec.RejectBelow is { } x && !double.IsFinite(x))
            throw new ArgumentException($"--reject-below {x} is not a number: give a score such as 0.35");
        if (spec.KeepTopPercent is { } p && (!double.IsFinite(p) || p <= 0 || p > 100))
            throw new ArgumentException($"--keep-top-percent {p} is out of range: give a percentage above 0 and at most 100");
        if (spec.RejectBottomPercent is { } b && (!double.IsFinite(b) || b <= 0 || b >= 100))
            throw new ArgumentException($"--reject-bottom-percent {b} is out of range: give a percentage above 0 and below 100");
        if (spec.PerFolder && spec.KeepTopPercent is null && spec.RejectBottomPercent is null)
            throw new ArgumentException("--per-folder applies the percent rules within each top-level folder: add --keep-top-percent P or --reject-bottom-percent P");
        Dedup.JobDedup.Validate(spec);
        if (spec.Quarantine is { } q) Locations.CheckBlobNames(Locations.Blob(q), $"--quarantine {q}");
        if ((spec.Tag || spec.Quarantine is not null) && spec.Sources.FirstOrDefault(s => !Locations.IsBlob(s)) is { } local)
            throw new ArgumentException($"--tag and --quarantine act on blobs, and source '{local}' is not in blob storage: drop them or use a container source");
        if (spec.RejectBelow is not { } threshold) return null;
        if (model.DeclaredRange() is not { } range)
            return $"--reject-below {Show(threshold)} was not checked against a score range: model '{model.Name}' declares none (add score_range to its manifest)";
        if (threshold < range.Lower || threshold > range.Upper)
            throw new ArgumentException($"--reject-below {Show(threshold)} is outside the score range [{Show(range.Lower)}, {Show(range.Upper)}] of model '{model.Name}': give a score inside it");
        return null;
    }

    private static string Show(double v) => v.ToString("G", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The lowest score kept.</summary>
    public static double Threshold(JobSpec spec, ScoreAggregate all)
    {
        double threshold = double.NegativeInfinity;
        if (spec.RejectBelow is { } x) threshold = x;
        if (spec.KeepTopPercent is { } p && all.Scored > 0)
            threshold = Math.Max(threshold, all.Quantile(1 - p / 100)); // the same quantiles as summary.json's percentiles
        if (spec.RejectBottomPercent is { } b && all.Scored > 0)
            threshold = Math.Max(threshold, all.Quantile(b / 100));
        return threshold;
    }
}
