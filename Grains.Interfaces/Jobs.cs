namespace DpIqa;

/// <summary>Format of the per-image result files a job writes.</summary>
public enum ResultFormat
{
    /// <summary>Comma-separated values with a header row.</summary>
    Csv = 1,
    /// <summary>One JSON object per line.</summary>
    Jsonl = 2,
    /// <summary>Apache Parquet, one row group per shard.</summary>
    Parquet = 3,
}

/// <summary>What a user asks a job to do. Validated by the job grain before anything runs.</summary>
[GenerateSerializer, Alias("dpiqa.JobSpec")]
public sealed record JobSpec
{
    /// <summary>Where the images are: local folders or files (blob containers come with the cluster deployment).</summary>
    [Id(0)] public required IReadOnlyList<string> Sources { get; init; }
    /// <summary>Model name from the model catalog.</summary>
    [Id(1)] public required string Model { get; init; }
    /// <summary>Where results, the shards' item lists and summary.json are written.</summary>
    [Id(2)] public required string Output { get; init; }
    /// <summary>Per-image result file format.</summary>
    [Id(3)] public ResultFormat Format { get; init; } = ResultFormat.Csv;
    /// <summary>Images per shard: the unit of leasing, retry and result files.</summary>
    [Id(4)] public int ShardSize { get; init; } = DefaultShardSize;

    /// <summary>The shard size when none is given, everywhere (CLI, HTTP API, schedules).</summary>
    public const int DefaultShardSize = 256;
    /// <summary>Curation rule for a higher-is-better model: images scoring below this go to the reject list (and errors too).</summary>
    [Id(5)] public double? RejectBelow { get; init; }
    /// <summary>Curation rule: the best P percent of scored images go to the keep list, the rest to reject.</summary>
    [Id(6)] public double? KeepTopPercent { get; init; }
    /// <summary>Human labels to evaluate the scores against (SRCC, KRCC, PLCC, RMSE in summary.json), or null.</summary>
    [Id(7)] public LabelSource? Labels { get; init; }
    /// <summary>Teacher cascade around the <see cref="RejectBelow"/> threshold, or null.</summary>
    [Id(8)] public CascadeRule? Cascade { get; init; }
    /// <summary>Curation rule: the worst P percent of scored images go to the reject list, the rest to keep.</summary>
    [Id(9)] public double? RejectBottomPercent { get; init; }
    /// <summary>The percent rules apply within each top-level folder rather than over the whole job.</summary>
    [Id(10)] public bool PerFolder { get; init; }
    /// <summary>Reuse cached scores of unchanged images (same model sha256, same ETag or local size+mtime).</summary>
    [Id(11)] public bool Incremental { get; init; }
    /// <summary>Curation action: tag each blob source image with iqa_score, iqa_model, iqa_verdict, iqa_job.</summary>
    [Id(12)] public bool Tag { get; init; }
    /// <summary>Curation action: copy each rejected blob (server-side) into this container under the same name.</summary>
    [Id(13)] public string? Quarantine { get; init; }
    /// <summary>The job this one is compared with for drift (a schedule's previous run).</summary>
    [Id(14)] public string? PreviousJob { get; init; }
    /// <summary>Alert threshold for drift (see <see cref="ScheduleSpec.DriftThreshold"/>); null: no drift report.</summary>
    [Id(15)] public double? DriftThreshold { get; init; }
    /// <summary>The score cache file where the silos have no table storage (default: score-cache.jsonl beside the results).</summary>
    [Id(16)] public string? ScoreCacheFile { get; init; }
    /// <summary>Preprocessing path (<c>--preprocess</c>); null: the model's default (its manifest's <c>preprocess</c>, normally exact).</summary>
    [Id(17)] public PreprocessPath? Preprocess { get; init; }
    /// <summary>
    /// Duplicates (<c>--dedup</c>): once every shard is done, group the job's images (equal content hash, or pHash within
    /// <see cref="DedupDistance"/>), keep the best-scoring one of each group, reject the others; null: no grouping.
    /// </summary>
    [Id(18)] public DedupMode? Dedup { get; init; }
    /// <summary>Largest pHash Hamming distance (bits of 64) between near-duplicates (<c>--dedup-distance</c>); null: the default.</summary>
    [Id(19)] public int? DedupDistance { get; init; }
    /// <summary>Curation rule for a lower-is-better model: images scoring above this go to the reject list (and errors too).</summary>
    [Id(20)] public double? RejectAbove { get; init; }
    /// <summary>
    /// The job's model is lower-is-better (its manifest's direction): set by the job when it starts, not by the user,
    /// so every judgement (rules, cascade, evaluation, report) reads the same direction for the job's life.
    /// </summary>
    [Id(21)] public bool LowerIsBetter { get; init; }
    /// <summary>Who submitted the job. Set by the silo from the caller's verified token; what a client sends here is replaced.</summary>
    [Id(40)] public Submitter? SubmittedBy { get; init; }
}

/// <summary>How <c>--dedup</c> decides that two images are copies of one another.</summary>
public enum DedupMode
{
    /// <summary>Same bytes: equal content hash (the blob's Content-MD5, else the MD5 of the file).</summary>
    Exact = 1,
    /// <summary>Look alike: perceptual hashes within the Hamming distance, grouped transitively (connected components).</summary>
    Near = 2,
}

