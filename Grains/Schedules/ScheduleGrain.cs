using System.Text.RegularExpressions;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Storage;
using Microsoft.Extensions.Logging;
using DpIqa.Results;

namespace DpIqa.Schedules;

[GenerateSerializer, Alias("dpiqa.ScheduleRecord")]
public sealed class ScheduleRecord
{
    [Id(0)] public ScheduleSpec? Spec { get; set; }
    [Id(1)] public bool Paused { get; set; }
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The latest occurrence already given a run (or skipped by a pause): occurrences after it are due.</summary>
    [Id(3)] public DateTimeOffset LastOccurrence { get; set; }
    /// <summary>Runs, newest first (the last <see cref="ScheduleGrain.RunsKept"/>).</summary>
    [Id(4)] public List<ScheduleRun> Runs { get; set; } = [];
}

/// <summary>
/// One schedule. An Orleans reminder ticks every minute (their minimum period); each tick asks Cronos which occurrences
/// fell due since the last one given a run, and starts one run for the latest of them. The run's job id is the schedule
/// name and the occurrence time, and the occurrence is stored as taken before the job starts: a duplicated, late or
/// retried tick (also on another silo after a failover) finds it taken or restarts the same job id, which the job
/// grain accepts once. Runs never overlap: occurrences that fall due while a run is going on wait, coalesced into one
/// run that starts at the first tick after it ended (the same rule gives one catch-up run after downtime).
/// </summary>
internal sealed partial class ScheduleGrain(
    [PersistentState("schedule", JobGrain.StorageName)] IPersistentState<ScheduleRecord> state,
    ModelCatalog models,
    ObjectStore store,
    ScheduleClock clock,
    ILogger<ScheduleGrain> logger) : Grain, IScheduleGrain, IRemindable
{
    public const string ReminderName = "tick";
    public const int RunsKept = 50;
    /// <summary>Orleans reminders cannot tick faster.</summary>
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMinutes(1);

    private string Name => this.GetPrimaryKeyString();
    private ScheduleRecord Record => state.State;

    [GeneratedRegex("^[a-z0-9](-?[a-z0-9])*$")]
    private static partial Regex NamePattern();

    /// <summary>Schedule names become job ids and blob folder names: lower-case letters, digits and single hyphens.</summary>
    public static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 40 || !NamePattern().IsMatch(name))
            throw new ArgumentException($"schedule name '{name}' is not valid: use 1-40 lower-case letters, digits and single hyphens (e.g. nightly-photos)");
    }

    public async Task<ScheduleStatus> Create(ScheduleSpec spec)
    {
        CheckName(Name);
        if (spec.Name != Name) throw new ArgumentException($"the schedule's name '{spec.Name}' is not this grain's '{Name}'");
        var cron = CronSchedule.Parse(spec.Cron, spec.TimeZone);
        if (string.IsNullOrEmpty(spec.Job.Model)) spec = spec with { Job = spec.Job with { Model = models.DefaultModel } };
        if (Record.Spec is not null)
        {
            if (Record.Spec == spec || Same(Record.Spec, spec)) return Status(cron);
            throw new ArgumentException($"schedule '{Name}' already exists with another definition: delete it first ('dpiqa schedule delete {Name}') or pick another name");
        }
        if (!double.IsFinite(spec.DriftThreshold) || spec.DriftThreshold <= 0 || spec.DriftThreshold > 1)
            throw new ArgumentException($"--drift-threshold {spec.DriftThreshold} is out of range: give a number above 0 and at most 1 (e.g. 0.3)");
        var model = models.Resolve(spec.Job.Model); // unknown model: ArgumentException naming the models there are
        Curation.CurationLists.Validate(spec.Job, model.Manifest);
        await store.ValidateSources(spec.Job.Sources);
        await store.PrepareOutput(spec.Job.Output);
        var now = clock.UtcNow;
        state.State = new ScheduleRecord { Spec = spec, CreatedAt = now, LastOccurrence = now };
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key).Add(Name);
        await this.RegisterOrUpdateReminder(ReminderName, TickPeriod, TickPeriod);
        Log.Created(logger, Name, spec.Cron, spec.TimeZone, cron.Next(now));
        return Status(cron);
    }

    /// <summary>Records compare sources by reference: the same definition sent again is equal by value.</summary>
    private static bool Same(ScheduleSpec a, ScheduleSpec b) =>
        a with { Job = b.Job } == b && a.Job with { Sources = b.Job.Sources } == b.Job && a.Job.Sources.SequenceEqual(b.Job.Sources);

    public async Task<ScheduleStatus?> GetStatus()
    {
        if (Record.Spec is null) return null;
        await Refresh();
        return Status(CronSchedule.Parse(Record.Spec.Cron, Record.Spec.TimeZone));
    }

    private ScheduleStatus Status(CronSchedule cron) => new()
    {
        Spec = Record.Spec!,
        Paused = Record.Paused,
        NextRun = Record.Paused ? null : cron.Next(Max(clock.UtcNow, Record.LastOccurrence)),
        Runs = Record.Runs.ToList(),
        CreatedAt = Record.CreatedAt,
    };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private ScheduleSpec Existing() => Record.Spec ?? throw new ArgumentException($"there is no schedule '{Name}': see 'dpiqa schedule list'");

    public async Task<ScheduleRun> RunNow()
    {
        Existing();
        await Refresh();
        if (Running() is { } running)
            throw new ArgumentException($"schedule '{Name}' has a run in progress (job {running.JobId}): runs never overlap; wait for it ('dpiqa job watch {running.JobId}')");
        var now = clock.UtcNow;
        return await Begin(new ScheduleRun { JobId = $"{Name}-now-{now.UtcDateTime:yyyyMMdd-HHmmss}", Occurrence = now, Trigger = "run-now", State = JobState.Pending });
    }

    public async Task<ScheduleStatus> Pause()
    {
        var spec = Existing();
        if (!Record.Paused)
        {
            Record.Paused = true;
            await state.WriteStateAsync();
            if (await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
            Log.Paused(logger, Name);
        }
        return Status(CronSchedule.Parse(spec.Cron, spec.TimeZone));
    }

    public async Task<ScheduleStatus> Resume()
    {
        var spec = Existing();
        if (Record.Paused)
        {
            Record.Paused = false;
            // Occurrences while paused are skipped, not caught up: the user paused them.
            Record.LastOccurrence = Max(Record.LastOccurrence, clock.UtcNow);
            await state.WriteStateAsync();
            await this.RegisterOrUpdateReminder(ReminderName, TickPeriod, TickPeriod);
            Log.Resumed(logger, Name);
        }
        return Status(CronSchedule.Parse(spec.Cron, spec.TimeZone));
    }

    public async Task Delete()
    {
        Existing();
        if (await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
        await state.ClearStateAsync();
        state.State = new ScheduleRecord();
        await GrainFactory.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key).Remove(Name);
        Log.Deleted(logger, Name);
        DeactivateOnIdle();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        try
        {
            await Tick();
        }
        catch (Exception e)
        {
            // The next tick tries again: a run's occurrence is stored before its job starts, so nothing is doubled.
            Log.TickFailed(logger, e, Name);
        }
    }

    public async Task Tick()
    {
        if (Record.Spec is not { } spec)
        {
            // Deleted (or never created): a reminder left behind must stop.
            if (await this.GetReminder(ReminderName) is { } stale) await this.UnregisterReminder(stale);
            return;
        }
        await Refresh();
        if (Record.Paused || Running() is not null) return; // a run in progress: due occurrences wait (coalesced)
        var (due, count) = CronSchedule.Parse(spec.Cron, spec.TimeZone).Due(Record.LastOccurrence, clock.UtcNow);
        if (due is not { } occurrence) return;
        if (count > 1) Log.CatchUp(logger, Name, count, occurrence);
        await Begin(new ScheduleRun { JobId = JobId(Name, occurrence), Occurrence = occurrence, Trigger = count > 1 ? "catch-up" : "cron", State = JobState.Pending });
    }

    /// <summary>The job id of an occurrence's run: the same occurrence always gives the same id.</summary>
    public static string JobId(string name, DateTimeOffset occurrence) => $"{name}-{occurrence.UtcDateTime:yyyyMMdd-HHmmss}";

    private ScheduleRun? Running() => Record.Runs.FirstOrDefault() is { State: JobState.Pending or JobState.Running } run ? run : null;

    /// <summary>Stores the run as taken, then starts its job.</summary>
    private async Task<ScheduleRun> Begin(ScheduleRun run)
    {
        if (run.Trigger != "run-now") Record.LastOccurrence = run.Occurrence;
        Record.Runs.Insert(0, run);
        if (Record.Runs.Count > RunsKept) Record.Runs.RemoveRange(RunsKept, Record.Runs.Count - RunsKept);
        await state.WriteStateAsync();
        await StartJob(run);
        return Record.Runs[0];
    }

    private async Task StartJob(ScheduleRun run)
    {
        var spec = Record.Spec!;
        var previous = Record.Runs.Skip(1).FirstOrDefault(r => r.State == JobState.Completed)?.JobId;
        var job = spec.Job with
        {
            Output = Locations.Join(spec.Job.Output, run.JobId),
            Incremental = true, // always, for schedules
            ScoreCacheFile = spec.Job.ScoreCacheFile ?? JobLayout.ScoreCacheFile(spec.Job.Output),
            PreviousJob = previous,
            DriftThreshold = spec.DriftThreshold,
        };
        try
        {
            var status = await GrainFactory.GetGrain<IJobGrain>(run.JobId).Start(job);
            Update(run, r => r with { State = status.State });
            Log.RunStarted(logger, Name, run.JobId, run.Trigger);
        }
        catch (ArgumentException e)
        {
            // The request became invalid since the schedule was created (e.g. the source was deleted): this run fails,
            // the next occurrence tries again.
            Update(run, r => r with { State = JobState.Failed, Message = e.Message });
            Log.RunRefused(logger, Name, run.JobId, e.Message);
        }
        await state.WriteStateAsync();
    }

    private void Update(ScheduleRun run, Func<ScheduleRun, ScheduleRun> change)
    {
        int i = Record.Runs.FindIndex(r => r.JobId == run.JobId);
        if (i >= 0) Record.Runs[i] = change(Record.Runs[i]);
    }

    /// <summary>Brings the newest run up to date with its job; a run stored but never started (the silo died) is started.</summary>
    private async Task Refresh()
    {
        if (Running() is not { } run) return;
        var job = GrainFactory.GetGrain<IJobGrain>(run.JobId);
        if (await job.GetSpec() is null)
        {
            await StartJob(run);
            return;
        }
        var status = await job.GetStatus();
        var summary = await job.GetSummary();
        // A completed run is done for the schedule once its outputs are: the drift report is the job's last step.
        bool done = status.State is JobState.Cancelled or JobState.Failed || (status.State == JobState.Completed && summary.Drift is not null);
        var updated = run with
        {
            State = done ? status.State : JobState.Running,
            Images = status.Total,
            Scored = status.Scored - status.Reused,
            Reused = status.Reused,
            Failed = status.Failed,
            Rejected = summary.Curation?.Reject,
            Mean = summary.All.Mean,
            Percentiles = summary.All.Percentiles.Where(p => p.Key is "p5" or "p50" or "p95").ToDictionary(),
            Drift = summary.Drift,
            Message = status.Message,
        };
        if (updated == run) return;
        Update(run, _ => updated);
        await state.WriteStateAsync();
        if (done) Log.RunEnded(logger, Name, run.JobId, status.State, summary.Drift?.Drifted ?? false);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule} created: cron \"{Cron}\" in {TimeZone}, next run {Next}")]
        public static partial void Created(ILogger logger, string schedule, string cron, string timeZone, DateTimeOffset? next);

        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule} paused")]
        public static partial void Paused(ILogger logger, string schedule);

        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule} resumed")]
        public static partial void Resumed(ILogger logger, string schedule);

        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule} deleted")]
        public static partial void Deleted(ILogger logger, string schedule);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {Schedule}: a tick failed; the next tick tries again")]
        public static partial void TickFailed(ILogger logger, Exception e, string schedule);

        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule}: {Count} occurrences fell due (downtime or a long run); one catch-up run for {Occurrence}")]
        public static partial void CatchUp(ILogger logger, string schedule, int count, DateTimeOffset occurrence);

        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule}: run {Job} started ({Trigger})")]
        public static partial void RunStarted(ILogger logger, string schedule, string job, string trigger);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {Schedule}: run {Job} refused: {Reason}")]
        public static partial void RunRefused(ILogger logger, string schedule, string job, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Schedule}: run {Job} ended {State}; drifted: {Drifted}")]
        public static partial void RunEnded(ILogger logger, string schedule, string job, JobState state, bool drifted);
    }
}
