using DpIqa.Hosting;
using DpIqa.Jobs;
using DpIqa.Schedules;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// The job index and the schedule index (once the "job catalog" and "schedule catalog") keep the grain ids their state
/// was stored under, so what an earlier version recorded stays listed after the rename; the job index lists active jobs first.
/// </summary>
public sealed class JobIndexTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await OneSiloCluster.Start<MemoryJobStorage>();

    public Task DisposeAsync() => OneSiloCluster.Stop(_cluster);

    [Fact]
    public async Task The_index_keeps_the_job_catalogs_grain_id_and_lists_active_jobs_first()
    {
        var index = _cluster.GrainFactory.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key);
        // Grain type and key make the id the state is stored under: the earlier JobCatalogGrain's, "jobcatalog/catalog".
        Assert.Equal($"{JobIndexGrain.GrainTypeName}/catalog", index.GetGrainId().ToString());

        await index.Add("first");
        await index.Add("second");
        await index.MarkEnded("second");
        Assert.Equal(["first", "second"], await index.AllJobs());
        Assert.Equal(["first"], await index.ActiveJobs());
    }

    [Fact]
    public async Task The_schedule_index_keeps_the_schedule_catalogs_grain_id()
    {
        var index = _cluster.GrainFactory.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key);
        Assert.Equal($"{ScheduleIndexGrain.GrainTypeName}/schedules", index.GetGrainId().ToString());
        await index.Add("nightly");
        Assert.Equal(["nightly"], await index.All());
    }
}
