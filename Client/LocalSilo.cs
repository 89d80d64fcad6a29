using System.Net;
using System.Net.Sockets;
using DpIqa.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DpIqa.Client;

/// <summary>
/// The embedded default: one in-process silo on loopback (free ports, in-memory job state) running the same
/// job grain, shards and scoring workers a cluster runs.
/// </summary>
internal sealed class LocalSilo : IAsyncDisposable
{
    private readonly IHost _host;

    private LocalSilo(IHost host) => _host = host;

    public IGrainFactory Grains => _host.Services.GetRequiredService<IGrainFactory>();

    public T Services<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    /// <param name="jobStateInBlob">Keep job state in Azure Blob grain storage (Storage:ConnectionString), as a cluster
    /// does, instead of in memory: for benchmarks of the coordinator on real storage.</param>
    public static async Task<LocalSilo> Start(IEnumerable<KeyValuePair<string, string?>> settings, bool verbose, bool jobStateInBlob = false)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddEnvironmentVariables().AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        if (!verbose) builder.Logging.AddFilter("Orleans", LogLevel.Error).AddFilter("Microsoft", LogLevel.Error);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // keep stdout for results
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), serviceId: "dpiqa-local", clusterId: $"local-{Environment.ProcessId}");
            if (jobStateInBlob)
                SiloSetup.AddJobStorage(silo, builder.Configuration.GetSection(Storage.StorageOptions.Section).Get<Storage.StorageOptions>() ?? new());
            else
                silo.AddMemoryGrainStorage(SiloSetup.JobStorage);
            silo.UseInMemoryReminderService();
            silo.AddDpIqa(builder.Configuration);
            silo.AcceptAnyLocalPath(); // the user's own machine: any local path, Storage:LocalRoots is for cluster silos
        });
        var host = builder.Build();
        await host.StartAsync();
        return new LocalSilo(host);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(10));
        _host.Dispose();
    }
}
