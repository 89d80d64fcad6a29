using Azure.Storage.Blobs;
using DpIqa.Hosting;
using DpIqa.Inference;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using SkiaSharp;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// The model catalog in blob storage (Azurite): <c>dpiqa models import --to-cluster</c> uploads an export folder, a
/// silo with no local copy downloads the model on first use and scores a job with it, a blob that does not match
/// the manifest's sha256 is refused, and each silo keeps its own cache, which a restarted silo uses again.
/// </summary>
public sealed class BlobModelCatalogTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IAsyncDisposable
{
    private readonly TempFolder _dir = new();
    private readonly string _container = "models-" + Guid.NewGuid().ToString("N")[..8];
    private TestCluster? _cluster;

    private string Source => $"blob:{_container}/catalog";

    /// <summary>An export folder as tools/export/export.py writes it (OUT/NAME/NAME.onnx), holding <paramref name="onnx"/>.</summary>
    private string ExportFolder(string name, byte[] onnx)
    {
        var folder = _dir.Sub(Path.Combine("exports", name, name + ".onnx"));
        File.WriteAllBytes(folder, onnx);
        return Path.GetDirectoryName(folder)!;
    }

    /// <summary>A catalog as a silo holds it: the blob catalog, its own cache folder, and no local models.</summary>
    private ModelCatalog SiloCatalog(string cache, ILogger<ModelCatalog>? logger = null) => new(
        Options.Create(new ModelOptions { Source = Source, CachePath = cache, Path = Path.Combine(_dir.Path, "no-local-models") }),
        Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }),
        logger);

    private BlobContainerClient Container => new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(_container);

    /// <summary>Runs the built dpiqa with the storage account in its environment, as a user on the cluster's account would.</summary>
    private async Task<(int Code, string Out, string[] Err)> Dpiqa(params string[] args)
    {
        var (code, stdout, err) = await global::DpIqa.Tests.Cli.DpiqaProcess.Run(_dir.Path, args,
            new Dictionary<string, string> { ["Storage__ConnectionString"] = azurite.ConnectionString });
        output.WriteLine($"dpiqa {string.Join(' ', args)} -> {code}\n{stdout}{string.Join('\n', err)}");
        return (code, stdout, err);
    }

    private static byte[] Jpeg(int seed)
    {
        using var photo = SKBitmap.Decode(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"));
        using var small = photo.Resize(new SKImageInfo(40 + seed, 30 + seed % 7), new SKSamplingOptions(SKFilterMode.Linear));
        using var data = small.Encode(SKEncodedImageFormat.Jpeg, 60 + seed);
        return data.ToArray();
    }

    private static async Task<JobStatus> WaitForEnd(IJobGrain job)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5); // a guard against a hang, not a timing check
        while (true)
        {
            var status = await job.GetStatus();
            if (status.IsFinished) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job did not end: {status}");
            await Task.Delay(100);
        }
    }

    private async Task<List<ImageResult>> Results(IJobGrain job)
    {
        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        var rows = new List<ImageResult>();
        foreach (var file in await job.GetResultFiles()) rows.AddRange(await ResultFiles.Decode(await store.Read(file), ResultFormat.Jsonl));
        return rows.OrderBy(r => r.Path, StringComparer.Ordinal).ToList();
    }

    [SkippableFact]
    public async Task A_model_imported_to_the_cluster_scores_a_job_on_a_silo_that_had_no_local_copy()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        // The proxy's graph under another name: the job's scores must then equal the built-in proxy's.
        var bytes = ProxyModel.Build();
        var import = await Dpiqa("models", "import", ExportFolder("cluster-proxy", bytes), "--to-cluster", "--source", Source, "--score-range", "0,1");
        Assert.Equal(0, import.Code);
        Assert.Contains($"into {Source}/", import.Out);
        var list = await Dpiqa("models", "list", "--source", Source);
        Assert.Equal(0, list.Code);
        Assert.Contains("cluster-proxy  v1  scores 0..1, higher is better", list.Out);

        var data = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("data-" + Guid.NewGuid().ToString("N")[..8]);
        await data.CreateAsync();
        for (int i = 0; i < 12; i++) await data.UploadBlobAsync($"set/img-{i:D2}.jpg", BinaryData.FromBytes(Jpeg(i)));

        var cache = Path.Combine(_dir.Path, "silo-cache");
        var builder = new TestClusterBuilder(1);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = "models-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["Storage:ConnectionString"] = azurite.ConnectionString;
        builder.Properties["Models:Source"] = Source;
        builder.Properties["Models:CachePath"] = cache;
        builder.Properties["Models:Path"] = Path.Combine(_dir.Path, "no-local-models");
        builder.Properties["Scoring:PollIntervalMs"] = "100";
        builder.AddSiloBuilderConfigurator<AzuriteSiloConfig>();
        builder.AddClientBuilderConfigurator<AzuriteClientConfig>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();

        var rows = new Dictionary<string, List<ImageResult>>();
        foreach (var model in new[] { "cluster-proxy", ProxyModel.Name })
        {
            var job = _cluster.Client.GetGrain<IJobGrain>($"{model}-{Guid.NewGuid():N}"[..30]);
            await job.Start(new JobSpec
            {
                Sources = [Locations.Blob($"{data.Name}/set")],
                Model = model,
                Output = Locations.Blob($"{data.Name}/out-{model}"),
                Format = ResultFormat.Jsonl,
                ShardSize = 5,
            });
            var status = await WaitForEnd(job);
            Assert.Equal(JobState.Completed, status.State);
            Assert.Equal((12, 0), (status.Scored, status.Failed));
            rows[model] = await Results(job);
        }
        Assert.Equal(rows[ProxyModel.Name].Select(r => (r.Path, r.Score)), rows["cluster-proxy"].Select(r => (r.Path, r.Score)));
        Assert.All(rows["cluster-proxy"], r => Assert.Equal(Hashes.Sha256(bytes), r.ModelSha256));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(cache, "cluster-proxy", "cluster-proxy.onnx"))); // downloaded on first use
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "no-local-models")));
    }

    [SkippableFact]
    public void A_silo_refuses_a_model_whose_blob_does_not_match_the_manifest()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var upload = SiloCatalog(Path.Combine(_dir.Path, "uploader-cache"));
        upload.ImportToCluster(new ModelImport(ExportFolder("tampered", ProxyModel.Build())));
        var tampered = ProxyModel.Build().Append((byte)0).ToArray();
        Container.GetBlobClient("catalog/tampered/tampered.onnx").Upload(BinaryData.FromBytes(tampered), overwrite: true);

        var cache = Path.Combine(_dir.Path, "silo-cache");
        var inference = new InferenceService(SiloCatalog(cache), Options.Create(new InferenceOptions()), NullLogger<InferenceService>.Instance);
        var e = Assert.Throws<InvalidOperationException>(() => inference.Session("tampered"));
        output.WriteLine(e.Message);
        Assert.Contains($"sha256 of {Source}/tampered/tampered.onnx is {Hashes.Sha256(tampered)}", e.Message);
        Assert.Contains("refusing to load it", e.Message);
        Assert.False(File.Exists(Path.Combine(cache, "tampered", "tampered.onnx"))); // nothing tampered stays in the cache
        Assert.Empty(Directory.GetFiles(Path.Combine(cache, "tampered"), "*.part"));
    }

    [SkippableFact]
    public void Each_silo_fetches_its_own_copy_and_a_restarted_silo_uses_its_cache_again()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var bytes = ProxyModel.Build();
        var manifest = SiloCatalog(Path.Combine(_dir.Path, "uploader-cache")).ImportToCluster(new ModelImport(ExportFolder("shared", bytes)) { ScoreRange = [0, 1] });
        Assert.Equal((0.0, 1.0), manifest.DeclaredRange());

        var (cacheA, cacheB) = (Path.Combine(_dir.Path, "silo-a"), Path.Combine(_dir.Path, "silo-b"));
        Assert.Equal(bytes, SiloCatalog(cacheA).Resolve("shared").Load());
        Assert.Equal(bytes, SiloCatalog(cacheB).Resolve("shared").Load());
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(cacheB, "shared", "shared.onnx")));

        // The model's file leaves blob storage: only a silo's own cache can still serve it.
        Container.GetBlobClient("catalog/shared/shared.onnx").DeleteIfExists();
        var logs = new LogRecorder();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var restartedA = SiloCatalog(cacheA, factory.CreateLogger<ModelCatalog>());
        Assert.Equal(bytes, restartedA.Resolve("shared").Load());
        Assert.Contains(logs.Lines, l => l.Contains("Model shared found in the cache", StringComparison.Ordinal) && l.Contains("nothing downloaded", StringComparison.Ordinal));

        var e = Assert.Throws<InvalidOperationException>(() => SiloCatalog(Path.Combine(_dir.Path, "silo-c")).Resolve("shared").Load());
        Assert.Contains($"{Source}/shared/shared.onnx is missing from the catalog", e.Message);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
        _dir.Dispose();
    }
}
