using System.Net;
using System.Net.Sockets;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A TCP forwarder to a local port that lets through at most <see cref="Budget"/> bytes from the server, then cuts
/// every connection (and refuses new ones) until <see cref="Heal"/>: a storage connection that breaks mid-file and
/// stays broken for longer than a client's own retries. Counts the bytes it forwarded from the server.
/// </summary>
internal sealed class TcpCutter : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private long _fromServer;
    private long _budget;
    private volatile bool _healed;

    public int Port { get; }

    /// <summary>Bytes from the server still allowed before the cut (ignored once healed).</summary>
    public long Budget => Interlocked.Read(ref _budget);

    /// <summary>Bytes forwarded from the server so far.</summary>
    public long FromServer => Interlocked.Read(ref _fromServer);

    public TcpCutter(int target, long budget)
    {
        _target = target;
        _budget = budget;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Accept();
    }

    /// <summary>Lets everything through from now on.</summary>
    public void Heal() => _healed = true;

    private async Task Accept()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            if (!_healed && Budget <= 0)
            {
                client.Client.Close(0); // reset at once: the storage is unreachable
                client.Dispose();
                continue;
            }
            _ = Forward(client);
        }
    }

    private async Task Forward(TcpClient client)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _target, cut.Token);
                var up = client.GetStream().CopyToAsync(server.GetStream(), cut.Token);
                var down = Down(server.GetStream(), client.GetStream(), cut);
                await Task.WhenAny(up, down);
            }
            catch (Exception)
            {
                // A cut connection is the client's to notice.
            }
            client.Client.Close(0);
        }
    }

    private async Task Down(NetworkStream from, NetworkStream to, CancellationTokenSource cut)
    {
        var buffer = new byte[16384];
        while (true)
        {
            int n = await from.ReadAsync(buffer, cut.Token);
            if (n == 0) return;
            int pass = n;
            if (!_healed)
            {
                long before = Interlocked.Add(ref _budget, -n) + n;
                pass = (int)Math.Clamp(before, 0, n);
            }
            if (pass > 0)
            {
                await to.WriteAsync(buffer.AsMemory(0, pass), cut.Token);
                Interlocked.Add(ref _fromServer, pass);
            }
            if (pass < n) return; // the budget ended inside this read: cut mid-stream
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
