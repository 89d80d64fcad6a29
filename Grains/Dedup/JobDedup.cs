using System.Globalization;
using System.Text;
using DpIqa.Results;
using DpIqa.Storage;

namespace DpIqa.Dedup;

/// <summary>
/// <c>--dedup</c> once every shard is done: reads the hashes back from the job's counted result files (never from grain
/// state), groups the scored images (<c>exact</c>: equal <c>content_md5</c>; <c>near</c>: <c>phash</c> within the distance,
/// transitively, by <see cref="DuplicateIndex"/>), keeps the best-scoring image of each group (in the model's direction;
/// ties: more pixels, then the path) and rejects the rest. Writes duplicates.csv; <see cref="Curation.JobCuration"/>
/// writes the rejections into reject.txt and lets a score rule judge only the images dedup kept.
/// </summary>
internal static class JobDedup
{
    /// <summary>
    /// The default <c>--dedup-distance</c>, from the accuracy table in docs/duplicates.md (<c>dedup accuracy</c> bench):
    /// on the generated set no pair of distinct images is within 12, and recall grows with D (92.2% of variant pairs within 8,
    /// 95.4% within 10); what bounds D is scale: among 1,000,000 unrelated (random balanced) hashes, 315 chance groups form at
    /// 8, 10,101 at 10 and 127,897 at 12 (<c>dedup index 1000000 --distance D</c>).
    /// </summary>
    public const int DefaultDistance = 8;

    /// <summary>The largest distance accepted: at 32 bits of 64 two unrelated pHashes are as often within as beyond it.</summary>
    public const int MaxDistance = 24;

    private const int ReplacedListed = 100;

    /// <summary>Why an image was rejected: the image kept in its place and how far its pHash is from it (0 for exact).</summary>
    public readonly record struct Rejection(string KeptPath, int Distance);

    /// <param name="Rejected">Rejected images by <see cref="Key"/> (shard in the counted order, row in the file).</param>
    /// <param name="KeptAll">Scores of the images dedup keeps (every scored image outside a group, and each group's kept one): what a percent rule is judged on.</param>
    public sealed record Outcome(DuplicatesResult Result, Dictionary<long, Rejection> Rejected, ScoreAggregate KeptAll, Dictionary<string, ScoreAggregate> KeptByFolder);

    public static long Key(int shard, int row) => ((long)shard << 32) | (uint)row;

    private sealed record Member(long Key, string Path, float Score, long Pixels, ulong PHash, string? Md5, bool Reused);

    public static int Distance(JobSpec spec) => spec.DedupDistance ?? DefaultDistance;

    /// <summary>Refuses a malformed <c>--dedup</c> request with what to fix.</summary>
    public static void Validate(JobSpec spec)
    {
        if (spec.Dedup is { } mode && !Enum.IsDefined(mode)) throw new ArgumentException($"unknown --dedup mode {mode}: use exact or near");
        if (spec.DedupDistance is { } d)
        {
            if (spec.Dedup != DedupMode.Near) throw new ArgumentException("--dedup-distance sets how far near-duplicates may be: add --dedup near");
            if (d < 0 || d > MaxDistance) throw new ArgumentException($"--dedup-distance {d} is out of range: give 0 to {MaxDistance} bits (default {DefaultDistance})");
        }
    }

