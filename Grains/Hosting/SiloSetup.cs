using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Scoring;
using DpIqa.Security;
using DpIqa.Storage;
using System.Net;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace DpIqa.Hosting;

/// <summary>The one place where a silo's DP-IQA capabilities are wired up, from configuration.</summary>
public static class SiloSetup
{
    /// <summary>Name of the grain storage holding job and catalog state.</summary>
    public const string JobStorage = "jobs";

    /// <summary>Blob container of the job state (when Storage is configured).</summary>
    public const string JobStorageContainer = "dpiqa-grain-state";

    /// <summary>
    /// Adds model catalog, inference, imaging limits, job options, the start-up log of the cluster's ids and
    /// endpoints and (when <c>Scoring:Enabled</c>) the scoring workers. Clustering and grain storage named <c>jobs</c> are the host's choice.
    /// </summary>
    public static ISiloBuilder AddDpIqa(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        NativeHeap.LimitArenas(); // before the decoders and ONNX Runtime allocate: see NativeHeap (memory flat with job size)
        // Bound once and checked when the host starts: a bad value is one line naming its key (SettingsValidation).
        SettingsValidation.Add<ImageLimits>(services, configuration, ImageLimits.Section, SettingsValidation.Imaging);
        SettingsValidation.AddModels(services, configuration);
        SettingsValidation.Add<InferenceOptions>(services, configuration, InferenceOptions.Section, SettingsValidation.Inference);
        SettingsValidation.Add<JobOptions>(services, configuration, JobOptions.Section, SettingsValidation.Jobs);
        SettingsValidation.Add<ScoringOptions>(services, configuration, ScoringOptions.Section, SettingsValidation.Scoring);
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        // A silo is confined to Storage:LocalRoots unless its host says it is the embedded one (AcceptAnyLocalPath).
        services.TryAddSingleton(sp => LocalPaths.Under(sp.GetRequiredService<IOptions<StorageOptions>>().Value.LocalRoots));
        services.AddSingleton<ObjectStore>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<InferenceService>();
        services.AddSingleton<ShardScorer>();
        services.AddSingleton<ScoreCache.ScoreCacheStore>();
        services.TryAddSingleton(new Schedules.ScheduleClock(TimeProvider.System)); // tests put a fake clock first
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SiloStartLog>();
        if (configuration.GetSection(ScoringOptions.Section).GetValue(nameof(ScoringOptions.Enabled), true))
        {
            services.AddHostedService<ScoringWorker>();
            // The host must wait for the drain (ScoringWorker.StopAsync) and then for the silo to leave the cluster.
            int drain = configuration.GetSection(ScoringOptions.Section).GetValue(nameof(ScoringOptions.DrainSeconds), new ScoringOptions().DrainSeconds);
            services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(o.ShutdownTimeout.TotalSeconds, drain + 30)));
        }
        return silo;
    }

    /// <summary>
    /// For the embedded silo of <c>dpiqa score</c> only: jobs may read and write any local path, as the user who
    /// runs it can. Cluster silos never call this; they are confined to <c>Storage:LocalRoots</c>.
    /// </summary>
    public static ISiloBuilder AcceptAnyLocalPath(this ISiloBuilder silo)
    {
        silo.Services.AddSingleton(LocalPaths.Any);
        return silo;
    }

    /// <summary>
    /// Clustering and job state from configuration. With <c>Storage:ConnectionString</c> (or service URIs and
    /// DefaultAzureCredential): Azure Table membership and Azure Blob grain storage, endpoints from <c>Cluster:*</c>.
    /// Without: one silo on loopback with in-memory state (development).
    /// </summary>
    public static ISiloBuilder UseDpIqaCluster(this ISiloBuilder silo, IConfiguration configuration)
    {
        var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var cluster = configuration.GetSection(DpIqaClusterOptions.Section).Get<DpIqaClusterOptions>() ?? new DpIqaClusterOptions();
        // Mutual TLS, client tokens and container scopes (Tls:*, Security:*): each configured or turned off explicitly.
        silo.UseClusterSecurity(configuration);
        if (!storage.Configured)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            silo.AddMemoryGrainStorage(JobStorage);
            silo.UseInMemoryReminderService();
            return silo;
        }
        silo.Configure<ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
        var advertised = string.IsNullOrWhiteSpace(cluster.AdvertisedIP) ? IPAddress.Loopback : IPAddress.Parse(cluster.AdvertisedIP);
        silo.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        if (cluster.GatewayListeningPort is { } listening)
            silo.Configure<EndpointOptions>(o => o.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, listening));
        silo.UseAzureStorageClustering(o => o.TableServiceClient = TableClient(storage));
        AddJobStorage(silo, storage);
        silo.UseAzureTableReminderService(o => o.TableServiceClient = TableClient(storage)); // schedules' ticks survive restarts
        UseDistributedGrainDirectory(silo);
        return silo;
    }

    /// <summary>
    /// The grain directory of cluster silos. The default one keeps each entry only on the silo owning its hash range:
    /// when that silo leaves (drained or killed) Orleans deactivates the grains registered there, so a job grain living
    /// on another silo was re-created and forgot its in-memory leases (docs/cluster.md, "Graceful drain"). The distributed
    /// directory hands ranges over on membership changes and rebuilds a crashed silo's ranges from the live silos'
    /// activations, so the job grain keeps its activation. Every silo of a cluster must use the same directory.
    /// </summary>
    public static ISiloBuilder UseDistributedGrainDirectory(ISiloBuilder silo)
    {
        // ORLEANSEXP003: Orleans marks this directory experimental (opt-in since Orleans 9). Taken on purpose: the
        // default directory loses job grains' activations whenever a silo leaves, which the lease table cannot survive.
#pragma warning disable ORLEANSEXP003
        return silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
    }

    /// <summary>
    /// The local mode: the embedded silo of <c>dpiqa score</c>, alone on loopback (free ports, a cluster id of its own
    /// process), in-memory reminders, job state in memory (or, with <paramref name="jobStateInBlob"/>, in Azure Blob
    /// as a cluster keeps it: the coordinator bench), the DP-IQA capabilities of <see cref="AddDpIqa"/>, and any local path.
    /// </summary>
    public static ISiloBuilder UseDpIqaLocal(this ISiloBuilder silo, IConfiguration configuration, bool jobStateInBlob = false)
    {
        silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), serviceId: "dpiqa-local", clusterId: $"local-{Environment.ProcessId}");
        if (jobStateInBlob)
            AddJobStorage(silo, configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions());
        else
            silo.AddMemoryGrainStorage(JobStorage);
        silo.UseInMemoryReminderService();
        silo.AddDpIqa(configuration);
        return silo.AcceptAnyLocalPath(); // the user's own machine: any local path, Storage:LocalRoots is for cluster silos
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Job state in Azure Blob storage (no per-entity size limit, unlike tables: aggregates carry histograms).</summary>
    public static ISiloBuilder AddJobStorage(ISiloBuilder silo, StorageOptions storage) =>
        silo.AddAzureBlobGrainStorage(JobStorage, o =>
        {
            o.BlobServiceClient = ObjectStore.BlobService(storage) ?? throw new ArgumentException("set Storage:ConnectionString or Storage:BlobServiceUri for the job state");
            o.ContainerName = JobStorageContainer;
        });

    internal static TableServiceClient TableClient(StorageOptions storage) =>
        string.IsNullOrWhiteSpace(storage.ConnectionString)
            ? new TableServiceClient(new Uri(storage.TableServiceUri ?? throw new ArgumentException("set Storage:TableServiceUri (or Storage:ConnectionString)")), new DefaultAzureCredential())
            : new TableServiceClient(storage.ConnectionString);
}
