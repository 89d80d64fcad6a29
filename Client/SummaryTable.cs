using System.Globalization;

namespace DpIqa.Client;

/// <summary>The summary a person reads at the end of a run.</summary>
internal static class SummaryTable
{
    public static void Print(JobStatus status, JobSummary summary, string? resultsFile, string summaryFile)
    {
        var all = summary.All;
        Console.WriteLine();
        Console.WriteLine($"job {status.JobId}: {status.State.ToString().ToLowerInvariant()}  (model {summary.Model} v{summary.ModelVersion}{Describe(summary)})");
        if (summary.Preprocess != PreprocessPath.Exact) Console.WriteLine($"preprocess: {summary.Preprocess.ToString().ToLowerInvariant()} (results' preprocess column: the path of each image)");
        if (summary.Message is not null) Console.WriteLine($"note: {summary.Message}");
        Console.WriteLine($"images {all.Count}, scored {all.Scored - summary.Reused}, reused {summary.Reused}, failed {all.Failed}" +
            (all.Failed > 0 ? " (" + string.Join(", ", all.FailedByKind.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}")) + ")" : "") +
            $", {status.ImagesPerSecond:F1} img/s");
        Console.WriteLine();
        var rows = new List<string[]> { Header() };
        rows.Add(Row("(all)", all));
        if (summary.ByFolder.Count > 1 || (summary.ByFolder.Count == 1 && !summary.ByFolder.ContainsKey(".")))
            foreach (var (folder, s) in summary.ByFolder) rows.Add(Row(folder, s));
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
            Console.WriteLine(string.Join("  ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))));
        Console.WriteLine();
        if (summary.Curation is { } c) Console.WriteLine($"curation: keep {c.Keep}, reject {c.Reject} ({(summary.Direction == Models.ModelManifest.LowerIsBetter ? "highest" : "lowest")} score kept {F(c.Threshold)}): keep.txt, reject.txt");
        if (summary.Duplicates is { } dup)
        {
            Console.WriteLine($"duplicates ({dup.Mode.ToString().ToLowerInvariant()}{(dup.Distance is { } dd ? $", distance {dd}" : "")}): {dup.Groups} groups, {dup.ImagesInGroups} images in them, " +
                $"{dup.Rejected} rejected{(dup.Unhashed > 0 ? $", {dup.Unhashed} without a hash not grouped" : "")}: duplicates.csv");
            foreach (var r in dup.ReplacedImages) Console.WriteLine($"  replaced: {r.Path} by a better copy {r.By}");
            if (dup.Replaced > dup.ReplacedImages.Count) Console.WriteLine($"  ... {dup.Replaced - dup.ReplacedImages.Count} more replaced");
        }
        if (summary.Cascade is { } cascade) Console.WriteLine($"cascade: teacher {cascade.Teacher} rescored {cascade.Rescored}, changed side {cascade.ChangedSide} ({cascade.ChangedToKeep} to keep, {cascade.ChangedToReject} to reject)");
        if (summary.Evaluation is { } evaluation) EvaluationTable.Print(evaluation);
        if (summary.Actions is { } a)
            Console.WriteLine($"actions: tagged {a.Tagged}{(a.TagsAs is null ? "" : $" (as {a.TagsAs})")}, quarantined {a.Quarantined}, failed {a.Failed}" +
                (a.Failures.Count > 0 ? ": " + string.Join("; ", a.Failures) : ""));
        if (summary.Drift is { } d)
            Console.WriteLine($"drift vs {d.PreviousJobId ?? "(no previous run)"}: new {d.NewImages} vs existing {d.ExistingImages}, KS D {F(d.KsStatistic)}, mean change {F(d.MeanChange)}{(d.Drifted ? $"; DRIFTED: {d.Reason}" : "")}");
        if (resultsFile is not null) Console.WriteLine($"results: {resultsFile}");
        Console.WriteLine($"summary: {summaryFile}");
    }

    /// <summary>", licence L, lower is better": what a reader must know to read the scores; empty for an older summary.</summary>
    internal static string Describe(JobSummary summary) =>
        (summary.ModelLicence is { } licence ? $", licence {licence}" + (licence.Contains("-NC", StringComparison.OrdinalIgnoreCase) ? " (non-commercial)" : "") : "") +
        (summary.Direction is { } direction ? $", {direction.Replace('-', ' ')}" : "");

    private static string[] Header() => ["folder", "count", "scored", "failed", "mean", "std", "min", "p5", "p50", "p95", "max"];

    private static string[] Row(string name, ScoreSummary s) =>
    [
        name, s.Count.ToString(CultureInfo.InvariantCulture), s.Scored.ToString(CultureInfo.InvariantCulture), s.Failed.ToString(CultureInfo.InvariantCulture),
        F(s.Mean), F(s.Std), F(s.Min), F(s.Percentiles.GetValueOrDefault("p5", double.NaN)),
        F(s.Percentiles.GetValueOrDefault("p50", double.NaN)), F(s.Percentiles.GetValueOrDefault("p95", double.NaN)), F(s.Max),
    ];

    // Four decimals suit scores on [0, 1] and on a MOS scale; five significant digits keep tiny and huge scales readable.
    private static string F(double? v) => v is null || double.IsNaN(v.Value) ? "-"
        : v.Value.ToString(v.Value == 0 || Math.Abs(v.Value) is >= 1e-3 and < 1e7 ? "F4" : "G5", CultureInfo.InvariantCulture);
}
