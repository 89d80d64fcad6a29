using System.Diagnostics;

namespace DpIqa.Testing;

/// <summary>
/// One DpIqa.Silo process on free loopback ports (silo, gateway and, when asked, HTTP), with the settings given as
/// environment variables (<c>Section__Key</c>). Tests and benches add their own defaults on top.
/// </summary>
public sealed class SiloHost : IDisposable
{
    private SiloHost(Process process, int siloPort, int gatewayPort, int httpPort)
    {
        Process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        HttpPort = httpPort;
    }

    public Process Process { get; }
    public int SiloPort { get; }
    public int GatewayPort { get; }
    /// <summary>The HTTP port (metrics, health, API); 0 when started without one.</summary>
    public int HttpPort { get; }

    /// <summary>The silo executable of a build: <c>ROOT/Silo/bin/CONFIG/net10.0/DpIqa.Silo.dll</c>.</summary>
    public static string Dll(string repositoryRoot, string configuration) =>
        Path.Combine(repositoryRoot, "Silo", "bin", configuration, "net10.0", "DpIqa.Silo.dll");

    /// <summary>
    /// Starts <paramref name="siloDll"/> with <paramref name="env"/>. Its silo, gateway and HTTP ports are free ones chosen
    /// here unless <paramref name="env"/> sets them (<c>Cluster__SiloPort</c>, <c>Cluster__GatewayPort</c>,
    /// <c>Http__Port</c>): a test that puts a relay in front of the gateway chooses its own.
    /// </summary>
    public static SiloHost Start(string siloDll, IReadOnlyDictionary<string, string> env, bool http, Action<string>? line = null)
    {
        var all = new Dictionary<string, string>(env);
        int Port(string key, Func<int> choose)
        {
            if (!all.TryGetValue(key, out var given)) all[key] = given = $"{choose()}";
            return int.TryParse(given, System.Globalization.CultureInfo.InvariantCulture, out var port) ? port : 0; // a test of a bad value
        }
        int siloPort = Port("Cluster__SiloPort", LoopbackPorts.Free);
        int gatewayPort = Port("Cluster__GatewayPort", LoopbackPorts.Free);
        int httpPort = Port("Http__Port", () => http ? LoopbackPorts.Free() : 0); // 0: no HTTP port (several silos per machine)
        return new SiloHost(ChildProcess.Start("dotnet", [siloDll], all, line), siloPort, gatewayPort, httpPort);
    }

    /// <summary>Whether this process hosts a grain whose silo address is <paramref name="address"/> (e.g. a job status's coordinator).</summary>
    public bool Hosts(string? address) => address?.Contains($":{SiloPort}:", StringComparison.Ordinal) == true;

    public void Dispose()
    {
        ChildProcess.Stop(Process);
        Process.Dispose();
    }
}
