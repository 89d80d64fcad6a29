using DpIqa.Jobs;

namespace DpIqa.Tests.Jobs;

/// <summary>The lease rules on their own: no cluster, the clock is a value the test moves.</summary>
public sealed class LeaseTableTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly HashSet<int> _done = [];

    private LeaseTable Table(params int[] shards)
    {
        var table = new LeaseTable(Duration, _done.Contains);
        foreach (var shard in shards) table.Enqueue(shard);
        return table;
    }

    [Fact]
    public void Shards_are_granted_in_queue_order_each_to_one_worker_with_a_deadline()
    {
        var table = Table(0, 1);
        var a = table.Grant("silo1/0", T0)!.Value;
        var b = table.Grant("silo2/0", T0)!.Value;
        Assert.Equal((0, 1), (a.Shard, b.Shard));
        Assert.NotEqual(a.Lease.Token, b.Lease.Token);
        Assert.Equal(T0 + Duration, a.Lease.Deadline);
        Assert.Null(table.Grant("silo3/0", T0)); // nothing waits
        Assert.Equal(2, table.Count);
        Assert.Equal(2, table.Workers);
    }

    [Fact]
    public void A_shard_queued_twice_or_already_done_is_not_granted_again()
    {
        var table = Table(0, 0, 1);
        _done.Add(1);
        Assert.Equal(0, table.Grant("w", T0)!.Value.Shard);
        Assert.Null(table.Grant("w", T0)); // the second 0 is leased, 1 is done
    }

    [Fact]
    public void An_expired_lease_goes_back_to_the_queue_and_cannot_be_renewed()
    {
        var table = Table(0);
        var first = table.Grant("silo1/0", T0)!.Value;
        var expired = new List<int>();
        var later = T0 + Duration + TimeSpan.FromSeconds(1);
        Assert.False(table.Renew(0, first.Lease.Token, later, (s, _) => expired.Add(s)));
        Assert.Equal([0], expired);
        var second = table.Grant("silo2/0", later)!.Value;
        Assert.Equal(0, second.Shard);
        Assert.NotEqual(first.Lease.Token, second.Lease.Token);
    }

    [Fact]
    public void Renewing_moves_the_deadline_so_the_lease_outlives_its_first_deadline()
    {
        var table = Table(0);
        var lease = table.Grant("w", T0)!.Value;
        var renewAt = T0 + Duration / 2;
        Assert.True(table.Renew(0, lease.Lease.Token, renewAt));
        // Past the first deadline, before the renewed one: still held, nothing to grant.
        Assert.Null(table.Grant("other", T0 + Duration + TimeSpan.FromSeconds(1)));
        Assert.True(table.Renew(0, lease.Lease.Token, T0 + Duration + TimeSpan.FromSeconds(1)));
        Assert.False(table.Renew(0, Guid.NewGuid(), renewAt)); // another token holds nothing
    }

    [Fact]
    public void Release_with_the_holding_token_requeues_the_shard_and_any_other_token_changes_nothing()
    {
        var table = Table(0);
        var lease = table.Grant("w", T0)!.Value;
        Assert.False(table.Release(0, Guid.NewGuid()));
        Assert.Equal(1, table.Count);
        Assert.True(table.Release(0, lease.Lease.Token));
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.Grant("w2", T0)!.Value.Shard);
    }

    [Fact]
    public void Leases_of_a_dead_silo_are_taken_back_at_once_and_others_stay()
    {
        var table = Table(0, 1, 2);
        table.Grant("siloA/0", T0);
        table.Grant("siloB/0", T0);
        table.Grant("siloA/1", T0);
        var gone = table.ReleaseWhere(w => w.StartsWith("siloA/", StringComparison.Ordinal));
        Assert.Equal([0, 2], gone.Select(g => g.Shard).Order());
        Assert.Equal(1, table.Count);
        Assert.Equal(0, table.Grant("siloB/1", T0)!.Value.Shard);
    }

    [Fact]
    public void The_holder_completing_is_on_time_and_a_completion_after_re_lease_is_late_but_counts()
    {
        var table = Table(0, 1);
        var onTime = table.Grant("siloA/0", T0)!.Value;
        var (own, late) = table.Complete(onTime.Shard, onTime.Lease.Token);
        Assert.Equal("siloA/0", own!.Worker);
        Assert.False(late);

        var first = table.Grant("siloA/0", T0)!.Value; // shard 1
        table.Expire(T0 + Duration + TimeSpan.FromSeconds(1));
        var second = table.Grant("siloB/0", T0 + Duration + TimeSpan.FromSeconds(1))!.Value;
        Assert.Equal(first.Shard, second.Shard);
        // The expired holder finishes first: the table reports it late and drops the new holder's lease.
        (own, late) = table.Complete(first.Shard, first.Lease.Token);
        Assert.Null(own);
        Assert.True(late);
        Assert.Equal(0, table.Count);
        Assert.False(table.Renew(second.Shard, second.Lease.Token, T0 + Duration + TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_rejected_completion_requeues_the_shard_for_another_worker()
    {
        var table = Table(0);
        var lease = table.Grant("w", T0)!.Value;
        Assert.True(table.Reject(0, lease.Lease.Token));
        Assert.Equal(0, table.Grant("w2", T0)!.Value.Shard);
    }

    [Fact]
    public void Clear_hands_out_nothing_more()
    {
        var table = Table(0, 1);
        table.Grant("w", T0);
        table.Clear();
        Assert.Equal(0, table.Count);
        Assert.Null(table.Grant("w", T0));
    }
}
