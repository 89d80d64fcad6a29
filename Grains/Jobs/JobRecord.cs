namespace DpIqa.Jobs;

/// <summary>
/// A job's durable state: small whatever the job's size. The image lists live in the shards' item lists beside the
/// results; here are only counts, one done-flag and one counted-lease tag per shard and the mergeable statistics.
/// </summary>
[GenerateSerializer, Alias("dpiqa.JobRecord")]
public sealed class JobRecord
{
    [Id(0)] public JobSpec? Spec { get; set; }
    [Id(1)] public JobState State { get; set; }
    [Id(2)] public long Total { get; set; }
    [Id(3)] public bool ListingDone { get; set; }
    [Id(4)] public int ShardCount { get; set; }
    /// <summary>One bit per shard: completed.</summary>
    [Id(5)] public byte[] ShardDone { get; set; } = [];
    [Id(6)] public ScoreAggregate All { get; set; } = new();
    [Id(7)] public Dictionary<string, ScoreAggregate> ByFolder { get; set; } = new();
    [Id(8)] public string? Message { get; set; }
    [Id(9)] public DateTimeOffset SubmittedAt { get; set; }
    [Id(10)] public DateTimeOffset? StartedAt { get; set; }
    [Id(11)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(12)] public string? ModelVersion { get; set; }
    [Id(13)] public int ShardsDone { get; set; }
    [Id(14)] public Dictionary<string, int> ShardsBySilo { get; set; } = new();
    /// <summary>Keep/reject lists written (only when the spec has a curation rule).</summary>
    [Id(15)] public bool CurationWritten { get; set; }
    [Id(16)] public CurationResult? Curation { get; set; }
    /// <summary>
    /// Per shard, the tag (first 32 bits) of the lease token whose completion counted: its result file, named by that
    /// tag, is the one whose statistics are in the aggregates, so it is the only one readers use. 4 bytes per shard.
    /// </summary>
    [Id(17)] public uint[] CountedTags { get; set; } = [];
    /// <summary>Agreement with the job's labels, once computed (see <see cref="CurationWritten"/>: both are written after completion).</summary>
    [Id(18)] public EvaluationResult? Evaluation { get; set; }
    [Id(19)] public CascadeResult? Cascade { get; set; }
    /// <summary>Of All.Scored, the scores reused from the score cache.</summary>
    [Id(20)] public long Reused { get; set; }
    [Id(21)] public DriftReport? Drift { get; set; }
    [Id(22)] public CurationActionsResult? Actions { get; set; }
    [Id(23)] public DuplicatesResult? Duplicates { get; set; }
    /// <summary>The licence in the job's model's manifest when the job started.</summary>
    [Id(24)] public string? ModelLicence { get; set; }

    public bool IsDone(int shard) => shard / 8 < ShardDone.Length && (ShardDone[shard / 8] & (1 << (shard % 8))) != 0;

    /// <summary>The tag of the counted completion of a done shard.</summary>
    public uint CountedTag(int shard) => CountedTags[shard];

    public void MarkDone(int shard, uint countedTag)
    {
        EnsureCapacity(shard + 1);
        ShardDone[shard / 8] |= (byte)(1 << (shard % 8));
        CountedTags[shard] = countedTag;
    }

    public void EnsureCapacity(int shards)
    {
        int bytes = (shards + 7) / 8;
        if (ShardDone.Length < bytes)
        {
            var grown = ShardDone;
            Array.Resize(ref grown, Math.Max(bytes, ShardDone.Length * 2));
            ShardDone = grown;
        }
        if (CountedTags.Length < shards)
        {
            var grown = CountedTags;
            Array.Resize(ref grown, Math.Max(shards, CountedTags.Length * 2));
            CountedTags = grown;
        }
    }
}
