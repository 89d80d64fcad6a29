using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace DpIqa.Telemetry;

/// <summary>
/// The one <see cref="Meter"/> of the cluster ("DpIqa") and every instrument on it; the silo's <c>/metrics</c> exports
/// them in Prometheus text (names as written here, counters with <c>_total</c> appended). The scorer, the batcher, the
/// scoring worker and the job grain call the small methods below; nothing else creates instruments.
/// The meter is process-wide, like the silo it measures: one silo per process in a deployment.
/// </summary>
internal static class DpIqaMetrics
{
    public const string MeterName = "DpIqa";

    private static readonly Meter Meter = new(MeterName);

    // Latencies span milliseconds (a small fetch) to minutes (a large batch on a slow CPU): the SDK's default buckets are
    // for milliseconds, so every latency histogram here gets these, in seconds.
    private static readonly IReadOnlyList<double> SecondsBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private static readonly Counter<long> ImagesScored = Meter.CreateCounter<long>("dpiqa_images_scored",
        description: "Images this silo finished, by model and status (ok: a score, error: an error record)");

    private static readonly Counter<long> ImageFailures = Meter.CreateCounter<long>("dpiqa_image_failures",
        description: "Images this silo ended as error records, by error kind");

    private static readonly Counter<long> FetchedBytes = Meter.CreateCounter<long>("dpiqa_fetched_bytes",
        description: "Bytes of images this silo read from storage");

    private static readonly Histogram<double> FetchSeconds = Seconds("dpiqa_fetch_seconds", "Time to read one image from storage");

    private static readonly Histogram<double> PreprocessSeconds = Seconds("dpiqa_preprocess_seconds",
        "Time to decode and resize one image (header check, decode, 512x512 resize)");

    private static readonly Histogram<double> InferenceSeconds = Seconds("dpiqa_inference_seconds",
        "Time of one batch's model run, by model");

