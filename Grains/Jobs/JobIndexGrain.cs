namespace DpIqa.Jobs;

/// <summary>
/// The job index's stored state. It keeps the type name and alias from when the index was the "job catalog": grain
/// storage may record the state's type by name, and jobs indexed by the earlier version must still be found.
/// </summary>
[GenerateSerializer, Alias("dpiqa.JobCatalogRecord")]
public sealed class JobCatalogRecord
{
    [Id(0)] public List<string> Jobs { get; set; } = [];
    [Id(1)] public HashSet<string> Active { get; set; } = [];
}

/// <summary>
/// The index of jobs; workers ask it which jobs may have shards to lease. The grain type and the state name keep the
/// values of the earlier "job catalog" (the default type of this class would be "jobindex"): both are part of where
/// the state is stored, so the jobs indexed before the rename stay listed.
/// </summary>
[GrainType(GrainTypeName)]
internal sealed class JobIndexGrain(
    [PersistentState("catalog", JobGrain.StorageName)] IPersistentState<JobCatalogRecord> state) : Grain, IJobIndexGrain
{
    /// <summary>The grain type the class had as JobCatalogGrain (Orleans' default: the class name without "Grain", lower-case).</summary>
    public const string GrainTypeName = "jobcatalog";

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
