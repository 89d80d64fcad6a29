using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DpIqa.Testing;

/// <summary>Free ports on 127.0.0.1, and waiting for a started process to listen on one.</summary>
public static class LoopbackPorts
{
    /// <summary>A port nothing listens on right now (the OS's pick), so a test or bench never meets another cluster.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Returns once <paramref name="port"/> accepts a connection; throws at once if <paramref name="owner"/> exits first
    /// (with <paramref name="why"/>'s last words), and after <paramref name="timeout"/>, a guard against a hang only.
    /// </summary>
    public static async Task WaitUntilListening(int port, Process owner, TimeSpan timeout, Func<string?>? why = null)
    {
        for (var deadline = DateTime.UtcNow + timeout; ; await Task.Delay(100))
        {
            if (owner.HasExited) throw new InvalidOperationException($"process {owner.Id} exited with code {owner.ExitCode} before listening on port {port}: {why?.Invoke()}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline) { }
            catch (SocketException)
            {
                throw new TimeoutException($"nothing listened on port {port} within {timeout.TotalSeconds:F0} s");
            }
        }
    }
}
