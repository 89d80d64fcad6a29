using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using DpIqa.Hosting;
using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.ScoreCache;

/// <summary>
/// A cached score: valid for the image while its version (ETag, or local size+mtime) is the same. With the image's
/// hashes (result columns phash, content_md5), so a reused image can still be grouped by --dedup; entries cached before
/// hashes existed have none.
/// </summary>
internal sealed record CachedScore(string Version, float Score, int? Width, int? Height, long? Bytes, DateTimeOffset ScoredAt,
    string? PHash = null, string? ContentMd5 = null);

/// <summary>
/// Scores already computed, keyed by the model's sha256 (the exact weights) and the image's location, holding the
/// image's version when it was scored. Where the silo has table storage (Storage:ConnectionString or
/// Storage:TableServiceUri) the cache is the Azure Table <see cref="TableName"/>, shared by every silo; otherwise it is
/// a JSON-lines file (a job's <see cref="JobSpec.ScoreCacheFile"/>, by default score-cache.jsonl beside the results),
/// which suits the embedded <c>dpiqa score --incremental</c> and a one-silo development cluster.
/// </summary>
internal sealed class ScoreCacheStore
{
    public const string TableName = "dpiqascorecache";
    private const int LookupConcurrency = 16;

    private readonly ObjectStore _store;
    private readonly TableClient? _table;
    private readonly SemaphoreSlim _tableCreated = new(1, 1);
    private bool _tableExists;
    private readonly ConcurrentDictionary<string, FileCache> _files = new();

    public ScoreCacheStore(ObjectStore store, IOptions<StorageOptions> options)
    {
        _store = store;
        var o = options.Value;
        if (!string.IsNullOrWhiteSpace(o.ConnectionString) || !string.IsNullOrWhiteSpace(o.TableServiceUri))
            _table = SiloSetup.TableClient(o).GetTableClient(TableName);
    }

    /// <summary>Where the cache lives, in words (for logs and docs/curation.md).</summary>
    public bool UsesTable => _table is not null;

    /// <summary>The cached scores of <paramref name="items"/> that exist (whatever their version: the caller compares).</summary>
    public async Task<IReadOnlyDictionary<string, CachedScore>> Lookup(string modelSha256, IReadOnlyList<SourceItem> items, string? cacheFile, CancellationToken cancellationToken)
    {
        var found = new ConcurrentDictionary<string, CachedScore>();
        if (_table is null)
        {
            var file = await File(cacheFile, cancellationToken);
            foreach (var item in items)
                if (file.TryGet(Key(modelSha256, item.Location), out var hit)) found[item.Location] = hit;
            return found;
        }
        await EnsureTable(cancellationToken);
        // A shard's images are consecutive in listing (name) order, and so are their row keys: one range query per shard
        // rather than one request per image, which made the incremental bench's second run markedly dearer
        // (docs/benchmarks.md, "Incremental scoring").
        var wanted = items.Where(i => i.Version is not null).ToDictionary(i => RowKey(i.Location), i => i.Location, StringComparer.Ordinal);
        var keys = wanted.Keys.Where(k => !k.StartsWith(HashedPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (keys.Count > 0)
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {modelSha256} and RowKey ge {keys[0]} and RowKey le {keys[^1]}");
            await foreach (var entity in _table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken))
                if (wanted.TryGetValue(entity.RowKey, out var location) && FromEntity(entity) is { } hit) found[location] = hit;
        }
        // Locations too long for a readable row key are looked up one by one (rare: names over 500 characters).
        await Parallel.ForEachAsync(wanted.Where(w => w.Key.StartsWith(HashedPrefix, StringComparison.Ordinal)),
            new ParallelOptions { MaxDegreeOfParallelism = LookupConcurrency, CancellationToken = cancellationToken },
            async (w, ct) =>
            {
                var response = await _table.GetEntityIfExistsAsync<TableEntity>(modelSha256, w.Key, cancellationToken: ct);
                if (response.HasValue && FromEntity(response.Value!) is { } hit) found[w.Value] = hit;
            });
        return found;
    }

