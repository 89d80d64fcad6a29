using System.Net;
using System.Net.Sockets;
using DpIqa.Hosting;
using DpIqa.Silo.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;

namespace DpIqa.Silo;

/// <summary>
/// The ports a silo listens on (<c>Cluster:SiloPort</c>, <c>Cluster:GatewayPort</c>, <c>Http:Port</c>), checked before
/// the host starts: a port another process holds stops the silo with one line naming the key and the port, instead of
/// Orleans' or Kestrel's bind failure with its stack trace (Orleans' also aborts the process).
/// </summary>
internal static class BusyPorts
{
    /// <summary>The one line for the configured ports another process holds now, or null when all are free.</summary>
    public static string? Check(IConfiguration configuration)
    {
        var busy = Ports(configuration).Where(p => !Free(p.Key, p.Port)).ToList();
        return busy.Count == 0 ? null : Line(busy);
    }

    /// <summary>
    /// The one line for a bind failure at start (a port taken between <see cref="Check"/> and the bind, or one held
    /// only on an address the check does not cover), or null when <paramref name="exception"/> is not one.
    /// </summary>
    public static string? Describe(Exception exception, IConfiguration configuration)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
                // The exception does not say which listener failed: name the ports still taken, or every configured one.
                return Check(configuration) ?? OneOf(Ports(configuration));
        }
        return null;
    }

    /// <summary>The configured ports the silo listens on: a port outside 1-65535 is left to the bind itself to report.</summary>
    private static List<(string Key, int Port)> Ports(IConfiguration configuration)
    {
        var cluster = configuration.GetSection(DpIqaClusterOptions.Section).Get<DpIqaClusterOptions>() ?? new DpIqaClusterOptions();
        var http = configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
        // Http:Port=0 opens no endpoint, so it is not checked.
        List<(string Key, int Port)> ports = [("Cluster:SiloPort", cluster.SiloPort), cluster.GatewayListeningPort is { } listening ? ("Cluster:GatewayListeningPort", listening) : ("Cluster:GatewayPort", cluster.GatewayPort), ("Http:Port", http.Port)];
        return ports.Where(p => p.Port is > 0 and <= IPEndPoint.MaxPort).ToList();
    }

    /// <summary>
    /// Whether a listener can bind the port where the silo's would: silo and gateway ports on all IPv4 addresses (on
    /// Linux that fails while another process listens on the port on any IPv4 address, loopback included), the HTTP
    /// port on all IPv4 and IPv6 addresses, as Kestrel's ListenAnyIP binds it.
    /// </summary>
    private static bool Free(string key, int port) =>
        key == "Http:Port" && Socket.OSSupportsIPv6 && Bindable(IPAddress.IPv6Any, port) is { } onBoth
            ? onBoth
            : Bindable(IPAddress.Any, port) ?? true; // another failure (a privileged port) is the real bind's to report

    /// <summary>True when a listener can bind <paramref name="address"/>:port (IPv6Any in dual mode), false when the
    /// port is in use, null when binding fails otherwise (IPv6 disabled by the host: Kestrel then listens on IPv4).</summary>
    private static bool? Bindable(IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            if (address.Equals(IPAddress.IPv6Any)) listener.Server.DualMode = true;
            listener.Start();
            return true;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.AddressAlreadyInUse ? false : null;
        }
    }

    private static string OneOf(List<(string Key, int Port)> ports) =>
        $"port in use: one of {Settings(ports)} is held by another process; " +
        $"stop that process or set {Variables(ports)} to free ports (Http__Port=0 turns the HTTP endpoint off)";

    /// <summary>"Cluster:SiloPort=11111, Http:Port=8080".</summary>
    private static string Settings(List<(string Key, int Port)> ports) => string.Join(", ", ports.Select(p => $"{p.Key}={p.Port}"));

    /// <summary>The environment variables of the keys (Cluster:SiloPort: Cluster__SiloPort), comma-separated.</summary>
    private static string Variables(List<(string Key, int Port)> ports) =>
        string.Join(", ", ports.Select(p => p.Key.Replace(":", "__", StringComparison.Ordinal)));

    private static string Line(List<(string Key, int Port)> busy)
    {
        var what = Settings(busy);
        var env = Variables(busy);
        var http = busy.Any(p => p.Key == "Http:Port") ? " (Http__Port=0 turns the HTTP endpoint off)" : "";
        return busy.Count == 1
            ? $"port in use: {what} is held by another process; stop that process or set {env} to a free port{http}"
            : $"ports in use: {what} are held by other processes; stop them or set {env} to free ports{http}";
    }
}
