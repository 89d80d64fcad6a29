using System.CommandLine;
using System.Text.Json;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Storage;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa score</c>: a whole job in this process, through the same grains a cluster runs.</summary>
internal static class ScoreCommand
{
    public static Command Create(Option<bool> verbose)
    {
        var inputs = new Argument<string[]>("inputs") { Description = "Folders (walked recursively), image files, or listing:PATH (a listing file: one image path per line)", Arity = ArgumentArity.OneOrMore };
        var model = new Option<string?>("--model", "-m") { Description = $"Model name (default: Models:Default, normally {Models.Brisque.BrisqueModel.Name}; 'dpiqa models list' shows them)" };
        var output = new Option<string>("--out", "-o") { Description = "Folder for results, summary.json, shard files", DefaultValueFactory = _ => "dpiqa-out" };
        var format = new Option<string>("--format", "-f") { Description = "Per-image results format: csv, parquet or jsonl", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "parquet", "jsonl");
        var shardSize = new Option<int>("--shard-size") { Description = "Images per shard", DefaultValueFactory = _ => 64 };
        var device = new Option<string?>("--device") { Description = "cpu or cuda (config Inference:Device)" };
        var rejectBelow = new Option<double?>("--reject-below") { Description = "Curation, higher-is-better model: list images scoring below X in reject.txt (the rest in keep.txt)" };
        var rejectAbove = new Option<double?>("--reject-above") { Description = "Curation, lower-is-better model (brisque): list images scoring above X in reject.txt (the rest in keep.txt)" };
        var keepTop = new Option<double?>("--keep-top-percent") { Description = "Curation: keep.txt lists the best P percent (the lowest scores of a lower-is-better model)" };
        var rejectBottom = new Option<double?>("--reject-bottom-percent") { Description = "Curation: reject.txt lists the worst P percent" };
        var perFolder = new Option<bool>("--per-folder") { Description = "Curation: apply the percent rule within each top-level folder" };
        var incremental = new Option<bool>("--incremental") { Description = "Reuse the scores of unchanged images (same size and mtime) from OUT/score-cache.jsonl" };
        var modelsPath = CommonOptions.ModelsPath();
        var json = CommonOptions.Json();
        var judge = new JudgeOptions();
        var report = new Option<bool>("--report") { Description = "Also write report.html (plots, worst and best images) into the --out folder" };
        var preprocess = CommonOptions.Preprocess();
        var dedup = new DedupOptions();
        var command = new Command("score", "Score images in this process (an embedded one-silo cluster) and write results and summary.json")
        {
            inputs, model, output, format, shardSize, device, rejectBelow, rejectAbove, keepTop, rejectBottom, perFolder, incremental, modelsPath, json, report, preprocess,
        };
        judge.AddTo(command);
        dedup.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dedupSpec = dedup.Apply(parse, new JobSpec { Sources = [], Model = "", Output = "" });
            var settings = CommonOptions.Settings(parse, modelsPath).ToList();
            if (parse.GetValue(device) is { } d) settings.Add(new("Inference:Device", d));
            return await Run(parse.GetValue(inputs)!, parse.GetValue(model), Path.GetFullPath(parse.GetValue(output)!),
                Enum.Parse<ResultFormat>(parse.GetValue(format)!, ignoreCase: true), parse.GetValue(shardSize), settings,
                parse.GetValue(json), parse.GetValue(verbose), cancellationToken, parse.GetValue(rejectBelow), parse.GetValue(keepTop),
                judge.LabelSource(parse, Path.GetFullPath), judge.CascadeRule(parse), parse.GetValue(report),
                parse.GetValue(rejectBottom), parse.GetValue(perFolder), parse.GetValue(incremental), CommonOptions.Preprocess(parse, preprocess),
                dedupSpec.Dedup, dedupSpec.DedupDistance, parse.GetValue(rejectAbove));
        });
        return command;
    }

    public static async Task<int> Run(string[] inputs, string? model, string output, ResultFormat format, int shardSize,
        IEnumerable<KeyValuePair<string, string?>> settings, bool json, bool verbose, CancellationToken cancellationToken,
        double? rejectBelow = null, double? keepTopPercent = null, LabelSource? labels = null, CascadeRule? cascade = null, bool report = false,
        double? rejectBottomPercent = null, bool perFolder = false, bool incremental = false, PreprocessPath? preprocess = null,
        DedupMode? dedup = null, int? dedupDistance = null, double? rejectAbove = null)
    {
        await using var silo = await LocalSilo.Start(settings, verbose);
        var catalog = silo.Services<ModelCatalog>();
        var spec = new JobSpec
        {
            Sources = inputs.Select(LocalSource).ToList(),
            Model = model ?? catalog.DefaultModel,
            Output = output,
            Format = format,
            ShardSize = shardSize,
            RejectBelow = rejectBelow,
            RejectAbove = rejectAbove,
            KeepTopPercent = keepTopPercent,
            Labels = labels,
            Cascade = cascade,
            RejectBottomPercent = rejectBottomPercent,
            PerFolder = perFolder,
            Incremental = incremental,
            Preprocess = preprocess,
            Dedup = dedup,
            DedupDistance = dedupDistance,
        };
        // Shard files of an earlier run in the same folder must not mix with this run's.
        foreach (var sub in JobLayout.ShardFolders)
            if (Directory.Exists(Path.Combine(output, sub))) Directory.Delete(Path.Combine(output, sub), recursive: true);

        var jobId = $"score-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        var job = silo.Grains.GetGrain<IJobGrain>(jobId);
        var status = await job.Start(spec); // an invalid request throws ArgumentException: exit code 2 at the CLI boundary

        var progress = new ProgressView(json);
        progress.Header(spec, catalog.Resolve(spec.Model).Manifest);
        try
        {
            while (!status.IsFinished)
            {
                await Task.Delay(200, cancellationToken);
                status = await job.GetStatus();
                progress.Update(status);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status = await job.Cancel();
            progress.Done(status);
            // The CLI boundary prints a message that starts with "cancelled" as it is, with exit code 130.
            throw new OperationCanceledException("cancelled; the shard files written so far are kept in " + output, cancellationToken);
        }
        progress.Done(status);

        string? resultsFile = null;
        if (status.State == JobState.Completed)
        {
            resultsFile = JobLayout.MergedResults(output, format);
            await ResultFiles.Merge(silo.Services<DpIqa.Storage.ObjectStore>(), await job.GetResultFiles(), format, resultsFile);
        }
        var summary = await job.WaitForOutputs();
        string? reportFile = null;
        if (report && resultsFile is not null)
            reportFile = await Reports.JobReport.Write(silo.Services<DpIqa.Storage.ObjectStore>(), spec, status, summary, await job.GetResultFiles(), output, compare: null, cancellationToken);
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new { status, summary, results = resultsFile, summary_file = JobLayout.SummaryFile(output), report = reportFile }, JobSummaryFile.Json));
        else
        {
            SummaryTable.Print(status, summary, resultsFile, JobLayout.SummaryFile(output));
            if (reportFile is not null) Console.WriteLine($"report: {reportFile}");
        }
        return ExitCodes.Of(status.State);
    }

    /// <summary>
    /// An input of <c>dpiqa score</c> as a full path: a folder or image, or <c>listing:PATH</c>, a local listing file
    /// (one absolute path per line). Everything here is on this machine, so any path after <c>listing:</c> is local.
    /// </summary>
    internal static string LocalSource(string input) =>
        input.StartsWith(Locations.ListingScheme, StringComparison.Ordinal)
            ? Locations.ListingScheme + Locations.LocalListingPath(input[Locations.ListingScheme.Length..])
            : Path.GetFullPath(input);
}
