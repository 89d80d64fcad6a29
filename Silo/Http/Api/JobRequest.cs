using System.Text.Json.Serialization;
using DpIqa.Jobs;

namespace DpIqa.Silo.Http.Api;

/// <summary>
/// The body of <c>POST /api/v1/jobs</c>: the fields of <c>dpiqa job submit</c>, named as its options (snake_case), with
/// the same defaults. Built into a <see cref="JobSpec"/> with the CLI's helpers (<see cref="JobRequestValidation"/>),
/// and validated by the job grain as every job is.
/// </summary>
internal sealed record JobRequest
{
    /// <summary>Job id (default: generated, as the CLI does).</summary>
    [JsonPropertyName("job_id")] public string? JobId { get; init; }
    /// <summary><c>container[/prefix]</c>, <c>listing:container/file.txt</c>, <c>listing:/PATH</c> or <c>file:PATH</c> on the silos.</summary>
    [JsonPropertyName("sources")] public List<string>? Sources { get; init; }
    /// <summary>Model name (default: the cluster's Models:Default).</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }
    /// <summary><c>container/prefix</c> (or <c>file:PATH</c>) for results, summary.json and keep/reject lists.</summary>
    [JsonPropertyName("out")] public string? Out { get; init; }
    /// <summary>csv, jsonl or parquet.</summary>
    [JsonPropertyName("format")] public string Format { get; init; } = "parquet";
    /// <summary>Images per shard.</summary>
    [JsonPropertyName("shard_size")] public int ShardSize { get; init; } = JobSpec.DefaultShardSize;
    [JsonPropertyName("reject_below")] public double? RejectBelow { get; init; }
    /// <summary>The rule of a lower-is-better model (BRISQUE): reject scores above this.</summary>
    [JsonPropertyName("reject_above")] public double? RejectAbove { get; init; }
    [JsonPropertyName("keep_top_percent")] public double? KeepTopPercent { get; init; }
    [JsonPropertyName("reject_bottom_percent")] public double? RejectBottomPercent { get; init; }
    [JsonPropertyName("per_folder")] public bool PerFolder { get; init; }
    [JsonPropertyName("tag")] public bool Tag { get; init; }
    [JsonPropertyName("quarantine")] public string? Quarantine { get; init; }
    /// <summary>exact or near: group duplicates and keep the best-scoring copy (docs/duplicates.md).</summary>
    [JsonPropertyName("dedup")] public string? Dedup { get; init; }
    /// <summary>With dedup near: the largest pHash Hamming distance between copies.</summary>
    [JsonPropertyName("dedup_distance")] public int? DedupDistance { get; init; }
    [JsonPropertyName("incremental")] public bool Incremental { get; init; }
    /// <summary>exact or fast (default: the model's).</summary>
    [JsonPropertyName("preprocess")] public string? Preprocess { get; init; }
    [JsonPropertyName("labels")] public string? Labels { get; init; }
    [JsonPropertyName("name_column")] public string? NameColumn { get; init; }
    [JsonPropertyName("mos_column")] public string? MosColumn { get; init; }
    /// <summary>Teacher model of the cascade (with <see cref="Band"/>).</summary>
    [JsonPropertyName("cascade")] public string? Cascade { get; init; }
    [JsonPropertyName("band")] public double? Band { get; init; }

    /// <summary>A new job id, as <c>dpiqa job submit</c> makes one.</summary>
    public static string NewJobId() => $"job-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";

    private static DedupMode? ParseDedup(string? value) => value switch
    {
        null => null,
        "exact" => DedupMode.Exact,
        "near" => DedupMode.Near,
        _ => throw new ArgumentException($"dedup '{value}' is not one of exact, near"),
    };

    /// <summary>The job's spec; an <see cref="ArgumentException"/> with the CLI's words for what is wrong.</summary>
    public JobSpec ToSpec()
    {
        if (Sources is null || Sources.Count == 0)
            throw new ArgumentException("no sources given: name at least one container[/prefix], listing:container/file.txt or file:PATH in \"sources\"");
        if (Out is null) throw new ArgumentException("no output given: name a folder for the results in \"out\"");
        return new JobSpec
        {
            Sources = Sources.Select(s => JobRequestValidation.Location("--source", s)).ToList(),
            Model = Model ?? "",
            Output = JobRequestValidation.Location("--out", Out),
            Format = JobRequestValidation.Format(Format),
            ShardSize = ShardSize,
            RejectBelow = RejectBelow,
            RejectAbove = RejectAbove,
            KeepTopPercent = KeepTopPercent,
            RejectBottomPercent = RejectBottomPercent,
            PerFolder = PerFolder,
            Tag = Tag,
            Quarantine = JobRequestValidation.Quarantine(Quarantine),
            Incremental = Incremental,
            Labels = JobRequestValidation.ParseLabels(Labels, NameColumn, MosColumn, f => JobRequestValidation.Location("--labels", f)),
            Cascade = JobRequestValidation.ParseCascade(Cascade, Band),
            Preprocess = JobRequestValidation.Preprocess(Preprocess),
            Dedup = ParseDedup(Dedup),
            DedupDistance = DedupDistance,
        };
    }
}

