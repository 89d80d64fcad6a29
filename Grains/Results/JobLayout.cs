using System.Globalization;
using DpIqa.Jobs;
using DpIqa.Storage;

namespace DpIqa.Results;

/// <summary>
/// The one place that knows what a job writes under its output (local folder or blob prefix):
/// <code>
/// items/shard-000012.jsonl.gz           a shard's item list: its images, gzipped JSON lines (written while listing)
/// results/shard-000012.1a2b3c4d.csv     a shard's results, one file per lease (named by the lease token's tag)
/// summary.json                          statistics, curation, evaluation (written when the job completes)
/// keep.txt, reject.txt                  the curation lists (jobs with a curation rule or --dedup)
/// duplicates.csv                        the duplicate groups (jobs with --dedup)
/// score-cache.jsonl                     the score cache where the silos have no table storage (incremental jobs)
/// </code>
/// The grain, curation, <c>dpiqa score</c>, reports and the tests ask here rather than spelling out names.
/// Jobs written before the folders were renamed (<c>manifests/</c>, <c>shards/</c>) are still read: see <see cref="ReadShardFile"/>.
/// </summary>
internal static class JobLayout
{
    /// <summary>The folder of the shards' item lists.</summary>
    public const string ItemListsFolder = "items";

    /// <summary>The folder of the shards' result files.</summary>
    public const string ResultsFolder = "results";

    /// <summary>The item lists' folder in jobs written before the rename (the word "manifest" now means a model's contract only).</summary>
    public const string OldItemListsFolder = "manifests";

    /// <summary>The result files' folder in jobs written before the rename.</summary>
    public const string OldResultsFolder = "shards";

    /// <summary>
    /// Folders a job fills per shard, under today's names and the old ones: a new run into the same local folder removes
    /// them all first, so its files never mix with an earlier run's (nor with one written by an older version).
    /// </summary>
    public static IReadOnlyList<string> ShardFolders { get; } = [ItemListsFolder, ResultsFolder, OldItemListsFolder, OldResultsFolder];

    /// <summary>Where a shard's list of images is stored.</summary>
    public static string ItemListPath(string output, int shard) => Locations.Join(output, ItemListsFolder, $"shard-{shard:D6}.jsonl.gz");

    /// <summary>
    /// The result file of one lease of a shard: <c>results/shard-000012.1a2b3c4d.csv</c>, named by the lease token's tag,
    /// so two runs of a shard never overwrite each other and the job can publish the one it counted.
    /// </summary>
    public static string ResultPath(string output, int shard, uint tag, ResultFormat format) =>
        Locations.Join(output, ResultsFolder, $"shard-{shard:D6}.{tag:x8}.{ResultFiles.Extension(format)}");

    /// <summary>The part of a lease token that names its result file (its first 32 bits).</summary>
    public static uint TokenTag(Guid token) => BitConverter.ToUInt32(token.ToByteArray(), 0);

    /// <summary>Shard and tag of a result file name made by <see cref="ResultPath"/>; false for any other name.</summary>
    public static bool TryParseResultName(string fileName, out int shard, out uint tag)
    {
        shard = 0;
        tag = 0;
        var parts = fileName.Split('.');
        return parts.Length == 3 && parts[0].StartsWith("shard-", StringComparison.Ordinal)
            && parts[1].Length == 8
            && int.TryParse(parts[0].AsSpan("shard-".Length), NumberStyles.None, CultureInfo.InvariantCulture, out shard)
            && uint.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out tag);
    }

    /// <summary>All counted rows of a job in one file, as <c>dpiqa score</c> merges them: <c>results.csv</c>, <c>.jsonl</c> or <c>.parquet</c>.</summary>
    public static string MergedResults(string output, ResultFormat format) => Locations.Join(output, $"results.{ResultFiles.Extension(format)}");

    /// <summary>The job's summary (statistics, curation, evaluation).</summary>
    public static string SummaryFile(string output) => Locations.Join(output, "summary.json");

    /// <summary>The curation rule's keep list (one image path a line).</summary>
    public static string KeepList(string output) => Locations.Join(output, "keep.txt");

    /// <summary>The curation rule's reject list (one image path a line).</summary>
    public static string RejectList(string output) => Locations.Join(output, "reject.txt");

    /// <summary>The duplicate groups of a job with --dedup: group, path, score, kept, distance (docs/duplicates.md).</summary>
    public static string DuplicatesList(string output) => Locations.Join(output, "duplicates.csv");

    /// <summary>The default score cache file, where the silos have no table storage.</summary>
    public static string ScoreCacheFile(string output) => Locations.Join(output, "score-cache.jsonl");

    /// <summary>Every row of the given result files (a job's counted ones, <see cref="IJobGrain.GetResultFiles"/>), in order.</summary>
    public static async Task<List<ImageResult>> ReadResults(ObjectStore store, IEnumerable<string> resultFiles, ResultFormat format, CancellationToken cancellationToken = default)
    {
        var rows = new List<ImageResult>();
        foreach (var file in resultFiles) rows.AddRange(await ResultFiles.Decode(await ReadShardFile(store, file, cancellationToken), format));
        return rows;
    }

    /// <summary>
    /// Reads a shard's item list or result file by the path this layout gives it; a job written by an older version has
    /// it under the old folder name instead (same file name), where it is read when the new path does not exist.
    /// Its grain state holds no paths, only shard numbers and tags, so the paths it yields are always today's.
    /// </summary>
    public static async Task<byte[]> ReadShardFile(ObjectStore store, string path, CancellationToken cancellationToken = default)
    {
        if (await store.TryRead(path, cancellationToken) is { } content) return content;
        if (OldLayoutPath(path) is { } old && await store.TryRead(old, cancellationToken) is { } oldContent) return oldContent;
        return await store.Read(path, cancellationToken); // neither exists: the store's own error, naming today's path
    }

    /// <summary>The same file in the old layout (<c>items/x.jsonl.gz</c> as <c>manifests/x.jsonl</c>, <c>results/x</c> as <c>shards/x</c>); null for any other path.</summary>
    internal static string? OldLayoutPath(string path)
    {
        char separator = Locations.IsBlob(path) ? '/' : Path.DirectorySeparatorChar;
        int name = path.LastIndexOf(separator);
        if (name <= 0) return null;
        int folder = path.LastIndexOf(separator, name - 1) + 1;
        string? old = path[folder..name] switch
        {
            ItemListsFolder => OldItemListsFolder,
            ResultsFolder => OldResultsFolder,
            _ => null,
        };
        if (old is null) return null;
        var file = path[name..];
        // Old item lists were plain JSON lines (shard-000012.jsonl); ItemList.Decode reads both encodings.
        if (old == OldItemListsFolder && file.EndsWith(".jsonl.gz", StringComparison.Ordinal)) file = file[..^".gz".Length];
        return string.Concat(path.AsSpan(0, folder), old, file);
    }
}
