using DpIqa.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace DpIqa.Tests.Jobs;

/// <summary>How often a running job's record is saved, by its size (the periodic save; transitions save at once).</summary>
public sealed class SaveCadenceTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData(0)]
    [InlineData(2_000)]
    [InlineData(SaveCadence.BytesPerInterval)]
    public void A_record_up_to_the_budget_is_saved_every_interval(long bytes) =>
        Assert.Equal(TimeSpan.Zero, SaveCadence.PauseAfter(bytes, Interval));

    [Theory]
    [InlineData(2, 1.0)]
    [InlineData(4, 3.0)]
    [InlineData(10, 9.0)]
    public void A_larger_record_waits_in_proportion_so_saves_write_the_budget_per_interval(int budgets, double pauseSeconds)
    {
        var pause = SaveCadence.PauseAfter((long)budgets * SaveCadence.BytesPerInterval, Interval);
        Assert.Equal(pauseSeconds, pause.TotalSeconds, 6);
        // interval + pause per save: the budget per interval on average
        Assert.Equal(SaveCadence.BytesPerInterval, budgets * SaveCadence.BytesPerInterval / ((Interval + pause) / Interval), 3);
    }

    [Fact]
    public void The_record_of_a_small_job_saves_every_interval_and_that_of_a_100000_image_job_about_every_13()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        long Bytes(int images)
        {
            // As the job grain keeps it: every score exactly in the job's aggregate and in its folder's (100 folders).
            var record = new JobRecord { State = JobState.Running, Total = images };
            var random = new Random(5);
            for (int i = 0; i < images; i++)
            {
                float score = (float)random.NextDouble();
                record.All.AddScore(score);
                var folder = $"f{i % 100:D2}";
                if (!record.ByFolder.TryGetValue(folder, out var f)) record.ByFolder[folder] = f = new ScoreAggregate();
                f.AddScore(score);
            }
            return serializer.SerializeToArray(record).Length;
        }
        Assert.Equal(TimeSpan.Zero, SaveCadence.PauseAfter(Bytes(5_000), Interval));
        var large = Bytes(100_000);
        Assert.InRange(large, 800_000, 900_000);
        Assert.InRange(SaveCadence.PauseAfter(large, Interval).TotalSeconds, 11, 13);
    }
}
