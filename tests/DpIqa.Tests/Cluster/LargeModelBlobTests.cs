using DpIqa.Models;
using DpIqa.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A model with a big external-data file in the blob catalog (Azurite): the upload and the silo's download stream it
/// (the managed heap grows by far less than the file); a download cut mid-file leaves no file under the model's name
/// and the next load resumes it by range, fetching only the rest; a partial file whose bytes are wrong is caught by
/// the sha256 check, deleted, and the load after that downloads from the start.
/// </summary>
[Collection(HeapMeasurementCollection.Name)]
public sealed class LargeModelBlobTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly string _container = "large-" + Guid.NewGuid().ToString("N")[..8];

    private string Source => $"blob:{_container}/catalog";

    private int BlobPort => new Uri(azurite.ConnectionString.Split(';').Single(p => p.StartsWith("BlobEndpoint=", StringComparison.Ordinal))["BlobEndpoint=".Length..]).Port;

    private ModelCatalog SiloCatalog(string cache, string? connectionString = null, ILogger<ModelCatalog>? logger = null) => new(
        Options.Create(new ModelOptions { Source = Source, CachePath = cache, Path = Path.Combine(_dir.Path, "no-local-models") }),
        Options.Create(new StorageOptions { ConnectionString = connectionString ?? azurite.ConnectionString }),
        logger);

    [SkippableFact]
    public void An_upload_and_a_download_stream_the_data_file()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var export = Path.Combine(_dir.Path, "exports", "big");
        long size = LargeModels.Write(export, "big", 10, 1024); // 40 MiB of weights
        var uploader = SiloCatalog(Path.Combine(_dir.Path, "uploader-cache"));
        uploader.ImportToCluster(new ModelImport(LargeModels.WarmUp(_dir.Path)));
        SiloCatalog(Path.Combine(_dir.Path, "warm-up-cache")).Resolve("warm-up").Verify(); // the SDK and ONNX Runtime allocate once

        long before = GC.GetTotalAllocatedBytes(precise: true);
        uploader.ImportToCluster(new ModelImport(export));
        long uploading = GC.GetTotalAllocatedBytes(precise: true) - before;

        var cache = Path.Combine(_dir.Path, "silo-cache");
        before = GC.GetTotalAllocatedBytes(precise: true);
        SiloCatalog(cache).Resolve("big").Verify();
        long downloading = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"{size / 1048576.0:F1} MiB data file: upload allocated {uploading / 1048576.0:F2} MiB, download {downloading / 1048576.0:F2} MiB on the managed heap");
        Assert.True(uploading < size / 2, $"uploading allocated {uploading} bytes for a {size}-byte file");
        Assert.True(downloading < size / 8, $"downloading allocated {downloading} bytes for a {size}-byte file");
        Assert.Equal(Hashes.Sha256OfFile(Path.Combine(export, "big.onnx.data")), Hashes.Sha256OfFile(Path.Combine(cache, "big", "big.onnx.data")));
    }

    [SkippableFact]
    public void A_download_cut_mid_file_leaves_no_model_file_and_the_next_load_resumes_it()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var export = Path.Combine(_dir.Path, "exports", "big");
        long size = LargeModels.Write(export, "big", 8, 1024); // 32 MiB of weights
        SiloCatalog(Path.Combine(_dir.Path, "uploader-cache")).ImportToCluster(new ModelImport(export));

        // The silo's storage connection breaks after 12 MiB and stays down for longer than the SDK's own retries.
        using var relay = new TcpCutter(BlobPort, budget: 12L << 20);
        var relayed = azurite.ConnectionString.Replace($"127.0.0.1:{BlobPort}", $"127.0.0.1:{relay.Port}", StringComparison.Ordinal);
        var cache = Path.Combine(_dir.Path, "silo-cache");
        var folder = Path.Combine(cache, "big");
        var logs = new LogRecorder();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var silo = SiloCatalog(cache, relayed, factory.CreateLogger<ModelCatalog>());

        var cut = Assert.Throws<InvalidOperationException>(() => silo.Resolve("big").Verify());
        output.WriteLine(cut.Message);
        Assert.Contains("broke off at", cut.Message);
        Assert.Contains("the next load resumes it", cut.Message);
        Assert.False(File.Exists(Path.Combine(folder, "big.onnx.data"))); // nothing under the model's name
        var part = Assert.Single(Directory.GetFiles(folder, "big.onnx.data.*" + ModelFiles.PartSuffix));
        long kept = new FileInfo(part).Length;
        Assert.InRange(kept, 1, size - 1);

        relay.Heal();
        long relayedBefore = relay.FromServer;
        silo.Resolve("big").Verify();
        long fetchedAfter = relay.FromServer - relayedBefore;
        output.WriteLine($"cut after {kept} of {size} bytes; the resumed load fetched {fetchedAfter} bytes through the relay");
        Assert.Contains(logs.Lines, l => l.Contains($"resuming the download of big.onnx.data at {kept} of {size} bytes", StringComparison.Ordinal));
        Assert.True(fetchedAfter < size - kept / 2, $"the resumed load fetched {fetchedAfter} bytes: it started over");
        Assert.Equal(Hashes.Sha256OfFile(Path.Combine(export, "big.onnx.data")), Hashes.Sha256OfFile(Path.Combine(folder, "big.onnx.data")));
        Assert.Empty(Directory.GetFiles(folder, "*" + ModelFiles.PartSuffix));
    }

    [SkippableFact]
    public void A_partial_file_with_wrong_bytes_is_refused_deleted_and_the_next_load_starts_over()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var export = Path.Combine(_dir.Path, "exports", "big");
        LargeModels.Write(export, "big", 4, 512);
        var manifest = SiloCatalog(Path.Combine(_dir.Path, "uploader-cache")).ImportToCluster(new ModelImport(export));
        var sha = manifest.ExternalData!["big.onnx.data"];

        // A partial left by a crash whose bytes went wrong (a disk error, a hand edit): resuming it cannot give the manifest's hash.
        var folder = Directory.CreateDirectory(Path.Combine(_dir.Path, "silo-cache", "big")).FullName;
        var part = Path.Combine(folder, $"big.onnx.data.{sha[..16]}{ModelFiles.PartSuffix}");
        File.WriteAllBytes(part, Enumerable.Repeat((byte)7, 100_000).ToArray());

        var logs = new LogRecorder();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var silo = SiloCatalog(Path.Combine(_dir.Path, "silo-cache"), logger: factory.CreateLogger<ModelCatalog>());
        var e = Assert.Throws<InvalidOperationException>(() => silo.Resolve("big").Verify());
        output.WriteLine(e.Message);
        Assert.Contains("refusing to load it", e.Message);
        Assert.Contains(logs.Lines, l => l.Contains("resuming the download of big.onnx.data at 100000", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(folder, "big.onnx.data")));
        Assert.False(File.Exists(part));

        silo.Resolve("big").Verify();
        Assert.Equal(sha, Hashes.Sha256OfFile(Path.Combine(folder, "big.onnx.data")));
    }

    public void Dispose() => _dir.Dispose();
}
