using DpIqa.Statistics;

namespace DpIqa.Tests.Statistics;

/// <summary>How the job grain's aggregates take in shard outcomes: per folder, exact only while the whole job is.</summary>
public sealed class JobStatisticsTests
{
    private static ShardOutcome Shard(IEnumerable<(string Folder, float Score)> images)
    {
        var all = new ScoreAggregate();
        var byFolder = new Dictionary<string, ScoreAggregate>();
        foreach (var (folder, score) in images)
        {
            all.AddScore(score);
            if (!byFolder.TryGetValue(folder, out var f)) byFolder[folder] = f = new ScoreAggregate();
            f.AddScore(score);
        }
        return new ShardOutcome { All = all, ByFolder = byFolder, ResultFile = "unused" };
    }

    [Fact]
    public void Folders_stay_exact_while_the_job_is_and_are_sketched_once_it_is_past_the_exact_limit()
    {
        var rng = new Random(21);
        var images = Enumerable.Range(0, ScoreAggregate.ExactLimit + 20_000)
            .Select(i => (Folder: i < ScoreAggregate.ExactLimit + 10_000 ? $"f{i % 3}" : "late", Score: (float)(1 + 99 * rng.NextDouble())))
            .ToArray();
        var all = new ScoreAggregate();
        var byFolder = new Dictionary<string, ScoreAggregate>();
        foreach (var shard in images.Chunk(1_000))
        {
            JobStatistics.Add(all, byFolder, Shard(shard));
            bool jobExact = all.Scored <= ScoreAggregate.ExactLimit;
            Assert.Equal(jobExact, all.IsExact);
            Assert.All(byFolder.Values, f => Assert.Equal(jobExact, f.IsExact));
        }
        Assert.Equal(["f0", "f1", "f2", "late"], byFolder.Keys.Order());
        Assert.Equal(images.Length, byFolder.Values.Sum(f => f.Scored));

        // A sketched folder's percentiles stay within the sketch's relative accuracy of the exact ones.
        foreach (var (folder, aggregate) in byFolder)
        {
            var exact = new ScoreAggregate();
            foreach (var s in images.Where(i => i.Folder == folder).Take(ScoreAggregate.ExactLimit)) exact.AddScore(s.Score);
            Assert.True(exact.IsExact);
            foreach (var q in new[] { 0.01, 0.5, 0.99 })
                Assert.InRange(aggregate.Quantile(q), exact.Quantile(q) * (1 - ScoreSketch.RelativeAccuracy), exact.Quantile(q) * (1 + ScoreSketch.RelativeAccuracy));
        }
    }
}