    /// <param name="resultFiles">The counted result file of each done shard, in order.</param>
    /// <param name="previousKeep">The previous run's keep list (schedules), for <see cref="DuplicatesResult.Replaced"/>; null: none.</param>
    public static async Task<Outcome> Run(ObjectStore store, JobSpec spec, IReadOnlyList<string> resultFiles, bool lowerIsBetter,
        bool hasPrevious, IReadOnlySet<string>? previousKeep, CancellationToken cancellationToken)
    {
        var mode = spec.Dedup ?? throw new ArgumentException("the job has no --dedup");
        int distance = Distance(spec);
        var members = new List<Member>();
        var keptAll = new ScoreAggregate();
        var keptByFolder = new Dictionary<string, ScoreAggregate>();
        long unhashed = 0;
        for (int s = 0; s < resultFiles.Count; s++)
        {
            var rows = await ResultFiles.Decode(await JobLayout.ReadShardFile(store, resultFiles[s], cancellationToken), spec.Format);
            for (int r = 0; r < rows.Count; r++)
            {
                var row = rows[r];
                if (Cascade.CascadeRules.DecidingScore(row) is not { } score) continue; // error records have no hashes and join no group
                ulong phash = 0;
                bool hashed = mode == DedupMode.Exact ? row.ContentMd5 is not null : row.PHash is { } p && TryParse(p, out phash);
                if (hashed) members.Add(new Member(Key(s, r), row.Path, score, (long)(row.Width ?? 0) * (row.Height ?? 0), phash, row.ContentMd5, row.Reused));
                else
                {
                    unhashed++;
                    Add(keptAll, keptByFolder, row.Path, row.Score);
                }
            }
        }

        var sets = Group(members, mode, distance);
        var groups = Enumerable.Range(0, members.Count).Where(i => sets.SizeOf(i) > 1).GroupBy(sets.Find)
            .Select(g => g.Select(i => members[i]).OrderBy(m => m, new Better(lowerIsBetter)).ToList())
            .OrderByDescending(g => g.Count).ThenBy(g => g[0].Path, StringComparer.Ordinal).ToList();
        var rejected = new Dictionary<long, Rejection>();
        var replaced = new List<ReplacedImage>();
        long replacedCount = 0;
        var csv = new StringBuilder("group,path,score,kept,distance\n");
        for (int g = 0; g < groups.Count; g++)
        {
            var kept = groups[g][0];
            foreach (var m in groups[g])
            {
                bool isKept = ReferenceEquals(m, kept);
                int d = mode == DedupMode.Near ? DuplicateIndex.Distance(m.PHash, kept.PHash) : 0;
                csv.Append((g + 1).ToString(CultureInfo.InvariantCulture)).Append(',').Append(Csv.Field(m.Path)).Append(',')
                    .Append(m.Score.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(isKept ? "true" : "false").Append(',')
                    .Append(d.ToString(CultureInfo.InvariantCulture)).Append('\n');
                if (isKept) continue;
                rejected[m.Key] = new Rejection(kept.Path, d);
                // A schedule's run: an image that was there before (reused) and kept by the last run is now replaced by a better copy.
                if (hasPrevious && m.Reused && (previousKeep?.Contains(m.Path) ?? true))
                {
                    replacedCount++;
                    if (replaced.Count < ReplacedListed) replaced.Add(new ReplacedImage(m.Path, kept.Path));
                }
            }
        }
        foreach (var m in members)
            if (!rejected.ContainsKey(m.Key)) Add(keptAll, keptByFolder, m.Path, m.Score);
        await store.WriteWhole(JobLayout.DuplicatesList(spec.Output), Encoding.UTF8.GetBytes(csv.ToString()), cancellationToken);
        var result = new DuplicatesResult
        {
            Mode = mode,
            Distance = mode == DedupMode.Near ? distance : null,
            Groups = groups.Count,
            ImagesInGroups = groups.Sum(g => (long)g.Count),
            Rejected = rejected.Count,
            Unhashed = unhashed,
            Replaced = replacedCount,
            ReplacedImages = replaced,
        };
        return new Outcome(result, rejected, keptAll, keptByFolder);
    }

    private static DisjointSets Group(List<Member> members, DedupMode mode, int distance)
    {
        if (mode == DedupMode.Near) return DuplicateIndex.Group(members.Select(m => m.PHash).ToArray(), distance);
        var sets = new DisjointSets(members.Count);
        var first = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < members.Count; i++)
            if (first.TryGetValue(members[i].Md5!, out int j)) sets.Union(i, j);
            else first[members[i].Md5!] = i;
        return sets;
    }

    private static void Add(ScoreAggregate all, Dictionary<string, ScoreAggregate> byFolder, string path, float? score)
    {
        if (score is not { } s) return;
        all.AddScore(s);
        var folder = SourceListing.TopFolder(path);
        if (!byFolder.TryGetValue(folder, out var f)) byFolder[folder] = f = new ScoreAggregate();
        f.AddScore(s);
    }

    private static bool TryParse(string hex, out ulong hash) =>
        ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out hash) && hex.Length == 16;

    /// <summary>Best first: the better score in the model's direction, then more pixels, then the path (ordinal).</summary>
    private sealed class Better(bool lowerIsBetter) : IComparer<Member>
    {
        public int Compare(Member? a, Member? b)
        {
            int byScore = a!.Score.CompareTo(b!.Score);
            if (byScore != 0) return lowerIsBetter ? byScore : -byScore;
            int byPixels = b.Pixels.CompareTo(a.Pixels);
            return byPixels != 0 ? byPixels : string.CompareOrdinal(a.Path, b.Path);
        }
    }
}
