using DpIqa.Jobs;
using DpIqa.Storage;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// The listing's shard rule without storage: item lists are written concurrently (writes the test completes in any
/// order), and a shard is committed only once it and every earlier one are written, in shard order.
/// </summary>
public sealed class ShardListingTests
{
    private readonly Dictionary<int, TaskCompletionSource> _writes = [];
    private readonly Dictionary<int, string[]> _written = [];
    private readonly List<(int Shard, int Items)> _committed = [];

    /// <summary>Jobs:ItemListWritesInFlight's default.</summary>
    private static readonly int WritesInFlight = new JobOptions().ItemListWritesInFlight;

    private ShardListing Listing(int shardSize, int firstShard = 0) => new(shardSize, firstShard, WritesInFlight, (shard, items) =>
    {
        lock (_writes)
        {
            _written[shard] = items.Select(i => i.Path).ToArray();
            _writes[shard] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _writes[shard].Task;
        }
    }, (shard, items) => { lock (_committed) _committed.Add((shard, items)); });

    private static async IAsyncEnumerable<SourceItem> Items(int count, Task? holdAfter = null)
    {
        for (int i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return new SourceItem("folder", $"img{i:D3}.jpg");
        }
        if (holdAfter is not null) await holdAfter;
    }

    private static async IAsyncEnumerable<SourceItem> FailingAfter(int count)
    {
        await foreach (var item in Items(count)) yield return item;
        throw new IOException("the source went away");
    }

    private int[] Started() { lock (_writes) return _writes.Keys.Order().ToArray(); }

    private void CompleteWrite(int shard) { lock (_writes) _writes[shard].SetResult(); }

    private (int, int)[] Committed() { lock (_committed) return _committed.ToArray(); }

    private static async Task Until(Func<bool> condition)
    {
        // No deadline on behaviour: the listing runs on the thread pool; this only waits for it to get there.
        while (!condition()) await Task.Delay(5);
    }

    [Fact]
    public async Task Items_are_cut_into_shards_of_the_shard_size_the_last_one_shorter()
    {
        var listing = Listing(shardSize: 4);
        var run = listing.Run(Items(10), skip: 0);
        await Until(() => Started().Length == 3);
        foreach (var shard in Started()) CompleteWrite(shard);
        await run;
        Assert.Equal([(0, 4), (1, 4), (2, 2)], Committed());
        Assert.Equal(["img000.jpg", "img001.jpg", "img002.jpg", "img003.jpg"], _written[0]);
        Assert.Equal(["img008.jpg", "img009.jpg"], _written[2]);
    }

    [Fact]
    public async Task A_later_item_list_written_first_waits_for_the_earlier_ones_then_all_commit_in_order()
    {
        var hold = new TaskCompletionSource();
        var listing = Listing(shardSize: 1);
        var run = listing.Run(Items(3, hold.Task), skip: 0);
        await Until(() => Started().Length == 3);
        CompleteWrite(2);
        CompleteWrite(1);
        await Task.Delay(50); // give a wrong implementation the chance to commit 1 or 2 early
        Assert.Empty(Committed());
        CompleteWrite(0);
        hold.SetResult();
        await run;
        Assert.Equal([(0, 1), (1, 1), (2, 1)], Committed());
    }

    [Fact]
    public async Task At_most_sixteen_item_list_writes_are_in_flight()
    {
        var listing = Listing(shardSize: 1);
        var run = listing.Run(Items(WritesInFlight + 4), skip: 0);
        await Until(() => Started().Length == WritesInFlight);
        await Task.Delay(50); // a listing that did not wait would start the 17th write here
        Assert.Equal(WritesInFlight, Started().Length);
        CompleteWrite(0); // the oldest written: one more may start
        await Until(() => Started().Length == WritesInFlight + 1);
        Assert.Equal([(0, 1)], Committed());
        for (int shard = 1; shard < WritesInFlight + 4; shard++)
        {
            await Until(() => Started().Contains(shard));
            CompleteWrite(shard);
        }
        await run;
        Assert.Equal(Enumerable.Range(0, WritesInFlight + 4).Select(s => (s, 1)), Committed());
    }

    [Fact]
    public async Task A_resumed_listing_skips_the_committed_items_and_numbers_on_from_the_committed_shards()
    {
        var listing = Listing(shardSize: 3, firstShard: 2);
        var run = listing.Run(Items(8), skip: 6);
        await Until(() => Started().Length == 1);
        CompleteWrite(2);
        await run;
        Assert.Equal([(2, 2)], Committed());
        Assert.Equal(["img006.jpg", "img007.jpg"], _written[2]);
    }

    [Fact]
    public async Task A_failed_write_fails_the_listing_and_later_shards_are_not_committed()
    {
        var hold = new TaskCompletionSource();
        var listing = Listing(shardSize: 1);
        var run = listing.Run(Items(3, hold.Task), skip: 0);
        await Until(() => Started().Length == 3);
        CompleteWrite(0);
        CompleteWrite(2);
        lock (_writes) _writes[1].SetException(new IOException("disk full"));
        hold.SetResult();
        var e = await Assert.ThrowsAsync<IOException>(() => run);
        Assert.Equal("disk full", e.Message);
        Assert.Equal([(0, 1)], Committed());
    }

    [Fact]
    public async Task A_failed_listing_commits_nothing_that_was_still_being_written()
    {
        var listing = Listing(shardSize: 2);
        var run = listing.Run(FailingAfter(4), skip: 0);
        var e = await Assert.ThrowsAsync<IOException>(() => run);
        Assert.Equal("the source went away", e.Message);
        Assert.Equal([0, 1], Started());
        Assert.Empty(Committed());
    }
}
