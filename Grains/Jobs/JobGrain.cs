using DpIqa.Hosting;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Statistics;
using DpIqa.Storage;
using DpIqa.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DpIqa.Jobs;

/// <summary>
/// The coordinator of one job. Lists the sources into item lists (streaming: shards can be leased while listing goes
/// on), hands shards to workers as leases with a deadline, takes back expired ones, counts the first completion of each
/// shard only and merges its statistics; then writes summary.json and what the job asks for after completion.
/// Leases live in memory: after a failover every unfinished shard is simply leased again. The grain orchestrates; the
/// rest has a class of its own: <see cref="JobRecordStore"/> (storing the record while the grain keeps answering),
/// <see cref="JobRequestValidation"/> (checking a submitted job), <see cref="ShardListing"/> (shards and their item
/// lists), <see cref="LeaseTable"/> and <see cref="LeaseProtocol"/> (leases), <see cref="JobStatusView"/> and
/// <see cref="JobRate"/> (status, images/s, ETA), <see cref="JobSummaryFile"/> (summary.json),
/// <see cref="CompletionCuration"/> (keep/reject lists and the rest after completion), <see cref="UncountedResults"/>,
/// and <see cref="JobLayout"/> (where everything is written). See <see cref="IJobGrain"/> for the calls that interleave.
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
    private IDisposable? _gauges;

    /// <summary>The record and how it is stored. Made on activation.</summary>
    private JobRecordStore _record = null!;
    private JobRecord Job => _record.Record;
    private string JobId => this.GetPrimaryKeyString();
    private TimeSpan LeaseDuration => TimeSpan.FromSeconds(options.Value.LeaseSeconds);
    private TimeSpan SaveInterval => TimeSpan.FromMilliseconds(options.Value.SaveIntervalMs);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _record = new JobRecordStore(state, serializer, SaveInterval, DeactivateOnIdle, logger, JobId, _deactivating.Token);
        _leases = new LeaseTable(LeaseDuration, shard => Job.IsDone(shard));
        _gauges = DpIqaMetrics.TrackJob(JobId, () => JobStatusView.Reading(Job, _leases));
        Job.EnsureCapacity(Job.ShardCount); // a record stored before counted tags existed gets room for them
        if (Job.Spec is not null && Job.State is JobState.Running)
        {
            for (int shard = 0; shard < Job.ShardCount; shard++)
                if (!Job.IsDone(shard)) _leases.Enqueue(shard);
            if (!Job.ListingDone) _listing = RunListing();
            Log.Resumed(logger, JobId, Job.ShardCount - Job.ShardsDone, Job.ListingDone);
            WatchMembership();
            // Every shard was done but the silo died before the completed job was stored: finish it now.
            _ = FinishIfDone();
        }
        if (Job.Spec is not null && Job.State is not (JobState.Running or JobState.Pending))
            _ = MarkEnded();
        if (Job.Spec is not null && Job.State is JobState.Completed && CompletionCuration.HasWork(Job.Spec) && !Job.CurationWritten)
            _curation = WriteCuration();
        // Interleaved: a tick that waits on storage must not hold up leases, renewals and status calls.
        this.RegisterGrainTimer(_record.SaveOnTick, new GrainTimerCreationOptions
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
        await _record.SaveBeforeDeactivating(cancellationToken);
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
        _record.Changed();
        try
        {
            await _record.Save();
        }
        catch (Exception)
        {
            // Not stored, so not started: the same submit can be tried again.
            _record.Discard();
            throw;
        }
        // Stored as running: workers must learn of it, however long the job index takes.
        await _record.UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).Add(JobId), "adding the job to the job index");
        Log.Started(logger, JobId, spec.Model, string.Join(", ", spec.Sources), spec.ShardSize);
        _listing = RunListing();
        WatchMembership();
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
            _record.Changed();
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
            await _record.SaveChange("saving the failed job");
            await MarkEnded();
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
        _record.Changed();
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
            if (Job.StartedAt is null) { Job.StartedAt = now; _record.Changed(); }
            _rate.Start(now, Job.All.Scored + Job.All.Failed);
            return Task.FromResult<ShardLease?>(LeaseProtocol.Offer(JobId, Job.Spec!, shard, lease));
        }
        return Task.FromResult<ShardLease?>(null);
    }

    private void Expired(int shard, LeaseTable.Held lease)
    {
        DpIqaMetrics.JobLeaseEvent("expired");
        Log.LeaseExpired(logger, JobId, shard, lease.Worker);
    }

    /// <summary>Releases at once the leases of workers on silos declared dead (see <see cref="LeaseProtocol"/>).</summary>
    private void WatchMembership() => _ = LeaseProtocol.ReleaseLeasesOfDeadSilos(membership, _leases, (shard, lease) =>
    {
        DpIqaMetrics.JobLeaseEvent("dead_silo");
        Log.LeaseOfDeadSilo(logger, JobId, shard, lease.Worker);
    }, _stop.Token);

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
            _record.Changed();
            Log.WrongModelVersion(logger, JobId, shard, version, Job.ModelVersion);
            return false;
        }
        // The first completion counts, even from a worker whose lease expired: its result file (named by its token)
        // becomes the one published; later runs of the shard wrote files of their own, which are not read.
        var (own, late) = _leases.Complete(shard, token);
        var silo = own is not null ? LeaseProtocol.SiloOf(own.Worker) : "(expired lease)";
        if (late) Log.LateCompletion(logger, JobId, shard);
        Job.ShardsBySilo[silo] = Job.ShardsBySilo.GetValueOrDefault(silo) + 1;
        Job.MarkDone(shard, tag);
        Job.ShardsDone++;
        JobStatistics.Add(Job.All, Job.ByFolder, outcome);
        Job.Reused += outcome.Reused;
        _record.Changed();
        await FinishIfDone();
        return true;
    }

    public Task Release(int shard, Guid token)
    {
        if (_leases.Release(shard, token)) DpIqaMetrics.JobLeaseEvent("released");
        return Task.CompletedTask;
    }

    /// <summary>Tells the job index the job ended (so workers stop asking it for leases), however long that takes.</summary>
    private Task MarkEnded() => _record.UntilDone(() => GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).MarkEnded(JobId), "telling the job index the job ended");

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
        await _record.UntilDone(() => store.WriteWhole(JobLayout.SummaryFile(Job.Spec!.Output),
            JobSummaryFile.Encode(BuildSummary() with { State = JobState.Completed }), _deactivating.Token), "writing summary.json");
        await _record.UntilDone(() => _record.Save(stored =>
        {
            stored.State = JobState.Completed;
            stored.FinishedAt = finishedAt;
        }), "saving the completed job");
        Job.State = JobState.Completed;
        Job.FinishedAt = finishedAt;
        // The live record now says what was stored; saved again in case a write queued meanwhile stored an older copy,
        // and now rather than on deactivation, when an embedded silo's storage may already be gone.
        await _record.SaveChange("saving the completed job");
        Log.Completed(logger, JobId, Job.All.Scored, Job.All.Failed);
        await MarkEnded();
        if (CompletionCuration.HasWork(Job.Spec!)) _curation = WriteCuration();
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
            await _record.SaveChange("saving the curation result");
            await store.WriteWhole(JobLayout.SummaryFile(Job.Spec!.Output), JobSummaryFile.Encode(BuildSummary()));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            CompletionCuration.Failed(Job, e);
            _record.Changed();
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

    public Task<JobStatus> GetStatus() =>
        Task.FromResult(JobStatusView.Status(JobId, Job, _leases, _rate, _record.SavedBytes, RuntimeIdentity, DateTimeOffset.UtcNow));

    public Task<JobSpec?> GetSpec() => Task.FromResult(Job.Spec);

    public Task<JobSummary> GetSummary()
    {
        if (Job.Spec is null) throw new ArgumentException($"job '{JobId}' does not exist");
        return Task.FromResult(BuildSummary());
    }

    private JobSummary BuildSummary() => JobSummaryFile.Build(JobId, Job, models.DeclaredRange(Job.Spec!.Model));

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
            await _record.SaveChange("saving the cancelled job");
            await MarkEnded();
        }
        return await GetStatus();
    }
}
