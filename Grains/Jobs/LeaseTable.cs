namespace DpIqa.Jobs;

/// <summary>
/// A job's shards waiting for work and the leases held on them: queue, grant, renew, expire, release and the
/// first-completion rule. Plain and in memory (the job grain owns one; after a failover every unfinished shard is
/// simply queued again), with the clock passed in, so every rule can be tested without a cluster.
/// Which shards are done lives in the job's record; the table asks through <c>isDone</c>.
/// </summary>
internal sealed class LeaseTable(TimeSpan leaseDuration, Func<int, bool> isDone)
{
    /// <summary>A lease held by one worker (<c>silo/loop</c>) until its deadline.</summary>
    public sealed record Held(Guid Token, string Worker, DateTimeOffset Deadline);

    private readonly Queue<int> _waiting = new();
    private readonly Dictionary<int, Held> _leases = new();

    /// <summary>Leases held right now.</summary>
    public int Count => _leases.Count;

    /// <summary>Distinct workers holding leases right now.</summary>
    public int Workers => _leases.Values.Select(l => l.Worker).Distinct().Count();

    /// <summary>The shard waits for a worker (a new shard, or one whose lease ended without a completion).</summary>
    public void Enqueue(int shard) => _waiting.Enqueue(shard);

    /// <summary>
    /// Grants the next waiting shard that is neither done nor leased to <paramref name="worker"/>, after taking back
    /// expired leases; null when no shard waits.
    /// </summary>
    public (int Shard, Held Lease)? Grant(string worker, DateTimeOffset now, Action<int, Held>? expired = null)
    {
        Expire(now, expired);
        while (_waiting.TryDequeue(out var shard))
        {
            // A shard can be queued twice (e.g. expired, then released late): the second entry is skipped here.
            if (isDone(shard) || _leases.ContainsKey(shard)) continue;
            var lease = new Held(Guid.NewGuid(), worker, now + leaseDuration);
            _leases[shard] = lease;
            return (shard, lease);
        }
        return null;
    }

    /// <summary>Takes back leases past their deadline: their shards wait again. Calls <paramref name="expired"/> for each.</summary>
    public void Expire(DateTimeOffset now, Action<int, Held>? expired = null)
    {
        foreach (var (shard, lease) in _leases.Where(l => l.Value.Deadline < now).ToList())
        {
            _leases.Remove(shard);
            _waiting.Enqueue(shard);
            expired?.Invoke(shard, lease);
        }
    }

    /// <summary>Extends the lease by the lease duration from now. False when it is no longer this token's (expired, re-leased or released).</summary>
    public bool Renew(int shard, Guid token, DateTimeOffset now, Action<int, Held>? expired = null)
    {
        Expire(now, expired); // a lease past its deadline cannot be renewed, only leased again
        if (!_leases.TryGetValue(shard, out var lease) || lease.Token != token) return false;
        _leases[shard] = lease with { Deadline = now + leaseDuration };
        return true;
    }

    /// <summary>Gives the lease back without a completion: the shard waits again. False when the token does not hold it.</summary>
    public bool Release(int shard, Guid token)
    {
        if (!_leases.TryGetValue(shard, out var lease) || lease.Token != token) return false;
        _leases.Remove(shard);
        _waiting.Enqueue(shard);
        return true;
    }

    /// <summary>Takes back every lease whose worker matches (e.g. its silo was declared dead): their shards wait again.</summary>
    public IReadOnlyList<(int Shard, Held Lease)> ReleaseWhere(Func<string, bool> worker)
    {
        var gone = _leases.Where(l => worker(l.Value.Worker)).Select(l => (l.Key, l.Value)).ToList();
        foreach (var (shard, _) in gone)
        {
            _leases.Remove(shard);
            _waiting.Enqueue(shard);
        }
        return gone;
    }

    /// <summary>
    /// The first-completion rule: a completion of a shard that is not done counts, whoever reports it - even a worker
    /// whose lease expired or was re-leased (its result file, named by its token, is the one published). Removes the
    /// shard's lease. Returns the lease the token held (null when it held none, e.g. it expired), and whether another
    /// worker holds the shard now (a late completion).
    /// </summary>
    public (Held? Own, bool Late) Complete(int shard, Guid token)
    {
        _leases.TryGetValue(shard, out var lease);
        _leases.Remove(shard);
        return lease is null ? (null, false) : lease.Token == token ? (lease, false) : (null, true);
    }

    /// <summary>
    /// A completion that must not count (e.g. scored with another model version): the shard waits again if this token
    /// held it. False when the token did not hold it.
    /// </summary>
    public bool Reject(int shard, Guid token) => Release(shard, token);

    /// <summary>No more work is handed out (the job ended).</summary>
    public void Clear()
    {
        _waiting.Clear();
        _leases.Clear();
    }
}
