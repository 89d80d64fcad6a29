using System.Diagnostics;
using System.Text;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Storage;
using DpIqa.Testing;

namespace DpIqa.Bench;

/// <summary>
/// The coordinator alone: a large job through the real job grain (streaming listing, item lists, leases,
/// completions, mergeable aggregation) with a NULL scorer: workers lease a shard, read its item list and complete it
/// with made-up scores, with no download, decode or inference.
/// <see cref="Storage.Local"/>: job state in memory, a listing file and the item lists on the local disk.
/// <see cref="Storage.AzuriteListingFile"/>: job state in Azure Blob grain storage, a listing file and the item lists in
/// blob storage, in a real Azurite on loopback. <see cref="Storage.AzuriteBlobs"/>: the same, but the source is a
/// container of N real (empty) blobs listed page by page, kept in a persistent Azurite under .cache so a second run
/// reuses them. Reports items/s, where the time goes, the job grain's state size and the process's peak memory.
/// </summary>
internal static class CoordinatorBench
{
    public enum Storage { Local, AzuriteListingFile, AzuriteBlobs }

    private const string SourceContainer = "images";

    public static async Task Run(string root, Storage storage, int items = 1_000_000, int shardSize = 1000, int folders = 100, int workers = 4, int? itemListWrites = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "dpiqa-coordinator-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var listingBytes = storage == Storage.AzuriteBlobs ? [] : Listing(items, folders);

        AzuriteServer? azurite = null;
        var settings = new List<KeyValuePair<string, string?>> { new("Scoring:Enabled", "false") };
        if (itemListWrites is { } inFlight) settings.Add(new("Jobs:ItemListWritesInFlight", inFlight.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        string source, output;
        var run = Guid.NewGuid().ToString("N")[..8];
        if (storage != Storage.Local)
        {
            var exe = ClusterProcesses.AzuriteExecutable(root) ?? throw new InvalidOperationException("Azurite is not installed (.cache/azurite): run the cluster tests once, or npm install azurite there");
            // The blobs source is kept on disk between runs: creating 200,000 blobs in Azurite takes minutes.
            string? location = storage == Storage.AzuriteBlobs ? Path.Combine(root, ".cache", "bench-azurite") : null;
            if (location is not null) Directory.CreateDirectory(location);
            azurite = await ClusterProcesses.StartAzurite(exe, location);
            settings.Add(new("Storage:ConnectionString", azurite.ConnectionString));
            source = storage == Storage.AzuriteBlobs ? Locations.Blob(SourceContainer) : Locations.ListingScheme + Locations.Blob($"bench-{run}/listing.txt");
            output = Locations.Blob($"bench-{run}/out");
        }
        else
        {
            await File.WriteAllBytesAsync(Path.Combine(dir, "listing.txt"), listingBytes);
            source = Locations.ListingScheme + Path.Combine(dir, "listing.txt");
            output = Path.Combine(dir, "out");
        }
        try
        {
            await using var silo = await LocalSilo.Start(settings, verbose: false, jobStateInBlob: storage != Storage.Local);
            var store = silo.Services<ObjectStore>();
            var phases = new StringBuilder();
            if (azurite is not null)
            {
                var blobs = new BlobServiceClient(azurite.ConnectionString);
                await WhenAzuriteAnswers(blobs);
                if (storage == Storage.AzuriteBlobs) phases.Append(await EnsureSourceBlobs(blobs.GetBlobContainerClient(SourceContainer), items, folders));
                else
                {
                    await blobs.GetBlobContainerClient($"bench-{run}").CreateIfNotExistsAsync();
                    await store.WriteWhole(Locations.Blob($"bench-{run}/listing.txt"), listingBytes);
                }
            }
            phases.Append(await TimeListing(store, source, items));
            var job = silo.Grains.GetGrain<IJobGrain>("coordinator-" + run);
            // CPU time of this process (silo + null workers) and of Azurite during the job: on a loaded machine the wall
            // time follows the CPU each side needs, so this says whose work to cut.
            var cpuBefore = (Ours: Process.GetCurrentProcess().TotalProcessorTime, Azurite: AzuriteCpu(azurite));
            var sw = Stopwatch.StartNew();
            await job.Start(new JobSpec { Sources = [source], Model = "proxy-sharpness", Output = output, ShardSize = shardSize });
            var listed = WhenListed(job, sw);
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => NullWorker(job, store, $"null-{w}")));
            var status = await job.GetStatus();
            var seconds = sw.Elapsed.TotalSeconds;
            var cpu = (Ours: (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore.Ours).TotalSeconds, Azurite: (AzuriteCpu(azurite) - cpuBefore.Azurite).TotalSeconds);
            if (status.State != JobState.Completed || status.Done != items) throw new InvalidOperationException($"job ended {status.State} with {status.Done} of {items}");
            var summary = await job.GetSummary();
            var what = storage switch
            {
                Storage.Local => "local: in-memory state, listing file and item lists on disk",
                Storage.AzuriteListingFile => "Azurite: blob grain state, a listing file in blob, item lists in blob",
                _ => $"Azurite: blob grain state, {items:N0} blobs listed, item lists in blob",
            };
            var writes = itemListWrites is { } w ? $", {w} item-list writes in flight" : "";
            Console.WriteLine($"# coordinator ({what}): {items:N0} items, shard size {shardSize}, {folders} folders, {workers} null workers{writes}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
            Console.WriteLine($"items/s (listing + item lists + leases + completions + aggregation): {items / seconds:N0}  ({seconds:F1} s)");
            Console.Write(phases);
            Console.WriteLine($"  the job's listing and item-list writes ended after {await listed:F1} s of the {seconds:F1} s");
            Console.WriteLine($"  CPU during the job: this process (silo + null workers) {cpu.Ours:F1} s" + (azurite is null ? "" : $", Azurite {cpu.Azurite:F1} s"));
            Console.WriteLine($"job grain state: {status.StateBytes:N0} bytes for {status.Shards:N0} shards and {summary.ByFolder.Count} folders");
            Console.WriteLine($"peak working set of the process (silo + workers): {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
            Console.WriteLine();
            if (azurite is not null) await new BlobServiceClient(azurite.ConnectionString).DeleteBlobContainerAsync($"bench-{run}");
        }
        finally
        {
            azurite?.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Item-list writes alone, against a fresh in-memory Azurite: <paramref name="shards"/> item lists of 1,000 blob items
    /// each (as the Azurite job writes them), written through <see cref="ObjectStore.WriteWhole"/> with 16, 32 and 64
    /// writes in flight, in the current encoding and gzipped, to show what caps the job's listing: requests or bytes.
    /// </summary>
    public static async Task Writes(string root, int shards = 1000)
    {
        var exe = ClusterProcesses.AzuriteExecutable(root) ?? throw new InvalidOperationException("Azurite is not installed (.cache/azurite): run the cluster tests once, or npm install azurite there");
        using var azurite = await ClusterProcesses.StartAzurite(exe);
        var blobs = new BlobServiceClient(azurite.ConnectionString);
        await WhenAzuriteAnswers(blobs);
        await using var silo = await LocalSilo.Start([new("Scoring:Enabled", "false"), new("Storage:ConnectionString", azurite.ConnectionString)], verbose: false);
        var store = silo.Services<ObjectStore>();
        var items = Enumerable.Range(0, 1000).Select(i => new SourceItem(Locations.Blob($"images/f{i % 100:D2}/img-{i:D8}.jpg"), $"f{i % 100:D2}/img-{i:D8}.jpg")).ToList();
        var gzipped = ItemList.Encode(items); // as the job writes them
        var plain = Gunzip(gzipped); // as they were written before
        Console.WriteLine($"# item-list writes alone: {shards:N0} lists of 1,000 items, Azurite in memory, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine("encoding        bytes/list  in flight  lists/s  seconds");
        int round = 0;
        foreach (var (name, content) in new[] { ("json lines", plain), ("gzip", gzipped) })
            foreach (var inFlight in new[] { 16, 32, 64 })
            {
                var container = $"writes-{round++}";
                await blobs.GetBlobContainerClient(container).CreateIfNotExistsAsync();
                var sw = Stopwatch.StartNew();
                await Parallel.ForEachAsync(Enumerable.Range(0, shards), new ParallelOptions { MaxDegreeOfParallelism = inFlight },
                    async (shard, ct) => await store.WriteWhole(Locations.Blob($"{container}/items/shard-{shard:D6}.jsonl"), content, ct));
                Console.WriteLine($"{name,-14}  {content.Length,10:N0}  {inFlight,9}  {shards / sw.Elapsed.TotalSeconds,7:N0}  {sw.Elapsed.TotalSeconds,7:F1}");
                await blobs.DeleteBlobContainerAsync(container);
            }
        Console.WriteLine();
    }

    private static byte[] Gunzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(new MemoryStream(content), System.IO.Compression.CompressionMode.Decompress)) gzip.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Azurite's CPU time so far (Node.js, child processes not counted); zero without Azurite.</summary>
    private static TimeSpan AzuriteCpu(AzuriteServer? azurite)
    {
        if (azurite is null) return TimeSpan.Zero;
        azurite.Process.Refresh();
        return azurite.Process.TotalProcessorTime;
    }

    private static byte[] Listing(int items, int folders)
    {
        var listing = new StringBuilder();
        for (int i = 0; i < items; i++) listing.Append($"/f{i % folders:D2}/img-{i:D8}.jpg\n");
        return Encoding.UTF8.GetBytes(listing.ToString());
    }

    /// <summary>On a loaded machine Azurite may take a while to answer after its ports open.</summary>
    private static async Task WhenAzuriteAnswers(BlobServiceClient blobs)
    {
        for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(1000))
        {
            try
            {
                await blobs.GetPropertiesAsync();
                return;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && e is not OperationCanceledException)
            {
            }
        }
    }

    /// <summary>
    /// N empty blobs in 100 folders (the null scorer never reads them), created 64 at a time. A marker blob written
    /// last says the container is complete, so a later run reuses it.
    /// </summary>
    private static async Task<string> EnsureSourceBlobs(BlobContainerClient container, int items, int folders)
    {
        var marker = container.GetBlobClient($"complete-{items}-{folders}.txt"); // .txt: not an image, never listed as one
        await container.CreateIfNotExistsAsync();
        if (await marker.ExistsAsync()) return $"  source: {items:N0} blobs reused from .cache/bench-azurite\n";
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, items), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await container.GetBlobClient($"f{i % folders:D2}/img-{i:D8}.jpg").UploadAsync(BinaryData.Empty, overwrite: true, ct));
        await marker.UploadAsync(BinaryData.FromString("complete"), overwrite: true);
        return $"  source: {items:N0} blobs created in {sw.Elapsed.TotalSeconds:F0} s (64 at a time)\n";
    }

    /// <summary>The listing alone, as the job grain reads it (no item lists, no grain).</summary>
    private static async Task<string> TimeListing(ObjectStore store, string source, int items)
    {
        var sw = Stopwatch.StartNew();
        long n = 0;
        await foreach (var _ in store.List([source])) n++;
        if (n != items) throw new InvalidOperationException($"the source lists {n} items, not {items}");
        return $"  listing alone (no item lists): {sw.Elapsed.TotalSeconds:F1} s, {n / sw.Elapsed.TotalSeconds:N0} items/s\n";
    }

    /// <summary>Seconds from the start until the job says its listing (and so every item-list write) is done.</summary>
    private static async Task<double> WhenListed(IJobGrain job, Stopwatch sw)
    {
        while (!(await job.GetStatus()).ListingDone) await Task.Delay(100);
        return sw.Elapsed.TotalSeconds;
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
            var items = ItemList.Decode(await store.Read(lease.ItemList));
            var results = items.Select(i => new Results.ImageResult { Path = i.Path, Score = (float)rng.NextDouble(), Status = "ok" }).ToList();
            await job.Complete(lease.Shard, lease.Token, Scoring.ShardScorer.Aggregate(results, lease.ResultFile, "1"));
        }
    }
}
