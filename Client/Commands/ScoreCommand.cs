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
        var device = new Option<string?>("--device") { Description = "cpu or cuda (config Inference:Device)" };
        var modelsPath = CommonOptions.ModelsPath();
        var json = CommonOptions.Json();
        var report = new Option<bool>("--report") { Description = "Also write report.html (plots, worst and best images) into the --out folder" };
        var output = new Option<string>("--out", "-o") { Description = "Folder for results, summary.json, shard files", DefaultValueFactory = _ => "dpiqa-out" };
        var job = new JobSpecOptions(JobSpecOptions.For.Score);
        var command = new Command("score", "Score images in this process (an embedded one-silo cluster) and write results and summary.json")
        {
            inputs, output, device, modelsPath, json, report,
        };
        job.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var spec = job.Bind(parse, LocalJob(parse.GetValue(inputs)!, parse.GetValue(output)!), Path.GetFullPath);
            var settings = CommonOptions.Settings(parse, modelsPath).ToList();
            if (parse.GetValue(device) is { } d) settings.Add(new("Inference:Device", d));
            return await Run(spec, settings, parse.GetValue(json), parse.GetValue(verbose), cancellationToken, parse.GetValue(report));
        });
        return command;
    }

    /// <summary>
    /// A job over local <paramref name="inputs"/> (folders, image files, <c>listing:PATH</c>) writing into the folder
    /// <paramref name="output"/>, both made full paths; the model is the catalog's default unless one is set after.
    /// </summary>
    public static JobSpec LocalJob(IEnumerable<string> inputs, string output, string? model = null, ResultFormat format = ResultFormat.Csv, int shardSize = JobSpec.DefaultShardSize) => new()
    {
        Sources = inputs.Select(LocalSource).ToList(),
        Model = model ?? "",
        Output = Path.GetFullPath(output),
        Format = format,
        ShardSize = shardSize,
    };

    /// <summary>Runs <paramref name="spec"/> (see <see cref="LocalJob"/>) in an embedded one-silo cluster, printing progress and the summary; the exit code.</summary>
    public static async Task<int> Run(JobSpec spec, IEnumerable<KeyValuePair<string, string?>> settings, bool json, bool verbose,
        CancellationToken cancellationToken, bool report = false)
    {
        await using var silo = await LocalSilo.Start(settings, verbose);
        var catalog = silo.Services<ModelCatalog>();
        if (string.IsNullOrEmpty(spec.Model)) spec = spec with { Model = catalog.DefaultModel };
        var output = spec.Output;
        var format = spec.Format;
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
