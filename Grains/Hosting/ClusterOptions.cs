namespace DpIqa.Hosting;

/// <summary>Configuration section <c>Cluster</c>: how a silo joins a cluster and how clients find it.</summary>
public sealed class DpIqaClusterOptions
{
    public const string Section = "Cluster";

    /// <summary>Orleans cluster id (silos with the same id and storage form one cluster).</summary>
    public string ClusterId { get; set; } = "dpiqa";

    /// <summary>Orleans service id (stable across deployments: keys the grain state).</summary>
    public string ServiceId { get; set; } = "dpiqa";

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The port the gateway listens on when it differs from <see cref="GatewayPort"/>, the one clients are told (a port
    /// mapping or a proxy in between). Null: the same.
    /// </summary>
    public int? GatewayListeningPort { get; set; }

    /// <summary>Address other silos reach this one at (Kubernetes: the pod IP). Empty: loopback for localhost clustering, else the host's address.</summary>
    public string? AdvertisedIP { get; set; }

    /// <summary>Clients without storage configured connect to these gateways (host:port, comma separated).</summary>
    public string Gateways { get; set; } = "127.0.0.1:30000";
}
