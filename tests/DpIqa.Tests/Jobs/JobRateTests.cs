using DpIqa.Jobs;

namespace DpIqa.Tests.Jobs;

/// <summary>The status's images/s and ETA on their own: the clock is a value the test moves.</summary>
public sealed class JobRateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static JobRecord Running(long scored, long failed = 0, long total = 1000, bool listingDone = true)
    {
        var job = new JobRecord { State = JobState.Running, Total = total, ListingDone = listingDone };
        job.All.Scored = scored;
        if (failed > 0) job.All.FailedByKind["decode"] = failed;
        return job;
    }

    [Fact]
    public void Before_the_first_lease_the_rate_is_zero_and_there_is_no_eta()
    {
        var (rate, eta) = new JobRate().Estimate(T0, Running(0));
        Assert.Equal(0, rate);
        Assert.Null(eta);
    }

    [Fact]
    public void While_running_the_rate_counts_scored_and_failed_images_since_the_first_lease_and_the_eta_follows()
    {
        var rate = new JobRate();
        rate.Start(T0, done: 100); // resumed with 100 done by an earlier activation: not credited to this one
        rate.Start(T0 + TimeSpan.FromSeconds(5), done: 150); // later leases do not move the window
        var (perSecond, eta) = rate.Estimate(T0 + TimeSpan.FromSeconds(10), Running(scored: 180, failed: 20));
        Assert.Equal(10, perSecond, 9); // (200 - 100) / 10 s
        Assert.Equal(TimeSpan.FromSeconds(80), eta); // 800 left at 10/s
    }

    [Fact]
    public void A_window_under_half_a_second_gives_no_rate_yet()
    {
        var rate = new JobRate();
        rate.Start(T0, done: 0);
        var (perSecond, eta) = rate.Estimate(T0 + TimeSpan.FromMilliseconds(400), Running(scored: 50));
        Assert.Equal(0, perSecond);
        Assert.Null(eta);
    }

    [Fact]
    public void There_is_no_eta_while_the_listing_goes_on_since_the_total_is_not_known()
    {
        var rate = new JobRate();
        rate.Start(T0, done: 0);
        var (perSecond, eta) = rate.Estimate(T0 + TimeSpan.FromSeconds(2), Running(scored: 10, listingDone: false));
        Assert.Equal(5, perSecond, 9);
        Assert.Null(eta);
    }

    [Fact]
    public void An_ended_job_reports_its_whole_run_average_and_no_eta()
    {
        var job = Running(scored: 290, failed: 10);
        job.State = JobState.Completed;
        job.StartedAt = T0;
        job.FinishedAt = T0 + TimeSpan.FromMinutes(1);
        var rate = new JobRate();
        rate.Start(T0 + TimeSpan.FromSeconds(30), done: 0); // this activation's window is not used once the job ended
        var (perSecond, eta) = rate.Estimate(T0 + TimeSpan.FromHours(1), job);
        Assert.Equal(5, perSecond, 9); // 300 images in 60 s
        Assert.Null(eta);
    }
}
