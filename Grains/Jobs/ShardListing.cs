using DpIqa.Storage;

namespace DpIqa.Jobs;

/// <summary>
/// Cuts a job's listed items into shards and writes each shard's item list, up to <c>writesInFlight</c> (Jobs:ItemListWritesInFlight) at a
/// time, committing them strictly in shard order: a shard is handed to <c>commit</c> (counted in ShardCount and Total,
/// leasable) only once its item list and every earlier one are written. So the stored ShardCount is always a prefix of
/// written item lists, and a restarted listing resumes exactly after it.
/// </summary>
/// <param name="shardSize">Items per shard; the last shard may have fewer.</param>
/// <param name="firstShard">The number of the first shard this listing writes (the shards already committed).</param>
/// <param name="writesInFlight">Item-list writes in flight at most (Jobs:ItemListWritesInFlight): one at a time capped a job at ~12 shards/s on Azurite.</param>
/// <param name="writeItemList">Writes one shard's item list (its number, its items).</param>
/// <param name="commit">Called in shard order with a shard's number and item count once it and every earlier one are written.</param>
internal sealed class ShardListing(int shardSize, int firstShard, int writesInFlight, Func<int, IReadOnlyList<SourceItem>, Task> writeItemList, Action<int, int> commit)
{
    /// <summary>Item-list writes started, oldest first, with their item counts.</summary>
    private readonly Queue<(Task Write, int Items)> _writes = new();
    private int _nextToCommit = firstShard;

    /// <summary>
    /// Lists <paramref name="items"/> after skipping the first <paramref name="skip"/> (those of the committed shards)
    /// and commits every shard. On a failure (a listing or an item-list write that failed, or cancellation) the writes
    /// still in flight are observed but not committed, and the exception is thrown.
    /// </summary>
    public async Task Run(IAsyncEnumerable<SourceItem> items, long skip)
    {
        var batch = new List<SourceItem>(shardSize);
        try
        {
            await foreach (var item in items)
            {
                if (skip > 0) { skip--; continue; }
                batch.Add(item);
                if (batch.Count == shardSize)
                {
                    await Add(batch);
                    batch = new List<SourceItem>(shardSize);
                }
            }
            if (batch.Count > 0) await Add(batch);
            while (_writes.Count > 0) await CommitOldest();
        }
        catch
        {
            foreach (var (write, _) in _writes) _ = write.ContinueWith(t => t.Exception, TaskScheduler.Default);
            _writes.Clear();
            throw;
        }
    }

    private async Task Add(List<SourceItem> items)
    {
        int shard = _nextToCommit + _writes.Count;
        _writes.Enqueue((writeItemList(shard, items), items.Count));
        while (_writes.Count >= writesInFlight || (_writes.Count > 0 && _writes.Peek().Write.IsCompleted))
            await CommitOldest();
    }

    private async Task CommitOldest()
    {
        var (write, count) = _writes.Peek();
        await write; // a failed write fails the listing, as it did one at a time
        _writes.Dequeue();
        commit(_nextToCommit++, count);
    }
}
