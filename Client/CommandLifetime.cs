using Microsoft.Extensions.Hosting;

namespace DpIqa.Client;

/// <summary>
/// The lifetime of the hosts a command starts (the embedded silo, the cluster client): none of its own. The default
/// (ConsoleLifetime) handles Ctrl+C and SIGTERM itself and, at process exit, waits for its host to be disposed; in a
/// command that owns Ctrl+C (cancel the job, exit 130) that is a second handler racing the first, and a host whose
/// stop failed kept the process from ever exiting. The command starts and stops its hosts itself.
/// </summary>
internal sealed class CommandLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
