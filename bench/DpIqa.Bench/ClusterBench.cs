using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Storage;
using SkiaSharp;

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
        var azurite = new[] { Path.Combine(root, ".cache", "azurite", "node_modules", ".bin", "azurite"), "/opt/azurite/node_modules/.bin/azurite" }.FirstOrDefault(File.Exists);
        var siloDll = Path.Combine(root, "Silo", "bin", "Release", "net10.0", "DpIqa.Silo.dll");
        if (azurite is null || !File.Exists(siloDll))
        {
            Console.WriteLine("# cluster: SKIPPED (needs Azurite in .cache/azurite and `dotnet build -c Release`)");
            return;
        }
        var folder = MakeImages(root, count);
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

        var processes = new List<Process>();
        try
        {
            int blob = FreePort(), table = FreePort(), queue = FreePort();
            processes.Add(Start(azurite, ["--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--blobHost", "127.0.0.1", "--blobPort", $"{blob}",
                "--tableHost", "127.0.0.1", "--tablePort", $"{table}", "--queueHost", "127.0.0.1", "--queuePort", $"{queue}"], []));
            var connection = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
                             $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;";
            await Task.Delay(3000);
            var container = new BlobServiceClient(connection).GetBlobContainerClient("bench");
            await container.CreateIfNotExistsAsync();
            await Parallel.ForEachAsync(Directory.GetFiles(folder), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (f, ct) =>
                await container.UploadBlobAsync("images/" + Path.GetFileName(f), BinaryData.FromBytes(await File.ReadAllBytesAsync(f, ct)), ct));
            for (int i = 0; i < 2; i++)
                processes.Add(Start("dotnet", [siloDll], new()
                {
                    ["Storage__ConnectionString"] = connection, ["Cluster__SiloPort"] = $"{FreePort()}", ["Cluster__GatewayPort"] = $"{FreePort()}",
                    ["Logging__LogLevel__Default"] = "Warning",
                }));
            var settings = new Dictionary<string, string?> { ["Storage:ConnectionString"] = connection };
            ClusterConnection? client = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(90); client is null; await Task.Delay(500))
            {
                try { client = await ClusterConnection.Open(settings); }
                catch (InvalidOperationException) when (DateTime.UtcNow < deadline) { }
            }
            await using var _ = client;
            await Task.Delay(3000); // let both silos join before the job starts
            var job = client.Client.GetGrain<IJobGrain>("cluster-" + Guid.NewGuid().ToString("N")[..6]);
            var status = await job.Start(new JobSpec { Sources = [Locations.Blob("bench/images")], Model = "proxy-sharpness", Output = Locations.Blob("bench/out"), ShardSize = 64 });
            while (!status.IsFinished) { await Task.Delay(500); status = await job.GetStatus(); }
            Console.WriteLine($"local dpiqa score (1 process, local folder):        {local,8:F1} images/s");
            Console.WriteLine($"cluster job (Azurite + 2 silo processes, blobs):    {status.ImagesPerSecond,8:F1} images/s   (cluster/local {status.ImagesPerSecond / local:F2}; {status.Done} images, shards by silo: {string.Join(", ", status.ShardsBySilo.Values)})");
            Console.WriteLine();
        }
        finally
        {
            foreach (var p in processes) { try { p.Kill(true); } catch (InvalidOperationException) { } }
        }
    }

    private static Process Start(string file, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Crops decoded once per photo; deterministic; cached in .cache/cluster-bench-images.</summary>
    private static string MakeImages(string root, int count)
    {
        var dir = Path.Combine(root, ".cache", "cluster-bench-images");
        if (Directory.Exists(dir) && Directory.GetFiles(dir).Length == count) return dir;
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        var photos = Directory.GetFiles(Path.Combine(root, "samples", "photos"), "*.jpg").Order().ToArray();
        var rng = new Random(5);
        int perPhoto = (count + photos.Length - 1) / photos.Length, n = 0;
        foreach (var photo in photos)
        {
            using var full = SKBitmap.Decode(photo);
            using var bitmap = full.Resize(new SKImageInfo(full.Width / 2, full.Height / 2), new SKSamplingOptions(SKFilterMode.Linear));
            for (int i = 0; i < perPhoto && n < count; i++, n++)
            {
                int side = rng.Next(400, 801);
                int w = Math.Min(side, bitmap.Width), h = Math.Min(side * 3 / 4, bitmap.Height);
                int x = rng.Next(bitmap.Width - w + 1), y = rng.Next(bitmap.Height - h + 1);
                using var crop = new SKBitmap();
                bitmap.ExtractSubset(crop, new SKRectI(x, y, x + w, y + h));
                using var copy = crop.Copy();
                using var data = copy.Encode(SKEncodedImageFormat.Jpeg, 85);
                File.WriteAllBytes(Path.Combine(dir, $"img-{n:D5}.jpg"), data.ToArray());
            }
        }
        return dir;
    }
}
