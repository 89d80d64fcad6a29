using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// A real Orleans grain storage provider (in memory, with ETags like the Azure providers) whose writes can be made to
/// hang, as on a storage account that stopped answering, or to fail, as on one that refuses connections. Process-wide
/// switches: only the test class that configures its silos with it may use them.
/// </summary>
internal sealed class StallingStorage(Serializer serializer) : IGrainStorage
{
    private static readonly ConcurrentDictionary<GrainId, (byte[] Bytes, string ETag)> Records = new();
    private static TaskCompletionSource? _stall;
    private static volatile bool _failing;
    private static int _writesWaiting;
    private static int _writesFailed;
    private static Serializer? _serializer;

    /// <summary>Writes from now on wait until <see cref="Resume"/>.</summary>
    public static void Stall() => Volatile.Write(ref _stall, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Lets the waiting writes (and later ones) through.</summary>
    public static void Resume() => Interlocked.Exchange(ref _stall, null)?.TrySetResult();

    /// <summary>Writes from now on throw (true) or work again (false).</summary>
    public static void Fail(bool failing) => _failing = failing;

    /// <summary>Writes waiting on a stall right now.</summary>
    public static int WritesWaiting => Volatile.Read(ref _writesWaiting);

    /// <summary>Writes that failed since the process started.</summary>
    public static int WritesFailed => Volatile.Read(ref _writesFailed);

    /// <summary>The stored record of a grain (null when none was written).</summary>
    public static T? Stored<T>(GrainId grain) =>
        Records.TryGetValue(grain, out var record) ? _serializer!.Deserialize<T>(record.Bytes) : default;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _serializer = serializer;
        if (Records.TryGetValue(grainId, out var record))
        {
            grainState.State = serializer.Deserialize<T>(record.Bytes);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (Volatile.Read(ref _stall) is { } stall)
        {
            Interlocked.Increment(ref _writesWaiting);
            try { await stall.Task; }
            finally { Interlocked.Decrement(ref _writesWaiting); }
        }
        if (_failing)
        {
            Interlocked.Increment(ref _writesFailed);
            throw new IOException("storage unreachable (test)");
        }
        var bytes = serializer.SerializeToArray(grainState.State);
        var etag = Guid.NewGuid().ToString("N");
        lock (Records)
        {
            if (Records.TryGetValue(grainId, out var current) && current.ETag != grainState.ETag)
                throw new InconsistentStateException($"ETag mismatch for {grainId}", current.ETag, grainState.ETag ?? "");
            Records[grainId] = (bytes, etag);
        }
        grainState.ETag = etag;
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Records.TryRemove(grainId, out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}