    private static readonly Histogram<int> BatchSize = Meter.CreateHistogram<int>("dpiqa_batch_size", unit: null,
        description: "Images per model run, by model", tags: null,
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });

    private static readonly UpDownCounter<long> LeasesHeld = Meter.CreateUpDownCounter<long>("dpiqa_leases_held",
        description: "Shard leases this silo's scoring workers hold right now");

    private static readonly Counter<long> ShardsCompleted = Meter.CreateCounter<long>("dpiqa_shards_completed",
        description: "Shards this silo's workers scored, by outcome (counted: the job counted it; not_counted: another run counted first)");

    private static readonly Counter<long> ShardsReleased = Meter.CreateCounter<long>("dpiqa_shards_released",
        description: "Shards this silo's workers handed back unfinished, by reason (failed, draining)");

    private static readonly Counter<long> JobLeases = Meter.CreateCounter<long>("dpiqa_job_lease_events",
        description: "Lease events of the jobs hosted on this silo, by event (granted, released, expired, dead_silo)");

    /// <summary>Jobs whose grain is active on this silo, with a way to read their counts at scrape time.</summary>
    private static readonly ConcurrentDictionary<JobGauge, byte> Jobs = new();

    /// <summary>The batcher queues of the model sessions open on this silo.</summary>
    private static readonly ConcurrentDictionary<BatcherQueue, byte> Queues = new();

    static DpIqaMetrics()
    {
        Meter.CreateObservableGauge("dpiqa_batcher_queue_depth", () =>
            Queues.Keys.Select(q => new Measurement<int>(q.Depth(), new KeyValuePair<string, object?>("model", q.Model))),
            description: "Images waiting in the model's batcher queue, by model");
        Meter.CreateObservableGauge("dpiqa_job_shards", ObserveJobShards,
            description: "Shards of each job hosted on this silo, by job and state (pending: waiting for a lease, leased, done)");
        Meter.CreateObservableGauge("dpiqa_job_images", ObserveJobImages,
            description: "Images of each job hosted on this silo, by job and state (pending: listed and not yet scored, done: scored or failed)");
        Meter.CreateObservableGauge("dpiqa_jobs_active", () => Jobs.Keys.Count(j => j.Read().Running),
            description: "Running jobs whose grain is on this silo");
    }

    private static Histogram<double> Seconds(string name, string description) =>
        Meter.CreateHistogram<double>(name, unit: null, description: description, tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    public static void ImageDone(string model, string? errorKind)
    {
        ImagesScored.Add(1, Tag("model", model), Tag("status", errorKind is null ? "ok" : "error"));
        if (errorKind is not null) ImageFailures.Add(1, Tag("kind", errorKind));
    }

    public static void Fetched(long bytes, TimeSpan elapsed)
    {
        FetchedBytes.Add(bytes);
        FetchSeconds.Record(elapsed.TotalSeconds);
    }

    public static void Preprocessed(TimeSpan elapsed) => PreprocessSeconds.Record(elapsed.TotalSeconds);

    public static void BatchRun(string model, int images, TimeSpan elapsed)
    {
        BatchSize.Record(images, Tag("model", model));
        InferenceSeconds.Record(elapsed.TotalSeconds, Tag("model", model));
    }

    public static void LeaseTaken() => LeasesHeld.Add(1);

    public static void LeaseEnded() => LeasesHeld.Add(-1);

    public static void ShardScored(bool counted) => ShardsCompleted.Add(1, Tag("outcome", counted ? "counted" : "not_counted"));

    public static void ShardReleased(string reason) => ShardsReleased.Add(1, Tag("reason", reason));

    /// <summary>A lease event of a job hosted here: granted, released, expired or dead_silo.</summary>
    public static void JobLeaseEvent(string leaseEvent, int count = 1)
    {
        if (count > 0) JobLeases.Add(count, Tag("event", leaseEvent));
    }

    /// <summary>Counts of one job, read when /metrics is scraped.</summary>
    public readonly record struct JobReading(bool Running, int PendingShards, int LeasedShards, int DoneShards, long PendingItems, long DoneItems);

    /// <summary>Reports a job's counts until the returned handle is disposed (the job grain deactivates).</summary>
    public static IDisposable TrackJob(string jobId, Func<JobReading> read)
    {
        var gauge = new JobGauge(jobId, read);
        Jobs[gauge] = 0;
        return gauge;
    }

    /// <summary>Reports a batcher queue's depth until the returned handle is disposed (the model session closes).</summary>
    public static IDisposable TrackBatcherQueue(string model, Func<int> depth)
    {
        var queue = new BatcherQueue(model, depth);
        Queues[queue] = 0;
        return queue;
    }

    private static IEnumerable<Measurement<long>> ObserveJobShards()
    {
        foreach (var job in Jobs.Keys)
        {
            var r = job.Read();
            yield return new Measurement<long>(r.PendingShards, Tag("job", job.JobId), Tag("state", "pending"));
            yield return new Measurement<long>(r.LeasedShards, Tag("job", job.JobId), Tag("state", "leased"));
            yield return new Measurement<long>(r.DoneShards, Tag("job", job.JobId), Tag("state", "done"));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveJobImages()
    {
        foreach (var job in Jobs.Keys)
        {
            var r = job.Read();
            yield return new Measurement<long>(r.PendingItems, Tag("job", job.JobId), Tag("state", "pending"));
            yield return new Measurement<long>(r.DoneItems, Tag("job", job.JobId), Tag("state", "done"));
        }
    }

    private sealed class JobGauge(string jobId, Func<JobReading> read) : IDisposable
    {
        public string JobId { get; } = jobId;
        public JobReading Read() => read();
        public void Dispose() => Jobs.TryRemove(this, out _);
    }

    private sealed class BatcherQueue(string model, Func<int> depth) : IDisposable
    {
        public string Model { get; } = model;
        public int Depth() => depth();
        public void Dispose() => Queues.TryRemove(this, out _);
    }
}
