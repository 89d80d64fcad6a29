using DpIqa.Testing;

namespace DpIqa.Tests.Cluster;

/// <summary>
/// A real Azurite (the `azurite` npm package) on 127.0.0.1, in memory, on free ports, for the life of a test class
/// (the harness's <see cref="AzuriteServer"/>, which the benches use too). Found on PATH, in $AZURITE, in /opt/azurite
/// or .cache/azurite; otherwise installed with npm into .cache/azurite. Without Node.js/npm the tests that need it are
/// skipped and say so, or fail in CI (see <see cref="Dependency"/>).
/// </summary>
public sealed class Azurite : IDisposable
{
    private readonly AzuriteServer? _server;

    public string? SkipReason { get; }
    public string ConnectionString => _server?.ConnectionString ?? "";

    public Azurite()
    {
        var exe = AzuriteServer.FindOrInstall(RepoPaths.Root, out var installError);
        if (exe is null)
        {
            SkipReason = Dependency.Missing($"Azurite is not available ({installError}; install Node.js and npm, or set AZURITE to the azurite executable)");
            return;
        }
        // xunit builds fixtures synchronously; Start disposes what it started if Azurite never listens.
        _server = AzuriteServer.Start(exe).GetAwaiter().GetResult();
    }

    public void Dispose() => _server?.Dispose();
}