    /// <summary>Caches freshly computed scores (upserts: a rescored image replaces its old entry).</summary>
    public async Task Store(string modelSha256, IReadOnlyList<(SourceItem Item, CachedScore Score)> scores, string? cacheFile, CancellationToken cancellationToken)
    {
        if (scores.Count == 0) return;
        if (_table is null)
        {
            var file = await File(cacheFile, cancellationToken);
            await file.Add(scores.Select(s => (Key(modelSha256, s.Item.Location), s.Score)), cancellationToken);
            return;
        }
        await EnsureTable(cancellationToken);
        // A transaction holds at most 100 entities of one partition (the model).
        foreach (var chunk in scores.Chunk(100))
        {
            var actions = chunk.Select(s => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(modelSha256, s.Item.Location, s.Score)));
            await _table.SubmitTransactionAsync(actions, cancellationToken);
        }
    }

    private async Task EnsureTable(CancellationToken cancellationToken)
    {
        if (_tableExists) return;
        await _tableCreated.WaitAsync(cancellationToken);
        try
        {
            if (!_tableExists) await _table!.CreateIfNotExistsAsync(cancellationToken);
            _tableExists = true;
        }
        finally
        {
            _tableCreated.Release();
        }
    }

    private static string Key(string modelSha256, string location) => modelSha256 + "|" + location;

    private const string HashedPrefix = "~sha256~";
    private const int MaxReadableKey = 500;

    /// <summary>
    /// The location itself, with the characters row keys may not hold ('/', '\', '#', '?', control characters) and
    /// '%' written as %XX, so the keys of a folder's images sort together (a shard's lookup is one range query). Over
    /// <see cref="MaxReadableKey"/> characters (row keys hold 1 KiB): the location's sha256 instead.
    /// </summary>
    internal static string RowKey(string location)
    {
        var key = new StringBuilder(location.Length + 16);
        foreach (char c in location)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c)) key.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            else key.Append(c);
        }
        return key.Length <= MaxReadableKey ? key.ToString() : HashedPrefix + Models.Hashes.Sha256(Encoding.UTF8.GetBytes(location));
    }

    private static TableEntity ToEntity(string modelSha256, string location, CachedScore s) => new(modelSha256, RowKey(location))
    {
        ["Location"] = location,
        ["Version"] = s.Version,
        ["Score"] = (double)s.Score,
        ["Width"] = s.Width,
        ["Height"] = s.Height,
        ["Bytes"] = s.Bytes,
        ["ScoredAt"] = s.ScoredAt,
        ["PHash"] = s.PHash,
        ["ContentMd5"] = s.ContentMd5,
    };

    private static CachedScore? FromEntity(TableEntity e) =>
        e.GetString("Version") is { } version && e.GetDouble("Score") is { } score
            ? new CachedScore(version, (float)score, e.GetInt32("Width"), e.GetInt32("Height"), e.GetInt64("Bytes"), e.GetDateTimeOffset("ScoredAt") ?? DateTimeOffset.MinValue,
                e.GetString("PHash"), e.GetString("ContentMd5"))
            : null;

    private async Task<FileCache> File(string? cacheFile, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(cacheFile)) throw new ArgumentException("an incremental job needs a score cache: this silo has no table storage and the job names no cache file");
        var cache = _files.GetOrAdd(cacheFile, f => new FileCache(_store, f));
        await cache.Load(cancellationToken);
        return cache;
    }

    /// <summary>
    /// The cache file, loaded once. A local file grows by appending each batch's lines (a later line for a key replaces
    /// an earlier one when loaded), so a job of N images writes O(N) bytes rather than the whole file after every shard;
    /// once the file holds more than twice as many lines as entries it is rewritten whole, compacted. A blob is written
    /// whole each time (block blobs cannot be appended to). A line that does not parse (the last one, cut short by a
    /// crash during an append) is skipped when loading, and the next write rewrites the file whole.
    /// </summary>
    private sealed class FileCache(ObjectStore store, string location)
    {
        private sealed record Line(string Key, string Version, float Score, int? Width, int? Height, long? Bytes, DateTimeOffset ScoredAt,
            string? PHash = null, string? ContentMd5 = null);

        private readonly SemaphoreSlim _lock = new(1, 1);
        private Dictionary<string, CachedScore>? _entries;
        /// <summary>Lines in the file, replaced ones included.</summary>
        private long _lines;
        /// <summary>The file must be rewritten whole before the next append: it holds a line that did not parse or ends without a newline.</summary>
        private bool _rewrite;

        public async Task Load(CancellationToken cancellationToken)
        {
            if (_entries is not null) return;
            await _lock.WaitAsync(cancellationToken);
            try
            {
                if (_entries is not null) return;
                var entries = new Dictionary<string, CachedScore>(StringComparer.Ordinal);
                var content = await store.TryRead(location, cancellationToken) ?? [];
                long lines = 0;
                bool cut = false;
                foreach (var raw in Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Line? l;
                    try
                    {
                        l = JsonSerializer.Deserialize<Line>(raw);
                    }
                    catch (JsonException)
                    {
                        l = null;
                    }
                    if (l is null) { cut = true; continue; }
                    entries[l.Key] = new CachedScore(l.Version, l.Score, l.Width, l.Height, l.Bytes, l.ScoredAt, l.PHash, l.ContentMd5);
                    lines++;
                }
                _lines = lines;
                _rewrite = cut || (content.Length > 0 && content[^1] != (byte)'\n');
                _entries = entries;
            }
            finally
            {
                _lock.Release();
            }
        }

        public bool TryGet(string key, out CachedScore score)
        {
            lock (_entries!) return _entries.TryGetValue(key, out score!);
        }

        public async Task Add(IEnumerable<(string Key, CachedScore Score)> scores, CancellationToken cancellationToken)
        {
            await _lock.WaitAsync(cancellationToken);
            try
            {
                var sb = new StringBuilder();
                bool whole;
                long lines;
                lock (_entries!)
                {
                    var added = scores.ToList();
                    foreach (var (key, score) in added) _entries[key] = score;
                    whole = _rewrite || Locations.IsBlob(location) || _lines + added.Count > 2 * (long)_entries.Count;
                    lines = whole ? _entries.Count : _lines + added.Count;
                    foreach (var (key, s) in whole ? _entries.Select(e => (e.Key, e.Value)) : added)
                        sb.Append(JsonSerializer.Serialize(new Line(key, s.Version, s.Score, s.Width, s.Height, s.Bytes, s.ScoredAt, s.PHash, s.ContentMd5))).Append('\n');
                }
                var bytes = Encoding.UTF8.GetBytes(sb.ToString());
                if (whole) await store.WriteWhole(location, bytes, cancellationToken);
                else await store.AppendLocal(location, bytes, cancellationToken);
                _lines = lines;
                _rewrite = false;
            }
            finally
            {
                _lock.Release();
            }
        }
    }
}
