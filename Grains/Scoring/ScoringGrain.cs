using Orleans.Concurrency;

namespace DpIqa.Scoring;

/// <summary>
/// Silo-local scoring exposed to the cluster: a stateless worker, so each call runs on the calling silo
/// (the one that leased the shard) and image bytes never cross silos.
/// </summary>
[StatelessWorker]
internal sealed class ScoringGrain(ShardScorer scorer) : Grain, IScoringGrain
{
    // Off the grain's scheduler: decoding and inference use the thread pool and the batcher.
    public Task<ShardOutcome> ScoreShard(ShardLease lease) => Task.Run(() => scorer.Score(lease, CancellationToken.None));
}
