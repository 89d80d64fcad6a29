using System.Text.Json;
using System.Text.Json.Serialization;
using DpIqa.Hosting;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Statistics;
using DpIqa.Storage;
using DpIqa.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace DpIqa.Jobs;

/// <summary>
/// The coordinator of one job. Lists the sources into item lists (streaming: shards can be leased
/// while listing goes on), hands shards to workers as leases with a deadline, takes back expired ones,
/// counts the first completion of each shard only and merges its statistics.
/// Leases live in memory: after a failover every unfinished shard is simply leased again.
/// The record is written from a private copy, one write at a time, so the grain keeps answering while storage is
/// slow (see <see cref="IJobGrain"/> for the calls that interleave with a save); a change counts as saved only once a
/// write that includes it succeeded, and what must be stored (the completed job, summary.json) is retried until it is.
/// The grain saves state and orchestrates; the rest has a class of its own: <see cref="JobRequestValidation"/> (checking a
/// submitted job), <see cref="ShardListing"/> (shards and their item lists), <see cref="LeaseTable"/> (leases),
/// <see cref="JobRate"/> (images/s, ETA), <see cref="JobSummaryFile"/> (summary.json), <see cref="CompletionCuration"/>
/// (keep/reject lists and the rest after completion), <see cref="UncountedResults"/> and <see cref="JobLayout"/> (paths).
/// </summary>
internal sealed partial class JobGrain(
    [PersistentState("job", JobGrain.StorageName)] IPersistentState<JobRecord> state,
    ModelCatalog models,
    ObjectStore store,
    Orleans.Serialization.Serializer serializer,
    IClusterMembershipService membership,
    IOptions<JobOptions> options,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    public const string StorageName = SiloSetup.JobStorage;

    /// <summary>Shards waiting and leased (in memory only: after a failover the unfinished shards wait again). Made on activation.</summary>
    private LeaseTable _leases = null!;
    private Task? _listing;
    private Task? _curation;
    private Task? _finishing;
    /// <summary>Stops listing and curation (job cancelled or grain deactivating).</summary>
    private readonly CancellationTokenSource _stop = new();
    /// <summary>Stops retries of what must be stored: the next activation redoes it from the stored record.</summary>
    private readonly CancellationTokenSource _deactivating = new();
    private readonly JobRate _rate = new();
    private long _savedBytes;
    private IDisposable? _gauges;

    // Dirty tracking: every change bumps _changes; a write records the count it started from once it succeeded.
    private long _changes;
    private long _savedChanges;
    /// <summary>The write in flight (or the last one): writes are chained, one at a time.</summary>
    private Task _saving = Task.CompletedTask;
    private TimeSpan _saveBackoff;
    private DateTimeOffset _nextSaveTry;

    private JobRecord _job = null!;
    private JobRecord Job => _job;
    private string JobId => this.GetPrimaryKeyString();
    private TimeSpan LeaseDuration => TimeSpan.FromSeconds(options.Value.LeaseSeconds);
    private TimeSpan SaveInterval => TimeSpan.FromMilliseconds(options.Value.SaveIntervalMs);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The live record; the storage only ever gets copies of it (see Write).
        _job = state.State;
        _leases = new LeaseTable(LeaseDuration, shard => Job.IsDone(shard));
        _gauges = DpIqaMetrics.TrackJob(JobId, Reading);
        Job.EnsureCapacity(Job.ShardCount); // a record stored before counted tags existed gets room for them
        if (Job.Spec is not null) _savedBytes = serializer.SerializeToArray(Job).Length;
        if (Job.Spec is not null && Job.State is JobState.Running)
        {
            for (int shard = 0; shard < Job.ShardCount; shard++)
                if (!Job.IsDone(shard)) _leases.Enqueue(shard);
            if (!Job.ListingDone) _listing = RunListing();
            Log.Resumed(logger, JobId, Job.ShardCount - Job.ShardsDone, Job.ListingDone);
            _ = WatchMembership();
            // Every shard was done but the silo died before the completed job was stored: finish it now.
            _ = FinishIfDone();
        }
        if (Job.Spec is not null && Job.State is not (JobState.Running or JobState.Pending))
            _ = UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).MarkEnded(JobId), "telling the job index the job ended");
        if (Job.Spec is not null && Job.State is JobState.Completed && Evaluation.JobEvaluation.HasWorkAfterCompletion(Job.Spec) && !Job.CurationWritten)
            _curation = WriteCuration();
        // Interleaved: a tick that waits on storage must not hold up leases, renewals and status calls.
        this.RegisterGrainTimer(SaveOnTick, new GrainTimerCreationOptions
        {
            DueTime = SaveInterval,
            Period = SaveInterval,
            KeepAlive = false,
            Interleave = true,
        });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _stop.Cancel();
        _deactivating.Cancel();
        _gauges?.Dispose();
        if (!Dirty) return;
        try
        {
            await Save().WaitAsync(cancellationToken);
        }
        catch (Exception e)
        {
            // What was not stored is redone by the next activation (shards not recorded as done are leased again).
            Log.SaveFailed(logger, e, JobId, TimeSpan.Zero);
        }
    }

    private void Changed() => _changes++;

    private bool Dirty => _changes != _savedChanges;

    /// <summary>
    /// Writes the record as it is when the write in flight (if any) ends. <paramref name="adjust"/> changes only the
    /// stored copy (used to store 'completed' before the live job says so).
    /// </summary>
    private Task Save(Action<JobRecord>? adjust = null)
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
        var bytes = serializer.SerializeToArray(Job);
        var copy = serializer.Deserialize<JobRecord>(bytes) ?? throw new InvalidOperationException("the job record did not round-trip");
        adjust?.Invoke(copy);
        state.State = copy;
        try
        {
            await state.WriteStateAsync();
        }
        catch (InconsistentStateException e)
        {
            // The stored record is not the one this activation last wrote (e.g. a write that timed out here was applied
            // later, or another activation wrote): reload from storage rather than overwrite it.
            Log.StateConflict(logger, e, JobId);
            DeactivateOnIdle();
            throw;
        }
        _savedChanges = Math.Max(_savedChanges, upTo);
        _savedBytes = bytes.Length;
    }

    /// <summary>The periodic save. A failed save is retried by a later tick, backing off while storage keeps failing.</summary>
    private async Task SaveOnTick(CancellationToken cancellationToken)
    {
        // A write still in flight (storage slow or hung) is not queued behind: a later tick saves what changed meanwhile.
        if (!Dirty || !_saving.IsCompleted || DateTimeOffset.UtcNow < _nextSaveTry) return;
        try
        {
            await Save();
            _saveBackoff = TimeSpan.Zero;
            _nextSaveTry = DateTimeOffset.UtcNow + SaveCadence.PauseAfter(_savedBytes, SaveInterval);
        }
        catch (Exception e) when (e is not InconsistentStateException)
        {
            _saveBackoff = _saveBackoff == TimeSpan.Zero ? SaveInterval : Doubled(_saveBackoff);
            _nextSaveTry = DateTimeOffset.UtcNow + _saveBackoff;
            Log.SaveFailed(logger, e, JobId, _saveBackoff);
        }
    }

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>The next delay of a retry that backs off: twice the last, at most <see cref="MaxRetryDelay"/>.</summary>
    private static TimeSpan Doubled(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));

    /// <summary>Runs a step that must happen until it succeeds, with backoff; gives up only when the grain deactivates.</summary>
    private async Task UntilDone(Func<Task> step, string what)
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
                Log.StepFailed(logger, e, JobId, what, delay);
            }
            await Task.Delay(delay, _deactivating.Token);
            delay = Doubled(delay);
        }
    }

    public async Task<JobStatus> Start(JobSpec spec)
    {
        if (string.IsNullOrEmpty(spec.Model)) spec = spec with { Model = models.DefaultModel };
        if (Job.Spec is not null)
        {
            if (Job.Spec.Model == spec.Model && Job.Spec.Output == spec.Output && Job.Spec.Sources.SequenceEqual(spec.Sources))
                return await GetStatus();
            throw new ArgumentException($"job '{JobId}' already exists with another spec; pick a new job id");
        }
        var model = JobRequestValidation.Validate(spec, options.Value.MaxShardSize, models);
        if (spec.Labels is not null) await Evaluation.JobEvaluation.ReadLabels(store, spec.Labels); // a bad labels file is refused now, not after the job
        // The model's default preprocessing and its direction, fixed for the job's life.
        spec = spec with { Preprocess = spec.Preprocess ?? model.Manifest.DefaultPreprocess(), LowerIsBetter = model.Manifest.LowerBetter };
        await store.ValidateSources(spec.Sources);
        await store.PrepareOutput(spec.Output);
        Job.Spec = spec;
        Job.State = JobState.Running;
        Job.SubmittedAt = DateTimeOffset.UtcNow;
        Job.ModelVersion = model.Manifest.Version;
        Job.ModelLicence = model.Manifest.Licence;
        Job.Message = Curation.CurationLists.Validate(spec, model.Manifest); // a note when --reject-below cannot be checked
        Changed();
        try
        {
            await Save();
        }
        catch (Exception)
        {
            // Not stored, so not started: the same submit can be tried again.
            _job = new JobRecord();
            _savedChanges = _changes;
            throw;
        }
        // Stored as running: workers must learn of it, however long the job index takes.
        await UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).Add(JobId), "adding the job to the job index");
        Log.Started(logger, JobId, spec.Model, string.Join(", ", spec.Sources), spec.ShardSize);
        _listing = RunListing();
        _ = WatchMembership();
        return await GetStatus();
    }

    /// <summary>Writes an item list per full shard as items stream in (see <see cref="ShardListing"/>); resumes after the shards already written.</summary>
    private async Task RunListing()
    {
        var spec = Job.Spec!;
        var listing = new ShardListing(spec.ShardSize, Job.ShardCount, options.Value.ItemListWritesInFlight,
            (shard, items) => store.WriteWhole(JobLayout.ItemListPath(spec.Output, shard), ItemList.Encode(items)), CommitShard);
        try
        {
            await listing.Run(store.List(spec.Sources, _stop.Token), skip: (long)Job.ShardCount * spec.ShardSize);
            Job.ListingDone = true;
            if (Job.Total == 0) Job.Message = $"no images found in {string.Join(", ", spec.Sources)} (looked for {string.Join(" ", Imaging.ImageFormats.Extensions)})";
            Changed();
            Log.Listed(logger, JobId, Job.Total, Job.ShardCount);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Cancelled or deactivating: the shards committed so far stay, and a reactivation resumes after them.
        }
        catch (Exception e)
        {
            Log.ListingFailed(logger, e, JobId);
            Job.State = JobState.Failed;
            Job.Message = $"listing the sources failed: {Secrets.Redact(e.Message)}";
            Job.FinishedAt = DateTimeOffset.UtcNow;
            _leases.Clear();
            Changed();
            await UntilDone(() => Save(), "saving the failed job");
            await UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).MarkEnded(JobId), "telling the job index the job ended");
            return;
        }
        // Outside the try: a storage error while finishing is retried there, it does not fail the listing.
        await FinishIfDone();
    }

    /// <summary>A shard whose item list and every earlier one are written: counted, and leasable while the job runs.</summary>
    private void CommitShard(int shard, int items)
    {
        Job.ShardCount = shard + 1;
        Job.EnsureCapacity(Job.ShardCount);
        Job.Total += items;
        if (Job.State == JobState.Running) _leases.Enqueue(shard);
        Changed();
    }

    public Task<ShardLease?> Lease(string worker)
    {
        if (Job.State != JobState.Running) return Task.FromResult<ShardLease?>(null);
        var now = DateTimeOffset.UtcNow;
        _leases.Expire(now, Expired);
        if (_finishing is not null) return Task.FromResult<ShardLease?>(null);
        if (_leases.Grant(worker, now) is { } granted)
        {
            var (shard, lease) = granted;
            DpIqaMetrics.JobLeaseEvent("granted");
            if (Job.StartedAt is null) { Job.StartedAt = now; Changed(); }
            _rate.Start(now, Job.All.Scored + Job.All.Failed);
            var spec = Job.Spec!;
            return Task.FromResult<ShardLease?>(new ShardLease
            {
                JobId = JobId,
                Shard = shard,
                Token = lease.Token,
                ItemList = JobLayout.ItemListPath(spec.Output, shard),
                ResultFile = JobLayout.ResultPath(spec.Output, shard, JobLayout.TokenTag(lease.Token), spec.Format),
                Model = spec.Model,
                Format = spec.Format,
                Deadline = lease.Deadline,
                Cascade = Cascade.CascadeRules.Band(spec),
                Incremental = spec.Incremental,
                ScoreCacheFile = spec.ScoreCacheFile ?? JobLayout.ScoreCacheFile(spec.Output),
                Preprocess = spec.Preprocess ?? PreprocessPath.Exact,
                Dedup = spec.Dedup is not null,
            });
        }
        return Task.FromResult<ShardLease?>(null);
    }

    private void Expired(int shard, LeaseTable.Held lease)
    {
        DpIqaMetrics.JobLeaseEvent("expired");
        Log.LeaseExpired(logger, JobId, shard, lease.Worker);
    }

    /// <summary>
    /// Releases at once the leases held by workers of silos that cluster membership declared dead, instead of letting
    /// them run to their deadline (expiry stays the fallback, e.g. for a worker that hangs on a live silo).
    /// </summary>
    private async Task WatchMembership()
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stop.Token))
            {
                if (_leases.Count == 0) continue;
                var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress.ToString()).ToHashSet();
                foreach (var (shard, lease) in _leases.ReleaseWhere(worker => dead.Contains(SiloOf(worker))))
                {
                    DpIqaMetrics.JobLeaseEvent("dead_silo");
                    Log.LeaseOfDeadSilo(logger, JobId, shard, lease.Worker);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private static string SiloOf(string worker) => worker.LastIndexOf('/') is var i and > 0 ? worker[..i] : worker;

    public Task<bool> Renew(int shard, Guid token)
    {
        if (Job.State != JobState.Running) return Task.FromResult(false);
        return Task.FromResult(_leases.Renew(shard, token, DateTimeOffset.UtcNow, Expired));
    }

    public async Task<bool> Complete(int shard, Guid token, ShardOutcome outcome)
    {
        if (Job.Spec is null || shard < 0 || shard >= Job.ShardCount) return false;
        uint tag = JobLayout.TokenTag(token);
        if (Job.IsDone(shard)) return Job.CountedTag(shard) == tag; // the counted completion, reported again
        if (Job.State is not JobState.Running) return false;
        var resultFile = JobLayout.ResultPath(Job.Spec.Output, shard, tag, Job.Spec.Format);
        if (outcome.ResultFile != resultFile)
        {
            Log.WrongResultFile(logger, JobId, shard, outcome.ResultFile, resultFile);
            return false;
        }
        if (outcome.ModelVersion is { } version && Job.ModelVersion is not null && version != Job.ModelVersion)
        {
            // Scores of another model version must not mix into this job: the shard goes back for a silo with the right one.
            _leases.Reject(shard, token);
            Job.Message = $"a silo scored with {Job.Spec.Model} v{version} but the job uses v{Job.ModelVersion}: its shards are redone; give every silo the same model catalog";
            Changed();
            Log.WrongModelVersion(logger, JobId, shard, version, Job.ModelVersion);
            return false;
        }
        // The first completion counts, even from a worker whose lease expired: its result file (named by its token)
        // becomes the one published; later runs of the shard wrote files of their own, which are not read.
        var (own, late) = _leases.Complete(shard, token);
        var silo = own is not null ? SiloOf(own.Worker) : "(expired lease)";
        if (late) Log.LateCompletion(logger, JobId, shard);
        Job.ShardsBySilo[silo] = Job.ShardsBySilo.GetValueOrDefault(silo) + 1;
        Job.MarkDone(shard, tag);
        Job.ShardsDone++;
        JobStatistics.Add(Job.All, Job.ByFolder, outcome);
        Job.Reused += outcome.Reused;
        Changed();
        await FinishIfDone();
        return true;
    }

    public Task Release(int shard, Guid token)
    {
        if (_leases.Release(shard, token)) DpIqaMetrics.JobLeaseEvent("released");
        return Task.CompletedTask;
    }

    /// <summary>Starts finishing the job once every shard is done and listing ended; the task that finishes it.</summary>
    private Task FinishIfDone()
    {
        if (_finishing is null && Job.State == JobState.Running && Job.ListingDone && Job.ShardsDone >= Job.ShardCount)
            _finishing = Finish();
        return _finishing ?? Task.CompletedTask;
    }

    /// <summary>
    /// summary.json, then the record saying 'completed', then the job index; each retried until it is done. The live job
    /// says 'completed' only once that record is stored, so whoever sees it finds summary.json, and a silo that dies
    /// before resumes the job from what was stored.
    /// </summary>
    private async Task Finish()
    {
        var finishedAt = DateTimeOffset.UtcNow;
        // Built inside the retried step, so a failure to build it is logged (and retried) rather than leaving the job
        // running forever with every shard done.
        await UntilDone(() => store.WriteWhole(JobLayout.SummaryFile(Job.Spec!.Output),
            JobSummaryFile.Encode(BuildSummary() with { State = JobState.Completed }), _deactivating.Token), "writing summary.json");
        await UntilDone(() => Save(stored =>
        {
            stored.State = JobState.Completed;
            stored.FinishedAt = finishedAt;
        }), "saving the completed job");
        Job.State = JobState.Completed;
        Job.FinishedAt = finishedAt;
        // The live record now says what was stored; saved again in case a write queued meanwhile stored an older copy,
        // and now rather than on deactivation, when an embedded silo's storage may already be gone.
        Changed();
        await UntilDone(() => Save(), "saving the completed job");
        Log.Completed(logger, JobId, Job.All.Scored, Job.All.Failed);
        await UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).MarkEnded(JobId), "telling the job index the job ended");
        if (Evaluation.JobEvaluation.HasWorkAfterCompletion(Job.Spec!)) _curation = WriteCuration();
        _ = RemoveUncountedResults();
    }

    /// <summary>Deletes the result files of completions that did not count (see <see cref="UncountedResults"/>); a failure only costs space.</summary>
    private async Task RemoveUncountedResults()
    {
        try
        {
            int removed = await UncountedResults.Remove(store, Job, _deactivating.Token);
            if (removed > 0) Log.RemovedUncounted(logger, JobId, removed);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.RemoveUncountedFailed(logger, e, JobId);
        }
    }

    /// <summary>Keep/reject lists and the rest of <see cref="CompletionCuration"/>, after completion; redone on reactivation if the silo died while writing them.</summary>
    private async Task WriteCuration()
    {
        try
        {
            await CompletionCuration.Run(store, GrainFactory, JobId, Job, CountedResultFiles(), BuildSummary(), _stop.Token);
            Job.CurationWritten = true;
            Changed();
            await UntilDone(() => Save(), "saving the curation result");
            await store.WriteWhole(JobLayout.SummaryFile(Job.Spec!.Output), JobSummaryFile.Encode(BuildSummary()));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            CompletionCuration.Failed(Job, e);
            Changed();
            Log.CurationFailed(logger, e, JobId);
        }
    }

    /// <summary>Completes once the job's outputs are stored: summary.json, the completed state, the curation lists (if any).</summary>
    public async Task<JobSummary> WaitForOutputs()
    {
        if (_finishing is not null) await _finishing;
        if (_curation is not null) await _curation;
        return BuildSummary();
    }

    public Task<IReadOnlyList<string>> GetResultFiles()
    {
        if (Job.Spec is null) throw new ArgumentException($"job '{JobId}' does not exist");
        return Task.FromResult(CountedResultFiles());
    }

    /// <summary>The counted result file of each done shard, in shard order.</summary>
    private IReadOnlyList<string> CountedResultFiles() =>
        Enumerable.Range(0, Job.ShardCount).Where(Job.IsDone)
            .Select(shard => JobLayout.ResultPath(Job.Spec!.Output, shard, Job.CountedTag(shard), Job.Spec.Format)).ToList();

    public static readonly JsonSerializerOptions SummaryJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public Task<JobStatus> GetStatus()
    {
        var (rate, eta) = _rate.Estimate(DateTimeOffset.UtcNow, Job);
        return Task.FromResult(new JobStatus
        {
            JobId = JobId,
            // A record never started reads Pending (0) in storage; callers are told there is no such job.
            State = Job.Spec is null ? JobState.Unknown : Job.State,
            Total = Job.Total,
            ListingDone = Job.ListingDone,
            Scored = Job.All.Scored,
            Failed = Job.All.Failed,
            Shards = Job.ShardCount,
            ShardsDone = Job.ShardsDone,
            ShardsLeased = _leases.Count,
            ImagesPerSecond = rate,
            Eta = eta,
            Workers = _leases.Workers,
            Message = Job.Message,
            Model = Job.Spec is null ? null : $"{Job.Spec.Model} v{Job.ModelVersion}",
            SubmittedAt = Job.SubmittedAt,
            Coordinator = RuntimeIdentity,
            ShardsBySilo = new Dictionary<string, int>(Job.ShardsBySilo),
            StateBytes = _savedBytes,
            Reused = Job.Reused,
            Drifted = Job.Drift?.Drifted ?? false,
            SubmittedBy = Job.Spec?.SubmittedBy?.Name,
        });
    }

    public Task<JobSpec?> GetSpec() => Task.FromResult(Job.Spec);

    /// <summary>The job's counts for /metrics, read off the grain's thread: only whole numbers, each read once.</summary>
    private DpIqaMetrics.JobReading Reading()
    {
        var job = Job;
        bool running = job.Spec is not null && job.State == JobState.Running;
        int leased = running ? _leases.Count : 0;
        long done = job.All.Scored + job.All.Failed;
        return new DpIqaMetrics.JobReading(running, running ? Math.Max(0, job.ShardCount - job.ShardsDone - leased) : 0, leased,
            job.ShardsDone, running ? Math.Max(0, job.Total - done) : 0, done);
    }

    public Task<JobSummary> GetSummary()
    {
        if (Job.Spec is null) throw new ArgumentException($"job '{JobId}' does not exist");
        return Task.FromResult(BuildSummary());
    }

    private JobSummary BuildSummary() => JobSummaryFile.Build(JobId, Job, DeclaredRange());

    /// <summary>The job's model's declared score range for the histogram; null if unknown or the model was removed since.</summary>
    private (double Lower, double Upper)? DeclaredRange()
    {
        try
        {
            return models.Manifest(Job.Spec!.Model).DeclaredRange();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public async Task<JobStatus> Cancel()
    {
        if (Job.Spec is null) throw new ArgumentException($"job '{JobId}' does not exist");
        if (_finishing is not null) return await GetStatus(); // every shard is done: the job completes rather than cancels
        if (Job.State is JobState.Running or JobState.Pending)
        {
            Job.State = JobState.Cancelled;
            Job.FinishedAt = DateTimeOffset.UtcNow;
            Job.Message = "cancelled by a user";
            _stop.Cancel();
            _leases.Clear();
            Changed();
            await UntilDone(() => Save(), "saving the cancelled job");
            await UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).MarkEnded(JobId), "telling the job index the job ended");
        }
        return await GetStatus();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} started: model {Model}, sources {Sources}, shard size {ShardSize}")]
        public static partial void Started(ILogger logger, string job, string model, string sources, int shardSize);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} resumed: {Shards} shards to do, listing done: {ListingDone}")]
        public static partial void Resumed(ILogger logger, string job, int shards, bool listingDone);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} listed {Total} images in {Shards} shards")]
        public static partial void Listed(ILogger logger, string job, long total, int shards);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: listing failed")]
        public static partial void ListingFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: lease on shard {Shard} held by {Worker} expired; the shard goes back to the queue")]
        public static partial void LeaseExpired(ILogger logger, string job, int shard, string worker);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: shard {Shard} held by {Worker}, whose silo was declared dead; the shard goes back to the queue")]
        public static partial void LeaseOfDeadSilo(ILogger logger, string job, int shard, string worker);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: saving the job's state failed; retrying in {Delay}")]
        public static partial void SaveFailed(ILogger logger, Exception e, string job, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: {What} failed; retrying in {Delay}")]
        public static partial void StepFailed(ILogger logger, Exception e, string job, string what, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: the stored state was changed by someone else; the job reloads it")]
        public static partial void StateConflict(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: a completion of shard {Shard} names result file {Given}, not its lease's {Expected}; not counted")]
        public static partial void WrongResultFile(ILogger logger, string job, int shard, string given, string expected);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: shard {Shard} was scored with model version {Version}, the job uses {JobVersion}; not counted")]
        public static partial void WrongModelVersion(ILogger logger, string job, int shard, string version, string jobVersion);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: removed {Files} result files of completions that did not count")]
        public static partial void RemovedUncounted(ILogger logger, string job, int files);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: removing result files of completions that did not count failed; they are never read")]
        public static partial void RemoveUncountedFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: shard {Shard} completed by a worker whose lease had expired; counted once")]
        public static partial void LateCompletion(ILogger logger, string job, int shard);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: writing the keep/reject lists failed")]
        public static partial void CurationFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} completed: {Scored} scored, {Failed} failed")]
        public static partial void Completed(ILogger logger, string job, long scored, long failed);
    }
}
