using System.Globalization;
using System.Net;
using System.Text;
using DpIqa.Evaluation;
using DpIqa.Imaging;
using DpIqa.Results;
using DpIqa.Storage;

namespace DpIqa.Client.Reports;

/// <summary>A job as the report reads it: its spec, summary and counted result files.</summary>
internal sealed record ReportJob(string JobId, JobSpec Spec, JobStatus Status, JobSummary Summary, IReadOnlyList<string> ResultFiles);

/// <summary>
/// <c>report.html</c>: one self-contained file (plots and thumbnails inline as data: URIs, no script, no outside
/// resource), so it can be mailed, attached to a ticket or opened offline.
/// </summary>
internal static class JobReport
{
    /// <summary>Folders drawn one box each; the rest are grouped into one box.</summary>
    public const int TopFolders = 30;

    /// <summary>Worst and best images shown as thumbnails.</summary>
    public const int Extremes = 12;

    /// <summary>Duplicate groups shown (the largest), and images shown per group.</summary>
    public const int DuplicateGroupsShown = 5, DuplicatesPerGroupShown = 8;

    private sealed record Row(ImageResult Result, int Shard);

    public static Task<string> Write(ObjectStore store, JobSpec spec, JobStatus status, JobSummary summary, IReadOnlyList<string> resultFiles,
        string outDir, ReportJob? compare, CancellationToken cancellationToken) =>
        Write(store, new ReportJob(status.JobId, spec, status, summary, resultFiles), outDir, compare, cancellationToken);

    public static async Task<string> Write(ObjectStore store, ReportJob job, string outDir, ReportJob? compare, CancellationToken cancellationToken)
    {
        var rows = await Load(store, job, cancellationToken);
        var scored = rows.Where(r => r.Result.Score is not null).ToList();
        var html = new StringBuilder();
        var s = job.Summary;
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dpiqa report: ").Append(E(job.JobId)).Append("</title>\n")
            .Append("<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}")
            .Append("td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,th:first-child{text-align:left}")
            .Append(".grid{display:flex;flex-wrap:wrap;gap:10px}.grid figure{margin:0;width:260px;font-size:12px;word-break:break-all}")
            .Append(".grid img{max-width:256px;max-height:256px;display:block}.note{color:#a60}</style></head><body>\n");
        html.Append("<h1>Job ").Append(E(job.JobId)).Append("</h1>\n<p>model <b>").Append(E(s.Model)).Append(" v").Append(E(s.ModelVersion ?? "?"))
            .Append("</b>").Append(E(SummaryTable.Describe(s))).Append(", state <b>").Append(E(job.Status.State.ToString().ToLowerInvariant())).Append("</b>: ")
            .Append(s.All.Count).Append(" images, ").Append(s.All.Scored).Append(" scored, ").Append(s.All.Failed).Append(" failed; report made ")
            .Append(DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture)).Append(" from the job's counted result files.</p>\n");
        if (s.Message is not null) html.Append("<p class=\"note\">").Append(E(s.Message)).Append("</p>\n");

        html.Append("<h2>Summary</h2>\n");
        SummaryRows(html, s);
        if (s.Curation is { } c)
            html.Append("<p>curation: keep ").Append(c.Keep).Append(", reject ").Append(c.Reject).Append(s.Direction == Models.ModelManifest.LowerIsBetter ? " (highest score kept " : " (lowest score kept ").Append(N(c.Threshold)).Append(")</p>\n");
        if (s.Cascade is { } cascade)
            html.Append("<p>cascade: teacher ").Append(E(cascade.Teacher)).Append(" rescored ").Append(cascade.Rescored).Append(" images; ")
                .Append(cascade.ChangedSide).Append(" changed side (").Append(cascade.ChangedToKeep).Append(" to keep, ").Append(cascade.ChangedToReject).Append(" to reject)</p>\n");

        html.Append("<h2>Score histogram</h2>\n");
        if (scored.Count == 0) html.Append("<p>No image was scored.</p>\n");
        else Image(html, Plots.Histogram([(job.JobId, Scores(scored))]), "score histogram");

        if (compare is not null) await Compare(html, store, job, scored, compare, cancellationToken);

        html.Append("<h2>Scores per folder</h2>\n");
        var folders = Folders(scored);
        if (folders.Count == 0) html.Append("<p>No image was scored.</p>\n");
        else Image(html, Plots.FolderBoxes(folders), "box plots per folder");

