using System.CommandLine;
using System.Text.Json;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa job ...</c>: jobs on a running cluster.</summary>
internal static class JobCommand
{
    public static Command Create()
    {
        var job = new Command("job", "Submit and follow jobs on a running cluster (connection: Storage:ConnectionString or Cluster:Gateways)");
        job.Subcommands.Add(Submit());
        job.Subcommands.Add(Simple("status", "State, counts, images/s, ETA and silos of a job", async (grain, json) =>
        {
            var status = await grain.GetStatus();
            Print(status, json, () => PrintStatus(status));
            return ExitCodes.Ok;
        }));
        job.Subcommands.Add(Simple("watch", "A live progress bar until the job ends, then its summary", async (grain, json) =>
        {
            var progress = new ProgressView(json);
            var status = await grain.GetStatus();
            while (!status.IsFinished)
            {
                progress.Update(status);
                await Task.Delay(500);
                status = await grain.GetStatus();
            }
            progress.Done(status);
            var summary = await grain.WaitForOutputs();
            Print(new { status, summary }, json, () => SummaryTable.Print(status, summary, null, "(in the job's output)"));
            return ExitCodes.Of(status.State);
        }));
        job.Subcommands.Add(Simple("cancel", "Stop a job: no more shards are handed out", async (grain, json) =>
        {
            var status = await grain.Cancel();
            Print(status, json, () => Console.WriteLine($"job {status.JobId}: {status.State.ToString().ToLowerInvariant()}"));
            return ExitCodes.Ok;
        }));
        job.Subcommands.Add(Simple("summary", "The job's statistics (final once it completed)", async (grain, json) =>
        {
            var status = await grain.GetStatus();
            var summary = await grain.GetSummary();
            Print(summary, json, () => SummaryTable.Print(status, summary, null, "(in the job's output)"));
            return ExitCodes.Ok;
        }));
        job.Subcommands.Add(List());
        job.Subcommands.Add(Results());
        job.Subcommands.Add(ReportCommand.Create());
        return job;
    }

    private static readonly JsonSerializerOptions Json = JobSummaryFile.Json;

    private static void Print(object value, bool json, Action table)
    {
        if (json) Console.WriteLine(JsonSerializer.Serialize(value, Json));
        else table();
    }

    private static void PrintStatus(JobStatus s)
    {
        Console.WriteLine($"job {s.JobId}: {s.State.ToString().ToLowerInvariant()}  model {s.Model}{(s.SubmittedBy is { } who ? $"  submitted by {who}" : "")}");
        Console.WriteLine($"  images {s.Done}/{s.Total}{(s.ListingDone ? "" : "+ (listing)")}: {s.Scored - s.Reused} scored, {s.Reused} reused, {s.Failed} failed{(s.Drifted ? "; DRIFTED" : "")}");
        Console.WriteLine($"  shards {s.ShardsDone}/{s.Shards} done, {s.ShardsLeased} leased; {s.ImagesPerSecond:F1} images/s; ETA {(s.Eta is { } e ? e.ToString(@"hh\:mm\:ss") : "--")}");
        Console.WriteLine($"  worker loops holding leases: {s.Workers}; coordinator {s.Coordinator}"); // loops, not silos: a silo runs Scoring:ConcurrentShards of them
        foreach (var (silo, shards) in s.ShardsBySilo.OrderBy(k => k.Key)) Console.WriteLine($"    {silo}: {shards} shards");
        if (s.Message is not null) Console.WriteLine($"  note: {s.Message}");
    }

    private static Command Simple(string name, string description, Func<IJobGrain, bool, Task<int>> action)
    {
        var id = new Argument<string>("id") { Description = "Job id" };
        var json = CommonOptions.Json();
        var command = new Command(name, description) { id, json };
        command.SetAction(async (parse, _) => await Connected(async client =>
            await action(await ExistingJob(client, parse.GetValue(id)!), parse.GetValue(json))));
        return command;
    }

    /// <summary>The job's grain; an id the cluster has never started is an invalid request, not a pending job.</summary>
    private static async Task<IJobGrain> ExistingJob(IClusterClient client, string id)
    {
        var grain = client.GetGrain<IJobGrain>(id);
        if (await grain.GetSpec() is null) throw new ArgumentException($"there is no job '{id}' in this cluster: check the id with 'dpiqa job list'");
        return grain;
    }

