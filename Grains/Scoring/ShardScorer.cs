using System.Diagnostics;
using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Scoring;

/// <summary>
/// Scores one shard on this silo: reads its manifest, fetches each image, decodes and resizes it on the
/// CPU cores (at most <see cref="ScoringOptions.DecodeThreads"/> at once across all shards), queues it for
/// the model's batcher, and writes the shard's results file whole. Every image ends as a score or an error record.
/// </summary>
internal sealed class ShardScorer
{
    private readonly InferenceService _inference;
    private readonly ObjectStore _store;
    private readonly ImageLimits _limits;
    private readonly ScoringOptions _options;
    private readonly SemaphoreSlim _decodeSlots;

    public ShardScorer(InferenceService inference, ObjectStore store, IOptions<ImageLimits> limits, IOptions<ScoringOptions> options)
    {
        _store = store;
        _inference = inference;
        _limits = limits.Value;
        _options = options.Value;
        int threads = _options.DecodeThreads > 0 ? _options.DecodeThreads : Environment.ProcessorCount;
        _decodeSlots = new SemaphoreSlim(threads, threads);
    }

    public async Task<ShardOutcome> Score(ShardLease lease, CancellationToken cancellationToken)
    {
        var items = ShardManifest.Decode(await _store.Read(lease.Manifest, cancellationToken));
        var session = _inference.Session(lease.Model);
        var manifest = session.Manifest;
        var results = new ImageResult[items.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.ImagesInFlight), CancellationToken = cancellationToken, TaskScheduler = TaskScheduler.Default },
            async (i, ct) => results[i] = await ScoreOne(items[i], session, manifest, lease.Preprocess, ct));

        await _store.WriteWhole(lease.ResultFile, await ResultFiles.Encode(results, lease.Format), cancellationToken);
        return Aggregate(results, lease.ResultFile, manifest.Version);
    }

    private async Task<ImageResult> ScoreOne(SourceItem item, ModelSession session, ModelManifest manifest, PreprocessPath preprocess, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var result = new ImageResult { Path = item.Path, Model = manifest.Name, ModelVersion = manifest.Version, ModelSha256 = manifest.Sha256 };
        try
        {
            byte[] bytes;
            try
            {
                bytes = await _store.Read(item.Location, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Azure.RequestFailedException)
            {
                throw new ImageError(ImageErrorKind.Fetch, Secrets.Redact($"cannot read {item.Location}: {e.Message}"));
            }
            result.Bytes = bytes.Length;
            PreprocessedImage image;
            await _decodeSlots.WaitAsync(ct);
            try
            {
                image = Preprocessor.Run(bytes, _limits, preprocess);
            }
            finally
            {
                _decodeSlots.Release();
            }
            using (image)
            {
                result.Width = image.OriginalWidth;
                result.Height = image.OriginalHeight;
                result.Preprocess = image.Path == PreprocessPath.Fast ? ImageResult.Fast : ImageResult.Exact;
                float score;
                try
                {
                    score = await session.Score(image, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new ImageError(ImageErrorKind.Inference, $"model {manifest.Name} failed: {e.Message}");
                }
                // Statistics cannot count a NaN or an infinity: such an image gets an error record instead.
                if (!float.IsFinite(score))
                    throw new ImageError(ImageErrorKind.Inference, $"model {manifest.Name} returned {score}, not a finite score");
                result.Score = score;
            }
            result.Status = ImageResult.Ok;
        }
        catch (ImageError e)
        {
            result.Status = ImageResult.Error;
            result.ErrorKind = e.Kind.Name();
            result.ErrorMessage = e.Message;
        }
        result.Milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return result;
    }

    internal static ShardOutcome Aggregate(IReadOnlyList<ImageResult> results, string resultFile, string modelVersion)
    {
        var all = new ScoreAggregate();
        var byFolder = new Dictionary<string, ScoreAggregate>();
        foreach (var r in results)
        {
            var folder = SourceListing.TopFolder(r.Path);
            if (!byFolder.TryGetValue(folder, out var f)) byFolder[folder] = f = new ScoreAggregate();
            if (r.Score is { } score)
            {
                all.AddScore(score);
                f.AddScore(score);
            }
            else
            {
                all.AddFailure(r.ErrorKind ?? "unknown");
                f.AddFailure(r.ErrorKind ?? "unknown");
            }
        }
        return new ShardOutcome { All = all, ByFolder = byFolder, ResultFile = resultFile, ModelVersion = modelVersion };
    }
}
