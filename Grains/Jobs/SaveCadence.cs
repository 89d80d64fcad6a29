namespace DpIqa.Jobs;

/// <summary>
/// How often a running job's record is saved. Every save writes the whole record, so a record that keeps many exact
/// scores (up to <see cref="ScoreAggregate.ExactLimit"/> for the job and as many again over its folders, about 0.8 MB
/// at 100,000 images) would cost, saved every <c>Jobs:SaveIntervalMs</c>, work and short-lived buffers in proportion
/// to the job's size, which showed as memory growing with the job (docs/benchmarks.md, "Memory"). Periodic saves therefore write
/// at most <see cref="BytesPerInterval"/> per interval on average: a record up to that size is saved every interval,
/// a larger one proportionally less often (0.8 MB: about every 13 intervals). State transitions (submit, completion,
/// cancellation, failure) still save at once; what a crash loses is only completions since the last save, whose shards
/// are leased and scored again.
/// </summary>
internal static class SaveCadence
{
    /// <summary>Record bytes a periodic save may write per save interval, on average.</summary>
    public const int BytesPerInterval = 64 * 1024;

    /// <summary>How long after a periodic save of <paramref name="recordBytes"/> the next one waits, beyond the interval.</summary>
    public static TimeSpan PauseAfter(long recordBytes, TimeSpan interval) =>
        recordBytes <= BytesPerInterval ? TimeSpan.Zero : interval * ((double)recordBytes / BytesPerInterval - 1);
}