        html.Append("<h2>Errors</h2>\n");
        var kinds = s.All.FailedByKind.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal).Select(k => (k.Key, k.Value)).ToList();
        if (kinds.Count == 0) html.Append("<p>No error records.</p>\n");
        else Image(html, Plots.ErrorKinds(kinds), "error records by kind");

        if (job.Spec.Labels is not null) await Labels(html, store, job, rows.Select(r => r.Result).ToList(), cancellationToken);

        if (s.Duplicates is { } dup) await Duplicates(html, store, job, rows, dup, cancellationToken);

        // Worst first in the model's direction: the lowest scores, or the highest of a lower-is-better model (BRISQUE).
        var byScore = (LowerIsBetter(job) ? scored.OrderByDescending(r => r.Result.Score!.Value) : scored.OrderBy(r => r.Result.Score!.Value))
            .ThenBy(r => r.Result.Path, StringComparer.Ordinal).ToList();
        var worst = byScore.Take(Extremes).ToList();
        var best = byScore.AsEnumerable().Reverse().Take(Extremes).ToList();
        var locations = await Locations(store, job, worst.Concat(best), cancellationToken);
        html.Append("<h2>The ").Append(Extremes).Append(" worst images</h2>\n");
        await Thumbnails(html, store, worst, locations, cancellationToken);
        html.Append("<h2>The ").Append(Extremes).Append(" best images</h2>\n");
        await Thumbnails(html, store, best, locations, cancellationToken);
        html.Append("</body></html>\n");

        Directory.CreateDirectory(outDir);
        var file = Path.Combine(outDir, "report.html");
        var temporary = file + ".tmp";
        await File.WriteAllTextAsync(temporary, html.ToString(), cancellationToken);
        File.Move(temporary, file, overwrite: true);
        return file;
    }

    /// <summary>The job's direction as its summary records it (the grain sets it from the model; a spec built by the CLI may not carry it).</summary>
    private static bool LowerIsBetter(ReportJob job) => job.Summary.Direction == Models.ModelManifest.LowerIsBetter || job.Spec.LowerIsBetter;

    private static async Task<List<Row>> Load(ObjectStore store, ReportJob job, CancellationToken cancellationToken)
    {
        var rows = new List<Row>();
        foreach (var file in job.ResultFiles)
        {
            JobLayout.TryParseResultName(file[(file.LastIndexOf('/') + 1)..], out int shard, out _);
            foreach (var r in await ResultFiles.Decode(await JobLayout.ReadShardFile(store, file, cancellationToken), job.Spec.Format)) rows.Add(new Row(r, shard));
        }
        return rows;
    }

    private static List<double> Scores(IEnumerable<Row> rows) => rows.Select(r => (double)r.Result.Score!.Value).ToList();

    /// <summary>The top folders by scored images, then one group for the rest.</summary>
    private static List<(string Folder, IReadOnlyList<double> Scores)> Folders(List<Row> scored)
    {
        var groups = scored.GroupBy(r => SourceListing.TopFolder(r.Result.Path))
            .Select(g => (Folder: g.Key, Scores: (IReadOnlyList<double>)Scores(g)))
            .OrderByDescending(g => g.Scores.Count).ThenBy(g => g.Folder, StringComparer.Ordinal).ToList();
        var top = groups.Take(TopFolders).ToList();
        if (groups.Count > TopFolders)
            top.Add(($"{groups.Count - TopFolders} other folders", groups.Skip(TopFolders).SelectMany(g => g.Scores).ToList()));
        return top;
    }

    private static void SummaryRows(StringBuilder html, JobSummary s)
    {
        string[] percentiles = ["p1", "p5", "p25", "p50", "p75", "p95", "p99"];
        html.Append("<table><tr><th>folder</th><th>images</th><th>scored</th><th>failed</th><th>mean</th><th>std</th><th>min</th>");
        foreach (var p in percentiles) html.Append("<th>").Append(p).Append("</th>");
        html.Append("<th>max</th></tr>\n");
        void Line(string name, ScoreSummary x)
        {
            html.Append("<tr><td>").Append(E(name)).Append("</td><td>").Append(x.Count).Append("</td><td>").Append(x.Scored).Append("</td><td>").Append(x.Failed)
                .Append("</td><td>").Append(N(x.Mean)).Append("</td><td>").Append(N(x.Std)).Append("</td><td>").Append(N(x.Min)).Append("</td>");
            foreach (var p in percentiles) html.Append("<td>").Append(x.Percentiles.TryGetValue(p, out var v) ? N(v) : "-").Append("</td>");
            html.Append("<td>").Append(N(x.Max)).Append("</td></tr>\n");
        }
        Line("(all)", s.All);
        foreach (var (folder, x) in s.ByFolder.OrderByDescending(f => f.Value.Count).ThenBy(f => f.Key, StringComparer.Ordinal).Take(TopFolders)) Line(folder, x);
        html.Append("</table>\n");
        if (s.ByFolder.Count > TopFolders) html.Append("<p>").Append(s.ByFolder.Count - TopFolders).Append(" smaller folders are in summary.json.</p>\n");
        if (!s.All.PercentilesExact && s.All.Scored > 0) html.Append("<p>Percentiles are from the 0.5% relative-error sketch (the job has more scores than are kept exactly).</p>\n");
    }

    private static async Task Compare(StringBuilder html, ObjectStore store, ReportJob job, List<Row> scored, ReportJob other, CancellationToken cancellationToken)
    {
        var otherScored = (await Load(store, other, cancellationToken)).Where(r => r.Result.Score is not null).ToList();
        html.Append("<h2>Compared with job ").Append(E(other.JobId)).Append("</h2>\n<p>model ").Append(E(other.Summary.Model)).Append(" v").Append(E(other.Summary.ModelVersion ?? "?"))
            .Append(", ").Append(other.Summary.All.Scored).Append(" scored images.</p>\n");
        if (scored.Count > 0 && otherScored.Count > 0)
            Image(html, Plots.Histogram([(job.JobId, Scores(scored)), (other.JobId, Scores(otherScored))]), "two score histograms overlaid");
        html.Append("<table><tr><th>percentile</th><th>").Append(E(job.JobId)).Append("</th><th>").Append(E(other.JobId)).Append("</th><th>shift</th></tr>\n");
        foreach (var p in new[] { "p1", "p5", "p25", "p50", "p75", "p95", "p99" })
        {
            bool a = job.Summary.All.Percentiles.TryGetValue(p, out var x), b = other.Summary.All.Percentiles.TryGetValue(p, out var y);
            html.Append("<tr><td>").Append(p).Append("</td><td>").Append(a ? N(x) : "-").Append("</td><td>").Append(b ? N(y) : "-")
                .Append("</td><td>").Append(a && b ? (x - y >= 0 ? "+" : "") + N(x - y) : "-").Append("</td></tr>\n");
        }
        html.Append("</table>\n<p>shift = this job's percentile minus the other's, in score units.</p>\n");
    }

    private static async Task Labels(StringBuilder html, ObjectStore store, ReportJob job, List<ImageResult> results, CancellationToken cancellationToken)
    {
        html.Append("<h2>Scores against human labels</h2>\n");
        try
        {
            var labels = await JobEvaluation.ReadLabels(store, job.Spec.Labels!, cancellationToken);
            var pairs = Evaluator.Match(results, labels);
            var e = job.Summary.Evaluation ?? Evaluator.Evaluate(pairs, labels.File, LowerIsBetter(job));
            html.Append("<table><tr><th>n</th><th>SRCC</th><th>KRCC</th><th>PLCC</th><th>PLCC (logistic)</th><th>RMSE (logistic)</th></tr><tr><td>")
                .Append(e.Images).Append("</td><td>").Append(N(e.Srcc)).Append("</td><td>").Append(N(e.Krcc)).Append("</td><td>").Append(N(e.Plcc))
                .Append("</td><td>").Append(N(e.PlccLogistic)).Append("</td><td>").Append(N(e.RmseLogistic)).Append("</td></tr></table>\n<p>")
                .Append(e.ResultsUnmatched).Append(" results and ").Append(e.LabelsUnmatched).Append(" labels unmatched; ").Append(e.LabelledFailed).Append(" labelled images failed.</p>\n");
            if (e.Note is not null) html.Append("<p class=\"note\">").Append(E(e.Note)).Append("</p>\n");
            Image(html, Plots.ScoreVsMos(pairs.Scores, pairs.Mos, e.Logistic, $"Score vs MOS ({E(Path.GetFileName(labels.File))}, n = {pairs.Scores.Count})"), "scatter of score against MOS");
        }
        catch (ArgumentException e)
        {
            html.Append("<p class=\"note\">").Append(E(e.Message)).Append("</p>\n");
        }
    }

    /// <summary>Where each shown image is, from the item lists of the shards they were scored in.</summary>
    private static async Task<Dictionary<string, string>> Locations(ObjectStore store, ReportJob job, IEnumerable<Row> shown, CancellationToken cancellationToken)
    {
        var wanted = shown.GroupBy(r => r.Shard).ToList();
        var locations = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var shard in wanted)
        {
            var paths = shard.Select(r => r.Result.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var item in ItemList.Decode(await JobLayout.ReadShardFile(store, JobLayout.ItemListPath(job.Spec.Output, shard.Key), cancellationToken)))
                if (paths.Contains(item.Path)) locations[item.Path] = item.Location;
        }
        return locations;
    }

    /// <summary>The largest duplicate groups (duplicates.csv lists them largest first), one row of thumbnails each, the kept copy marked.</summary>
    private static async Task Duplicates(StringBuilder html, ObjectStore store, ReportJob job, List<Row> rows, DuplicatesResult dup, CancellationToken cancellationToken)
    {
        html.Append("<h2>Duplicates</h2>\n<p>").Append(dup.Mode.ToString().ToLowerInvariant()).Append(dup.Distance is { } d ? $" (pHash distance at most {d})" : " (same bytes)")
            .Append(": ").Append(dup.Groups).Append(" groups, ").Append(dup.ImagesInGroups).Append(" images in them, ").Append(dup.Rejected).Append(" rejected")
            .Append(dup.Replaced > 0 ? $", {dup.Replaced} kept before and replaced by a better copy" : "").Append(".</p>\n");
        var content = await store.TryRead(JobLayout.DuplicatesList(job.Spec.Output), cancellationToken);
        if (content is null || dup.Groups == 0) return;
        var byPath = rows.GroupBy(r => r.Result.Path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var groups = ResultFiles.ParseCsv(Encoding.UTF8.GetString(content)).Skip(1).Where(f => f.Count >= 5)
            .GroupBy(f => f[0]).Take(DuplicateGroupsShown).ToList();
        var shown = groups.SelectMany(g => g.Take(DuplicatesPerGroupShown)).Where(f => byPath.ContainsKey(f[1])).Select(f => byPath[f[1]]).ToList();
        var locations = await Locations(store, job, shown, cancellationToken);
        foreach (var g in groups)
        {
            var kept = g.Where(f => f[3] == "true").Select(f => f[1]).ToHashSet(StringComparer.Ordinal);
            html.Append("<h3>Group ").Append(E(g.Key)).Append(": ").Append(g.Count()).Append(" images</h3>\n");
            var members = g.Take(DuplicatesPerGroupShown).Where(f => byPath.ContainsKey(f[1])).Select(f => byPath[f[1]]).ToList();
            await Thumbnails(html, store, members, locations, cancellationToken, r => kept.Contains(r.Result.Path) ? "KEPT" : "rejected");
        }
    }

    private static async Task Thumbnails(StringBuilder html, ObjectStore store, List<Row> rows, Dictionary<string, string> locations, CancellationToken cancellationToken,
        Func<Row, string>? mark = null)
    {
        if (rows.Count == 0) { html.Append("<p>No image was scored.</p>\n"); return; }
        html.Append("<div class=\"grid\">\n");
        foreach (var row in rows)
        {
            html.Append("<figure>");
            string? problem = null;
            if (!locations.TryGetValue(row.Result.Path, out var location)) problem = "not in the shard's item list";
            else
            {
                try
                {
                    var jpeg = Imaging.Thumbnails.Make(await store.Read(location, cancellationToken), new ImageLimits());
                    html.Append("<img alt=\"").Append(E(row.Result.Path)).Append("\" src=\"data:image/jpeg;base64,").Append(Convert.ToBase64String(jpeg)).Append("\">");
                }
                catch (Exception e) when (e is ImageError or IOException or UnauthorizedAccessException or Azure.RequestFailedException)
                {
                    problem = ExitCodes.OneLine(e.Message); // the source changed or vanished since it was scored
                }
            }
            if (problem is not null) html.Append("<p class=\"note\">no thumbnail: ").Append(E(problem)).Append("</p>");
            html.Append("<figcaption><b>").Append(N(row.Result.Score)).Append("</b>");
            if (row.Result.TeacherScore is { } t) html.Append(" (teacher ").Append(N(t)).Append(')');
            if (mark is not null) html.Append(' ').Append(mark(row) == "KEPT" ? "<b style=\"color:#070\">KEPT</b>" : E(mark(row)));
            html.Append("<br>").Append(E(row.Result.Path)).Append("</figcaption></figure>\n");
        }
        html.Append("</div>\n");
    }

    private static void Image(StringBuilder html, byte[] png, string alt) =>
        html.Append("<p><img alt=\"").Append(E(alt)).Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(png)).Append("\"></p>\n");

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string N(double? v) => v is { } x ? Plots.Number(x) : "-";
}
