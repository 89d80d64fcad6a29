using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Schedules;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa schedule ...</c>: nightly curation on a running cluster (a schedule grain per name).</summary>
internal static class ScheduleCommand
{
    public static Command Create()
    {
        var schedule = new Command("schedule", "Run a job on a cron schedule (incremental: unchanged images reuse their scores); connection as for 'dpiqa job'");
        schedule.Subcommands.Add(CreateCommand());
        schedule.Subcommands.Add(List());
        schedule.Subcommands.Add(Named("show", "Definition, next run, and the last runs with their counts, scores and drift", async (grain, name) =>
            await grain.GetStatus() ?? throw Unknown(name), PrintStatus));
        schedule.Subcommands.Add(Named("run-now", "Start a run now (refused while a run is in progress: runs never overlap)", async (grain, name) =>
        {
            await Existing(grain, name);
            return await grain.RunNow();
        }, run => Console.WriteLine(run.JobId)));
        schedule.Subcommands.Add(Named("pause", "Start no runs until resumed (a run in progress goes on)", async (grain, name) =>
        {
            await Existing(grain, name);
            return await grain.Pause();
        }, s => Console.WriteLine($"schedule {s.Spec.Name}: paused")));
        schedule.Subcommands.Add(Named("resume", "Start runs again from the next occurrence (those missed while paused are skipped)", async (grain, name) =>
        {
            await Existing(grain, name);
            return await grain.Resume();
        }, s => Console.WriteLine($"schedule {s.Spec.Name}: next run {Time(s.NextRun)}")));
        schedule.Subcommands.Add(Named("delete", "Remove the schedule (its runs' jobs and outputs stay)", async (grain, name) =>
        {
            await Existing(grain, name);
            await grain.Delete();
            return new { deleted = name };
        }, d => Console.WriteLine($"schedule {d.deleted}: deleted")));
        return schedule;
    }

    private static readonly JsonSerializerOptions Json = JobSummaryFile.Json;

    private static ArgumentException Unknown(string name) => new($"there is no schedule '{name}' in this cluster: see 'dpiqa schedule list'");

    private static async Task Existing(IScheduleGrain grain, string name)
    {
        if (await grain.GetStatus() is null) throw Unknown(name);
    }