    private static async Task<int> Connected(Func<IClusterClient, Task<int>> action)
    {
        await using var connection = await ClusterConnection.Open([]);
        return await action(connection.Client);
    }

    /// <summary>Sources and outputs on the command line: see <see cref="JobRequestValidation.Location"/> (the HTTP API uses the same).</summary>
    internal static string Location(string option, string value) => JobRequestValidation.Location(option, value);

    private static Command Submit()
    {
        var source = new Option<string[]>("--source") { Description = "container[/prefix], listing:container/file.txt or listing:/PATH, listing:./PATH (a listing file: one image per line), or a folder on the silos (/PATH, ./PATH, ../PATH or file:PATH); repeatable", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "container/prefix for results, summary.json, keep/reject lists, or a folder on the silos (/PATH, ./PATH, ../PATH or file:PATH)", Required = true };
        var job = new JobSpecOptions(JobSpecOptions.For.Submit);
        var id = new Option<string?>("--job-id") { Description = "Job id (default: generated)" };
        var json = CommonOptions.Json();
        var command = new Command("submit", "Start a job in the cluster and print its id at once") { source, output, id, json };
        job.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var jobId = parse.GetValue(id) ?? $"job-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
            // Built (and its names checked) before connecting: a bad request fails without a cluster.
            var spec = job.Bind(parse, new JobSpec
            {
                Sources = parse.GetValue(source)!.Select(s => Location("--source", s)).ToList(),
                Model = "",
                Output = Location("--out", parse.GetValue(output)!),
            }, f => Location("--labels", f));
            return await Connected(async client =>
            {
                var status = await client.GetGrain<IJobGrain>(jobId).Start(spec);
                Print(status, parse.GetValue(json), () => Console.WriteLine(jobId));
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    private static Command List()
    {
        var json = CommonOptions.Json();
        var command = new Command("list", "Jobs, active first") { json };
        command.SetAction(async (parse, _) => await Connected(async client =>
        {
            var ids = await client.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).AllJobs();
            var statuses = await Task.WhenAll(ids.Select(i => client.GetGrain<IJobGrain>(i).GetStatus()));
            Print(statuses, parse.GetValue(json), () =>
            {
                foreach (var s in statuses)
                    Console.WriteLine($"{s.JobId,-36} {s.State.ToString().ToLowerInvariant(),-10} {s.Done,9}/{s.Total,-9} {s.SubmittedAt:u}{(s.SubmittedBy is { } who ? $"  {who}" : "")}");
            });
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Results()
    {
        var id = new Argument<string>("id") { Description = "Job id" };
        var output = new Option<string>("--out", "-o") { Description = "Local file for all per-image results", Required = true };
        var json = CommonOptions.Json();
        var command = new Command("results", "Merge the job's per-shard result files into one local file") { id, output, json };
        command.SetAction(async (parse, _) => await Connected(async client =>
        {
            var grain = await ExistingJob(client, parse.GetValue(id)!);
            var status = await grain.GetStatus();
            var spec = (await grain.GetSpec())!;
            if (status.State != JobState.Completed) throw new ArgumentException($"job {status.JobId} is {status.State.ToString().ToLowerInvariant()}; results are merged once it completed");
            var store = ClientSetup.ObjectStore();
            var file = Path.GetFullPath(parse.GetValue(output)!);
            var format = Path.GetExtension(file).ToLowerInvariant() switch { ".csv" => ResultFormat.Csv, ".jsonl" => ResultFormat.Jsonl, _ => ResultFormat.Parquet };
            var all = await JobLayout.ReadResults(store, await grain.GetResultFiles(), spec.Format); // the counted run of each shard only
            await File.WriteAllBytesAsync(file, await ResultFiles.Encode(all, format));
            Print(new { job = status.JobId, rows = all.Count, file }, parse.GetValue(json), () => Console.WriteLine($"{all.Count} results -> {file}"));
            return ExitCodes.Ok;
        }));
        return command;
    }
}
