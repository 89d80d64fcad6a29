using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DpIqa.Tests.Cluster;
using DpIqa.Testing;

namespace DpIqa.Tests.Cli;

/// <summary>
/// A silo process whose port another process holds (a second silo on one machine, a leftover process) stops before it
/// starts, with one stderr line naming the key, the port and what to do, exit 1; no stack trace on either stream.
/// </summary>
public sealed class BusyPortTests
{
    [SkippableTheory]
    [InlineData("Cluster__SiloPort", "Cluster:SiloPort")]
    [InlineData("Cluster__GatewayPort", "Cluster:GatewayPort")]
    [InlineData("Http__Port", "Http:Port")]
    public async Task A_silo_whose_port_is_held_exits_1_with_one_line_naming_the_key_and_the_port(string variable, string key)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (code, stdout, err) = await RunSilo(variable, port);

        Assert.Equal(1, code);
        var line = Assert.Single(err);
        Assert.Equal($"dpiqa silo: port in use: {key}={port} is held by another process; stop that process or set {variable} to a free port"
            + (key == "Http:Port" ? " (Http__Port=0 turns the HTTP endpoint off)" : ""), line);
        AssertNotStarted(stdout);
    }

    [SkippableFact]
    public async Task An_http_port_held_on_IPv6_only_is_found_too()
    {
        // Kestrel listens on all IPv4 and IPv6 addresses: a port held on ::1 alone stops it as well.
        Skip.IfNot(Socket.OSSupportsIPv6, "no IPv6 on this machine");
        using var holder = new TcpListener(IPAddress.IPv6Loopback, 0);
        try
        {
            holder.Start();
        }
        catch (SocketException e)
        {
            throw new SkipException($"cannot listen on ::1 here ({e.SocketErrorCode})");
        }
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var (code, stdout, err) = await RunSilo("Http__Port", port);

        Assert.Equal(1, code);
        Assert.StartsWith($"dpiqa silo: port in use: Http:Port={port} is held by another process", Assert.Single(err));
        AssertNotStarted(stdout);
    }

    /// <summary>A silo without storage (loopback, in-memory state) with free ports, except <paramref name="variable"/>.</summary>
    private static async Task<(int Code, string Out, string[] Err)> RunSilo(string variable, int port)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(SiloProcess.SiloDll());
        // A cluster silo must be given TLS, a signing key and scopes before anything else is checked (docs/security.md).
        foreach (var (name, setting) in TestPki.Shared.SiloEnvironment()) psi.Environment[name] = setting;
        psi.Environment["Cluster__SiloPort"] = $"{LoopbackPorts.Free()}";
        psi.Environment["Cluster__GatewayPort"] = $"{LoopbackPorts.Free()}";
        psi.Environment["Http__Port"] = $"{LoopbackPorts.Free()}";
        psi.Environment[variable] = $"{port}";
        using var p = Process.Start(psi)!;
        return await DpiqaProcess.Finish(p);
    }

    private static void AssertNotStarted(string stdout)
    {
        // Orleans' bind failure used to abort the process with an unhandled exception and the host's log of it.
        Assert.DoesNotContain("   at ", stdout);
        Assert.DoesNotContain("Unhandled exception", stdout);
        Assert.DoesNotContain("Started silo", stdout);
    }
}
