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
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>(); // Ctrl+C is the command's
        builder.Configuration.AddSources(settings); // dpiqa.json too, as every command reads it
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        // The host's own "failed to start" is the exception Cli.Run prints as one line (with the trace under -v).
        if (!verbose) builder.Logging.AddFilter("Orleans", LogLevel.Error).AddFilter("Microsoft", LogLevel.Error).AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // keep stdout for results
        builder.UseOrleans(silo => silo.UseDpIqaLocal(builder.Configuration, jobStateInBlob));
        var host = builder.Build();
        await host.StartAsync();
        return new LocalSilo(host);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            _host.Dispose(); // even when stopping failed or timed out
        }
    }
}
