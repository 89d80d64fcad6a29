using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Storage;
using DpIqa.Testing;

namespace DpIqa.Bench;

/// <summary>
/// A real job through Azurite on 2 silo processes (the Silo executable, Azure Table membership, Blob job state)
/// against the local <c>dpiqa score</c> on the same images in the same run. Images: 5,000 JPEG crops of the
/// shipped photos (400-800 px). Needs Azurite in .cache/azurite or /opt/azurite (see .ci/run) and a Release build.
/// </summary>
internal static class ClusterBench
{
    public static async Task Run(string root, int count = 5000)
    {
        var azurite = ClusterProcesses.AzuriteExecutable(root);
        if (azurite is null || !File.Exists(ClusterProcesses.SiloDll(root)))
        {
            Console.WriteLine("# cluster: SKIPPED (needs Azurite in .cache/azurite and `dotnet build -c Release`)");
            return;
        }
        var folder = ClusterProcesses.MakeCrops(root, Path.Combine(root, ".cache", "cluster-bench-images"), count, 400, 800, varied: false);
        Console.WriteLine($"# cluster: {count} JPEGs (400-800 px crops of the shipped photos), model proxy-sharpness, {Environment.ProcessorCount} cores");

        // Local: one process, local folder.
        double local;
        await using (var silo = await LocalSilo.Start([], verbose: false))
        {
            var job = silo.Grains.GetGrain<IJobGrain>("local-" + Guid.NewGuid().ToString("N")[..6]);
            var status = await job.Start(new JobSpec { Sources = [folder], Model = "proxy-sharpness", Output = Path.Combine(Path.GetTempPath(), "dpiqa-cb-local"), ShardSize = 64 });
            while (!status.IsFinished) { await Task.Delay(200); status = await job.GetStatus(); }
            local = status.ImagesPerSecond;
        }

        using var storage = await ClusterProcesses.StartAzurite(azurite);
        var container = new BlobServiceClient(storage.ConnectionString).GetBlobContainerClient("bench");
        await container.CreateIfNotExistsAsync();
        await Parallel.ForEachAsync(Directory.GetFiles(folder), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (f, ct) =>
            await container.UploadBlobAsync("images/" + Path.GetFileName(f), BinaryData.FromBytes(await File.ReadAllBytesAsync(f, ct)), ct));
        var env = new Dictionary<string, string> { ["Storage__ConnectionString"] = storage.ConnectionString, ["Logging__LogLevel__Default"] = "Warning" };
        using var silo1 = ClusterProcesses.StartSilo(root, env);
        using var silo2 = ClusterProcesses.StartSilo(root, env);
        await using var client = await ClusterProcesses.Connect([new("Storage:ConnectionString", storage.ConnectionString)], TimeSpan.FromSeconds(90));
        await Task.Delay(3000); // let both silos join before the job starts
        var clusterJob = client.Client.GetGrain<IJobGrain>("cluster-" + Guid.NewGuid().ToString("N")[..6]);
        var cluster = await clusterJob.Start(new JobSpec { Sources = [Locations.Blob("bench/images")], Model = "proxy-sharpness", Output = Locations.Blob("bench/out"), ShardSize = 64 });
        while (!cluster.IsFinished) { await Task.Delay(500); cluster = await clusterJob.GetStatus(); }
        Console.WriteLine($"local dpiqa score (1 process, local folder):        {local,8:F1} images/s");
        Console.WriteLine($"cluster job (Azurite + 2 silo processes, blobs):    {cluster.ImagesPerSecond,8:F1} images/s   (cluster/local {cluster.ImagesPerSecond / local:F2}; {cluster.Done} images, shards by silo: {string.Join(", ", cluster.ShardsBySilo.Values)})");
        Console.WriteLine();
    }
}
