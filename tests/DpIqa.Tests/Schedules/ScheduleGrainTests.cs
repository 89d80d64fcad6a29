using DpIqa.Hosting;
using DpIqa.Jobs;
using DpIqa.Schedules;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace DpIqa.Tests.Schedules;

/// <summary>
/// Schedule grains on a real in-process silo (in-memory reminders and state) with a fake clock: each cron occurrence
/// gets exactly one run however many ticks arrive, missed occurrences give one catch-up run, runs never overlap,
/// and pause/resume/delete take effect. Runs are real jobs scoring real photos with the proxy model.
/// </summary>
public sealed class ScheduleGrainTests : IAsyncLifetime
{
    // One clock per test class: the silo runs in this process and reads it through ScheduleClock.
    private static readonly FakeClock Clock = new(DateTimeOffset.Parse("2026-03-27T00:00:00Z"));
    private TestCluster _cluster = null!;
    private readonly TempFolder _dir = new();

    private sealed class Silo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            silo.AddMemoryGrainStorage(JobGrain.StorageName);
            silo.UseInMemoryReminderService();
            silo.Services.AddSingleton(new ScheduleClock(Clock));
            silo.AddDpIqa(silo.Configuration);
        }
    }

    private async Task Start(bool scoring = true)
    {
        var builder = new TestClusterBuilder(1);
        builder.Properties["Storage:LocalRoots:0"] = Path.GetTempPath();
        builder.Properties["Scoring:Enabled"] = scoring ? "true" : "false";
        builder.Properties["Scoring:PollIntervalMs"] = "100";
        builder.Properties["Inference:MaxWaitMs"] = "2";
        builder.Properties["Jobs:SaveIntervalMs"] = "300";
        builder.AddSiloBuilderConfigurator<Silo>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        _dir.Dispose();
    }

    private string Photos(params string[] names)
    {
        foreach (var name in names) _dir.Copy(Path.Combine(RepoPaths.Photos, name), Path.Combine("in", name));
        return Path.Combine(_dir.Path, "in");
    }

    private ScheduleSpec Spec(string name, string cron, string timeZone = "UTC") => new()
    {
        Name = name,
        Cron = cron,
        TimeZone = timeZone,
        Job = new JobSpec { Sources = [Path.Combine(_dir.Path, "in")], Model = "", Output = Path.Combine(_dir.Path, "out"), ShardSize = 2 },
    };

    private static async Task<ScheduleRun> WaitForRun(IScheduleGrain schedule, string jobId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3); // a guard against a hang only
        while (true)
        {
            var run = (await schedule.GetStatus())!.Runs.Single(r => r.JobId == jobId);
            if (run.State is not (JobState.Pending or JobState.Running)) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {jobId} did not end: {run}");
            await Task.Delay(200);
        }
    }

    private async Task<List<string>> JobsOf(string schedule) =>
        (await _cluster.Client.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).AllJobs()).Where(j => j.StartsWith(schedule + "-", StringComparison.Ordinal)).Order().ToList();

    [Fact]
    public async Task Each_occurrence_gets_one_run_however_many_ticks_and_missed_ones_one_catch_up_run()
    {
        await Start();
        Photos("skimage-chelsea.png", "mate-ladybird.jpg", "lomiri-free.jpg");
        Clock.Set(DateTimeOffset.Parse("2026-03-27T00:00:00Z"));
        var schedule = _cluster.Client.GetGrain<IScheduleGrain>("nightly");
        var created = await schedule.Create(Spec("nightly", "0 2 * * *", "Europe/Paris"));
        Assert.Equal(DateTimeOffset.Parse("2026-03-27T01:00:00Z"), created.NextRun); // 02:00 in Paris, UTC+1 before DST

        await schedule.Tick();
        Assert.Empty((await schedule.GetStatus())!.Runs);

        // The occurrence falls due: three ticks at once (a duplicated reminder, a late one) start one job.
        Clock.Set(DateTimeOffset.Parse("2026-03-27T01:00:20Z"));
        await Task.WhenAll(schedule.Tick(), schedule.Tick(), schedule.Tick());
        var first = await WaitForRun(schedule, "nightly-20260327-010000");
        Assert.Equal((JobState.Completed, "cron", 3L, 3L, 0L), (first.State, first.Trigger, first.Images, first.Scored, first.Reused));
        await schedule.Tick();
        Assert.Single((await schedule.GetStatus())!.Runs);

        // The next night: unchanged images reuse their scores.
        Clock.Set(DateTimeOffset.Parse("2026-03-28T01:00:05Z"));
        await schedule.Tick();
        await schedule.Tick();
        var second = await WaitForRun(schedule, "nightly-20260328-010000");
        Assert.Equal((JobState.Completed, 3L, 0L, 3L), (second.State, second.Images, second.Scored, second.Reused));
        Assert.Equal("nightly-20260327-010000", second.Drift!.PreviousJobId);
        Assert.Equal(0.0, second.Drift.MeanChange!.Value, 6);

        // The cluster is down over the DST change (29 March: 02:00 Paris does not exist, Cronos fires at 03:00 CEST =
        // 01:00Z) and the next night (02:00 CEST = 00:00Z): one catch-up run for the latest occurrence.
        Photos("lomiri-kleiber.jpg");
        Clock.Set(DateTimeOffset.Parse("2026-03-30T00:00:40Z"));
        await schedule.Tick();
        var third = await WaitForRun(schedule, "nightly-20260330-000000");
        Assert.Equal(("catch-up", 4L, 1L, 3L), (third.Trigger, third.Images, third.Scored, third.Reused));
        Assert.Equal((1L, 3L), (third.Drift!.NewImages, third.Drift.ExistingImages));
        Assert.NotNull(third.Drift.KsStatistic);

        Assert.Equal(["nightly-20260327-010000", "nightly-20260328-010000", "nightly-20260330-000000"], await JobsOf("nightly"));
        Assert.Equal(DateTimeOffset.Parse("2026-03-31T00:00:00Z"), (await schedule.GetStatus())!.NextRun);
    }

    [Fact]
    public async Task Pause_resume_and_delete_take_effect()
    {
        await Start();
        Photos("skimage-chelsea.png");
        Clock.Set(DateTimeOffset.Parse("2026-05-01T10:00:00Z"));
        var schedule = _cluster.Client.GetGrain<IScheduleGrain>("hourly");
        await schedule.Create(Spec("hourly", "30 * * * *"));

        var paused = await schedule.Pause();
        Assert.True(paused.Paused);
        Assert.Null(paused.NextRun);
        Clock.Set(DateTimeOffset.Parse("2026-05-01T10:30:10Z"));
        await schedule.Tick();
        Assert.Empty((await schedule.GetStatus())!.Runs);

        // Resumed after the occurrence: it was paused, so it is skipped, not caught up.
        Clock.Set(DateTimeOffset.Parse("2026-05-01T10:45:00Z"));
        var resumed = await schedule.Resume();
        Assert.Equal(DateTimeOffset.Parse("2026-05-01T11:30:00Z"), resumed.NextRun);
        await schedule.Tick();
        Assert.Empty((await schedule.GetStatus())!.Runs);
        Clock.Set(DateTimeOffset.Parse("2026-05-01T11:30:01Z"));
        await schedule.Tick();
        Assert.Equal(JobState.Completed, (await WaitForRun(schedule, "hourly-20260501-113000")).State);

        Assert.Contains("hourly", await _cluster.Client.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key).All());
        await schedule.Delete();
        Assert.Null(await schedule.GetStatus());
        Assert.DoesNotContain("hourly", await _cluster.Client.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key).All());
        Clock.Set(DateTimeOffset.Parse("2026-05-01T12:30:01Z"));
        await schedule.Tick();
        Assert.Equal(["hourly-20260501-113000"], await JobsOf("hourly"));
        await Assert.ThrowsAsync<ArgumentException>(() => schedule.RunNow());
    }

    [Fact]
    public async Task Runs_never_overlap_occurrences_due_meanwhile_give_one_run_after()
    {
        await Start(scoring: false); // no workers: a run stays in progress until the test cancels its job
        Photos("skimage-chelsea.png");
        Clock.Set(DateTimeOffset.Parse("2026-06-01T00:00:00Z"));
        var schedule = _cluster.Client.GetGrain<IScheduleGrain>("minutely");
        await schedule.Create(Spec("minutely", "* * * * *"));
        Clock.Set(DateTimeOffset.Parse("2026-06-01T00:01:01Z"));
        await schedule.Tick();
        Assert.Equal(["minutely-20260601-000100"], await JobsOf("minutely"));

        // Three more occurrences while it runs: no second job, and run-now is refused.
        foreach (var minute in new[] { 2, 3, 4 })
        {
            Clock.Set(DateTimeOffset.Parse($"2026-06-01T00:0{minute}:01Z"));
            await schedule.Tick();
        }
        Assert.Equal(["minutely-20260601-000100"], await JobsOf("minutely"));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => schedule.RunNow());
        Assert.Contains("in progress", refused.Message);

        await _cluster.Client.GetGrain<IJobGrain>("minutely-20260601-000100").Cancel();
        await schedule.Tick();
        await schedule.Tick();
        Assert.Equal(["minutely-20260601-000100", "minutely-20260601-000400"], await JobsOf("minutely"));
        Assert.Equal("catch-up", (await schedule.GetStatus())!.Runs[0].Trigger);
    }

    [Fact]
    public async Task Unknown_model_missing_source_and_bad_cron_are_refused()
    {
        await Start(scoring: false);
        Photos("skimage-chelsea.png");
        var schedule = _cluster.Client.GetGrain<IScheduleGrain>("bad");
        var spec = Spec("bad", "0 2 * * *");
        Assert.Contains("no-such-model", (await Assert.ThrowsAsync<ArgumentException>(() => schedule.Create(spec with { Job = spec.Job with { Model = "no-such-model" } }))).Message);
        Assert.Contains("does not exist", (await Assert.ThrowsAsync<ArgumentException>(() => schedule.Create(spec with { Job = spec.Job with { Sources = [Path.Combine(_dir.Path, "missing")] } }))).Message);
        Assert.Contains("cron", (await Assert.ThrowsAsync<ArgumentException>(() => schedule.Create(spec with { Cron = "61 * * * *" }))).Message);
        Assert.Contains("time zone", (await Assert.ThrowsAsync<ArgumentException>(() => schedule.Create(spec with { TimeZone = "Mars/Olympus" }))).Message);
        Assert.Null(await schedule.GetStatus());
    }
}
