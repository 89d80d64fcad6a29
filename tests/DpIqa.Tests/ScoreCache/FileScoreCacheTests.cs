using DpIqa.ScoreCache;
using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.ScoreCache;

/// <summary>
/// The score cache as a local JSON-lines file (no table storage): each shard's batch is appended, not the whole file
/// rewritten, so an incremental job of N images writes O(N) bytes; replaced entries are compacted away once they are
/// half the file; a line cut short by a crash is skipped and the file rewritten whole on the next write.
/// </summary>
public sealed class FileScoreCacheTests
{
    private const string Model = "0123456789abcdef";

    private static ScoreCacheStore NewStore() =>
        new(new ObjectStore(Options.Create(new StorageOptions())), Options.Create(new StorageOptions()));

    private static List<(SourceItem Item, CachedScore Score)> Batch(int from, int count, float score, string version = "v1") =>
        Enumerable.Range(from, count)
            .Select(i => (new SourceItem($"/data/img-{i:D5}.jpg", $"img-{i:D5}.jpg", version), new CachedScore(version, score + i, 640, 480, 1000 + i, DateTimeOffset.UnixEpoch)))
            .ToList();

    private static async Task<IReadOnlyDictionary<string, CachedScore>> LookupAll(ScoreCacheStore store, string file, int count) =>
        await store.Lookup(Model, Batch(0, count, 0).Select(b => b.Item).ToList(), file, CancellationToken.None);

    [Fact]
    public async Task Each_batch_is_appended_and_a_new_process_reads_every_entry()
    {
        using var dir = new TempFolder();
        var file = Path.Combine(dir.Path, "sub", "score-cache.jsonl"); // its folder is made on the first write
        var store = NewStore();
        byte[] before = [];
        for (int shard = 0; shard < 5; shard++)
        {
            await store.Store(Model, Batch(shard * 100, 100, 0.5f), file, CancellationToken.None);
            var now = await File.ReadAllBytesAsync(file);
            Assert.Equal(100 * (shard + 1), File.ReadAllLines(file).Length);
            Assert.True(now.AsSpan().StartsWith(before), $"batch {shard} rewrote the earlier lines instead of appending");
            before = now;
        }
        var found = await LookupAll(NewStore(), file, 500);
        Assert.Equal(500, found.Count);
        Assert.Equal(0.5f + 123, found["/data/img-00123.jpg"].Score);
        Assert.Equal(1123, found["/data/img-00123.jpg"].Bytes);
    }

    [Fact]
    public async Task A_rescored_image_replaces_its_entry_and_replaced_lines_are_compacted_away()
    {
        using var dir = new TempFolder();
        var file = Path.Combine(dir.Path, "score-cache.jsonl");
        var store = NewStore();
        await store.Store(Model, Batch(0, 100, 0.1f), file, CancellationToken.None);
        for (int round = 1; round <= 6; round++)
        {
            await store.Store(Model, Batch(0, 50, round, version: $"v{round + 1}"), file, CancellationToken.None);
            // Never more than twice the entries: a rewrite drops the replaced lines.
            Assert.InRange(File.ReadAllLines(file).Length, 100, 200);
        }
        var found = await LookupAll(NewStore(), file, 100);
        Assert.Equal(100, found.Count);
        Assert.Equal("v7", found["/data/img-00007.jpg"].Version);
        Assert.Equal(6f + 7, found["/data/img-00007.jpg"].Score);
        Assert.Equal("v1", found["/data/img-00077.jpg"].Version);
    }

    [Fact]
    public async Task A_line_cut_short_by_a_crash_is_skipped_and_the_next_write_rewrites_the_file()
    {
        using var dir = new TempFolder();
        var file = Path.Combine(dir.Path, "score-cache.jsonl");
        await NewStore().Store(Model, Batch(0, 10, 0.2f), file, CancellationToken.None);
        var lines = File.ReadAllLines(file);
        await File.WriteAllTextAsync(file, string.Join('\n', lines) + "\n" + lines[3][..(lines[3].Length / 2)]); // an append cut in half, no newline

        var store = NewStore();
        Assert.Equal(10, (await LookupAll(store, file, 10)).Count);
        await store.Store(Model, Batch(10, 5, 0.2f), file, CancellationToken.None);
        Assert.Equal(15, File.ReadAllLines(file).Length); // rewritten whole: the cut line is gone, not glued to the new ones
        Assert.Equal(15, (await LookupAll(NewStore(), file, 15)).Count);
    }
}
