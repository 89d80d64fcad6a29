namespace DpIqa;

/// <summary>Statistics of a job (or one folder of it), as written to summary.json.</summary>
[GenerateSerializer, Alias("dpiqa.ScoreSummary")]
public sealed record ScoreSummary
{
    /// <summary>Images seen (scored + failed).</summary>
    [Id(0)] public long Count { get; init; }
    /// <summary>Images with a score.</summary>
    [Id(1)] public long Scored { get; init; }
    /// <summary>Images with an error record.</summary>
    [Id(2)] public long Failed { get; init; }
    /// <summary>Error records by kind.</summary>
    [Id(3)] public Dictionary<string, long> FailedByKind { get; init; } = new();
    /// <summary>Mean score (null when nothing was scored).</summary>
    [Id(4)] public double? Mean { get; init; }
    /// <summary>Population standard deviation of scores.</summary>
    [Id(5)] public double? Std { get; init; }
    /// <summary>Lowest score.</summary>
    [Id(6)] public double? Min { get; init; }
    /// <summary>Highest score.</summary>
    [Id(7)] public double? Max { get; init; }
    /// <summary>
    /// Percentiles 1, 5, 25, 50, 75, 95, 99 (keys "p1".."p99"), defined as NumPy's default <c>np.percentile</c>:
    /// linear interpolation between the order statistics around rank p/100·(n-1). Exact up to
    /// <see cref="ScoreAggregate.ExactLimit"/> scores; beyond, within <see cref="ScoreSketch.RelativeAccuracy"/> (0.5%)
    /// of the larger magnitude of the two order statistics (of the percentile itself when both have the same sign).
    /// </summary>
    [Id(8)] public Dictionary<string, double> Percentiles { get; init; } = new();
    /// <summary>
    /// Coarse histogram of 20 equal bins over the model's declared score range when every score lies inside it,
    /// otherwise over the observed [min, max] (one bin when all scores are equal). The last bin includes its upper edge.
    /// Counts sum to <see cref="Scored"/>; beyond the exact limit a score near an edge may be counted in the neighbouring bin.
    /// </summary>
    [Id(9)] public List<HistogramBin> Histogram { get; init; } = new();
    /// <summary>True when the percentiles are exact; false when they come from the 0.5% relative-error sketch.</summary>
    [Id(10)] public bool PercentilesExact { get; init; }
}

/// <summary>One histogram bin: [Lower, Upper) (the last one [Lower, Upper]) and its count.</summary>
[GenerateSerializer, Alias("dpiqa.HistogramBin")]
public sealed record HistogramBin([property: Id(0)] double Lower, [property: Id(1)] double Upper, [property: Id(2)] long Count);

/// <summary>A job's summary: the whole job and each top-level folder.</summary>
[GenerateSerializer, Alias("dpiqa.JobSummary")]
public sealed record JobSummary
{
    /// <summary>The job id.</summary>
    [Id(0)] public required string JobId { get; init; }
    /// <summary>Model name.</summary>
    [Id(1)] public required string Model { get; init; }
    /// <summary>Model version.</summary>
    [Id(2)] public string? ModelVersion { get; init; }
    /// <summary>Job state when the summary was taken.</summary>
    [Id(3)] public JobState State { get; init; }
    /// <summary>Statistics over every image.</summary>
    [Id(4)] public required ScoreSummary All { get; init; }
    /// <summary>Statistics per top-level folder ("." for images at the top).</summary>
    [Id(5)] public required Dictionary<string, ScoreSummary> ByFolder { get; init; }
    /// <summary>A note for the user (e.g. the source held no images).</summary>
    [Id(6)] public string? Message { get; init; }
    /// <summary>Keep/reject counts when the job has a curation rule and the lists are written.</summary>
    [Id(7)] public CurationResult? Curation { get; init; }
    /// <summary>Agreement with human labels when the job has a labels file (written once the job completed).</summary>
    [Id(8)] public EvaluationResult? Evaluation { get; init; }
    /// <summary>What the teacher cascade did, when the job has one (written with the keep/reject lists).</summary>
    [Id(9)] public CascadeResult? Cascade { get; init; }
    /// <summary>Of the scored images, how many reused a cached score (not fetched, not scored again).</summary>
    [Id(10)] public long Reused { get; init; }
    /// <summary>Comparison with the previous run (jobs of schedules).</summary>
    [Id(11)] public DriftReport? Drift { get; init; }
    /// <summary>What the curation actions (--tag, --quarantine) did.</summary>
    [Id(12)] public CurationActionsResult? Actions { get; init; }
    /// <summary>The preprocessing path the job asked for (each result row says which path scored that image).</summary>
    [Id(13)] public PreprocessPath Preprocess { get; init; }
    /// <summary>What <c>--dedup</c> found (null without it); the groups themselves are in duplicates.csv.</summary>
    [Id(14)] public DuplicatesResult? Duplicates { get; init; }
    /// <summary>The licence of the job's model's weights (its manifest's <c>licence</c>); null when the manifest gives none.</summary>
    [Id(15)] public string? ModelLicence { get; init; }
    /// <summary>The job's model's direction: <c>higher-is-better</c> or <c>lower-is-better</c>.</summary>
    [Id(16)] public string? Direction { get; init; }
}