/// <summary>
/// The body of <c>POST /api/v1/schedules</c>: the fields of <c>dpiqa schedule create</c>, with its defaults. Runs are
/// incremental, as the CLI makes them.
/// </summary>
internal sealed record ScheduleRequest
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("sources")] public List<string>? Sources { get; init; }
    [JsonPropertyName("out")] public string? Out { get; init; }
    /// <summary>5 fields (minute hour day month weekday), e.g. <c>0 2 * * *</c>.</summary>
    [JsonPropertyName("cron")] public string? Cron { get; init; }
    [JsonPropertyName("time_zone")] public string TimeZone { get; init; } = "UTC";
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("shard_size")] public int ShardSize { get; init; } = JobSpec.DefaultShardSize;
    [JsonPropertyName("format")] public string Format { get; init; } = "parquet";
    [JsonPropertyName("reject_below")] public double? RejectBelow { get; init; }
    [JsonPropertyName("keep_top_percent")] public double? KeepTopPercent { get; init; }
    [JsonPropertyName("reject_bottom_percent")] public double? RejectBottomPercent { get; init; }
    [JsonPropertyName("per_folder")] public bool PerFolder { get; init; }
    [JsonPropertyName("tag")] public bool Tag { get; init; }
    [JsonPropertyName("quarantine")] public string? Quarantine { get; init; }
    [JsonPropertyName("reject_above")] public double? RejectAbove { get; init; }
    [JsonPropertyName("dedup")] public string? Dedup { get; init; }
    [JsonPropertyName("dedup_distance")] public int? DedupDistance { get; init; }
    [JsonPropertyName("drift_threshold")] public double DriftThreshold { get; init; } = 0.3;

    public ScheduleSpec ToSpec()
    {
        Schedules.ScheduleGrain.CheckName(Name ?? "");
        if (Cron is null) throw new ArgumentException("no cron given: e.g. \"cron\": \"0 2 * * *\"");
        Schedules.CronSchedule.Parse(Cron, TimeZone);
        var job = new JobRequest
        {
            Sources = Sources, Out = Out, Model = Model, ShardSize = ShardSize, Format = Format, RejectBelow = RejectBelow,
            KeepTopPercent = KeepTopPercent, RejectBottomPercent = RejectBottomPercent, PerFolder = PerFolder, Tag = Tag,
            Quarantine = Quarantine, Incremental = true, RejectAbove = RejectAbove, Dedup = Dedup, DedupDistance = DedupDistance,
        }.ToSpec();
        return new ScheduleSpec { Name = Name!, Cron = Cron, TimeZone = TimeZone, Job = job, DriftThreshold = DriftThreshold };
    }
}

/// <summary>One event of <c>GET /api/v1/jobs/{id}/progress</c>.</summary>
internal sealed record JobProgress(
    [property: JsonPropertyName("job_id")] string JobId,
    [property: JsonPropertyName("state")] JobState State,
    [property: JsonPropertyName("done")] long Done,
    [property: JsonPropertyName("scored")] long Scored,
    [property: JsonPropertyName("failed")] long Failed,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("listing_done")] bool ListingDone,
    [property: JsonPropertyName("images_per_second")] double ImagesPerSecond,
    [property: JsonPropertyName("eta_seconds")] double? EtaSeconds,
    [property: JsonPropertyName("finished")] bool Finished)
{
    public static JobProgress Of(JobStatus s) =>
        new(s.JobId, s.State, s.Done, s.Scored, s.Failed, s.Total, s.ListingDone, Math.Round(s.ImagesPerSecond, 2),
            s.Eta is { } eta ? Math.Round(eta.TotalSeconds, 1) : null, s.IsFinished);

    /// <summary>Whether anything but the rate and ETA differs (the stream sends those at once).</summary>
    public bool CountsDiffer(JobProgress other) =>
        State != other.State || Done != other.Done || Failed != other.Failed || Total != other.Total || ListingDone != other.ListingDone;
}

/// <summary>The answer of <c>GET /api/v1/models</c>, as <c>dpiqa models list --json</c> prints it.</summary>
internal sealed record ModelList(
    [property: JsonPropertyName("default")] string Default,
    [property: JsonPropertyName("models")] IReadOnlyList<DpIqa.Models.ModelManifest> Models);

/// <summary>The answer of <c>DELETE /api/v1/schedules/{name}</c>.</summary>
internal sealed record ScheduleDeleted([property: JsonPropertyName("deleted")] string Deleted);