    private static Command Named<T>(string verb, string description, Func<IScheduleGrain, string, Task<T>> action, Action<T> print)
    {
        var name = new Argument<string>("name") { Description = "Schedule name" };
        var json = CommonOptions.Json();
        var command = new Command(verb, description) { name, json };
        command.SetAction(async (parse, _) =>
        {
            var n = parse.GetValue(name)!;
            ScheduleGrain.CheckName(n); // before connecting
            await using var connection = await ClusterConnection.Open([]);
            var result = await action(connection.Client.GetGrain<IScheduleGrain>(n), n);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(result, Json));
            else print(result);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateCommand()
    {
        var name = new Argument<string>("name") { Description = "Schedule name: lower-case letters, digits, hyphens (runs' job ids start with it)" };
        var source = new Option<string[]>("--source") { Description = "container[/prefix], listing:container/file.txt, or file:PATH on the silos; repeatable", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "container/prefix: each run writes under OUT/JOBID", Required = true };
        var cron = new Option<string>("--cron") { Description = "Cron expression, 5 fields (minute hour day month weekday), e.g. \"0 2 * * *\"", Required = true };
        var zone = new Option<string>("--time-zone") { Description = "Time zone the cron expression is read in (IANA id)", DefaultValueFactory = _ => "UTC" };
        var rules = new JobSpecOptions(JobSpecOptions.For.Schedule);
        var drift = new Option<double>("--drift-threshold") { Description = "Mark a run drifted when the KS statistic of new vs existing images' scores, or the change in share rejected, reaches this (0-1)", DefaultValueFactory = _ => 0.3 };
        var json = CommonOptions.Json();
        var command = new Command("create", "Create a schedule: a job at every cron occurrence, scoring only what is new or changed")
        {
            name, source, output, cron, zone, drift, json,
        };
        rules.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            // Everything that can be checked here is, before connecting: name, cron, time zone, locations, rules.
            var n = parse.GetValue(name)!;
            ScheduleGrain.CheckName(n);
            CronSchedule.Parse(parse.GetValue(cron)!, parse.GetValue(zone)!);
            var job = rules.Bind(parse, new JobSpec
            {
                Sources = parse.GetValue(source)!.Select(s => JobCommand.Location("--source", s)).ToList(),
                Model = "",
                Output = JobCommand.Location("--out", parse.GetValue(output)!),
            }, f => JobCommand.Location("--labels", f));
            var spec = new ScheduleSpec { Name = n, Cron = parse.GetValue(cron)!, TimeZone = parse.GetValue(zone)!, Job = job, DriftThreshold = parse.GetValue(drift) };
            await using var connection = await ClusterConnection.Open([]);
            var status = await connection.Client.GetGrain<IScheduleGrain>(n).Create(spec);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(status, Json));
            else Console.WriteLine($"schedule {n}: cron \"{spec.Cron}\" ({spec.TimeZone}), next run {Time(status.NextRun)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List()
    {
        var json = CommonOptions.Json();
        var command = new Command("list", "Schedules, with their next run and last run") { json };
        command.SetAction(async (parse, _) =>
        {
            await using var connection = await ClusterConnection.Open([]);
            var names = await connection.Client.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key).All();
            var statuses = (await Task.WhenAll(names.Select(n => connection.Client.GetGrain<IScheduleGrain>(n).GetStatus()))).OfType<ScheduleStatus>().ToList();
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(statuses, Json));
            else if (statuses.Count == 0) Console.WriteLine("no schedules");
            else
                foreach (var s in statuses)
                {
                    var last = s.Runs.FirstOrDefault();
                    Console.WriteLine($"{s.Spec.Name,-24} {s.Spec.Cron,-16} {s.Spec.TimeZone,-16} {(s.Paused ? "paused" : "next " + Time(s.NextRun)),-28} " +
                        (last is null ? "no runs yet" : $"last {last.JobId} {State(last.State)}"));
                }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Time(DateTimeOffset? t) => t is { } v ? v.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    private static string State(JobState s) => s.ToString().ToLowerInvariant();

    private static string F(double? v) => v is { } d ? d.ToString("G5", CultureInfo.InvariantCulture) : "-";

    private static void PrintStatus(ScheduleStatus s)
    {
        var job = s.Spec.Job;
        Console.WriteLine($"schedule {s.Spec.Name}: cron \"{s.Spec.Cron}\" ({s.Spec.TimeZone}), {(s.Paused ? "paused" : "next run " + Time(s.NextRun))}");
        Console.WriteLine($"  sources {string.Join(", ", job.Sources)} -> {job.Output}/JOBID, model {job.Model}, incremental");
        var rules = new List<string>();
        if (job.RejectBelow is { } x) rules.Add($"reject below {F(x)}");
        if (job.KeepTopPercent is { } k) rules.Add($"keep top {F(k)}%");
        if (job.RejectBottomPercent is { } b) rules.Add($"reject bottom {F(b)}%");
        if (job.PerFolder) rules.Add("per folder");
        if (job.Tag) rules.Add("tag");
        if (job.Quarantine is { } q) rules.Add($"quarantine to {q}");
        if (job.Dedup is { } dedup) rules.Add(dedup == DedupMode.Near ? $"dedup near (distance {job.DedupDistance ?? DpIqa.Dedup.JobDedup.DefaultDistance})" : "dedup exact");
        rules.Add($"drift threshold {F(s.Spec.DriftThreshold)}");
        Console.WriteLine($"  curation: {string.Join(", ", rules)}");
        Console.WriteLine(s.Runs.Count == 0 ? "  no runs yet" : "  runs (newest first):");
        foreach (var r in s.Runs)
        {
            Console.WriteLine($"    {r.JobId,-36} {State(r.State),-9} {r.Trigger,-8} images {r.Images}, scored {r.Scored}, reused {r.Reused}, failed {r.Failed}, rejected {(r.Rejected?.ToString(CultureInfo.InvariantCulture) ?? "-")}, " +
                $"mean {F(r.Mean)}, p5 {F(r.Percentiles.GetValueOrDefault("p5", double.NaN))}, p50 {F(r.Percentiles.GetValueOrDefault("p50", double.NaN))}, p95 {F(r.Percentiles.GetValueOrDefault("p95", double.NaN))}");
            if (r.Drift is { } d)
                Console.WriteLine($"      drift vs {d.PreviousJobId ?? "(first run)"}: mean {Signed(d.MeanChange)}, p50 {Signed(d.PercentileChange.TryGetValue("p50", out var p50) ? p50 : null)}, " +
                    $"new {d.NewImages} vs existing {d.ExistingImages}: KS D {F(d.KsStatistic)} (p {F(d.KsPValue)}){(d.Drifted ? $" DRIFTED: {d.Reason}" : "")}");
            if (r.Message is not null) Console.WriteLine($"      note: {r.Message}");
        }
    }

    private static string Signed(double? v) => v is { } d ? d.ToString("+0.#####;-0.#####;0", CultureInfo.InvariantCulture) : "-";
}
