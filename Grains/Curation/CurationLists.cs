using DpIqa.Models;
using DpIqa.Storage;

namespace DpIqa.Curation;

/// <summary>
/// Keep/reject lists from a job's results and its curation rule (<c>--reject-below X</c> for a higher-is-better model,
/// <c>--reject-above X</c> for a lower-is-better one, <c>--keep-top-percent P</c>, <c>--reject-bottom-percent P</c>, or
/// several: an image is kept only if it passes all). Rules read in quality terms, in the model's direction: "top" and
/// "best" are the lowest scores of a lower-is-better model (BRISQUE), "bottom" and "worst" its highest. Error records
/// are always rejected. <see cref="JobCuration"/> writes the lists (<c>keep.txt</c>, <c>reject.txt</c>, one path per line).
/// </summary>
internal static class CurationLists
{
    public static bool HasRule(JobSpec spec) =>
        spec.RejectBelow is not null || spec.RejectAbove is not null || spec.KeepTopPercent is not null || spec.RejectBottomPercent is not null;

    /// <summary>The threshold rule's value (<c>--reject-below</c> or <c>--reject-above</c>), or null.</summary>
    public static double? RejectThreshold(JobSpec spec) => spec.RejectBelow ?? spec.RejectAbove;

    /// <summary>Whether <paramref name="score"/> passes <paramref name="threshold"/> (the worst score kept) in the model's direction.</summary>
    public static bool Kept(bool lowerIsBetter, double score, double threshold) => lowerIsBetter ? score <= threshold : score >= threshold;

    /// <summary>
    /// Refuses malformed rules, and a <c>--reject-below</c> outside the model's declared score range, with a message
    /// saying what to fix. Returns a note for the user when the threshold cannot be checked (the range is unknown).
    /// </summary>
    public static string? Validate(JobSpec spec, ModelManifest model)
    {
        if (spec.RejectBelow is { } x && !double.IsFinite(x))
            throw new ArgumentException($"--reject-below {x} is not a number: give a score such as 0.35");
        if (spec.RejectAbove is { } a && !double.IsFinite(a))
            throw new ArgumentException($"--reject-above {a} is not a number: give a score such as 40");
        if (spec.RejectBelow is not null && spec.RejectAbove is not null)
            throw new ArgumentException("--reject-below and --reject-above together: give the one rule of the model's direction (lower-is-better: --reject-above)");
        // A threshold rule on the wrong side would keep the worst images and reject the best: refused, naming the right one.
        if (model.LowerBetter && spec.RejectBelow is { } below)
            throw new ArgumentException($"--reject-below {Show(below)} would reject the best images: model '{model.Name}' is lower-is-better (lower scores are better); use --reject-above {Show(below)} to reject images scoring above it");
        if (!model.LowerBetter && spec.RejectAbove is { } above)
            throw new ArgumentException($"--reject-above {Show(above)} would reject the best images: model '{model.Name}' is higher-is-better; use --reject-below {Show(above)} to reject images scoring below it");
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
        if (RejectThreshold(spec) is not { } threshold) return null;
        var option = spec.RejectAbove is not null ? "--reject-above" : "--reject-below";
        if (model.DeclaredRange() is not { } range)
            return $"{option} {Show(threshold)} was not checked against a score range: model '{model.Name}' declares none (add score_range to its manifest)";
        if (threshold < range.Lower || threshold > range.Upper)
            throw new ArgumentException($"{option} {Show(threshold)} is outside the score range [{Show(range.Lower)}, {Show(range.Upper)}] of model '{model.Name}': give a score inside it");
        return null;
    }

    private static string Show(double v) => v.ToString("G", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The worst score kept (see <see cref="Kept"/>): the lowest for a higher-is-better model, the highest for a
    /// lower-is-better one, where the best P percent are the lowest scores and the worst P percent the highest.
    /// </summary>
    public static double Threshold(JobSpec spec, ScoreAggregate all)
    {
        if (spec.LowerIsBetter)
        {
            double highest = double.PositiveInfinity;
            if (spec.RejectAbove is { } above) highest = above;
            if (spec.KeepTopPercent is { } top && all.Scored > 0) highest = Math.Min(highest, all.Quantile(top / 100));
            if (spec.RejectBottomPercent is { } bottom && all.Scored > 0) highest = Math.Min(highest, all.Quantile(1 - bottom / 100));
            return highest;
        }
        double threshold = double.NegativeInfinity;
        if (spec.RejectBelow is { } x) threshold = x;
        if (spec.KeepTopPercent is { } p && all.Scored > 0)
            threshold = Math.Max(threshold, all.Quantile(1 - p / 100)); // the same quantiles as summary.json's percentiles
        if (spec.RejectBottomPercent is { } b && all.Scored > 0)
            threshold = Math.Max(threshold, all.Quantile(b / 100));
        return threshold;
    }
}
