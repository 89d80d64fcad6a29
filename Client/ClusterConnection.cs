using System.Net;
using DpIqa.Hosting;
using DpIqa.Security;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime.Messaging;

namespace DpIqa.Client;

/// <summary>
/// A client connection to a running cluster: gateways from Azure Table membership when <c>Storage:*</c> is
/// configured, else the static list in <c>Cluster:Gateways</c> (default 127.0.0.1:30000).
/// </summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterConnection> Open(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>(); // Ctrl+C is the command's
        builder.Configuration.AddSources(settings);
        builder.Logging.ClearProviders();
        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var cluster = builder.Configuration.GetSection(DpIqaClusterOptions.Section).Get<DpIqaClusterOptions>() ?? new DpIqaClusterOptions();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o => { o.ClusterId = cluster.ClusterId; o.ServiceId = cluster.ServiceId; });
            client.UseConnectionRetryFilter(RetryBriefly());
            client.UseClusterSecurity(builder.Configuration); // TLS certificate and token (Tls:*, Security:Token)
            if (storage.Configured)
                client.UseAzureStorageClustering(o => o.TableServiceClient = SiloSetup.TableClient(storage));
            else
                client.UseStaticClustering(cluster.Gateways.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(g => IPEndPoint.Parse(g)).ToArray());
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch (Exception e)
        {
            host.Dispose();
            var gateways = storage.Configured ? "gateways from Azure Table membership" : "gateways " + cluster.Gateways;
            var tls = builder.Configuration.GetSection(TlsSettings.Section).Get<TlsSettings>() ?? new TlsSettings();
            // A gateway that wants TLS closes a plain connection during the handshake, and one that refuses this
            // client's certificate does the same: neither says more, so the line says what to check.
            if (Handshake(e) is not null)
                throw new ClusterRefusedException(tls.On
                    ? $"cluster '{cluster.ClusterId}' refused this client's certificate, or the TLS handshake failed ({ExitCodes.OneLine(Handshake(e)!.Message)}); check that Tls:Certificate is issued by the cluster's CA, not expired, and that Tls:Ca is that CA"
                    : $"cluster '{cluster.ClusterId}' refused this client: its gateways require TLS; set Tls:Certificate, Tls:Key and Tls:Ca (a client certificate from the cluster's CA)", e);
            throw new ClusterUnreachableException($"cannot reach cluster '{cluster.ClusterId}' ({gateways}): {ExitCodes.OneLine(e.Message)}"
                // A TLS gateway closes a connection it refuses without a word: say which settings to check.
                + (tls.On
                    ? "; if the gateways are up, they may refuse this client's certificate: check that Tls:Certificate is issued by the cluster's CA and not expired, and that Tls:Ca is that CA"
                    : "; if the cluster uses TLS, set Tls:Certificate, Tls:Key and Tls:Ca (a client certificate from the cluster's CA)"), e);
        }
        return new ClusterConnection(host);
    }

    /// <summary>
    /// Orleans' default retries a refused connection 15 times with a growing delay (3 minutes in all); a user at a
    /// terminal should hear within seconds that no gateway answers. Three more attempts a second apart cover a silo
    /// that is just starting.
    /// </summary>
    private static Func<Exception, CancellationToken, Task<bool>> RetryBriefly()
    {
        int retries = 0;
        return async (exception, cancellationToken) =>
        {
            if (exception is not (ConnectionFailedException or OrleansMessageRejectionException or SiloUnavailableException)) return false;
            if (++retries > 3) return false;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        };
    }

    /// <summary>The TLS failure inside a failed connection, or null when it failed otherwise.</summary>
    private static Exception? Handshake(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is System.Security.Authentication.AuthenticationException) return inner;
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            _host.Dispose(); // even when stopping failed or timed out
        }
    }
}

/// <summary>The cluster's gateways refused this client at the TLS handshake (no certificate, or one of another CA).</summary>
internal sealed class ClusterRefusedException(string message, Exception inner) : InvalidOperationException(message, inner);

/// <summary>No gateway of the configured cluster answered (wrong ClusterId, storage or gateways, or no silo running).</summary>
internal sealed class ClusterUnreachableException(string message, Exception inner) : InvalidOperationException(message, inner);
