using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace DpIqa.Hosting;

/// <summary>
/// Logs which cluster a silo joins (ClusterId, ServiceId), on which endpoints and with which membership, when it
/// starts and once it is active: two clusters that share storage and a ClusterId merge, and these lines are how
/// an operator sees it.
/// </summary>
internal sealed partial class SiloStartLog(
    ILocalSiloDetails silo,
    IOptions<ClusterOptions> cluster,
    IServiceProvider services,
    ILogger<SiloStartLog> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(SiloStartLog), ServiceLifecycleStage.First, _ =>
        {
            // The membership table's type says where membership lives (Azure Table, or in-process for development).
            var membership = services.GetService<IMembershipTable>()?.GetType().Name ?? "none";
            Log.Starting(logger, silo.SiloAddress.ToString(), cluster.Value.ClusterId, cluster.Value.ServiceId,
                silo.SiloAddress.Endpoint.ToString(), silo.GatewayAddress?.Endpoint.ToString() ?? "none", membership);
            return Task.CompletedTask;
        });
        lifecycle.Subscribe(nameof(SiloStartLog), ServiceLifecycleStage.Active, _ =>
        {
            Log.Active(logger, silo.SiloAddress.ToString(), cluster.Value.ClusterId, cluster.Value.ServiceId);
            return Task.CompletedTask;
        });
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} starting: cluster id {ClusterId}, service id {ServiceId}, silo endpoint {SiloEndpoint}, gateway endpoint {GatewayEndpoint}, membership {Membership}")]
        public static partial void Starting(ILogger logger, string silo, string clusterId, string serviceId, string siloEndpoint, string gatewayEndpoint, string membership);

        [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} active in cluster id {ClusterId}, service id {ServiceId}")]
        public static partial void Active(ILogger logger, string silo, string clusterId, string serviceId);
    }
}
