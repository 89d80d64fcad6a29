using System.Collections.Concurrent;
using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using DpIqa.Storage;

namespace DpIqa.Curation;

/// <summary>One image's verdict, for the actions.</summary>
internal sealed record Verdict(string Location, string Path, float? Score, bool Keep);

/// <summary>
/// <c>--tag</c> and <c>--quarantine</c>: never destructive. Tags are blob index tags iqa_score, iqa_model, iqa_verdict,
/// iqa_job, merged into the blob's other tags (setting tags changes neither content, ETag nor last-modified time);
/// where the service answers that it lacks tags, the same keys go into the blob's metadata instead. Quarantine is a
/// server-side copy of each rejected blob into the quarantine container under the same name; the original is never
/// deleted or written. Each action is retried; one that still fails is counted and listed, and the job goes on.
/// Both are idempotent: tags are set to the same values again, and a quarantine copy of the same source version
/// (recorded in the copy's metadata) is not copied again.
/// </summary>
internal sealed class CurationActions(ObjectStore store, JobSpec spec, string jobId, string model)
{
    private const int Concurrency = 16;
    private const int Attempts = 3;
    private const int FailuresListed = 20;
    internal const string SourceEtagKey = "iqa_source_etag";

    private long _failed;
    private readonly long[] _done = new long[2]; // tagged, quarantined
    private const int Tagged = 0, Quarantined = 1;
    private readonly ConcurrentQueue<string> _failures = new();
    private volatile bool _tagsUnsupported;
    private BlobContainerClient? _quarantine;

    public bool Wanted => spec.Tag || spec.Quarantine is not null;

    public async Task Apply(IReadOnlyList<Verdict> verdicts, CancellationToken cancellationToken)
    {
        if (!Wanted) return;
        if (spec.Quarantine is { } q && _quarantine is null)
        {
            _quarantine = store.BlobAt(Locations.Blob(q) + "/x").GetParentBlobContainerClient();
            await Retry(() => _quarantine.CreateIfNotExistsAsync(cancellationToken: cancellationToken), cancellationToken);
        }
        await Parallel.ForEachAsync(verdicts, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken },
            async (v, ct) =>
            {
                if (!Locations.IsBlob(v.Location))
                {
                    Fail(v.Path, "not a blob (tags and quarantine act on blob sources)");
                    return;
                }
                var blob = store.BlobAt(v.Location);
                if (spec.Tag) await Act(v.Path, () => Tag(blob, v, ct), Tagged, ct);
                if (_quarantine is not null && !v.Keep) await Act(v.Path, () => Quarantine(blob, ct), Quarantined, ct);
            });
    }

    public CurationActionsResult Result() => new()
    {
        Tagged = Interlocked.Read(ref _done[Tagged]),
        Quarantined = Interlocked.Read(ref _done[Quarantined]),
        Failed = _failed,
        Failures = _failures.Take(FailuresListed).ToList(),
        TagsAs = spec.Tag ? (_tagsUnsupported ? "metadata" : "tags") : null,
    };

    private async Task Act(string path, Func<Task> action, int counter, CancellationToken cancellationToken)
    {
        try
        {
            await Retry(action, cancellationToken);
            Interlocked.Increment(ref _done[counter]);
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException)
        {
            Fail(path, Secrets.Redact(e.Message.Split('\n')[0]));
        }
    }

    private void Fail(string path, string reason)
    {
        Interlocked.Increment(ref _failed);
        if (_failures.Count < FailuresListed) _failures.Enqueue($"{path}: {reason}");
    }

    private static async Task Retry(Func<Task> action, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await action();
                return;
            }
            catch (RequestFailedException e) when (attempt < Attempts && e.Status is 0 or 408 or 409 or 412 or 429 or >= 500 && e.Status != 501)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << attempt)), cancellationToken);
            }
        }
    }

    private Dictionary<string, string> Values(Verdict v) => new()
    {
        ["iqa_score"] = v.Score?.ToString("R", CultureInfo.InvariantCulture) ?? "error",
        ["iqa_model"] = model,
        ["iqa_verdict"] = v.Keep ? "keep" : "reject",
        ["iqa_job"] = jobId,
    };

    private async Task Tag(BlobClient blob, Verdict v, CancellationToken cancellationToken)
    {
        if (!_tagsUnsupported)
        {
            try
            {
                var tags = (await blob.GetTagsAsync(cancellationToken: cancellationToken)).Value.Tags;
                foreach (var (key, value) in Values(v)) tags[key] = value;
                await blob.SetTagsAsync(tags, cancellationToken: cancellationToken);
                return;
            }
            catch (RequestFailedException e) when (e.Status is 501 || e.ErrorCode is "NotImplemented" or "FeatureNotSupported")
            {
                _tagsUnsupported = true; // the service lacks blob index tags: metadata from now on
            }
        }
        var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        var metadata = new Dictionary<string, string>(properties.Metadata);
        foreach (var (key, value) in Values(v)) metadata[key] = value;
        if (metadata.Count == properties.Metadata.Count && metadata.All(m => properties.Metadata.TryGetValue(m.Key, out var old) && old == m.Value)) return;
        // Only if unchanged since read: a concurrent writer's content is never overwritten, only its metadata kept.
        await blob.SetMetadataAsync(metadata, new BlobRequestConditions { IfMatch = properties.ETag }, cancellationToken);
    }

    private async Task Quarantine(BlobClient source, CancellationToken cancellationToken)
    {
        var target = _quarantine!.GetBlobClient(source.Name);
        var sourceProperties = (await source.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        var sourceVersion = sourceProperties.ContentHash is { Length: > 0 } hash ? Convert.ToBase64String(hash) : sourceProperties.ETag.ToString();
        try
        {
            var existing = (await target.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            if (existing.Metadata.TryGetValue(SourceEtagKey, out var copied) && copied == sourceVersion && existing.CopyStatus == CopyStatus.Success) return;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
        var copy = await target.StartCopyFromUriAsync(source.Uri, new BlobCopyFromUriOptions { Metadata = new Dictionary<string, string> { [SourceEtagKey] = sourceVersion } }, cancellationToken);
        await copy.WaitForCompletionAsync(cancellationToken);
    }
}
