using System.Globalization;
using DpIqa.Results;
using DpIqa.Storage;

namespace DpIqa.Jobs;

/// <summary>
/// The one place that knows what a job writes under its output (local folder or blob prefix):
/// <code>
/// manifests/shard-000012.jsonl.gz       a shard's list of images, gzipped JSON lines (written while listing)
/// shards/shard-000012.1a2b3c4d.csv      a shard's results, one file per lease (named by the lease token's tag)
/// summary.json                          statistics, curation, evaluation (written when the job completes)
/// keep.txt, reject.txt                  the curation lists (jobs with a curation rule)
/// score-cache.jsonl                     the score cache where the silos have no table storage (incremental jobs)
/// </code>
/// The grain, curation, <c>dpiqa score</c>, reports and the tests ask here rather than spelling out names.
/// </summary>
internal static class JobLayout
{
    /// <summary>The folder of the shards' image lists.</summary>
    public const string ItemListsFolder = "manifests";

    /// <summary>The folder of the shards' result files.</summary>
    public const string ResultsFolder = "shards";

    /// <summary>Folders a job fills per shard: a new run into the same local folder removes them first, so runs never mix.</summary>
    public static IReadOnlyList<string> ShardFolders { get; } = [ItemListsFolder, ResultsFolder];

    /// <summary>Where a shard's list of images is stored.</summary>
    public static string ItemListPath(string output, int shard) => Locations.Join(output, ItemListsFolder, $"shard-{shard:D6}.jsonl.gz");

    /// <summary>
    /// The result file of one lease of a shard: <c>shards/shard-000012.1a2b3c4d.csv</c>, named by the lease token's tag,
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

    /// <summary>The job's summary (statistics, curation, evaluation).</summary>
    public static string SummaryFile(string output) => Locations.Join(output, "summary.json");

    /// <summary>The curation rule's keep list (one image path a line).</summary>
    public static string KeepList(string output) => Locations.Join(output, "keep.txt");

    /// <summary>The curation rule's reject list (one image path a line).</summary>
    public static string RejectList(string output) => Locations.Join(output, "reject.txt");

    /// <summary>The default score cache file, where the silos have no table storage.</summary>
    public static string ScoreCacheFile(string output) => Locations.Join(output, "score-cache.jsonl");

    /// <summary>Every row of the given result files (a job's counted ones, <see cref="IJobGrain.GetResultFiles"/>), in order.</summary>
    public static async Task<List<ImageResult>> ReadResults(ObjectStore store, IEnumerable<string> resultFiles, ResultFormat format, CancellationToken cancellationToken = default)
    {
        var rows = new List<ImageResult>();
        foreach (var file in resultFiles) rows.AddRange(await ResultFiles.Decode(await store.Read(file, cancellationToken), format));
        return rows;
    }
}
