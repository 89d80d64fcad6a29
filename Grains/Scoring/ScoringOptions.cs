namespace DpIqa.Scoring;

/// <summary>Configuration section <c>Scoring</c>: whether and how this silo scores images.</summary>
public sealed class ScoringOptions
{
    public const string Section = "Scoring";

    /// <summary>Run scoring workers on this silo. Set false on CPU-only silos that should only coordinate.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Shards this silo works on at once (their images share the inference batches).</summary>
    public int ConcurrentShards { get; set; } = 2;

    /// <summary>Images decoded at once on this silo; 0 means one per core.</summary>
    public int DecodeThreads { get; set; }

    /// <summary>Images of one shard in flight (fetched, decoded or waiting for the model) at once.</summary>
    public int ImagesInFlight { get; set; } = 16;

    /// <summary>How often an idle worker asks for work, in milliseconds.</summary>
    public int PollIntervalMs { get; set; } = 200;

    /// <summary>
    /// On stop (SIGTERM), how long shards in flight may go on to finish before they are handed back to the job.
    /// Kubernetes' terminationGracePeriodSeconds must be longer (the silo also needs a few seconds to leave the cluster).
    /// </summary>
    public int DrainSeconds { get; set; } = 25;
}
