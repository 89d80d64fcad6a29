namespace DpIqa;

/// <summary>
/// A schedule: a job template run at every occurrence of a cron expression, in a time zone. Each run is an ordinary
/// job, incremental (unchanged images reuse their cached scores), writing under <c>Output/JOBID</c> of the template.
/// </summary>
[GenerateSerializer, Alias("dpiqa.ScheduleSpec")]
public sealed record ScheduleSpec
{
    /// <summary>The schedule's name (the schedule grain's key); runs' job ids start with it.</summary>
    [Id(0)] public required string Name { get; init; }
    /// <summary>Cron expression: 5 fields (minute hour day month weekday), or 6 with seconds first.</summary>
    [Id(1)] public required string Cron { get; init; }
    /// <summary>IANA (or Windows) time zone id the cron expression is read in; DST gaps and overlaps follow Cronos.</summary>
    [Id(2)] public string TimeZone { get; init; } = "UTC";
    /// <summary>What each run does. Its <see cref="JobSpec.Output"/> is the schedule's folder: run N writes under Output/JOBID.</summary>
    [Id(3)] public required JobSpec Job { get; init; }
    /// <summary>
    /// A run is marked drifted when the two-sample Kolmogorov–Smirnov statistic of its newly scored images against the
    /// reused ones reaches this (0..1), or when its share rejected moves by more than this from the previous run.
    /// </summary>
    [Id(4)] public double DriftThreshold { get; init; } = 0.3;
}

/// <summary>One run of a schedule, as <c>schedule show</c> lists it.</summary>
[GenerateSerializer, Alias("dpiqa.ScheduleRun")]
public sealed record ScheduleRun
{
    /// <summary>The run's job id: schedule name and occurrence time, so one occurrence never has two runs.</summary>
    [Id(0)] public required string JobId { get; init; }
    /// <summary>The cron occurrence the run is for (or the time of a run-now).</summary>
    [Id(1)] public DateTimeOffset Occurrence { get; init; }
    /// <summary>Why it ran: <c>cron</c>, <c>catch-up</c> (occurrences were missed: one run stands for them all), or <c>run-now</c>.</summary>
    [Id(2)] public string Trigger { get; init; } = "cron";
    /// <summary>The job's state when last seen.</summary>
    [Id(3)] public JobState State { get; init; }
    /// <summary>Images in the run.</summary>
    [Id(4)] public long Images { get; init; }
    /// <summary>Images scored by the model in this run.</summary>
    [Id(5)] public long Scored { get; init; }
    /// <summary>Images whose cached score was reused (unchanged since it was scored).</summary>
    [Id(6)] public long Reused { get; init; }
    /// <summary>Images with an error record.</summary>
    [Id(7)] public long Failed { get; init; }
    /// <summary>Images on the reject list (null without a curation rule).</summary>
    [Id(8)] public long? Rejected { get; init; }
    /// <summary>Mean score over every scored or reused image.</summary>
    [Id(9)] public double? Mean { get; init; }
    /// <summary>Percentiles p5, p50, p95 (keys as in summary.json).</summary>
    [Id(10)] public Dictionary<string, double> Percentiles { get; init; } = new();
    /// <summary>Comparison with the previous run (null until the run completed).</summary>
    [Id(11)] public DriftReport? Drift { get; init; }
    /// <summary>A note (e.g. why the job failed).</summary>
    [Id(12)] public string? Message { get; init; }
}

/// <summary>A schedule's definition, state and recent runs (newest first).</summary>
[GenerateSerializer, Alias("dpiqa.ScheduleStatus")]
public sealed record ScheduleStatus
{
    /// <summary>The definition.</summary>
    [Id(0)] public required ScheduleSpec Spec { get; init; }
    /// <summary>Paused schedules start no runs; occurrences while paused are skipped, not caught up.</summary>
    [Id(1)] public bool Paused { get; init; }
    /// <summary>The next cron occurrence (null while paused, or when the expression has no more).</summary>
    [Id(2)] public DateTimeOffset? NextRun { get; init; }
    /// <summary>The last runs, newest first.</summary>
    [Id(3)] public List<ScheduleRun> Runs { get; init; } = [];
    /// <summary>When the schedule was created.</summary>
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>
/// A run compared with the previous run of its schedule, and the scores of its newly scored images compared with those
/// of the images it reused (the existing ones), by a two-sample Kolmogorov–Smirnov test.
/// </summary>
[GenerateSerializer, Alias("dpiqa.DriftReport")]
public sealed record DriftReport
{
    /// <summary>The previous run's job id (null for a schedule's first run).</summary>
    [Id(0)] public string? PreviousJobId { get; init; }
    /// <summary>Change in mean score since the previous run.</summary>
    [Id(1)] public double? MeanChange { get; init; }
    /// <summary>Change per percentile (keys as in summary.json) since the previous run.</summary>
    [Id(2)] public Dictionary<string, double> PercentileChange { get; init; } = new();
    /// <summary>Share of images rejected in this run (null without a curation rule).</summary>
    [Id(3)] public double? RejectedShare { get; init; }
    /// <summary>Share rejected in the previous run.</summary>
    [Id(4)] public double? PreviousRejectedShare { get; init; }
    /// <summary>Images scored in this run (new or changed).</summary>
    [Id(5)] public long NewImages { get; init; }
    /// <summary>Images whose scores were reused (existing, unchanged).</summary>
    [Id(6)] public long ExistingImages { get; init; }
    /// <summary>Two-sample KS statistic D of new against existing scores (null when either side is empty).</summary>
    [Id(7)] public double? KsStatistic { get; init; }
    /// <summary>Two-sided p-value of D (the asymptotic Kolmogorov distribution, as scipy.stats.ks_2samp with method='asymp').</summary>
    [Id(8)] public double? KsPValue { get; init; }
    /// <summary>The alert threshold the run was checked against.</summary>
    [Id(9)] public double Threshold { get; init; }
    /// <summary>True when a statistic reached the threshold.</summary>
    [Id(10)] public bool Drifted { get; init; }
    /// <summary>What crossed the threshold, in words.</summary>
    [Id(11)] public string? Reason { get; init; }
}
