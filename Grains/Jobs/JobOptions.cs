namespace DpIqa.Jobs;

/// <summary>Configuration section <c>Jobs</c>.</summary>
public sealed class JobOptions
{
    public const string Section = "Jobs";

    /// <summary>How long a shard lease lasts without renewal, in seconds. A dead worker's shard is redone after this.</summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>How often the job grain saves its state while scoring, in milliseconds (state transitions save at once).</summary>
    public int SaveIntervalMs { get; set; } = 1000;

    /// <summary>Largest shard size a job may ask for.</summary>
    public int MaxShardSize { get; set; } = 100_000;

    /// <summary>
    /// Item-list writes a listing job keeps in flight (committed in shard order whatever order they finish in). One at a
    /// time capped a job's listing on Azurite (docs/benchmarks.md, "Coordinator on Azurite", for 16/32/64).
    /// </summary>
    public int ItemListWritesInFlight { get; set; } = 16;
}
