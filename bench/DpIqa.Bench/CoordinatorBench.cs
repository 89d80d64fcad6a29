using System.Diagnostics;
using System.Text;
using DpIqa.Client;
using DpIqa.Storage;

namespace DpIqa.Bench;

/// <summary>
/// The coordinator alone: a 1,000,000-item job (a listing file of synthetic names) through the real job grain
/// (streaming listing, shard manifests, leases, completions, mergeable aggregation) with a NULL scorer: workers
/// lease a shard, read its manifest and complete it with made-up scores, with no download, decode or inference.
/// <c>local</c>: job state in memory, listing and manifests on the local disk. <c>azurite</c>: job state in Azure
/// Blob grain storage, the listing file and the manifests in blob storage, all in a real Azurite on loopback.
/// Reports items/s, the job grain's state size and the process's peak memory.
/// </summary>
internal static class CoordinatorBench
{
    public static async Task Run(string root, bool azurite, int items = 1_000_000, int shardSize = 1000, int folders = 100, int workers = 4)
    {
        var dir = Path.Combine(Path.GetTempPath(), "dpiqa-coordinator-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var listing = new StringBuilder();
        for (int i = 0; i < items; i++) listing.Append($"/f{i % folders:D2}/img-{i:D8}.jpg\n");
        var listingBytes = Encoding.UTF8.GetBytes(listing.ToString());

        AzuriteProcess? storage = null;
        var settings = new List<KeyValuePair<string, string?>> { new("Scoring:Enabled", "false") };
        string source, output;
        if (azurite)
        {
            var exe = ClusterProcesses.AzuriteExecutable(root) ?? throw new InvalidOperationException("Azurite is not installed (.cache/azurite): run the cluster tests once, or npm install azurite there");
            storage = await AzuriteProcess.Start(exe);
            settings.Add(new("Storage:ConnectionString", storage.ConnectionString));
            source = Locations.ListingScheme + Locations.Blob("bench/listing.txt");
            output = Locations.Blob("bench/out");
        }
        else
        {
            await File.WriteAllBytesAsync(Path.Combine(dir, "listing.txt"), listingBytes);
            source = Locations.ListingScheme + Path.Combine(dir, "listing.txt");
            output = Path.Combine(dir, "out");
        }
        try
        {
            await using var silo = await LocalSilo.Start(settings, verbose: false, jobStateInBlob: azurite);
            var store = silo.Services<ObjectStore>();
            if (azurite)
            {
                // On a loaded machine Azurite may take a while to answer after its ports open.
                for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(1000))
                {
                    try
                    {
                        await store.WriteWhole(Locations.Blob("bench/listing.txt"), listingBytes);
                        break;
                    }
                    catch (Exception e) when (DateTime.UtcNow < deadline && e is not OperationCanceledException)
                    {
                    }
                }
            }
            var job = silo.Grains.GetGrain<IJobGrain>("coordinator-" + Guid.NewGuid().ToString("N")[..8]);
            var sw = Stopwatch.StartNew();
            await job.Start(new JobSpec { Sources = [source], Model = "proxy-sharpness", Output = output, ShardSize = shardSize });
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => NullWorker(job, store, $"null-{w}")));
            var status = await job.GetStatus();
            var seconds = sw.Elapsed.TotalSeconds;
            if (status.State != JobState.Completed || status.Done != items) throw new InvalidOperationException($"job ended {status.State} with {status.Done} of {items}");
            var summary = await job.GetSummary();
            Console.WriteLine($"# coordinator ({(azurite ? "Azurite: blob grain state, blob listing file and manifests" : "local: in-memory state, listing and manifests on disk")}): " +
                              $"{items:N0} items, shard size {shardSize}, {folders} folders, {workers} null workers, {Environment.ProcessorCount} cores");
            Console.WriteLine($"items/s (listing + manifests + leases + completions + aggregation): {items / seconds:N0}  ({seconds:F1} s)");
            Console.WriteLine($"job grain state: {status.StateBytes:N0} bytes for {status.Shards:N0} shards and {summary.ByFolder.Count} folders");
            Console.WriteLine($"peak working set of the process (silo + workers): {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
            Console.WriteLine();
        }
        finally
        {
            storage?.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task NullWorker(IJobGrain job, ObjectStore store, string worker)
    {
        var rng = new Random(worker.GetHashCode());
        while (true)
        {
            var lease = await job.Lease(worker);
            if (lease is null)
            {
                var status = await job.GetStatus();
                if (status.IsFinished) return;
                await Task.Delay(5);
                continue;
            }
            var items = ShardManifest.Decode(await store.Read(lease.Manifest));
            var results = items.Select(i => new Results.ImageResult { Path = i.Path, Score = (float)rng.NextDouble(), Status = "ok" }).ToList();
            await job.Complete(lease.Shard, lease.Token, Scoring.ShardScorer.Aggregate(results, lease.ResultFile, "1"));
        }
    }
}
