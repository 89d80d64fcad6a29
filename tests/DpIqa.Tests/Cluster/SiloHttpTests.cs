using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Storage;
using SkiaSharp;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// What an operator sees of real silo processes (Azurite for storage): /metrics and /scaling follow a job from
/// waiting (no scoring silo yet) to done; /healthz/ready says 503 until the silo joins; the dashboard answers when
/// enabled and only then.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class SiloHttpTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private readonly List<IDisposable> _others = [];
    private readonly string _clusterId = "http-" + Guid.NewGuid().ToString("N")[..8];

    private SiloProcess StartSilo(Dictionary<string, string>? settings = null, string? connectionString = null)
    {
        var silo = SiloProcess.Start(connectionString ?? azurite.ConnectionString, _clusterId, settings);
        _silos.Add(silo);
        return silo;
    }

    private static byte[] SmallJpeg(int i)
    {
        using var photo = SKBitmap.Decode(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"));
        using var small = photo.Resize(new SKImageInfo(40 + i % 7, 30), new SKSamplingOptions(SKFilterMode.Linear));
        using var data = small.Encode(SKEncodedImageFormat.Jpeg, 85);
        return data.ToArray();
    }

    private Task<ClusterConnection> Connect() => SiloProcess.Connect(azurite.ConnectionString, _clusterId);

    private static async Task WaitReady(SiloProcess silo)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(120); ; await Task.Delay(300))
        {
            if (await silo.Get("/healthz/ready") is { Status: HttpStatusCode.OK }) return;
            Assert.False(silo.Process.HasExited, $"the silo process exited while starting: {silo.Describe()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the silo did not become ready in 2 minutes");
        }
    }

    /// <summary>Polls until <paramref name="done"/> holds (the scaling reading is cached for up to 2 s).</summary>
    private static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{what}: still {value}");
            await Task.Delay(300);
        }
    }

    [SkippableFact]
    public async Task Metrics_and_scaling_follow_a_job_from_waiting_to_done()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("http-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var images = Enumerable.Range(0, 150).Select(i => ($"in/{"ab"[i % 2]}/img-{i:D3}.jpg", SmallJpeg(i))).ToList();
        images.Add(("in/broken/text.jpg", "not an image"u8.ToArray()));
        images.Add(("in/broken/empty.png", []));
        await Parallel.ForEachAsync(images, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (image, ct) => await container.UploadBlobAsync(image.Item1, BinaryData.FromBytes(image.Item2), ct));

        // A coordinator only (no scoring silo yet): the job waits, and /scaling says how much.
        var coordinator = StartSilo(new() { ["Scoring__Enabled"] = "false", ["Dashboard__Enabled"] = "true" });
        await using var connection = await Connect();
        await WaitReady(coordinator);
        var jobId = "http-job-" + Guid.NewGuid().ToString("N")[..6];
        var job = connection.Client.GetGrain<IJobGrain>(jobId);
        await job.Start(new JobSpec { Sources = [Locations.Blob($"{container.Name}/in")], Model = "proxy-sharpness", Output = Locations.Blob($"{container.Name}/out"), ShardSize = 10 });
        var status = await Until(job.GetStatus, s => s.ListingDone, "listing");
        Assert.Equal(images.Count, status.Total);
        Assert.Equal(16, status.Shards);

        var waiting = await Until(() => coordinator.GetJson("/scaling"), j => j.GetProperty("pendingShards").GetInt64() == status.Shards, "/scaling while no silo scores");
        output.WriteLine($"/scaling while the job waits: {waiting}");
        Assert.Equal(1, waiting.GetProperty("activeJobs").GetInt32());
        Assert.Equal(0, waiting.GetProperty("leasedShards").GetInt64());
        Assert.Equal(images.Count, waiting.GetProperty("pendingItems").GetInt64());
        Assert.Equal(0, waiting.GetProperty("scoringSilos").GetInt32());

        // The job grain's silo reports the job's counts.
        var during = await coordinator.Scrape();
        Assert.Equal(status.Shards, during.Sum("dpiqa_job_shards", ("job", jobId), ("state", "pending")));
        Assert.Equal(0, during.Sum("dpiqa_job_shards", ("job", jobId), ("state", "done")));
        Assert.Equal(images.Count, during.Sum("dpiqa_job_images", ("job", jobId), ("state", "pending")));
        Assert.Equal(1, during.Sum("dpiqa_jobs_active"));
        Assert.Contains(during, s => s.Name.StartsWith("orleans_", StringComparison.Ordinal)); // Orleans' own meter

        // A scoring silo joins (as KEDA would start one) and does the job.
        var scorer = StartSilo();
        status = await Until(job.GetStatus, s => s.IsFinished, "the job");
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(images.Count, status.Scored + status.Failed);
        Assert.Equal(2, status.Failed);

        // The scorer's counters equal the job's totals (one scoring silo, no lease expired: each image scored once).
        var scored = await scorer.Scrape();
        Assert.Equal(status.Scored, scored.Sum("dpiqa_images_scored_total", ("model", "proxy-sharpness"), ("status", "ok")));
        Assert.Equal(status.Failed, scored.Sum("dpiqa_images_scored_total", ("model", "proxy-sharpness"), ("status", "error")));
        Assert.Equal(status.Failed, scored.Sum("dpiqa_image_failures_total"));
        Assert.Equal(status.Shards, scored.Sum("dpiqa_shards_completed_total", ("outcome", "counted")));
        Assert.Equal(images.Sum(i => (long)i.Item2.Length), scored.Sum("dpiqa_fetched_bytes_total"));
        Assert.Equal(images.Count, scored.Sum("dpiqa_fetch_seconds_count"));
        Assert.Equal(status.Scored, scored.Sum("dpiqa_batch_size_sum", ("model", "proxy-sharpness")));
        Assert.Equal(0, scored.Sum("dpiqa_leases_held"));

        // The job grain's silo: pending falls to zero, done equals the totals.
        var after = await coordinator.Scrape();
        Assert.Equal(0, after.Sum("dpiqa_job_shards", ("job", jobId), ("state", "pending")));
        Assert.Equal(0, after.Sum("dpiqa_job_shards", ("job", jobId), ("state", "leased")));
        Assert.Equal(0, after.Sum("dpiqa_job_images", ("job", jobId), ("state", "pending")));
        Assert.Equal(status.Shards, after.Sum("dpiqa_job_shards", ("job", jobId), ("state", "done")));
        Assert.Equal(images.Count, after.Sum("dpiqa_job_images", ("job", jobId), ("state", "done")));
        Assert.Equal(0, after.Sum("dpiqa_jobs_active"));
        Assert.Equal(0, after.Sum("dpiqa_job_lease_events_total", ("event", "expired")));

        var done = await Until(() => coordinator.GetJson("/scaling"), j => j.GetProperty("activeJobs").GetInt32() == 0, "/scaling after the job");
        output.WriteLine($"/scaling after the job: {done}");
        Assert.Equal(0, done.GetProperty("pendingShards").GetInt64());
        Assert.Equal(0, done.GetProperty("leasedShards").GetInt64());
        Assert.Equal(0, done.GetProperty("pendingItems").GetInt64());
        Assert.Equal(1, done.GetProperty("scoringSilos").GetInt32());

        // The dashboard is served where enabled (the coordinator) and nowhere else.
        var page = await coordinator.Get("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page?.Status);
        Assert.Contains("<html", page!.Value.Body, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.NotFound, (await scorer.Get("/dashboard/"))?.Status);
    }

    [SkippableFact]
    public async Task Ready_is_503_with_a_reason_until_the_silo_joins_then_200()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        // Membership storage behind a gate: until it opens, the silo cannot join the cluster.
        var table = new Uri(azurite.ConnectionString.Split(';').Single(p => p.StartsWith("TableEndpoint=", StringComparison.Ordinal))["TableEndpoint=".Length..]);
        var gate = new TcpGate(table.Port);
        _others.Add(gate);
        var gated = azurite.ConnectionString.Replace($"127.0.0.1:{table.Port}", $"127.0.0.1:{gate.Port}", StringComparison.Ordinal);
        var silo = StartSilo(connectionString: gated);

        var live = await Until(() => silo.Get("/healthz/live"), a => a is not null, "/healthz/live");
        Assert.Equal(HttpStatusCode.OK, live!.Value.Status);
        var notReady = await silo.Get("/healthz/ready");
        output.WriteLine($"before joining: {notReady}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady?.Status);
        Assert.Contains("has not joined the cluster", notReady!.Value.Body);
        Assert.False(silo.Process.HasExited);

        gate.Open();
        await WaitReady(silo);
        var ready = await silo.Get("/healthz/ready");
        output.WriteLine($"after joining: {ready}");
        Assert.Equal("{\"status\":\"ready\"}", ready!.Value.Body);

        // A silo whose default model is not in its catalog is not ready either, and says why.
        var noModel = StartSilo(new() { ["Models__Default"] = "no-such-model" });
        var answer = await Until(() => noModel.Get("/healthz/ready"), a => a?.Body.Contains("model catalog") == true, "ready without the default model");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer!.Value.Status);
        Assert.Contains("no-such-model", answer.Value.Body);
    }

    public void Dispose()
    {
        foreach (var silo in _silos) silo.Dispose();
        foreach (var other in _others) other.Dispose();
    }
}

/// <summary>
/// A TCP forwarder to a local port that holds every connection unanswered until <see cref="Open"/>: the storage behind
/// it is unreachable, then reachable (held connections are reset on opening, so their clients retry through it).
/// </summary>
internal sealed class TcpGate : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private bool _open;

    public int Port { get; }

    public TcpGate(int target)
    {
        _target = target;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Accept();
    }

    public void Open()
    {
        lock (_held)
        {
            _open = true;
            // The held connections go through now, as if the storage had only been slow: resetting them made a loaded
            // silo's start fail once (its membership request failed rather than retried), which is not what this test is about.
            foreach (var c in _held) _ = Forward(c);
            _held.Clear();
        }
    }

    private async Task Accept()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            lock (_held)
            {
                if (!_open) { _held.Add(client); continue; }
            }
            _ = Forward(client);
        }
    }

    private async Task Forward(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                var a = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
                var b = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                await Task.WhenAny(a, b);
            }
            catch (Exception)
            {
                // A connection that breaks is the client's to retry.
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_held) foreach (var c in _held) c.Dispose();
    }
}
