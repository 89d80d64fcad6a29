using System.Diagnostics;
using Azure.Storage.Blobs;
using DpIqa.Storage;
using DpIqa.Testing;

namespace DpIqa.Bench;

/// <summary>
/// Incremental scoring (issue 9): one silo process on Azurite (the Azure Table score cache), a container of 10,000
/// JPEGs scored once, then 1% new images added and the container scored again; both runs timed in this one run, from
/// submit to completed. The goal is a second run costing at most 5% of the first.
/// </summary>
internal static class IncrementalBench
{
    public static async Task Run(string root, int count = 10_000, double newShare = 0.01)
    {
        var azurite = ClusterProcesses.AzuriteExecutable(root);
        if (azurite is null || !File.Exists(ClusterProcesses.SiloDll(root)))
        {
            Console.WriteLine("# incremental: SKIPPED (needs Azurite in .cache/azurite and `dotnet build -c Release`)");
            return;
        }
        int added = (int)Math.Round(count * newShare);
        var folder = ClusterProcesses.MakeCrops(root, Path.Combine(root, ".cache", "incremental-bench-images"), count + added, 256, 400, varied: false);
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
        Console.WriteLine($"# incremental: {count} JPEGs (256-400 px crops of the shipped photos), then {added} new; model proxy-sharpness, 1 silo process, Azurite, {Environment.ProcessorCount} cores");

        // On disk: 10,000 images would otherwise sit in Azurite's memory.
        var data = Path.Combine(Path.GetTempPath(), "dpiqa-incremental-bench-" + Guid.NewGuid().ToString("N")[..6]);
        using var storage = await ClusterProcesses.StartAzurite(azurite, data);
        try
        {
            var container = new BlobServiceClient(storage.ConnectionString).GetBlobContainerClient("bench");
            await container.CreateIfNotExistsAsync();
            await Upload(container, files[..count]);
            var env = new Dictionary<string, string> { ["Storage__ConnectionString"] = storage.ConnectionString, ["Logging__LogLevel__Default"] = "Warning" };
            using var silo = ClusterProcesses.StartSilo(root, env);
            await using var client = await ClusterProcesses.Connect([new("Storage:ConnectionString", storage.ConnectionString)], TimeSpan.FromSeconds(120));

            var (first, firstTime) = await Job(client.Client, "run1");
            await Upload(container, files[count..]);
            var (second, secondTime) = await Job(client.Client, "run2");
            Console.WriteLine($"first run:  {first.Total,6} images, {first.Scored - first.Reused,6} scored, {first.Reused,6} reused: {firstTime.TotalSeconds,7:F1} s");
            Console.WriteLine($"second run: {second.Total,6} images, {second.Scored - second.Reused,6} scored, {second.Reused,6} reused: {secondTime.TotalSeconds,7:F1} s");
            Console.WriteLine($"second/first: {secondTime / firstTime:P1} (goal <= 5%)");
            Console.WriteLine();
        }
        finally
        {
            storage.Dispose();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task Upload(BlobContainerClient container, string[] files) =>
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (f, ct) =>
            await container.UploadBlobAsync("images/" + Path.GetFileName(f), BinaryData.FromBytes(await File.ReadAllBytesAsync(f, ct)), ct));

    private static async Task<(JobStatus Status, TimeSpan Time)> Job(IClusterClient client, string name)
    {
        var job = client.GetGrain<IJobGrain>($"incremental-{name}-{Guid.NewGuid().ToString("N")[..6]}");
        var clock = Stopwatch.StartNew();
        var status = await job.Start(new JobSpec
        {
            Sources = [Locations.Blob("bench/images")], Model = "proxy-sharpness", Output = Locations.Blob($"bench/{name}"), ShardSize = 256, Incremental = true,
        });
        while (!status.IsFinished) { await Task.Delay(200); status = await job.GetStatus(); }
        return (status, clock.Elapsed);
    }
}
