namespace DpIqa.Jobs;

[GenerateSerializer, Alias("dpiqa.JobCatalogRecord")]
public sealed class JobCatalogRecord
{
    [Id(0)] public List<string> Jobs { get; set; } = [];
    [Id(1)] public HashSet<string> Active { get; set; } = [];
}

/// <summary>The list of jobs; workers ask it which jobs may have shards to lease.</summary>
internal sealed class JobCatalogGrain(
    [PersistentState("catalog", JobGrain.StorageName)] IPersistentState<JobCatalogRecord> state) : Grain, IJobCatalogGrain
{
    public async Task Add(string jobId)
    {
        if (state.State.Active.Contains(jobId)) return;
        if (!state.State.Jobs.Contains(jobId)) state.State.Jobs.Add(jobId);
        state.State.Active.Add(jobId);
        await state.WriteStateAsync();
    }

    public async Task MarkEnded(string jobId)
    {
        if (state.State.Active.Remove(jobId)) await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> ActiveJobs() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Jobs.Where(state.State.Active.Contains).ToList());

    public Task<IReadOnlyList<string>> AllJobs() =>
        Task.FromResult<IReadOnlyList<string>>(state.State.Jobs.AsEnumerable().Reverse()
            .OrderByDescending(state.State.Active.Contains).ToList());
}