/// <summary>Duplicate groups of a job (<c>--dedup</c>): counts, and the images a better new copy replaced (schedules).</summary>
[GenerateSerializer, Alias("dpiqa.DuplicatesResult")]
public sealed record DuplicatesResult
{
    /// <summary><c>exact</c> or <c>near</c>.</summary>
    [Id(0)] public DedupMode Mode { get; init; }
    /// <summary>The Hamming distance of <c>near</c> (null for <c>exact</c>).</summary>
    [Id(1)] public int? Distance { get; init; }
    /// <summary>Groups of two or more images.</summary>
    [Id(2)] public long Groups { get; init; }
    /// <summary>Images in those groups (kept and rejected).</summary>
    [Id(3)] public long ImagesInGroups { get; init; }
    /// <summary>Images rejected as duplicates: every member of a group but the kept one.</summary>
    [Id(4)] public long Rejected { get; init; }
    /// <summary>Scored images without the hash the mode needs (e.g. a cached score from before hashes), left out of grouping.</summary>
    [Id(5)] public long Unhashed { get; init; }
    /// <summary>
    /// Images the previous run kept that this run rejects because a better new copy arrived (schedules): how many.
    /// </summary>
    [Id(6)] public long Replaced { get; init; }
    /// <summary>The first of them (at most 100): the old image and the new copy kept instead.</summary>
    [Id(7)] public List<ReplacedImage> ReplacedImages { get; init; } = [];
}

/// <summary>An image kept by the previous run and replaced by a better new copy in this one.</summary>
[GenerateSerializer, Alias("dpiqa.ReplacedImage")]
public sealed record ReplacedImage([property: Id(0)] string Path, [property: Id(1)] string By);

/// <summary>Tags set and blobs quarantined by a job's curation actions; failures are counted and listed, never fatal.</summary>
[GenerateSerializer, Alias("dpiqa.CurationActionsResult")]
public sealed record CurationActionsResult
{
    /// <summary>Blobs tagged (or given metadata where tags are not supported).</summary>
    [Id(0)] public long Tagged { get; init; }
    /// <summary>Rejected blobs copied into the quarantine container (already there with the same content: counted too).</summary>
    [Id(1)] public long Quarantined { get; init; }
    /// <summary>Actions that failed after retries.</summary>
    [Id(2)] public long Failed { get; init; }
    /// <summary>The first failures: path and reason.</summary>
    [Id(3)] public List<string> Failures { get; init; } = [];
    /// <summary>How tags were stored: <c>tags</c> (blob index tags) or <c>metadata</c> (where the service lacks tags).</summary>
    [Id(4)] public string? TagsAs { get; init; }
}

/// <summary>What a curation rule produced: the worst score kept (the lowest for a higher-is-better model, the highest for a
/// lower-is-better one) and the list sizes (keep.txt, reject.txt).</summary>
[GenerateSerializer, Alias("dpiqa.CurationResult")]
public sealed record CurationResult([property: Id(0)] double? Threshold, [property: Id(1)] long Keep, [property: Id(2)] long Reject);
