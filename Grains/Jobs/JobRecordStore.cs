using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace DpIqa.Jobs;

/// <summary>
/// How a job grain stores its record: the live record is changed in memory (<see cref="Changed"/> counts changes) and
/// written from a private copy, one write at a time, so the grain keeps answering while storage is slow. A change counts
/// as saved only once a write that includes it succeeded. <see cref="SaveOnTick"/> backs off while storage keeps
/// failing; <see cref="UntilDone"/> retries a step that must happen (the completed job, summary.json) until it does or
/// the grain deactivates. A write that finds the stored record changed by someone else calls <c>onConflict</c> (the
/// grain deactivates and reloads) rather than overwriting it.
/// </summary>
internal sealed partial class JobRecordStore
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly IPersistentState<JobRecord> _state;
    private readonly Orleans.Serialization.Serializer _serializer;
    private readonly TimeSpan _saveInterval;
    private readonly Action _onConflict;
    private readonly ILogger _logger;
    private readonly string _jobId;
    private readonly CancellationToken _deactivating;

    // Every change bumps _changes; a write records the count it started from once it succeeded.
    private long _changes;
    private long _savedChanges;
    /// <summary>The write in flight (or the last one): writes are chained, one at a time.</summary>
    private Task _saving = Task.CompletedTask;
    private TimeSpan _saveBackoff;
    private DateTimeOffset _nextSaveTry;

    public JobRecordStore(IPersistentState<JobRecord> state, Orleans.Serialization.Serializer serializer, TimeSpan saveInterval,
        Action onConflict, ILogger logger, string jobId, CancellationToken deactivating)
    {
        (_state, _serializer, _saveInterval, _onConflict, _logger, _jobId, _deactivating) = (state, serializer, saveInterval, onConflict, logger, jobId, deactivating);
        Record = state.State;
        if (Record.Spec is not null) SavedBytes = serializer.SerializeToArray(Record).Length;
    }

    /// <summary>The live record; the storage only ever gets copies of it.</summary>
    public JobRecord Record { get; private set; }

    /// <summary>Bytes of the record as last serialized (the /status view's state size, and the save cadence's input).</summary>
    public long SavedBytes { get; private set; }

    /// <summary>The live record changed: a later save stores it.</summary>
    public void Changed() => _changes++;

    /// <summary>Whether a change has not been stored yet.</summary>
    public bool Dirty => _changes != _savedChanges;

    /// <summary>Forgets the live record (a start whose first save failed): the grain is as if never started.</summary>
    public void Discard()
    {
        Record = new JobRecord();
        _savedChanges = _changes;
    }

    /// <summary>
    /// Writes the record as it is when the write in flight (if any) ends. <paramref name="adjust"/> changes only the
    /// stored copy (used to store 'completed' before the live job says so).
    /// </summary>
    public Task Save(Action<JobRecord>? adjust = null)
    {
        var write = Write(_saving, adjust);
        _saving = write;
        return write;
    }

    private async Task Write(Task previous, Action<JobRecord>? adjust)
    {
        // One write at a time. The previous write's failure is reported to its own caller; this one writes regardless.
        await previous.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        long upTo = _changes;
        // The storage serializes a private copy, so the calls that interleave with a write may change the live record.
        var bytes = _serializer.SerializeToArray(Record);
        var copy = _serializer.Deserialize<JobRecord>(bytes) ?? throw new InvalidOperationException("the job record did not round-trip");
        adjust?.Invoke(copy);
        _state.State = copy;
        try
        {
            await _state.WriteStateAsync();
        }
        catch (InconsistentStateException e)
        {
            // The stored record is not the one this activation last wrote (e.g. a write that timed out here was applied
            // later, or another activation wrote): reload from storage rather than overwrite it.
            Log.StateConflict(_logger, e, _jobId);
            _onConflict();
            throw;
        }
        _savedChanges = Math.Max(_savedChanges, upTo);
        SavedBytes = bytes.Length;
    }

    /// <summary>Records that the live record changed and stores it, retried until it is (see <see cref="UntilDone"/>).</summary>
    public Task SaveChange(string what)
    {
        Changed();
        return UntilDone(() => Save(), what);
    }

    /// <summary>The periodic save. A failed save is retried by a later tick, backing off while storage keeps failing.</summary>
    public async Task SaveOnTick(CancellationToken cancellationToken)
    {
        // A write still in flight (storage slow or hung) is not queued behind: a later tick saves what changed meanwhile.
        if (!Dirty || !_saving.IsCompleted || DateTimeOffset.UtcNow < _nextSaveTry) return;
        try
        {
            await Save();
            _saveBackoff = TimeSpan.Zero;
            _nextSaveTry = DateTimeOffset.UtcNow + SaveCadence.PauseAfter(SavedBytes, _saveInterval);
        }
        catch (Exception e) when (e is not InconsistentStateException)
        {
            _saveBackoff = _saveBackoff == TimeSpan.Zero ? _saveInterval : Doubled(_saveBackoff);
            _nextSaveTry = DateTimeOffset.UtcNow + _saveBackoff;
            Log.SaveFailed(_logger, e, _jobId, _saveBackoff);
        }
    }

    /// <summary>Saves what changed before the grain deactivates; what is not stored is redone by the next activation.</summary>
    public async Task SaveBeforeDeactivating(CancellationToken cancellationToken)
    {
        if (!Dirty) return;
        try
        {
            await Save().WaitAsync(cancellationToken);
        }
        catch (Exception e)
        {
            // Shards not recorded as done are leased again.
            Log.SaveFailed(_logger, e, _jobId, TimeSpan.Zero);
        }
    }

    /// <summary>Runs a step that must happen until it succeeds, with backoff; gives up only when the grain deactivates.</summary>
    public async Task UntilDone(Func<Task> step, string what)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await step();
                return;
            }
            catch (Exception e) when (e is not InconsistentStateException && !_deactivating.IsCancellationRequested)
            {
                Log.StepFailed(_logger, e, _jobId, what, delay);
            }
            await Task.Delay(delay, _deactivating);
            delay = Doubled(delay);
        }
    }

    /// <summary>The next delay of a retry that backs off: twice the last, at most <see cref="MaxRetryDelay"/>.</summary>
    private static TimeSpan Doubled(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: saving the job's state failed; retrying in {Delay}")]
        public static partial void SaveFailed(ILogger logger, Exception e, string job, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: {What} failed; retrying in {Delay}")]
        public static partial void StepFailed(ILogger logger, Exception e, string job, string what, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: the stored state was changed by someone else; the job reloads it")]
        public static partial void StateConflict(ILogger logger, Exception e, string job);
    }
}
