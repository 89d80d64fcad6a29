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

    /// <summary>Starts <paramref name="siloDll"/> with <paramref name="env"/>; the ports are chosen here and override any in it.</summary>
    public static SiloHost Start(string siloDll, IReadOnlyDictionary<string, string> env, bool http, Action<string>? line = null)
    {
        int siloPort = LoopbackPorts.Free(), gatewayPort = LoopbackPorts.Free(), httpPort = http ? LoopbackPorts.Free() : 0;
        var all = new Dictionary<string, string>(env)
        {
            ["Cluster__SiloPort"] = $"{siloPort}",
            ["Cluster__GatewayPort"] = $"{gatewayPort}",
            ["Http__Port"] = $"{httpPort}", // 0: no HTTP port (several silos per machine)
        };
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
