using System.Text.Json;
using System.Text.Json.Serialization;
using DpIqa.Hosting;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Statistics;
using DpIqa.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DpIqa.Jobs;

/// <summary>
/// The coordinator of one job. Lists the sources into shard manifests (streaming: shards can be leased
/// while listing goes on), hands shards to workers as leases with a deadline, takes back expired ones,
/// counts the first completion of each shard only and merges its statistics.
/// Leases live in memory: after a failover every unfinished shard is simply leased again.
/// </summary>
internal sealed partial class JobGrain(
    [PersistentState("job", JobGrain.StorageName)] IPersistentState<JobRecord> state,
    ModelCatalog models,
    ObjectStore store,
    Orleans.Serialization.Serializer serializer,
    IOptions<JobOptions> options,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    public const string StorageName = SiloSetup.JobStorage;

    private sealed record ActiveLease(Guid Token, string Worker, DateTimeOffset Deadline);

    private readonly Queue<int> _waiting = new();
    private readonly Dictionary<int, ActiveLease> _leases = new();
    private bool _dirty;
    private Task? _listing;
    private Task? _curation;
    private readonly CancellationTokenSource _stop = new();
    private DateTimeOffset? _rateSince;
    private long _doneAtRateStart;
    private long _savedBytes;

    private JobRecord Job => state.State;
    private string JobId => this.GetPrimaryKeyString();
    private TimeSpan LeaseDuration => TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Job.Spec is not null) _savedBytes = serializer.SerializeToArray(Job).Length;
        if (Job.Spec is not null && Job.State is JobState.Running)
        {
            for (int shard = 0; shard < Job.ShardCount; shard++)
                if (!Job.IsDone(shard)) _waiting.Enqueue(shard);
            if (!Job.ListingDone) _listing = RunListing();
            Log.Resumed(logger, JobId, Job.ShardCount - Job.ShardsDone, Job.ListingDone);
        }
        if (Job.Spec is not null && Job.State is JobState.Completed && Curation.CurationLists.HasRule(Job.Spec) && !Job.CurationWritten)
            _curation = WriteCuration();
        this.RegisterGrainTimer(SaveIfDirty, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.FromMilliseconds(options.Value.SaveIntervalMs),
            Period = TimeSpan.FromMilliseconds(options.Value.SaveIntervalMs),
            KeepAlive = false,
        });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _stop.Cancel();
        if (_dirty) await Save(cancellationToken);
    }

    /// <summary>Writes the job's state and records its size (reported by GetStatus without re-serializing on every poll).</summary>
    private async Task Save(CancellationToken cancellationToken = default)
    {
        _dirty = false;
        await state.WriteStateAsync(cancellationToken);
        _savedBytes = serializer.SerializeToArray(Job).Length;
    }

    private async Task SaveIfDirty(CancellationToken cancellationToken)
    {
        if (!_dirty) return;
        await Save(cancellationToken);
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
        var model = Validate(spec);
        await store.ValidateSources(spec.Sources);
        await store.PrepareOutput(spec.Output);
        Job.Spec = spec;
        Job.State = JobState.Running;
        Job.SubmittedAt = DateTimeOffset.UtcNow;
        Job.ModelVersion = model.Manifest.Version;
        Job.Message = Curation.CurationLists.Validate(spec, model.Manifest); // a note when --reject-below cannot be checked
        await Save();
        await GrainFactory.GetGrain<IJobCatalogGrain>(IJobCatalogGrain.Key).Add(JobId);
        Log.Started(logger, JobId, spec.Model, string.Join(", ", spec.Sources), spec.ShardSize);
        _listing = RunListing();
        return await GetStatus();
    }

    private ResolvedModel Validate(JobSpec spec)
    {
        if (spec.ShardSize < 1 || spec.ShardSize > options.Value.MaxShardSize)
            throw new ArgumentException($"shard size {spec.ShardSize} is out of range: use 1 to {options.Value.MaxShardSize}");
        if (string.IsNullOrWhiteSpace(spec.Output)) throw new ArgumentException("no output given: name a folder for the results");
        if (!Enum.IsDefined(spec.Format)) throw new ArgumentException($"unknown result format {spec.Format}: use csv, jsonl or parquet");
        var model = models.Resolve(spec.Model); // throws ArgumentException naming the models there are
        Curation.CurationLists.Validate(spec, model.Manifest);
        return model;
    }

    /// <summary>Writes a manifest per full shard as items stream in; resumes after the shards already written.</summary>
    private async Task RunListing()
    {
        var spec = Job.Spec!;
        long skip = (long)Job.ShardCount * spec.ShardSize;
        var batch = new List<SourceItem>(spec.ShardSize);
        try
        {
            await foreach (var item in store.List(spec.Sources, _stop.Token))
            {
                if (skip > 0) { skip--; continue; }
                batch.Add(item);
                if (batch.Count == spec.ShardSize) await AddShard(batch);
            }
            if (batch.Count > 0) await AddShard(batch);
            Job.ListingDone = true;
            if (Job.Total == 0) Job.Message = $"no images found in {string.Join(", ", spec.Sources)} (looked for {string.Join(" ", Imaging.ImageFormats.Extensions)})";
            Log.Listed(logger, JobId, Job.Total, Job.ShardCount);
            await FinishIfDone();
            await Save();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log.ListingFailed(logger, e, JobId);
            Job.State = JobState.Failed;
            Job.Message = $"listing the sources failed: {Secrets.Redact(e.Message)}";
            Job.FinishedAt = DateTimeOffset.UtcNow;
            _waiting.Clear();
            await Save();
            await GrainFactory.GetGrain<IJobCatalogGrain>(IJobCatalogGrain.Key).MarkEnded(JobId);
        }
    }

    private async Task AddShard(List<SourceItem> items)
    {
        int shard = Job.ShardCount;
        await store.WriteWhole(ShardManifest.ManifestPath(Job.Spec!.Output, shard), ShardManifest.Encode(items));
        Job.ShardCount++;
        Job.EnsureCapacity(Job.ShardCount);
        Job.Total += items.Count;
        items.Clear();
        if (Job.State == JobState.Running) _waiting.Enqueue(shard);
        _dirty = true;
    }

    public Task<ShardLease?> Lease(string worker)
    {
        if (Job.State != JobState.Running) return Task.FromResult<ShardLease?>(null);
        var now = DateTimeOffset.UtcNow;
        ReclaimExpired(now);
        while (_waiting.TryDequeue(out var shard))
        {
            if (Job.IsDone(shard) || _leases.ContainsKey(shard)) continue;
            var lease = new ActiveLease(Guid.NewGuid(), worker, now + LeaseDuration);
            _leases[shard] = lease;
            if (Job.StartedAt is null) { Job.StartedAt = now; _dirty = true; }
            if (_rateSince is null) { _rateSince = now; _doneAtRateStart = Job.All.Scored + Job.All.Failed; }
            var spec = Job.Spec!;
            return Task.FromResult<ShardLease?>(new ShardLease
            {
                JobId = JobId,
                Shard = shard,
                Token = lease.Token,
                Manifest = ShardManifest.ManifestPath(spec.Output, shard),
                ResultFile = ResultFiles.ShardResultPath(spec.Output, shard, spec.Format),
                Model = spec.Model,
                Format = spec.Format,
                Deadline = lease.Deadline,
            });
        }
        return Task.FromResult<ShardLease?>(null);
    }

    private void ReclaimExpired(DateTimeOffset now)
    {
        foreach (var (shard, lease) in _leases.Where(l => l.Value.Deadline < now).ToList())
        {
            _leases.Remove(shard);
            _waiting.Enqueue(shard);
            Log.LeaseExpired(logger, JobId, shard, lease.Worker);
        }
    }

    private static string SiloOf(string worker) => worker.LastIndexOf('/') is var i and > 0 ? worker[..i] : worker;

    public Task<bool> Renew(int shard, Guid token)
    {
        var now = DateTimeOffset.UtcNow;
        ReclaimExpired(now); // a lease past its deadline cannot be renewed, only leased again
        if (Job.State != JobState.Running || !_leases.TryGetValue(shard, out var lease) || lease.Token != token)
            return Task.FromResult(false);
        _leases[shard] = lease with { Deadline = now + LeaseDuration };
        return Task.FromResult(true);
    }

    public async Task<bool> Complete(int shard, Guid token, ShardOutcome outcome)
    {
        if (Job.Spec is null || shard < 0 || shard >= Job.ShardCount || Job.IsDone(shard)) return false;
        if (Job.State is not JobState.Running) return false;
        // The first completion counts, even from a worker whose lease expired: its result file was written whole,
        // and a later run of the same shard overwrites it with the same images.
        var silo = _leases.TryGetValue(shard, out var lease) && lease.Token == token ? SiloOf(lease.Worker) : "(expired lease)";
        if (lease is not null && lease.Token != token) Log.LateCompletion(logger, JobId, shard);
        Job.ShardsBySilo[silo] = Job.ShardsBySilo.GetValueOrDefault(silo) + 1;
        _leases.Remove(shard);
        Job.MarkDone(shard);
        Job.ShardsDone++;
        JobStatistics.Add(Job.All, Job.ByFolder, outcome);
        _dirty = true;
        await FinishIfDone();
        return true;
    }

    public Task Release(int shard, Guid token)
    {
        if (_leases.TryGetValue(shard, out var lease) && lease.Token == token)
        {
            _leases.Remove(shard);
            _waiting.Enqueue(shard);
        }
        return Task.CompletedTask;
    }

    private async Task FinishIfDone()
    {
        if (Job.State != JobState.Running || !Job.ListingDone || Job.ShardsDone < Job.ShardCount) return;
        Job.State = JobState.Completed;
        Job.FinishedAt = DateTimeOffset.UtcNow;
        await Save();
        await store.WriteWhole(Locations.Join(Job.Spec!.Output, "summary.json"),
            JsonSerializer.SerializeToUtf8Bytes(BuildSummary(), SummaryJson));
        await GrainFactory.GetGrain<IJobCatalogGrain>(IJobCatalogGrain.Key).MarkEnded(JobId);
        Log.Completed(logger, JobId, Job.All.Scored, Job.All.Failed);
        if (Curation.CurationLists.HasRule(Job.Spec)) _curation = WriteCuration();
    }

    /// <summary>Keep/reject lists, after completion; redone on reactivation if the silo died while writing them.</summary>
    private async Task WriteCuration()
    {
        try
        {
            var threshold = Curation.CurationLists.Threshold(Job.Spec!, Job.All);
            var (keep, reject) = await Curation.CurationLists.Write(store, Job.Spec!, Job.ShardCount, threshold, _stop.Token);
            Job.Curation = new CurationResult(threshold, keep, reject);
            Job.CurationWritten = true;
            await Save();
            await store.WriteWhole(Locations.Join(Job.Spec!.Output, "summary.json"), JsonSerializer.SerializeToUtf8Bytes(BuildSummary(), SummaryJson));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Job.Message = $"the keep/reject lists could not be written: {e.Message}";
            Log.CurationFailed(logger, e, JobId);
        }
    }

    /// <summary>Completes once the curation lists (if any) are written.</summary>
    public async Task<JobSummary> WaitForCuration()
    {
        if (_curation is not null) await _curation;
        return BuildSummary();
    }

    public static readonly JsonSerializerOptions SummaryJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public Task<JobStatus> GetStatus()
    {
        var now = DateTimeOffset.UtcNow;
        long done = Job.All.Scored + Job.All.Failed;
        double rate = 0;
        if (_rateSince is { } since && (now - since).TotalSeconds > 0.5)
            rate = (done - _doneAtRateStart) / (now - since).TotalSeconds;
        if (Job.State != JobState.Running && Job.StartedAt is { } s && Job.FinishedAt is { } f && (f - s).TotalSeconds > 0)
            rate = done / (f - s).TotalSeconds;
        TimeSpan? eta = Job.State == JobState.Running && Job.ListingDone && rate > 0 ? TimeSpan.FromSeconds((Job.Total - done) / rate) : null;
        return Task.FromResult(new JobStatus
        {
            JobId = JobId,
            State = Job.State,
            Total = Job.Total,
            ListingDone = Job.ListingDone,
            Scored = Job.All.Scored,
            Failed = Job.All.Failed,
            Shards = Job.ShardCount,
            ShardsDone = Job.ShardsDone,
            ShardsLeased = _leases.Count,
            ImagesPerSecond = rate,
            Eta = eta,
            Workers = _leases.Values.Select(l => l.Worker).Distinct().Count(),
            Message = Job.Message,
            Model = Job.Spec is null ? null : $"{Job.Spec.Model} v{Job.ModelVersion}",
            SubmittedAt = Job.SubmittedAt,
            Coordinator = RuntimeIdentity,
            ShardsBySilo = new Dictionary<string, int>(Job.ShardsBySilo),
            StateBytes = _savedBytes,
        });
    }

    public Task<JobSpec?> GetSpec() => Task.FromResult(Job.Spec);

    public Task<JobSummary> GetSummary()
    {
        if (Job.Spec is null) throw new ArgumentException($"job '{JobId}' does not exist");
        return Task.FromResult(BuildSummary());
    }

    private JobSummary BuildSummary() => BuildSummary(DeclaredRange());

    private JobSummary BuildSummary((double Lower, double Upper)? scoreRange) => new()
    {
        JobId = JobId,
        Model = Job.Spec!.Model,
        ModelVersion = Job.ModelVersion,
        State = Job.State,
        All = SummaryBuilder.Build(Job.All, scoreRange),
        ByFolder = Job.ByFolder.OrderBy(f => f.Key, StringComparer.Ordinal).ToDictionary(f => f.Key, f => SummaryBuilder.Build(f.Value, scoreRange)),
        Message = Job.Message,
        Curation = Job.Curation,
    };

    /// <summary>The job's model's declared score range for the histogram; null if unknown or the model was removed since.</summary>
    private (double Lower, double Upper)? DeclaredRange()
    {
        try
        {
            return models.Resolve(Job.Spec!.Model).Manifest.DeclaredRange();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public async Task<JobStatus> Cancel()
    {
        if (Job.Spec is null) throw new ArgumentException($"job '{JobId}' does not exist");
        if (Job.State is JobState.Running or JobState.Pending)
        {
            Job.State = JobState.Cancelled;
            Job.FinishedAt = DateTimeOffset.UtcNow;
            Job.Message = "cancelled by a user";
            _stop.Cancel();
            _waiting.Clear();
            _leases.Clear();
            await Save();
            await GrainFactory.GetGrain<IJobCatalogGrain>(IJobCatalogGrain.Key).MarkEnded(JobId);
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

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: shard {Shard} completed by a worker whose lease had expired; counted once")]
        public static partial void LateCompletion(ILogger logger, string job, int shard);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: writing the keep/reject lists failed")]
        public static partial void CurationFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} completed: {Scored} scored, {Failed} failed")]
        public static partial void Completed(ILogger logger, string job, long scored, long failed);
    }
}