/// <summary>Lifecycle of a job.</summary>
public enum JobState
{
    /// <summary>Accepted, listing and scoring not begun.</summary>
    Pending = 0,
    /// <summary>Listing and/or scoring.</summary>
    Running = 1,
    /// <summary>Every shard completed.</summary>
    Completed = 2,
    /// <summary>Stopped by a user.</summary>
    Cancelled = 3,
    /// <summary>Could not run at all (e.g. the source could not be listed).</summary>
    Failed = 4,
    /// <summary>No such job: never started, or its start was refused (new value; the others keep their numbers).</summary>
    Unknown = 5,
}

/// <summary>Progress of a job, cheap to query while it runs.</summary>
[GenerateSerializer, Alias("dpiqa.JobStatus")]
public sealed record JobStatus
{
    /// <summary>The job id.</summary>
    [Id(0)] public required string JobId { get; init; }
    /// <summary>Where the job is in its lifecycle.</summary>
    [Id(1)] public JobState State { get; init; }
    /// <summary>Images found so far (final once <see cref="ListingDone"/>).</summary>
    [Id(2)] public long Total { get; init; }
    /// <summary>Whether listing has finished.</summary>
    [Id(3)] public bool ListingDone { get; init; }
    /// <summary>Images with a score.</summary>
    [Id(4)] public long Scored { get; init; }
    /// <summary>Images with an error record.</summary>
    [Id(5)] public long Failed { get; init; }
    /// <summary>Shards written so far.</summary>
    [Id(6)] public int Shards { get; init; }
    /// <summary>Shards completed.</summary>
    [Id(7)] public int ShardsDone { get; init; }
    /// <summary>Shards leased right now.</summary>
    [Id(8)] public int ShardsLeased { get; init; }
    /// <summary>Images per second since the first shard was leased.</summary>
    [Id(9)] public double ImagesPerSecond { get; init; }
    /// <summary>Estimated time to finish, when it can be estimated.</summary>
    [Id(10)] public TimeSpan? Eta { get; init; }
    /// <summary>Workers (silo/worker ids) holding leases right now.</summary>
    [Id(11)] public int Workers { get; init; }
    /// <summary>A human-readable note (e.g. why the job failed, or that the source was empty).</summary>
    [Id(12)] public string? Message { get; init; }
    /// <summary>The job's model name and version.</summary>
    [Id(13)] public string? Model { get; init; }
    /// <summary>When the job was submitted.</summary>
    [Id(14)] public DateTimeOffset SubmittedAt { get; init; }
    /// <summary>The silo hosting the job grain right now.</summary>
    [Id(15)] public string? Coordinator { get; init; }
    /// <summary>Shards completed per silo (the silos that have worked on this job).</summary>
    [Id(16)] public Dictionary<string, int> ShardsBySilo { get; init; } = new();
    /// <summary>Size of the job grain's state at its last save, in bytes (it stays small whatever the job's size).</summary>
    [Id(17)] public long StateBytes { get; init; }
    /// <summary>Of <see cref="Scored"/>, images whose cached score was reused rather than scored by the model.</summary>
    [Id(18)] public long Reused { get; init; }
    /// <summary>The drift check marked this job drifted (see <see cref="JobSummary.Drift"/>).</summary>
    [Id(19)] public bool Drifted { get; init; }
    /// <summary>The name of the identity that submitted the job (null for jobs from before identities).</summary>
    [Id(40)] public string? SubmittedBy { get; init; }
    /// <summary>Images done (scored + failed).</summary>
    public long Done => Scored + Failed;
    /// <summary>Whether the job has ended.</summary>
    public bool IsFinished => State is JobState.Completed or JobState.Cancelled or JobState.Failed;
}

/// <summary>A shard handed to one worker for a limited time.</summary>
[GenerateSerializer, Alias("dpiqa.ShardLease")]
public sealed record ShardLease
{
    /// <summary>The job id.</summary>
    [Id(0)] public required string JobId { get; init; }
    /// <summary>Shard number, from 0.</summary>
    [Id(1)] public int Shard { get; init; }
    /// <summary>Proves this worker holds the lease; completion with an old token is ignored.</summary>
    [Id(2)] public Guid Token { get; init; }
    /// <summary>Where the shard's item list (its images) is stored.</summary>
    [Id(3)] public required string ItemList { get; init; }
    /// <summary>Where this lease's results file must be written, whole (named by the lease token: every run of a shard has its own).</summary>
    [Id(4)] public required string ResultFile { get; init; }
    /// <summary>Model name.</summary>
    [Id(5)] public required string Model { get; init; }
    /// <summary>Result file format.</summary>
    [Id(6)] public ResultFormat Format { get; init; }
    /// <summary>The lease ends at this time unless renewed.</summary>
    [Id(7)] public DateTimeOffset Deadline { get; init; }
    /// <summary>The teacher cascade's band: scores inside it are scored again by the teacher (null: no cascade).</summary>
    [Id(8)] public TeacherBand? Cascade { get; init; }
    /// <summary>Reuse cached scores of unchanged images, and cache new ones.</summary>
    [Id(9)] public bool Incremental { get; init; }
    /// <summary>The score cache file, used where the silo has no table storage.</summary>
    [Id(10)] public string? ScoreCacheFile { get; init; }
    /// <summary>Preprocessing path the job asks for (resolved from the job and the model when the job started).</summary>
    [Id(11)] public PreprocessPath Preprocess { get; init; }
    /// <summary>The job groups duplicates: a cached score stored without the image's hashes is not reused (the image is scored again).</summary>
    [Id(12)] public bool Dedup { get; init; }
}
