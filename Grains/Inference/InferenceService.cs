using System.Collections.Concurrent;
using DpIqa.Imaging;
using DpIqa.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DpIqa.Inference;

/// <summary>
/// The silo's inference: one <see cref="ModelSession"/> per model, created on first use, shared by
/// every shard scored on this silo (so their images batch together), released after being idle.
/// </summary>
internal sealed partial class InferenceService(ModelCatalog catalog, IOptions<InferenceOptions> options, ILogger<InferenceService> logger)
    : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ModelSession>> _sessions = new();

    /// <summary>The session for <paramref name="model"/>, loading it if needed.</summary>
    public ModelSession Session(string model)
    {
        ReleaseIdle();
        var lazy = _sessions.GetOrAdd(model, name => new Lazy<ModelSession>(() =>
        {
            var own = catalog.SettingsOf(name);
            return new ModelSession(catalog.Resolve(name), options.Value.For(own), logger, LoadedBytes(),
                own is null ? "Inference:*" : $"Models:{name}:* ({own}) over Inference:*");
        }));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _sessions.TryRemove(new KeyValuePair<string, Lazy<ModelSession>>(model, lazy));
            throw;
        }
    }

    /// <summary>What the models loaded now are estimated to need (the memory check of the next load).</summary>
    private long LoadedBytes() => _sessions.Values.Where(l => l.IsValueCreated).Sum(l => l.Value.MemoryEstimate);

    public Task<float> Score(string model, PreprocessedImage image, CancellationToken cancellationToken) =>
        Session(model).Score(image, cancellationToken);

    private void ReleaseIdle()
    {
        var idleMs = options.Value.IdleUnloadSeconds * 1000L;
        foreach (var (name, lazy) in _sessions)
        {
            if (lazy.IsValueCreated && Environment.TickCount64 - Interlocked.Read(ref lazy.Value.LastUsedTicks) > idleMs
                && _sessions.TryRemove(new KeyValuePair<string, Lazy<ModelSession>>(name, lazy)))
            {
                Log.Unloaded(logger, name);
                _ = lazy.Value.DisposeAsync().AsTask();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _sessions.Values)
            if (lazy.IsValueCreated) await lazy.Value.DisposeAsync();
        _sessions.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} unloaded after being idle")]
        public static partial void Unloaded(ILogger logger, string model);
    }
}
