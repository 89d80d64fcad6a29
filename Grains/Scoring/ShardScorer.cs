using System.Diagnostics;
using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Storage;
using DpIqa.Telemetry;
using Microsoft.Extensions.Options;

namespace DpIqa.Scoring;

/// <summary>
/// Scores one shard on this silo: reads its item list, fetches each image, decodes and resizes it on the
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
    private readonly ScoreCache.ScoreCacheStore _cache;

    public ShardScorer(InferenceService inference, ObjectStore store, IOptions<ImageLimits> limits, IOptions<ScoringOptions> options, ScoreCache.ScoreCacheStore cache)
    {
        _store = store;
        _cache = cache;
        _inference = inference;
        _limits = limits.Value;
        _options = options.Value;
        int threads = _options.DecodeThreads > 0 ? _options.DecodeThreads : Environment.ProcessorCount;
        _decodeSlots = new SemaphoreSlim(threads, threads);
    }

    public async Task<ShardOutcome> Score(ShardLease lease, CancellationToken cancellationToken)
    {
        var items = ItemList.Decode(await JobLayout.ReadShardFile(_store, lease.ItemList, cancellationToken));
        ModelSession session;
        ModelSession? teacher;
        try
        {
            session = _inference.Session(lease.Model);
            teacher = lease.Cascade is null ? null : _inference.Session(lease.Cascade.Teacher);
        }
        catch (ModelMemoryException e)
        {
            // This silo cannot hold the model: every image of the shard says so (kind inference), rather than the
            // shard going back to the queue to fail here again, or the silo being killed for running out of memory.
            var model = lease.Model == e.Manifest.Name ? e.Manifest : _inference.Session(lease.Model).Manifest;
            var failed = items.Select(item => new ImageResult
            {
                Path = item.Path, Status = ImageResult.Error, ErrorKind = ImageErrorKind.Inference.Name(), ErrorMessage = e.Message,
                Model = model.Name, ModelVersion = model.Version, ModelSha256 = model.Sha256,
            }).ToArray();
            foreach (var _ in failed) DpIqaMetrics.ImageDone(model.Name, ImageErrorKind.Inference.Name());
            await _store.WriteWhole(lease.ResultFile, await ResultFiles.Encode(failed, lease.Format), cancellationToken);
            return Aggregate(failed, lease.ResultFile, model.Version);
        }
        var manifest = session.Manifest;
        var results = new ImageResult[items.Count];
        // Incremental: an image whose version is the one its cached score was computed for is neither fetched nor scored.
        // The fast path's scores differ slightly from the exact path's, so each path has its own cached scores.
        var cacheKey = lease.Preprocess == PreprocessPath.Fast ? manifest.Sha256 + ".fast" : manifest.Sha256;
        var cached = lease.Incremental ? await _cache.Lookup(cacheKey, items, lease.ScoreCacheFile, cancellationToken) : null;
        await Parallel.ForEachAsync(Enumerable.Range(0, items.Count),
            new ParallelOptions { MaxDegreeOfParallelism = _options.ImagesInFlight, CancellationToken = cancellationToken, TaskScheduler = TaskScheduler.Default },
            async (i, ct) => results[i] = Reused(items[i], cached, manifest, lease.Cascade, lease.Preprocess, lease.Dedup) ?? await ScoreOne(items[i], session, manifest, lease.Preprocess, ct, lease.Cascade, teacher));

        await _store.WriteWhole(lease.ResultFile, await ResultFiles.Encode(results, lease.Format), cancellationToken);
        NativeHeap.Trim(); // the shard's decoders and runs left free space in malloc's arenas: see NativeHeap
        if (lease.Incremental)
        {
            var fresh = items.Zip(results).Where(p => !p.Second.Reused && p.Second.Score is not null && p.First.Version is not null)
                .Select(p => (p.First, new ScoreCache.CachedScore(p.First.Version!, p.Second.Score!.Value, p.Second.Width, p.Second.Height, p.Second.Bytes, DateTimeOffset.UtcNow,
                    p.Second.PHash, p.Second.ContentMd5)))
                .ToList();
            await _cache.Store(cacheKey, fresh, lease.ScoreCacheFile, cancellationToken);
        }
        return Aggregate(results, lease.ResultFile, manifest.Version);
    }

    // A cached score inside the cascade's band is not reused: the cache holds no teacher score, and the teacher decides there.
    // Nor is one cached before hashes were, when the job groups duplicates: the image is scored (and hashed) once more.
    private static ImageResult? Reused(SourceItem item, IReadOnlyDictionary<string, ScoreCache.CachedScore>? cached, ModelManifest manifest, TeacherBand? cascade,
        PreprocessPath preprocess, bool dedup) =>
        cached is not null && item.Version is { } version && cached.TryGetValue(item.Location, out var hit) && hit.Version == version
            && !(cascade is not null && Cascade.CascadeRules.InBand(cascade, hit.Score))
            && !(dedup && (hit.PHash is null || hit.ContentMd5 is null))
            ? new ImageResult
            {
                Path = item.Path, Score = hit.Score, Status = ImageResult.Ok, Width = hit.Width, Height = hit.Height, Bytes = hit.Bytes,
                Model = manifest.Name, ModelVersion = manifest.Version, ModelSha256 = manifest.Sha256, Reused = true, PHash = hit.PHash, ContentMd5 = hit.ContentMd5,
                Preprocess = preprocess == PreprocessPath.Fast ? ImageResult.Fast : ImageResult.Exact,
            }
            : null;

    private async Task<ImageResult> ScoreOne(SourceItem item, ModelSession session, ModelManifest manifest, PreprocessPath preprocess, CancellationToken ct,
        TeacherBand? cascade = null, ModelSession? teacher = null)
    {
        var started = Stopwatch.GetTimestamp();
        var result = new ImageResult { Path = item.Path, Model = manifest.Name, ModelVersion = manifest.Version, ModelSha256 = manifest.Sha256 };
        try
        {
            byte[] bytes;
            try
            {
                var fetching = Stopwatch.GetTimestamp();
                bytes = await _store.Read(item.Location, ct);
                DpIqaMetrics.Fetched(bytes.Length, Stopwatch.GetElapsedTime(fetching));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Azure.RequestFailedException)
            {
                throw new ImageError(ImageErrorKind.Fetch, Secrets.Redact($"cannot read {item.Location}: {e.Message}"));
            }
            result.Bytes = bytes.Length;
            result.ContentMd5 = Dedup.ContentHash.Of(item.Version, bytes);
            if (session.Native)
            {
                result.Score = await ScoreNative(session, bytes, result, ct);
                result.Status = ImageResult.Ok;
                return Done(result, started, manifest);
            }
            PreprocessedImage image;
            await _decodeSlots.WaitAsync(ct);
            try
            {
                var preprocessing = Stopwatch.GetTimestamp();
                image = Preprocessor.Run(bytes, _limits, preprocess);
                DpIqaMetrics.Preprocessed(Stopwatch.GetElapsedTime(preprocessing));
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
                result.PHash = image.PHash is { } phash ? PerceptualHash.Format(phash) : null;
                var score = await FiniteScore(session, "model", image, ct);
                result.Score = score;
                if (cascade is not null && teacher is not null && Cascade.CascadeRules.InBand(cascade, score))
                    result.TeacherScore = await FiniteScore(teacher, "cascade teacher", image, ct); // same preprocessing as the job's model
            }
            result.Status = ImageResult.Ok;
        }
        catch (ImageError e)
        {
            result.Status = ImageResult.Error;
            result.ErrorKind = e.Kind.Name();
            result.ErrorMessage = e.Message;
        }
        return Done(result, started, manifest);
    }

    private static ImageResult Done(ImageResult result, long started, ModelManifest manifest)
    {
        result.Milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        DpIqaMetrics.ImageDone(manifest.Name, result.ErrorKind);
        return result;
    }

    /// <summary>
    /// A model computed from the full-size image (the built-in BRISQUE): decoded whole (the size guard applies) and scored
    /// while holding a decode slot, so at most <see cref="ScoringOptions.DecodeThreads"/> full-size images are in memory
    /// and busy at once. A failure of the model is an inference error record, as for a graph.
    /// </summary>
    private async Task<float> ScoreNative(ModelSession session, byte[] bytes, ImageResult result, CancellationToken ct)
    {
        await _decodeSlots.WaitAsync(ct);
        try
        {
            var preprocessing = Stopwatch.GetTimestamp();
            using var decoded = ImageDecoder.Decode(bytes, _limits);
            DpIqaMetrics.Preprocessed(Stopwatch.GetElapsedTime(preprocessing));
            result.Width = decoded.FullWidth;
            result.Height = decoded.FullHeight;
            result.Preprocess = ImageResult.Exact;
            result.PHash = PerceptualHash.Format(PerceptualHash.Compute(decoded)); // the same pixels, as the graph path hashes them
            float score;
            try
            {
                score = session.ScoreNative(decoded);
            }
            catch (Exception e) when (e is not (ImageError or OperationCanceledException))
            {
                throw new ImageError(ImageErrorKind.Inference, $"model {session.Manifest.Name} failed: {e.Message}");
            }
            if (!float.IsFinite(score))
                throw new ImageError(ImageErrorKind.Inference, $"model {session.Manifest.Name} returned {score}, not a finite score");
            return score;
        }
        finally
        {
            _decodeSlots.Release();
        }
    }

    /// <summary>A model's score of a preprocessed image; a failed run or a NaN/infinity (which statistics cannot count)
    /// becomes an inference error record. <paramref name="role"/> names the model in the message ("model", "cascade teacher").</summary>
    private static async Task<float> FiniteScore(ModelSession session, string role, PreprocessedImage image, CancellationToken ct)
    {
        float score;
        try
        {
            score = await session.Score(image, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ImageError(ImageErrorKind.Inference, $"{role} {session.Manifest.Name} failed: {e.Message}");
        }
        if (!float.IsFinite(score))
            throw new ImageError(ImageErrorKind.Inference, $"{role} {session.Manifest.Name} returned {score}, not a finite score");
        return score;
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
        return new ShardOutcome { All = all, ByFolder = byFolder, ResultFile = resultFile, ModelVersion = modelVersion, Reused = results.Count(r => r.Reused) };
    }
}
